"""tag evidence and scorecard-review integrity: what proposed a tag (keyword or category), tags found by message,
and scorecard reviews made unique per (reviewer, conversation, calibration session) with a version

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _drop_duplicate_reviews() -> None:
    """Duplicates left by concurrent saves before this version (issue #12, case 3): per reviewer, conversation and
    session the review under dispute (else the newest) stays; each other one goes into the audit trail whole (its
    score, comment, items and dispute), then out of the table, so the unique indexes can be built and nothing is
    lost without a record."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("""
        SELECT r.id, r.conversation_id, r.reviewer_id, r.session_id, r.version_id, r.score, r.fatal_failed,
               r.comment, r.updated_at, d.id AS dispute_id, d.status AS dispute_status
        FROM scorecard_reviews r LEFT JOIN disputes d ON d.review_id = r.id
        ORDER BY r.conversation_id, r.reviewer_id, r.updated_at, r.id""")).mappings().all()
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["conversation_id"], row["reviewer_id"], row["session_id"]), []).append(row)
    for group in groups.values():
        if len(group) < 2:
            continue
        keep = max(group, key=lambda r: (r["dispute_id"] is not None, r["updated_at"], r["id"]))
        for row in group:
            if row["id"] == keep["id"]:
                continue
            items = conn.execute(sa.text("SELECT criterion_key, value, na FROM scorecard_review_items "
                                         "WHERE review_id = :id"), {"id": row["id"]}).all()
            before = {k: row[k] for k in ("conversation_id", "session_id", "version_id", "score", "fatal_failed",
                                          "comment", "dispute_status")}
            before["updated_at"] = str(row["updated_at"])
            before["ratings"] = {key: None if na else value for key, value, na in items}
            conn.execute(sa.text(
                "INSERT INTO audit_log (at, user_id, user_name, action, entity, entity_id, before, after) "
                "VALUES (:at, :uid, '', 'delete', 'scorecard_review', :eid, :before, NULL)"),
                {"at": datetime.now(), "uid": row["reviewer_id"], "eid": str(row["id"]),
                 "before": json.dumps(before, ensure_ascii=False, sort_keys=True)})
            for table in ("scorecard_review_items", "disputes"):
                conn.execute(sa.text(f"DELETE FROM {table} WHERE review_id = :id"), {"id": row["id"]})
            conn.execute(sa.text("DELETE FROM scorecard_reviews WHERE id = :id"), {"id": row["id"]})


def upgrade() -> None:
    op.add_column("tag_assignments", sa.Column("evidence", sa.String(200), nullable=True))
    op.create_index("ix_tag_assignments_message_id", "tag_assignments", ["message_id"])
    op.add_column("scorecard_reviews", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    _drop_duplicate_reviews()
    op.create_index("uq_scorecard_reviews_review", "scorecard_reviews", ["conversation_id", "reviewer_id"],
                    unique=True, sqlite_where=sa.text("session_id IS NULL"),
                    postgresql_where=sa.text("session_id IS NULL"))
    op.create_index("uq_scorecard_reviews_calibration", "scorecard_reviews",
                    ["conversation_id", "reviewer_id", "session_id"], unique=True,
                    sqlite_where=sa.text("session_id IS NOT NULL"), postgresql_where=sa.text("session_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_scorecard_reviews_calibration", "scorecard_reviews")
    op.drop_index("uq_scorecard_reviews_review", "scorecard_reviews")
    with op.batch_alter_table("scorecard_reviews") as batch:
        batch.drop_column("version")
    op.drop_index("ix_tag_assignments_message_id", "tag_assignments")
    with op.batch_alter_table("tag_assignments") as batch:
        batch.drop_column("evidence")
