"""drop two indexes no query uses: messages.agent_id, conversations.started_at

Agents' messages are found through their conversations, and every query on conversations.started_at is served by
ix_conversations_started_platform, which leads with it. Both indexes only slowed imports (~20% of message
inserts for the first).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain DROP INDEX (not batch mode): nothing about the tables changes, so nothing is copied
    op.drop_index("ix_messages_agent_id", table_name="messages")
    op.drop_index("ix_conversations_started_at", table_name="conversations")


def downgrade() -> None:
    op.create_index("ix_conversations_started_at", "conversations", ["started_at"])
    op.create_index("ix_messages_agent_id", "messages", ["agent_id"])
