"""conversation identity by platform family: 天猫 keys become 淘宝 keys; conversations found by source id

A conversation's source key was "platform|id", so one chat exported once as 天猫 and once as 淘宝 was stored twice
(issue #12). Keys now name the platform family (``qa.ingest.identity``); a stored 天猫 conversation is re-keyed
unless a 淘宝 conversation with the same id already holds that key (such pairs stay apart: which messages they
share cannot be told here). The index on external_id lets an export without a platform find its conversation.

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None

# "天猫|" and "淘宝|" are three characters; substr counts characters on SQLite and PostgreSQL alike
_REKEY = """
UPDATE {table} SET source_key = '{to}|' || substr(source_key, 4)
WHERE source_key LIKE '{frm}|%' {guard}
AND NOT EXISTS (SELECT 1 FROM {table} AS other WHERE other.source_key = '{to}|' || substr({table}.source_key, 4))
"""


def upgrade() -> None:
    for table in ("conversations", "tickets"):
        op.execute(_REKEY.format(table=table, frm="天猫", to="淘宝", guard=""))
    op.create_index("ix_conversations_external_id", "conversations", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_conversations_external_id", table_name="conversations")
    tmall = "AND platform_id IN (SELECT id FROM platforms WHERE name = '天猫')"
    for table in ("conversations", "tickets"):
        op.execute(_REKEY.format(table=table, frm="淘宝", to="天猫", guard=tmall))
