"""review integrity and accounts: one review head per (conversation, reviewer) with a version, soft-deleted
annotations, unique live review rows, an append-only audit log, and password/role/agent columns on users

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_LIVE = "message_id IS NULL AND deleted_at IS NULL"
_APPEND_ONLY = "audit_log is append-only: entries cannot be changed or deleted"


def upgrade() -> None:
    op.add_column("annotations", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    # Duplicates left by concurrent saves before this version (issue #12, case 3): keep the newest row of each
    # rubric item and of the verdict per (conversation, reviewer); the others are soft-deleted, not lost.
    op.execute(f"""
        UPDATE annotations SET deleted_at = updated_at
        WHERE {_LIVE} AND id NOT IN (
            SELECT max(id) FROM annotations WHERE {_LIVE}
            GROUP BY conversation_id, reviewer_id, coalesce(rubric_item, ''))""")
    op.create_index("uq_annotations_review_item", "annotations", ["conversation_id", "reviewer_id", "rubric_item"],
                    unique=True, sqlite_where=sa.text(f"{_LIVE} AND rubric_item IS NOT NULL"),
                    postgresql_where=sa.text(f"{_LIVE} AND rubric_item IS NOT NULL"))
    op.create_index("uq_annotations_review_overall", "annotations", ["conversation_id", "reviewer_id"],
                    unique=True, sqlite_where=sa.text(f"{_LIVE} AND rubric_item IS NULL"),
                    postgresql_where=sa.text(f"{_LIVE} AND rubric_item IS NULL"))
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "reviewer_id"),
    )
    op.create_index(op.f("ix_reviews_reviewer_id"), "reviews", ["reviewer_id"], unique=False)
    op.execute(f"""
        INSERT INTO reviews (conversation_id, reviewer_id, version, updated_at)
        SELECT conversation_id, reviewer_id, 1, max(updated_at) FROM annotations WHERE {_LIVE}
        GROUP BY conversation_id, reviewer_id""")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
    op.add_column("users", sa.Column("password_hash", sa.String(length=300), nullable=True))
    op.add_column("users", sa.Column("agent_name", sa.String(length=200), nullable=True))
    op.add_column("users", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    # The old sidebar roles, in the new vocabulary (qa.access.ROLES).
    op.execute("UPDATE users SET role = 'reviewer' WHERE role = 'qa'")
    op.execute("UPDATE users SET role = 'qa_manager' WHERE role = 'manager'")


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'manager' WHERE role IN ('qa_manager', 'admin')")
    op.execute("UPDATE users SET role = 'qa' WHERE role = 'reviewer'")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("active")
        batch.drop_column("agent_name")
        batch.drop_column("password_hash")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_refuse()")
    op.drop_table("audit_log")
    op.drop_table("reviews")
    op.drop_index("uq_annotations_review_overall", "annotations")
    op.drop_index("uq_annotations_review_item", "annotations")
    op.execute("DELETE FROM annotations WHERE deleted_at IS NOT NULL")
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("deleted_at")
