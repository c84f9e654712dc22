"""The QA program's demo content on tests/seed.py: every view has something to show, and it is made once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from huifang_demo.program import seed_program
from qa.models import Conversation, ScorecardReview, TagAssignment
from qa.program import calibration, disputes, store
from qa.program.tag_store import current_tree, tag_conversations
from tests.helpers import agent_review_scores, read


def test_demo_program_content(seeded_engine: Engine) -> None:
    with seeded_engine.begin() as conn:  # as the demo's scoring run does
        tag_conversations(conn, current_tree(conn, seed=True), list(conn.scalars(select(Conversation.id))))
    seed_program(seeded_engine, per_reviewer=3, now=datetime(2026, 11, 25, 12), echo=lambda _line: None)
    assert sorted(read(seeded_engine, store.list_scorecards)["name"]) == ["售前", "售后", "评价回复"]
    scores = agent_review_scores(seeded_engine)
    assert sum(s[1] for s in scores) >= 6 and all(s[2] >= 0 for s in scores)  # a transferred chat counts for each agent
    sessions = read(seeded_engine, calibration.list_sessions)
    assert sessions["closed_at"].notna().all() and sessions["reviews"].tolist() == [6 * 3]
    assert len(read(seeded_engine, calibration.calibration_trend)) == 1
    rates = read(seeded_engine, disputes.dispute_rates)
    assert rates["disputed"].sum() == 2
    assert len(read(seeded_engine, disputes.open_disputes)) == 1
    with seeded_engine.connect() as conn:  # reviewers judged the proposed tags of what they reviewed
        judged = conn.execute(select(TagAssignment.confirmed, TagAssignment.rejected, TagAssignment.reviewer_id)
                              .where(TagAssignment.reviewer_id.is_not(None))).all()
    assert judged and all(confirmed != rejected for confirmed, rejected, _by in judged)
    with seeded_engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(ScorecardReview))
    seed_program(seeded_engine, echo=lambda _line: None)  # a second run adds nothing
    with seeded_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScorecardReview)) == before
