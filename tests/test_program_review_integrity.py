"""Scorecard reviews hold together like rubric reviews (issue #12, case 3): one per reviewer, conversation and
calibration session, stale saves refused with the newer review shown, every change in the audit trail; on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from qa.db import _alembic_config, init_db
from qa.models import AuditEntry, Conversation, ScorecardReview
from qa.program import calibration, reviews, store
from qa.program.reviews import StaleScorecardReviewError
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from tests.helpers import read
from tests.seed import seed_small

CARD = Scorecard("售后", (Section("a", "服务", (Criterion("ok", "解决问题"),
                                                Criterion("polite", "礼貌", scale="rating"))),))


def _ratings(ok: int, polite: int) -> dict[str, Rating]:
    return {"ok": Rating(ok), "polite": Rating(polite)}


@pytest.fixture
def db(engine: Engine) -> tuple[Engine, int, int]:
    """A seeded database with one scorecard: (engine, its version id, conversation tm-3's id)."""
    seed_small(engine)
    vid = store.create_scorecard(engine, CARD, "陈经理").version_id
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == "tm-3"))
    return engine, vid, cid


def _rows(engine: Engine, cid: int) -> list[tuple[int | None, float | None, int]]:
    r = ScorecardReview
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(r.session_id, r.score, r.version)
                                                   .where(r.conversation_id == cid).order_by(r.id))]


