"""Agent scorecards on tests/seed.py plus two reviewers' reviews, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from qa.analytics.filters import Filters
from qa.models import Conversation
from qa.program import calibration, disputes, reviews, store
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.review import scorecards as sc
from qa.review.users import get_or_create_user
from tests.app_fixtures import add_reviews
from tests.seed import seed_small


@pytest.fixture
def reviewed(engine: Engine) -> Engine:
    seed_small(engine)
    add_reviews(engine)
    return engine


def test_agents_in_scope(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        everyone = sc.agents_in_scope(conn, Filters())
        late = sc.agents_in_scope(conn, Filters(start=date(2026, 11, 13)))
    assert everyone.values.tolist() == [["小李", "售后", 2], ["小王", "评价", 2], ["小美", "售前", 2],
                                        ["阿杰", "售后", 2]]
    assert late.values.tolist() == [["小王", "评价", 1]]


def test_scorecard_against_the_team(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        card = sc.scorecard(conn, Filters(), "阿杰")  # tm-3 and tm-4; team 售后 adds 小李's jd-1 and jd-2
    assert (card.agent, card.team, card.team_label) == ("阿杰", "售后", "售后")
    mine, team = card.mine, card.team_figures
    assert mine["conversations"] == 2 and team["conversations"] == 4
    assert mine["risk_mean"] == pytest.approx(0.85) and team["risk_mean"] == pytest.approx(0.65)
    assert card.versus_team("risk_mean") == pytest.approx(0.2)
    assert mine["sla_rate"] == 0.5 and team["sla_rate"] == 0.5
    assert mine["first_response_s"] == 500 and team["first_response_s"] == pytest.approx(267.5)
    assert mine["tone_flagged"] == 2 and team["tone_flag_share"] == 0.5
    assert mine["csat"] == 1.5 and team["csat"] == pytest.approx(7 / 3)
    # reviews: tm-3 (不合格, 不合格; scores 1, 1) and tm-4 (不合格, 需改进; scores 1, 5); 小李's jd-2 (合格, 不合格)
    assert mine["reviewed"] == 2 and team["reviewed"] == 3
    assert mine["rubric_mean"] == 2.0 and team["rubric_mean"] == 2.0
    assert mine["fail_share"] == 0.75 and team["fail_share"] == pytest.approx(4 / 6)
    trend = card.trend[["who", "period", "conversations"]].values.tolist()
    assert trend == [["阿杰", "2026-11-09", 2], ["售后", "2026-11-09", 4]]


def test_scorecard_follows_dates_and_ignores_the_team_picker(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        card = sc.scorecard(conn, Filters(start=date(2026, 11, 12), teams=("评价",)), "阿杰")
        assert sc.scorecard(conn, Filters(), "没有这个人") is None
    assert card.mine["conversations"] == 1  # tm-4 only
    assert card.team_figures["conversations"] == 2  # tm-4 and jd-2
    assert card.mine["reviewed"] == 1 and card.mine["fail_share"] == 0.5


def test_team_members(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        table = sc.scorecard(conn, Filters(), "小李").members
    assert table[["agent", "conversations", "reviewed", "verdicts", "fails"]].values.tolist() == [
        ["小李", 2, 1, 2, 1], ["阿杰", 2, 2, 4, 3]]
    assert table["first_response_s"].tolist() == [35, 500]


def test_best_and_worst_conversations(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        best, worst = sc.extreme_conversations(conn, Filters(), "阿杰", n=1)
        all_best, _ = sc.extreme_conversations(conn, Filters(), "阿杰", n=5)
    assert best[["external_id", "risk", "platform", "category", "csat"]].values.tolist() == [
        ["tm-3", 0.8, "天猫", "退货", 1]]
    assert worst[["external_id", "risk", "explanation"]].values.tolist() == [["tm-4", 0.9, "等待 600 秒"]]
    assert all_best["external_id"].tolist() == ["tm-3", "tm-4"]


def test_team_members_without_reviews_have_empty_review_figures(engine: Engine) -> None:
    seed_small(engine)  # nobody reviewed: the figures are NaN (an empty cell), never the word "None"
    with engine.connect() as conn:
        table = sc.scorecard(conn, Filters(), "小李").members
    assert table["rubric_mean"].dtype == float and table["rubric_mean"].isna().all()
    assert table["fail_share"].dtype == float and table["fail_share"].isna().all()
    assert table["card_mean"].dtype == float and table["card_mean"].isna().all()


CARD = Scorecard("售后", (Section("a", "处理", (
    Criterion("ok", "方案正确", weight=3), Criterion("polite", "礼貌", scale="rating"))),))
T0 = datetime(2026, 11, 20, 10, 0)


def test_scorecard_reviews_count_with_their_final_score_and_calibration_never(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        ids = dict(conn.execute(select(Conversation.external_id, Conversation.id)).all())
    vid = store.create_scorecard(reviewed, CARD, "陈经理").version_id
    # tm-3 (阿杰): ok 0, polite 3 → (0·3 + 50)/4 = 12.5, then a dispute changes it to (300 + 50)/4 = 87.5
    disputed = reviews.save_review(reviewed, ids["tm-3"], vid, {"ok": Rating(0), "polite": Rating(3)}, "王质检",
                                   now=T0)
    get_or_create_user(reviewed, "阿杰", "agent")
    did = disputes.open_dispute(reviewed, disputed, "方案是对的", "阿杰", now=T0 + timedelta(days=1))
    disputes.resolve_dispute(reviewed, did, "陈经理", "认可", {"ok": Rating(1), "polite": Rating(3)},
                             now=T0 + timedelta(days=2))
    # jd-1 (小李) has no rubric review: a scorecard review alone makes it reviewed; 100 points
    reviews.save_review(reviewed, ids["jd-1"], vid, {"ok": Rating(1), "polite": Rating(5)}, "王质检", now=T0)
    # a calibration review of tm-4 (阿杰) at 0 points never counts in an agent's figures
    sid = calibration.create_session(reviewed, "校准", vid, [ids["tm-4"]], ["王质检", "李质检"], "陈经理")
    calibration.submit_review(reviewed, sid, ids["tm-4"], {"ok": Rating(0), "polite": Rating(1)}, "李质检")
    with reviewed.connect() as conn:
        card = sc.scorecard(conn, Filters(), "阿杰")
    mine, team = card.mine, card.team_figures
    assert (mine["card_n"], mine["card_mean"], mine["dispute_share"]) == (1, 87.5, 1.0)
    assert (team["card_n"], team["card_mean"], team["dispute_share"]) == (2, pytest.approx(93.75), 0.5)
    assert mine["reviewed"] == 2 and team["reviewed"] == 4  # any kind of review: 小李's jd-1 and jd-2
    assert mine["rubric_mean"] == 2.0  # the rubric reviews still count as before
    members = card.members.set_index("agent")
    assert members.loc["小李", ["reviewed", "card_n", "card_mean"]].tolist() == [2, 1, 100.0]

