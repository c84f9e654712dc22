"""Bulk inserts through the DB-API cursor store what SQLAlchemy's own insert stores (times in its text layout on
SQLite, which its queries compare as text)."""

from datetime import datetime

from sqlalchemy import Engine, insert, select, text

from qa.bulk import bound, insert_rows
from qa.models import TagAssignment


def test_rows_inserted_in_bulk_read_back_as_sqlalchemys(engine: Engine) -> None:
    ta = TagAssignment.__table__
    on_the_second, precise = datetime(2026, 12, 3, 14, 1, 19), datetime(2026, 12, 3, 14, 1, 19, 524148)
    with engine.begin() as conn:
        conn.execute(insert(ta), [{"tag_id": 1, "source": "rule", "confirmed": False, "rejected": True,
                                   "created_at": t, "updated_at": t, "evidence": None}
                                  for t in (on_the_second, precise)])
        insert_rows(conn, "tag_assignments", ("tag_id", "source", "confirmed", "rejected", "created_at", "updated_at",
                                              "evidence"),
                    [(2, "rule", False, True, bound(conn, ta.c.created_at, t), bound(conn, ta.c.updated_at, t), None)
                     for t in (on_the_second, precise)])
        rows = conn.execute(select(ta.c.tag_id, ta.c.confirmed, ta.c.rejected, ta.c.created_at, ta.c.evidence)
                            .order_by(ta.c.id)).all()
        stored = [r[0] for r in conn.execute(text("SELECT CAST(created_at AS TEXT) FROM tag_assignments ORDER BY id"))]
    assert [r[1:] for r in rows[:2]] == [r[1:] for r in rows[2:]]
    assert [r.created_at for r in rows[2:]] == [on_the_second, precise]
    assert stored[:2] == stored[2:]  # the same text (SQLite) or value (PostgreSQL), so comparisons agree