def test_a_stale_save_is_refused_and_shows_the_newer_review(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    reviews.save_review(engine, cid, vid, _ratings(1, 5), "王质检", comment="很好", base_version=0)
    # two tabs opened on version 1: the first saves a fail, the second (stale) tries to save a pass again
    reviews.save_review(engine, cid, vid, _ratings(0, 2), "王质检", comment="没解决", base_version=1)
    with pytest.raises(StaleScorecardReviewError) as caught:
        reviews.save_review(engine, cid, vid, _ratings(1, 5), "王质检", base_version=1)
    message = str(caught.value)
    assert "在你打开表单后已被修改" in message and "第 2 版，你的表单基于第 1 版" in message
    assert "得分 12.5；解决问题 0，礼貌 2；评语“没解决”" in message and "你的修改没有保存" in message
    assert caught.value.current is not None and caught.value.current.version == 2
    with pytest.raises(StaleScorecardReviewError):  # a fresh form (version 0) cannot overwrite it either
        reviews.save_review(engine, cid, vid, _ratings(1, 5), "王质检", base_version=0)
    kept = read(engine, reviews.my_review, cid, "王质检")
    assert (kept.score, kept.comment, kept.version) == (pytest.approx(12.5), "没解决", 2)
    reviews.save_review(engine, cid, vid, _ratings(1, 4), "王质检", base_version=2)  # based on what is stored
    reviews.save_review(engine, cid, vid, _ratings(1, 3), "王质检")  # no form (a script): saves over any version
    assert _rows(engine, cid) == [(None, pytest.approx(75.0), 4)]


def _race(save: Callable[[int], object]) -> list[str]:
    """Run two saves at once (after a barrier); how each ended."""
    start, outcomes = threading.Barrier(2), []

    def run(n: int) -> None:
        start.wait()
        try:
            save(n)
            outcomes.append("saved")
        except StaleScorecardReviewError:
            outcomes.append("stale")

    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_saves_at_once_leave_one_review(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    for round_ in range(3):
        mine = read(engine, reviews.my_review, cid, "王质检")
        base = mine.version if mine else 0
        assert _race(lambda n: reviews.save_review(  # noqa: B023 - read after the barrier, in this round
            engine, cid, vid, _ratings(n, 5), "王质检", base_version=base)) == ["saved", "stale"], round_
        assert len(_rows(engine, cid)) == 1 and _rows(engine, cid)[0][2] == base + 1


def test_two_calibration_saves_at_once_leave_one_review_per_session(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    sid = calibration.create_session(engine, "十二月校准", vid, [cid], ["王质检", "李质检"], "陈经理")
    assert _race(lambda n: calibration.submit_review(engine, sid, cid, _ratings(n, 3), "王质检",
                                                     base_version=0)) == ["saved", "stale"]
    reviews.save_review(engine, cid, vid, _ratings(1, 4), "王质检")  # outside the session: a review of its own
    calibration.submit_review(engine, sid, cid, _ratings(1, 1), "李质检")
    assert [(s, v) for s, _score, v in _rows(engine, cid)] == [(sid, 1), (None, 1), (sid, 1)]


def test_the_database_refuses_a_second_review(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    sid = calibration.create_session(engine, "校准", vid, [cid], ["王质检", "李质检"], "陈经理")
    reviews.save_review(engine, cid, vid, _ratings(1, 4), "王质检")
    calibration.submit_review(engine, sid, cid, _ratings(1, 4), "王质检")
    with engine.connect() as conn:
        wang = conn.scalar(select(ScorecardReview.reviewer_id).limit(1))
    for session in (None, sid):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(ScorecardReview).values(
                conversation_id=cid, version_id=vid, reviewer_id=wang, session_id=session, score=50,
                created_at=func.now(), updated_at=func.now()))


def test_every_save_is_in_the_audit_trail(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    rid = reviews.save_review(engine, cid, vid, _ratings(1, 5), "王质检", base_version=0)
    reviews.save_review(engine, cid, vid, _ratings(0, 5), "王质检", comment="没解决", base_version=1)
    with pytest.raises(StaleScorecardReviewError):
        reviews.save_review(engine, cid, vid, _ratings(1, 1), "王质检", base_version=1)
    with engine.connect() as conn:
        entries = conn.execute(select(AuditEntry.user_name, AuditEntry.action, AuditEntry.before, AuditEntry.after)
                               .where(AuditEntry.entity == "scorecard_review", AuditEntry.entity_id == str(rid))
                               .order_by(AuditEntry.id)).all()
    assert [(e.user_name, e.action) for e in entries] == [("王质检", "create"), ("王质检", "update")]  # not the refused one
    before, after = json.loads(entries[1].before), json.loads(entries[1].after)
    assert (before["version"], before["score"], after["version"], after["score"]) == (1, 100.0, 2, 50.0)
    assert after["comment"] == "没解决" and after["ratings"] == {"ok": 0, "polite": 5}


def test_the_migration_keeps_one_review_and_records_the_others(db: tuple[Engine, int, int]) -> None:
    engine, vid, cid = db
    reviews.save_review(engine, cid, vid, _ratings(1, 5), "王质检")
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
        first = conn.execute(text("SELECT id, reviewer_id FROM scorecard_reviews")).one()
        for n, when in ((2, "2026-12-01 10:00:00"), (3, "2026-12-02 10:00:00")):  # duplicates of two saves at once
            conn.execute(text(
                "INSERT INTO scorecard_reviews (id, conversation_id, version_id, reviewer_id, score, fatal_failed, "
                "comment, created_at, updated_at) VALUES (:id, :cid, :vid, :uid, :score, :f, :c, :t, :t)"),
                {"id": first.id + n, "cid": cid, "vid": vid, "uid": first.reviewer_id, "score": 10.0 * n, "f": False,
                 "c": f"第{n}次", "t": when})
    init_db(engine)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT id, score, version FROM scorecard_reviews")).all()
        recorded = conn.execute(select(AuditEntry.entity_id, AuditEntry.before).where(
            AuditEntry.entity == "scorecard_review", AuditEntry.action == "delete").order_by(AuditEntry.id)).all()
    assert left == [(first.id, 100.0, 1)]  # the newest (saved today); the two older ones recorded, then removed
    assert [int(r.entity_id) for r in recorded] == [first.id + 2, first.id + 3]
    assert [json.loads(r.before)["comment"] for r in recorded] == ["第2次", "第3次"]
