"""The review score of a scorecard, against hand-computed figures: N/A, fatal, section-fatal, bonus, 加减分."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from qa.program.errors import ScorecardError
from qa.program.scorecard import (
    Criterion,
    Rating,
    Scorecard,
    Section,
    check_ratings,
    check_scorecard,
    criteria_frame,
    criterion_points,
    explain,
    score_review,
    scorecard_from_dict,
    scorecard_from_frame,
    scorecard_to_dict,
)

CARD = Scorecard("售后", (
    Section("attitude", "服务态度", (
        Criterion("greet", "使用问候语"),
        Criterion("polite", "礼貌", scale="rating", weight=2),
        Criterion("privacy", "未泄露隐私", fatal="all"),
    )),
    Section("solve", "解决问题", (
        Criterion("solved", "问题解决", scale="rating", weight=3, allow_na=True),
        Criterion("accurate", "信息准确", weight=2, fatal="section"),
        Criterion("upsell", "主动推荐", kind="bonus"),
    )),
    Section("rules", "规范", (
        Criterion("forbidden", "使用禁用语", kind="adjust", points=-5, max_times=3),
        Criterion("praise", "顾客表扬", kind="adjust", points=2),
    ), max_deduction=10),
))

GOOD = {"greet": 1, "polite": 4, "privacy": 1, "solved": 5, "accurate": 1, "upsell": 0, "forbidden": 0, "praise": 0}


def ratings(**changes: float | str) -> dict[str, Rating]:
    values: dict[str, float | str] = {**GOOD, **changes}
    return {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in values.items()}


# Each case: the ratings changed from GOOD, and the score worked out by hand.
#   GOOD: greet 100·1 + polite (4−1)/(5−1)=75 ·2 + privacy 100·1 + solved 100·3 + accurate 100·2 + upsell 0
#         = 850 over weights 1+2+1+3+2 = 9 → 94.444…; the bonus's weight is not in the denominator.
CASES = [
    ("all good", {}, 850 / 9),
    ("N/A drops out", {"solved": "na"}, 550 / 6),
    ("bonus lifts past 100", {"upsell": 1, "polite": 5}, 1000 / 9),
    ("deductions capped at the section's worth, additions on top", {"forbidden": 3, "praise": 1}, 850 / 9 - 10 + 2),
    ("one deduction", {"forbidden": 1}, 850 / 9 - 5),
    ("section-fatal zeroes its section", {"accurate": 0, "upsell": 1}, 350 / 9),
    ("section-fatal beats N/A", {"accurate": 0, "solved": "na"}, 350 / 9),
    ("fatal sets 0", {"privacy": 0, "upsell": 1, "praise": 1}, 0.0),
    ("fatal beats section-fatal", {"privacy": 0, "accurate": 0}, 0.0),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_score_by_hand(changes: dict, expected: float) -> None:
    assert score_review(CARD, ratings(**changes)).score == pytest.approx(expected)


def test_section_fatal_details() -> None:
    result = score_review(CARD, ratings(accurate=0, solved="na", praise=1))
    assert result.failed_sections == ("solve",)
    solve = next(s for s in result.sections if s.key == "solve")
    assert solve.score == 0 and solve.failed
    assert result.criteria["solved"].state == "section_failed" and result.criteria["solved"].weight == 3
    assert result.score == pytest.approx(350 / 9 + 2)  # the failed section does not void another section's points


def test_all_na_has_no_score() -> None:
    card = Scorecard("评价回复", (Section("a", "回复", (
        Criterion("thanks", "感谢", allow_na=True), Criterion("fix", "给出方案", scale="rating", allow_na=True))),))
    result = score_review(card, {"thanks": Rating(na=True), "fix": Rating(na=True)})
    assert result.score is None and result.base is None
    assert "没有可计分的评分项" in explain(card, result)


DEDUCTION_CARD = Scorecard("售前（扣分制）", (
    Section("manner", "服务态度", (
        Criterion("no_greet", "未使用问候语", kind="adjust", points=-2),
        Criterion("forbidden", "使用禁用语", kind="adjust", points=-5, max_times=4),
        Criterion("recommend", "主动推荐", kind="adjust", points=3),
    ), max_deduction=15),
    Section("red", "红线", (
        Criterion("leak", "泄露顾客信息", kind="adjust", points=-100, fatal="all"),
        Criterion("wrong_price", "报错价格", kind="adjust", points=-10, fatal="section"),
        Criterion("late", "超时未回复", kind="adjust", points=-3, max_times=5),
    ), max_deduction=30),
))


@pytest.mark.parametrize(("values", "expected"), [
    ({}, 100.0),
    ({"no_greet": 1, "forbidden": 2, "recommend": 1}, 100 - 2 - 10 + 3),
    ({"forbidden": 4}, 100 - 15),  # 4 × −5 = −20, capped at the section's 15
    ({"late": 2, "recommend": 1}, 100 - 6 + 3),
    ({"wrong_price": 1, "recommend": 1}, 100 - 30 + 3),  # a failed section loses its whole worth
    ({"leak": 1, "recommend": 1}, 0.0),
])
def test_deduction_card(values: dict, expected: float) -> None:
    rated = {c.key: Rating(float(values.get(c.key, 0))) for _s, c in DEDUCTION_CARD.criteria()}
    assert score_review(DEDUCTION_CARD, rated).score == pytest.approx(expected)


def test_score_never_below_zero() -> None:
    card = Scorecard("x", (Section("a", "a", (Criterion("late", "超时", kind="adjust", points=-40, max_times=3),)),))
    assert score_review(card, {"late": Rating(3)}).score == 0


def test_weighted_base_with_deductions_and_unrated_drafts() -> None:
    # a draft: only two items rated; the unrated ones are left out, like N/A, until the review is submitted
    result = score_review(CARD, {"greet": Rating(0), "polite": Rating(5), "forbidden": Rating(1)})
    assert result.base == pytest.approx(200 / 3) and result.score == pytest.approx(200 / 3 - 5)
    assert result.criteria["solved"].state == "unrated"


def test_explain_shows_the_formula() -> None:
    lines = explain(CARD, score_review(CARD, ratings(solved="na", forbidden=1)))
    assert lines == ["加权得分 = Σ(得分×权重)/Σ权重 = 550/6 = 91.7", "加减分 −5", "不适用（不计入）：问题解决", "总分 86.7"]
    assert explain(CARD, score_review(CARD, ratings(privacy=0)))[-2:] == ["致命项未通过：未泄露隐私 → 总分 0", "总分 0"]


def test_criterion_points_compare_reviewers() -> None:
    assert criterion_points(CARD.criterion("polite"), Rating(4)) == 75
    assert criterion_points(CARD.criterion("forbidden"), Rating(2)) == -10
    assert criterion_points(CARD.criterion("solved"), Rating(na=True)) is None


@pytest.mark.parametrize(("card", "message"), [
    (Scorecard("", (Section("a", "a", (Criterion("x", "X"),)),)), "评分表需要名称"),
    (Scorecard("c", ()), "至少需要一个评分项"),
    (Scorecard("c", (Section("a", "态度", (Criterion("x", "X"), Criterion("x", "Y"))),)), "编号“x”与前面的评分项重复"),
    (Scorecard("c", (Section("a", "态度", (Criterion("x", "礼貌", scale="rating", fatal="all"),)),)),
     "第 1 节“态度”第 1 项“礼貌”：致命项须是“是/否”量表的计分项"),
    (Scorecard("c", (Section("a", "态度", (Criterion("x", "X", kind="adjust"),)),)), "须设置分值"),
    (Scorecard("c", (Section("a", "态度", (Criterion("x", "X", auto_check="mood"),)),)), "自动检查“mood”未知"),
    (Scorecard("c", (Section("a", "态度", (Criterion("x", "X", scale="points", low=5, high=5),)),)), "下限 5 须小于上限 5"),
])
def test_bad_scorecards_are_named(card: Scorecard, message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        check_scorecard(card)


@pytest.mark.parametrize(("given", "message"), [
    ({"polite": Rating(6)}, "“礼貌”：取值须在 1–5 之间，收到 6"),
    ({"polite": Rating(3.5)}, "取值须为整数"),
    ({"greet": Rating(na=True)}, "“使用问候语”：此项不允许选“不适用”"),
    ({"nope": Rating(1)}, "没有评分项：nope"),
])
def test_bad_ratings_are_named(given: dict, message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        check_ratings(CARD, {**ratings(), **given})


def test_a_submitted_review_answers_every_line() -> None:
    partial = {k: v for k, v in ratings().items() if k != "solved"}
    check_ratings(CARD, partial, complete=False)
    with pytest.raises(ScorecardError, match="“问题解决”还没有评分：请打分或选“不适用”"):
        check_ratings(CARD, partial)


def test_json_round_trip_keeps_the_score() -> None:
    again = scorecard_from_dict(scorecard_to_dict(CARD))
    assert score_review(again, ratings(forbidden=2)).score == score_review(CARD, ratings(forbidden=2)).score
    assert again.criterion("polite").bounds == (1, 5)


def test_frame_round_trip_and_row_errors() -> None:
    frame = criteria_frame(CARD)
    assert frame["label"].tolist()[:3] == ["使用问候语", "礼貌", "未泄露隐私"]
    uncapped = criteria_frame(replace(CARD, sections=CARD.sections[:2]))  # no section sets a cap
    assert uncapped["section_cap"].dtype == float and uncapped["section_cap"].isna().all()  # empty, not "None"
    again = scorecard_from_frame("售后", frame)
    assert [s.label for s in again.sections] == ["服务态度", "解决问题", "规范"]
    assert again.sections[2].max_deduction == 10
    assert score_review(again, ratings(solved="na", forbidden=3)).score == pytest.approx(550 / 6 - 10)
    bad = frame.copy()
    bad.loc[4, "fatal"] = "sometimes"
    with pytest.raises(ScorecardError, match="第 5 行：致命设置“sometimes”未知"):
        scorecard_from_frame("售后", bad)
    bad = frame.copy()
    bad.loc[7, "section_cap"] = 20
    with pytest.raises(ScorecardError, match="第 8 行：“规范”的扣分上限与前面的行不一致"):
        scorecard_from_frame("售后", bad)
    with pytest.raises(ScorecardError, match="第 1 行：数值无法识别"):
        scorecard_from_frame("x", pd.DataFrame([{"section": "a", "key": "k", "label": "K", "weight": "重"}]))
