"""model_labels: reviewers' judgements that confirm or contradict a model's flag on one message

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reviewer_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("field", sa.String(30), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("model_score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("reviewer_id", "message_id", "field"),
    )
    op.create_index("ix_model_labels_conversation_id", "model_labels", ["conversation_id"])
    op.create_index("ix_model_labels_field", "model_labels", ["field"])


def downgrade() -> None:
    op.drop_table("model_labels")
