"""import runs and rejected rows: an import's state (running, complete, interrupted) and the progress a re-run
resumes from; how many rows of a conversation an import rejected

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: no copy of the conversations table on SQLite
    op.add_column("import_batches", sa.Column("status", sa.String(20), nullable=False, server_default="complete"))
    op.add_column("import_batches", sa.Column("progress", sa.Text(), nullable=True))
    op.add_column("conversations", sa.Column("rejected_rows", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # plain DROP COLUMNs too: a batch copy would drop import_batches, which conversations reference
    op.drop_column("conversations", "rejected_rows")
    op.drop_column("import_batches", "progress")
    op.drop_column("import_batches", "status")
