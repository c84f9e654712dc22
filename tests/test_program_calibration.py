"""Calibration: Krippendorff's α and the ±10 share against hand-computed values; blind sessions in the database
(SQLite and PostgreSQL); calibration reviews kept out of agents' scores."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from qa.analytics.filters import Filters
from qa.models import Conversation
from qa.program import calibration, calibration_picks, reviews, store
from qa.program.calibration_stats import OVERALL, ReviewScores, alpha, calibration_results
from qa.program.errors import CalibrationError
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.review.users import users_who_may
from tests.helpers import agent_review_scores, conv, import_bytes, jsonl, read
from tests.seed import seed_small

CARD = Scorecard("售后", (Section("a", "处理", (
    Criterion("ok", "方案正确"),
    Criterion("polite", "礼貌", scale="rating", allow_na=True),
)),))


def r(ok: int, polite: int | None) -> dict[str, Rating]:
    return {"ok": Rating(ok), "polite": Rating(na=True) if polite is None else Rating(polite)}


# Overall scores (mean of the two items on 0–100): A = 100, 50, 0 and B = 100, 0, 0 on conversations 1–3.
REVIEWS = [
    ReviewScores(1, "A", r(1, 5)), ReviewScores(2, "A", r(1, 1)), ReviewScores(3, "A", r(0, 1)),
    ReviewScores(1, "B", r(1, 5)), ReviewScores(2, "B", r(0, 1)), ReviewScores(3, "B", r(0, 1)),
]


def test_alpha_by_hand() -> None:
    """Overall (interval), pooled values 100,100,50,0,0,0 (n = 6):
    D_o = (1/n)·Σ_u Σ_{i≠j} δ²/(m_u − 1) = (2·50²)/6 = 5000/6;
    D_e = Σ_{i≠j} δ² over all pooled pairs / (n(n − 1)) = 2·(2·50² + 6·100² + 3·50²)/30 = 145000/30;
    α = 1 − D_o/D_e = 1 − 5/29 = 24/29.
    方案正确 (nominal) 100,100,0 vs 100,0,0: D_o = 2/6, D_e = 2·3·3/30 = 0.6, α = 1 − (1/3)/0.6 = 4/9.
    礼貌 (ordinal) is the same for both reviewers everywhere: α = 1."""
    results = calibration_results(CARD, REVIEWS)
    by_item = results.items.set_index("item")
    assert by_item.loc[OVERALL, "alpha"] == pytest.approx(24 / 29)
    assert by_item.loc["ok", "alpha"] == pytest.approx(4 / 9)
    assert by_item.loc["polite", "alpha"] == pytest.approx(1.0)
    assert by_item["level"].tolist() == ["interval", "nominal", "ordinal"]
    # consensus = the other reviewer: overall differences 0, ±50, 0 for each → 4 of 6 within ±10
    assert by_item.loc[OVERALL, "within_share"] == pytest.approx(4 / 6)
    assert by_item.loc["polite", "within_share"] == 1.0
    devs = results.reviewers.set_index("reviewer")
    assert devs.loc["A", "mean_deviation"] == pytest.approx(50 / 3)
    assert devs.loc["B", "mean_deviation"] == pytest.approx(-50 / 3)
    assert devs.loc["B", "mean_abs_deviation"] == pytest.approx(50 / 3)
    assert results.reference == "consensus" and results.overall_alpha == pytest.approx(24 / 29)


def test_ordinal_alpha_by_hand() -> None:
    """Ordinal on 0/50/100 with counts n = 3, 1, 2: δ²(0,50) = (3+1 − 2)² = 4, δ²(50,100) = (1+2 − 1.5)² = 2.25,
    δ²(0,100) = (3+1+2 − 2.5)² = 12.25; D_o = 2·4/6, D_e = 2·(2·2.25 + 6·12.25 + 3·4)/30 = 6; α = 1 − 8/36."""
    table = pd.DataFrame([[100, 50, 0], [100, 0, 0]], index=["A", "B"], columns=[1, 2, 3], dtype=float)
    assert alpha(table, "ordinal") == pytest.approx(1 - 8 / 36)


def test_alpha_leaves_out_missing_and_is_none_when_undefined() -> None:
    with_gap = pd.DataFrame([[100, 50, 0, 100], [100, 0, 0, np.nan]], index=["A", "B"], dtype=float)
    assert alpha(with_gap, "interval") == pytest.approx(24 / 29)  # the fourth conversation pairs with nobody
    assert alpha(pd.DataFrame([[100, 100], [100, 100]], dtype=float), "interval") is None
    assert alpha(pd.DataFrame([[100, np.nan], [np.nan, 0]], dtype=float), "interval") is None


def test_benchmark_is_the_reference() -> None:
    bench = [ReviewScores(1, "C", r(1, 5)), ReviewScores(2, "C", r(1, 1)), ReviewScores(3, "C", r(0, 1))]
    results = calibration_results(CARD, REVIEWS + bench, benchmark="C")
    devs = results.reviewers.set_index("reviewer")
    assert list(devs.index) == ["A", "B"]  # the benchmark is not compared with itself
    assert devs.loc["A", "mean_abs_deviation"] == 0
    assert devs.loc["B", "mean_deviation"] == pytest.approx(-50 / 3) and devs.loc["B", "within_share"] == 2 / 3
    assert results.overall_within == pytest.approx(5 / 6) and results.reference == "benchmark"


def test_na_is_missing_not_zero() -> None:
    na = [ReviewScores(1, "A", r(1, None)), ReviewScores(1, "B", r(1, 5))]
    by_item = calibration_results(CARD, na).items.set_index("item")
    assert by_item.loc["polite", "comparisons"] == 0 and pd.isna(by_item.loc["polite", "within_share"])
    assert by_item.loc[OVERALL, "within_share"] == 1.0  # 100 with N/A dropped = 100


# ---------------------------------------------------------------- sessions in the database


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {ext: cid for cid, ext in conn.execute(select(Conversation.id, Conversation.external_id))}


def test_a_blind_session_from_creation_to_results(db: Engine) -> None:
    v = store.create_scorecard(db, CARD, "陈经理").version_id
    conv = ids(db)
    sample = [conv["tm-1"], conv["tm-3"], conv["jd-1"]]
    sid = calibration.create_session(db, "十一月第一次校准", v, sample, ["王质检"], "陈经理", benchmark="李质检",
                                     now=datetime(2026, 11, 20, 9))
    info = read(db, calibration.session_info, sid)
    assert info.reviewers == ("李质检", "王质检") and info.benchmark == "李质检" and not info.closed
    wang = {conv["tm-1"]: r(1, 5), conv["tm-3"]: r(1, 1), conv["jd-1"]: r(0, 1)}   # 100, 50, 0
    li = {conv["tm-1"]: r(1, 5), conv["tm-3"]: r(0, 1), conv["jd-1"]: r(0, 1)}     # 100, 0, 0
    for cid, ratings in wang.items():
        calibration.submit_review(db, sid, cid, ratings, "王质检")
    calibration.submit_review(db, sid, conv["tm-1"], li[conv["tm-1"]], "李质检")
    # blind while open: each sees only their own scores; progress shows counts only
    assert read(db, calibration.visible_reviews, sid, "王质检")["reviewer"].unique().tolist() == ["王质检"]
    assert read(db, calibration.visible_reviews, sid, "李质检")["score"].tolist() == [100.0]
    assert read(db, calibration.visible_reviews, sid, "陈经理").empty
    progress = read(db, calibration.session_progress, sid)
    assert progress[["reviewer", "done", "total", "benchmark"]].values.tolist() == [
        ["李质检", 1, 3, True], ["王质检", 3, 3, False]]
    work = read(db, calibration.my_calibration_work, "李质检")
    assert work.set_index("conversation_id")["done"].to_dict() == {conv["tm-1"]: True, conv["tm-3"]: False,
                                                                   conv["jd-1"]: False}
    with pytest.raises(CalibrationError, match="还没有结束"):
        read(db, calibration.session_results, sid)
    for cid in (conv["tm-3"], conv["jd-1"]):
        calibration.submit_review(db, sid, cid, li[cid], "李质检")
    calibration.close_session(db, sid, "陈经理", now=datetime(2026, 11, 21, 18))
    assert len(read(db, calibration.visible_reviews, sid, "陈经理")) == 6
    results = read(db, calibration.session_results, sid)
    assert results.overall_alpha == pytest.approx(24 / 29)
    assert results.reviewers.set_index("reviewer").loc["王质检", "mean_deviation"] == pytest.approx(50 / 3)
    with pytest.raises(CalibrationError, match="已结束，不能再提交评分"):
        calibration.submit_review(db, sid, conv["tm-1"], r(0, 1), "王质检")
    listed = read(db, calibration.list_sessions)
    assert listed[["name", "scorecard", "version", "conversations", "reviewers", "reviews", "benchmark"]
                  ].values.tolist() == [["十一月第一次校准", "售后", 1, 3, 2, 6, "李质检"]]
    assert read(db, calibration.my_calibration_work, "李质检").empty  # closed sessions are no one's work


def test_session_rules(db: Engine) -> None:
    v = store.create_scorecard(db, CARD, "陈经理").version_id
    conv = ids(db)
    with pytest.raises(CalibrationError, match="至少需要两位质检员"):
        calibration.create_session(db, "x", v, [conv["tm-1"]], ["王质检"], "陈经理")
    with pytest.raises(CalibrationError, match="至少选择一个会话"):
        calibration.create_session(db, "x", v, [], ["王质检", "李质检"], "陈经理")
    sid = calibration.create_session(db, "x", v, [conv["tm-1"]], ["王质检", "李质检"], "陈经理")
    with pytest.raises(CalibrationError, match="“张培训”没有参加校准会“x”"):
        calibration.submit_review(db, sid, conv["tm-1"], r(1, 5), "张培训")
    with pytest.raises(CalibrationError, match=f"会话 {conv['tm-2']} 不在校准会“x”中"):
        calibration.submit_review(db, sid, conv["tm-2"], r(1, 5), "王质检")
    calibration.close_session(db, sid, "陈经理")
    with pytest.raises(CalibrationError, match="已经结束"):
        calibration.close_session(db, sid, "陈经理")


def test_trend_over_closed_sessions(db: Engine) -> None:
    v = store.create_scorecard(db, CARD, "陈经理").version_id
    conv = ids(db)
    sample = [conv["tm-1"], conv["tm-3"], conv["jd-1"]]
    first = calibration.create_session(db, "第一次", v, sample, ["王质检", "李质检"], "陈经理")
    for cid, (w, li) in zip(sample, [((1, 5), (1, 5)), ((1, 1), (0, 1)), ((0, 1), (0, 1))], strict=True):
        calibration.submit_review(db, first, cid, r(*w), "王质检")
        calibration.submit_review(db, first, cid, r(*li), "李质检")
    calibration.close_session(db, first, "陈经理", now=datetime(2026, 11, 10))
    second = calibration.create_session(db, "第二次", v, sample, ["王质检", "李质检"], "陈经理")
    for cid, w in zip(sample, [(1, 5), (1, 1), (0, 1)], strict=True):  # now they agree everywhere
        calibration.submit_review(db, second, cid, r(*w), "王质检")
        calibration.submit_review(db, second, cid, r(*w), "李质检")
    calibration.create_session(db, "进行中", v, sample, ["王质检", "李质检"], "陈经理")  # open: not in the trend
    calibration.close_session(db, second, "陈经理", now=datetime(2026, 11, 17))
    trend = read(db, calibration.calibration_trend)
    assert trend["name"].tolist() == ["第一次", "第二次"]
    assert trend["alpha"].tolist() == pytest.approx([24 / 29, 1.0])
    assert trend["within_share"].tolist() == pytest.approx([4 / 6, 1.0])
    assert trend["reviews"].tolist() == [6, 6]


def test_calibration_reviews_do_not_count_for_agents(db: Engine) -> None:
    v = store.create_scorecard(db, CARD, "陈经理").version_id
    conv = ids(db)
    reviews.save_review(db, conv["tm-3"], v, r(1, 5), "王质检")  # 阿杰 100
    sid = calibration.create_session(db, "校准", v, [conv["tm-3"], conv["tm-4"]], ["王质检", "李质检"], "陈经理")
    calibration.submit_review(db, sid, conv["tm-3"], r(0, 1), "王质检")  # the same reviewer, in the session: 0
    calibration.submit_review(db, sid, conv["tm-4"], r(0, 1), "李质检")
    assert agent_review_scores(db) == [["阿杰", 1, 100.0]]
    assert len(read(db, reviews.conversation_reviews, conv["tm-3"])) == 1
    mine = read(db, reviews.my_review, conv["tm-3"], "王质检")
    assert mine is not None and mine.score == 100 and mine.session_id is None
    in_session = read(db, reviews.my_review, conv["tm-3"], "王质检", sid)
    assert in_session is not None and in_session.score == 0


def test_no_pairs_no_figures() -> None:
    empty = calibration_results(CARD, [])
    assert empty.overall_alpha is None and empty.overall_within is None and empty.reviewers.empty
    alone = calibration_results(CARD, [ReviewScores(1, "A", r(1, 5))])
    assert alone.overall_alpha is None and alone.reviewers["reviews"].tolist() == [0]


def test_conversations_are_offered_by_the_queues_filters_with_what_a_manager_recognises(db: Engine) -> None:
    after_sales = Filters(teams=("售后",))
    offered = read(db, calibration_picks.candidates, after_sales)
    assert list(offered["external_id"]) == ["tm-4", "tm-3", "jd-2", "jd-1"]  # queue order: most urgent first
    assert offered["label"].iloc[0].startswith("tm-4 · 阿杰 · 11-12 · 慢：首次响应 10 分")
    assert list(read(db, calibration_picks.candidates, after_sales, 2)["external_id"]) == ["tm-4", "tm-3"]
    drawn = read(db, calibration_picks.draw, after_sales, 2, 7)
    assert list(drawn["external_id"]) == ["tm-4", "jd-2"] and list(drawn.columns) == ["id", "external_id", "label"]
    assert read(db, calibration_picks.draw, Filters(platforms=("无此平台",)), 3, 1).empty
    assert calibration_picks.draw_query(after_sales, 500, 3).quota == calibration_picks.DRAW_LIMIT
    assert calibration_picks.candidate_label("x-1", None, None, "") == "x-1 · 无坐席 · 无时间 · 无入队原因"


def test_a_conversation_without_a_named_agent_or_a_score_is_offered_with_a_label(db: Engine) -> None:
    # the queue frame holds NaN for both: the calibration page crashed on it
    import_bytes(db, "x.jsonl", jsonl(conv("x-1", ("customer", "在吗", "2026-11-12 10:00:00"),
                                           ("agent", "在的", "2026-11-12 10:00:30"), platform="京东")))
    offered = read(db, calibration_picks.candidates, Filters()).set_index("external_id")
    assert offered.loc["x-1", "label"] == "x-1 · 无坐席 · 11-12 · 无入队原因"


def test_only_accounts_that_may_review_are_offered_as_participants(db: Engine) -> None:
    offered = read(db, users_who_may, "review")
    assert {"王质检", "李质检", "陈经理", "演示管理员"} <= set(offered)
    assert not {"小美", "张培训", "刘总"} & set(offered) and offered == sorted(offered)
