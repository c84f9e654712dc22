"""the QA program: versioned scorecards and their selection rules, scorecard reviews with per-criterion values,
automatic QA check results and scores, calibration sessions, disputes

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scorecards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('scorecard_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('platform', sa.String(length=50), nullable=True),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecards.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('scorecard_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecards.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scorecard_id', 'version')
    )
    op.create_table('calibration_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('benchmark_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['benchmark_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['scorecard_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('auto_qa_checks',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('check_name', sa.String(length=30), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'check_name')
    )
    op.create_table('auto_qa_scores',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('fatal_failed', sa.Boolean(), nullable=False),
    sa.Column('criteria', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['scorecard_versions.id'], ),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    with op.batch_alter_table('auto_qa_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auto_qa_scores_score'), ['score'], unique=False)

    op.create_table('calibration_conversations',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'conversation_id')
    )
    op.create_table('calibration_reviewers',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'reviewer_id')
    )
    op.create_table('scorecard_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('fatal_failed', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['scorecard_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scorecard_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_reviews_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_reviews_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_reviews_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_reviews_version_id'), ['version_id'], unique=False)

    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('score_before', sa.Float(), nullable=True),
    sa.Column('score_after', sa.Float(), nullable=True),
    sa.Column('ratings_before', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['opened_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['review_id'], ['scorecard_reviews.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('review_id')
    )
    op.create_table('scorecard_review_items',
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('criterion_key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('na', sa.Boolean(), nullable=False),
    sa.Column('proposed', sa.Float(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['scorecard_reviews.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_id', 'criterion_key')
    )


def downgrade() -> None:
    op.drop_table('scorecard_review_items')
    op.drop_table('disputes')
    with op.batch_alter_table('scorecard_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_reviews_version_id'))
        batch_op.drop_index(batch_op.f('ix_scorecard_reviews_session_id'))
        batch_op.drop_index(batch_op.f('ix_scorecard_reviews_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_scorecard_reviews_conversation_id'))

    op.drop_table('scorecard_reviews')
    op.drop_table('calibration_reviewers')
    op.drop_table('calibration_conversations')
    with op.batch_alter_table('auto_qa_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auto_qa_scores_score'))

    op.drop_table('auto_qa_scores')
    op.drop_table('auto_qa_checks')
    op.drop_table('calibration_sessions')
    op.drop_table('scorecard_versions')
    op.drop_table('scorecard_rules')
    op.drop_table('scorecards')
