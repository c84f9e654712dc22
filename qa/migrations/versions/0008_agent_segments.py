"""agent_segments and agent_daily_stats: each agent's part of a (transferred) conversation and their daily sums

Scored conversations get their segments at the next ``huifang score``: a conversation without segments counts
as not scored yet (``qa.jobs.scoring``).

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_segments",
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("replies_in_sla", sa.Integer(), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("max_wait_s", sa.Float(), nullable=True),
        sa.Column("unanswered_at_end", sa.Integer(), nullable=False),
        sa.Column("tone_risk", sa.Float(), nullable=True),
        sa.Column("relevance", sa.Float(), nullable=True),
        sa.Column("rule_hits", sa.Integer(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", "segment"),
    )
    op.create_index("ix_agent_segments_agent_id", "agent_segments", ["agent_id"])
    op.create_table(
        "agent_daily_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Float(), nullable=False),
        sa.Column("csat_low", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("risk_sum", sa.Float(), nullable=False),
        sa.Column("risk_high", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("replies_in_sla", sa.Integer(), nullable=False),
        sa.Column("first_response_n", sa.Integer(), nullable=False),
        sa.Column("first_response_sum", sa.Float(), nullable=False),
        sa.Column("tone_flagged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_daily_stats_day", "agent_daily_stats", ["day"])


def downgrade() -> None:
    op.drop_table("agent_daily_stats")
    op.drop_table("agent_segments")
