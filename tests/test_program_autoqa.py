"""The auto-QA job on tests/seed.py (SQLite and PostgreSQL): stored results, incremental runs, proposals, and
agreement with reviewers (share and Cohen's κ worked out by hand)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from qa.models import Conversation, ConversationScore, Message
from qa.program import autoqa, calibration, reviews, store
from qa.program.agreement import agreement_figures, auto_agreement
from qa.program.checks import Evidence
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.program.selection import SelectionRule
from tests.helpers import read
from tests.seed import seed_small

CARD = Scorecard("售后", (Section("a", "响应", (
    Criterion("fast", "首次响应及时", auto_check="first_response"),
    Criterion("tone", "语气友好", scale="rating", allow_na=True, auto_check="tone"),
    Criterion("forbidden", "禁用语", kind="adjust", points=-5, max_times=2, auto_check="forbidden"),
    Criterion("solved", "解决问题", scale="rating"),
)),))


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {ext: cid for cid, ext in conn.execute(select(Conversation.id, Conversation.external_id))}


def test_job_stores_every_check_and_runs_incrementally(db: Engine) -> None:
    first = autoqa.run_auto_qa(db)
    assert (first.pending, first.checked) == (8, 8)
    assert autoqa.run_auto_qa(db).pending == 0
    conv = ids(db)
    tm3 = read(db, autoqa.auto_results, conv["tm-3"])
    assert len(tm3) == 10
    assert tm3["first_response"].passed is False
    assert tm3["first_response"].evidence[0].note == "首次响应 6 分 40 秒（SLA 3 分，超时）"
    assert tm3["tone"].evidence[0].score == pytest.approx(0.70)
    assert tm3["greeting"].passed is True and tm3["greeting"].evidence[0].phrase == "亲"
    assert tm3["closing"].passed is False  # "今天就发哦" closes nothing
    assert read(db, autoqa.auto_results, conv["tm-1"])["first_response"].passed is True
    assert read(db, autoqa.auto_results, conv["jd-2"])["first_response"].passed is False  # 45 s > 京东's 30 s
    with db.begin() as conn:  # a re-scored conversation (new model version) is checked again, alone
        conn.execute(update(ConversationScore).where(ConversationScore.conversation_id == conv["dy-1"])
                     .values(model_version="test-2"))
    assert read(db, autoqa.pending_auto_qa) == [conv["dy-1"]]
    assert autoqa.run_auto_qa(db).checked == 1
    assert autoqa.run_auto_qa(db, everything=True).checked == 8


def test_automatic_score_follows_scorecards_and_rules(db: Engine) -> None:
    autoqa.run_auto_qa(db)
    conv = ids(db)
    none_yet = read(db, autoqa.auto_score, conv["tm-1"])
    assert none_yet is not None and none_yet.scorecard is None and none_yet.score is None  # no scorecard applies
    store.create_scorecard(db, CARD, "陈经理")
    store.save_selection_rules(db, [SelectionRule("售后")], "陈经理")
    assert len(read(db, autoqa.pending_auto_qa)) == 8  # new scorecards and rules: every conversation again
    autoqa.run_auto_qa(db)
    # filled: first response (yes/no), tone (1–5: pass 5, fail 1) and 禁用语 (0 times); 解决问题 is left out.
    # tm-1 passes both scored items → 100; jd-2 is late for 京东 (45 s > 30 s) → (0 + 100)/2 = 50;
    # tm-3 is late and its tone is flagged → 0
    got = {ext: read(db, autoqa.auto_score, conv[ext]) for ext in ("tm-1", "jd-2", "tm-3")}
    assert {ext: a.score for ext, a in got.items() if a} == {"tm-1": 100.0, "jd-2": 50.0, "tm-3": 0.0}
    tm1 = got["tm-1"]
    assert tm1 is not None and tm1.criteria == 3 and tm1.scorecard is not None and tm1.scorecard.card.name == "售后"
    assert read(db, autoqa.pending_auto_qa) == []
    assert read(db, autoqa.auto_score, 999999) is None


def test_proposals_for_a_scorecard(db: Engine) -> None:
    autoqa.run_auto_qa(db)
    got = read(db, autoqa.proposals, ids(db)["tm-4"], CARD)
    assert {k: p.rating for k, p in got.items()} == {"fast": Rating(0), "tone": Rating(1), "forbidden": Rating(0)}
    with db.connect() as conn:
        agent_ids = conn.scalars(select(Message.id).where(Message.conversation_id == ids(db)["tm-4"],
                                                          Message.role == "agent").order_by(Message.seq)).all()
    assert got["tone"].result.evidence == tuple(Evidence(mid, "语气风险 0.85（预警线 0.5）", score=0.85)
                                                for mid in agent_ids)
    assert read(db, autoqa.proposals, ids(db)["tm-4"], Scorecard("x", (Section("a", "a", (
        Criterion("solved", "解决问题"),)),))) == {}


def test_agreement_by_hand(db: Engine) -> None:
    autoqa.run_auto_qa(db)
    v = store.create_scorecard(db, CARD, "陈经理").version_id
    conv = ids(db)
    # first response, auto: tm-1 P, tm-2 P, tm-3 F, tm-4 F, jd-1 P, jd-2 F, dy-1 P, dy-2 P
    # reviewer:              P      P      F      P      P      F      F      P   → 6/8 agree
    # κ: p_o = 0.75, p_e = (5/8)² + (3/8)² = 34/64, κ = (0.75 − 34/64)/(1 − 34/64) = 7/15
    fast = {"tm-1": 1, "tm-2": 1, "tm-3": 0, "tm-4": 1, "jd-1": 1, "jd-2": 0, "dy-1": 0, "dy-2": 1}
    tone = {"tm-3": Rating(2), "tm-4": Rating(na=True)}  # the others 4: all seven rated pairs agree
    shown = {"tm-1": 1.0, "tm-2": 1.0, "tm-3": 0.0, "tm-4": 0.0}  # proposals shown; tm-4 overridden
    for ext, value in fast.items():
        reviews.save_review(db, conv[ext], v, {"fast": Rating(value), "tone": tone.get(ext, Rating(4)),
                                               "forbidden": Rating(0), "solved": Rating(3)}, "王质检",
                            proposals={"fast": shown[ext]} if ext in shown else None)
    session = calibration.create_session(db, "校准", v, [conv["tm-1"]], ["李质检", "王质检"], "陈经理")
    calibration.submit_review(db, session, conv["tm-1"], {"fast": Rating(0), "tone": Rating(1),
                                                         "forbidden": Rating(2), "solved": Rating(1)}, "李质检")
    table = read(db, auto_agreement).set_index("key")  # the calibration review above is not counted
    assert table.loc["fast", ["criterion", "check", "n", "proposed"]].tolist() == ["首次响应及时", "first_response", 8, 4]
    assert table.loc["fast", "agree_share"] == pytest.approx(0.75)
    assert table.loc["fast", "kappa"] == pytest.approx(7 / 15)
    assert table.loc["fast", "accepted_share"] == pytest.approx(0.75)
    assert table.loc["tone", ["n", "agree_share", "kappa"]].tolist() == [7, 1.0, 1.0]
    assert table.loc["forbidden", "n"] == 8 and pd_isna(table.loc["forbidden", "kappa"])  # all pass on both sides
    assert "solved" not in table.index  # names no check


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_agreement_figures() -> None:
    assert agreement_figures([], []) == (0, None, None)
    assert agreement_figures([True, True], [True, False]) == (2, 0.5, 0.0)
    assert agreement_figures([True] * 3, [True] * 3) == (3, 1.0, None)
