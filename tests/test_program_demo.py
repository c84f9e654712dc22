"""The QA program's demo content on tests/seed.py: every view has something to show, and it is made once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from huifang_demo.program import seed_program
from qa.models import ScorecardReview
from qa.program import calibration, disputes, reviews, store
from tests.helpers import read


def test_demo_program_content(seeded_engine: Engine) -> None:
    seed_program(seeded_engine, per_reviewer=3, now=datetime(2026, 11, 25, 12), echo=lambda _line: None)
    assert sorted(read(seeded_engine, store.list_scorecards)["name"]) == ["售前", "售后", "评价回复"]
    scores = read(seeded_engine, reviews.agent_review_scores)
    assert scores["reviews"].sum() == 6 and scores["mean_score"].notna().all()
    sessions = read(seeded_engine, calibration.list_sessions)
    assert sessions["closed_at"].notna().all() and sessions["reviews"].tolist() == [6 * 3]
    assert len(read(seeded_engine, calibration.calibration_trend)) == 1
    rates = read(seeded_engine, disputes.dispute_rates)
    assert rates["disputed"].sum() == 2
    assert len(read(seeded_engine, disputes.open_disputes)) == 1
    with seeded_engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(ScorecardReview))
    seed_program(seeded_engine, echo=lambda _line: None)  # a second run adds nothing
    with seeded_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScorecardReview)) == before
