"""Automatic QA checks on hand-built conversations: verdicts, counts and the evidence a reviewer reads."""

from __future__ import annotations

import pytest

from qa.program.checks import (
    CHECKS,
    CheckResult,
    Evidence,
    Line,
    evidence_from_json,
    evidence_to_json,
    propose,
    reviewer_passed,
    run_checks,
)
from qa.program.scorecard import AUTO_CHECK_NAMES, Criterion, Rating


def c(mid: int, text: str, **scores: float) -> Line:
    return Line(mid, "customer", text, **scores)  # type: ignore[arg-type]


def a(mid: int, text: str, **scores: float | bool) -> Line:
    return Line(mid, "agent", text, **scores)  # type: ignore[arg-type]


GOOD = [
    c(1, "在吗，这件有M码吗", sentiment_neg=0.1),
    a(2, "亲，您好，有的哦", wait_s=20, sla_s=180, sla_breach=False, tone_risk=0.05),
    c(3, "什么时候发货", sentiment_neg=0.1),
    a(4, "今天下午发出，请放心", wait_s=30, sla_s=180, sla_breach=False, tone_risk=0.1, relevance=0.8),
    c(5, "好的谢谢", sentiment_neg=0.05),
    a(6, "不客气，祝您购物愉快", wait_s=10, sla_s=180, sla_breach=False, tone_risk=0.02),
]

BAD = [
    c(1, "我的快递怎么还没到", sentiment_neg=0.6),
    a(2, "在系统里查一下", wait_s=400, sla_s=180, sla_breach=True, tone_risk=0.2, relevance=0.6),
    c(3, "都五天了！", sentiment_neg=0.8),
    a(4, "不知道，你自己去查，找快递公司", wait_s=200, sla_s=180, sla_breach=True, tone_risk=0.72, relevance=0.06),
    a(5, "抱歉让您久等了，已帮您催件", wait_s=None, tone_risk=0.1, relevance=0.9),
    Line(6, "bot", "亲，客服小蜜为您服务"),
    c(7, "太差了，我要投诉", sentiment_neg=0.93),
    c(8, "人呢？"),
]


def test_checks_pass_a_good_conversation() -> None:
    results = run_checks(GOOD)
    assert {name: r.passed for name, r in results.items()} == {
        "greeting": True, "closing": True, "forbidden": True, "first_response": True, "reply_sla": True,
        "unanswered_end": True, "tone": True, "relevance": True, "sentiment_end": True,
        "apology_after_wait": None}  # nobody waited past the SLA: an apology is not applicable
    assert results["greeting"].evidence == (Evidence(2, "首条客服回复含“亲”", phrase="亲"),)
    assert results["closing"].evidence[0].phrase == "不客气"


def test_checks_find_the_evidence_in_a_bad_conversation() -> None:
    r = run_checks(BAD)
    assert r["greeting"] == CheckResult("greeting", False, 1, (Evidence(2, "首条客服回复没有开场问候"),))
    assert r["closing"] == CheckResult("closing", False, 1, (Evidence(5, "最后一条客服回复没有结束语"),))  # the bot's is not
    assert [(e.message_id, e.phrase) for e in r["forbidden"].evidence] == [
        (4, "不知道"), (4, "自己去查"), (4, "找快递公司")]
    assert r["forbidden"].count == 3
    assert r["first_response"] == CheckResult("first_response", False, 1, (
        Evidence(2, "首次响应 6 分 40 秒（SLA 3 分，超时）", wait_s=400),))
    assert r["reply_sla"].count == 1 and r["reply_sla"].evidence[0].message_id == 4
    assert r["unanswered_end"] == CheckResult("unanswered_end", False, 2, (Evidence(7, "结尾有 2 条顾客消息未回复"),))
    assert r["tone"].count == 1 and r["tone"].evidence[0] == Evidence(4, "语气风险 0.72（预警线 0.5）", score=0.72)
    assert r["relevance"].evidence[0].message_id == 4 and r["relevance"].count == 1
    assert r["sentiment_end"] == CheckResult("sentiment_end", False, 1, (
        Evidence(7, "顾客最后的情绪 0.93（负面，线 0.7）", score=0.93),))
    assert r["apology_after_wait"].passed is False and r["apology_after_wait"].count == 2
    assert r["apology_after_wait"].evidence[0].note == "顾客等待 6 分 40 秒（SLA 3 分，超时），未致歉"


def test_apology_found_after_a_wait() -> None:
    lines = [c(1, "在吗"), a(2, "不好意思久等了，亲", wait_s=300, sla_s=180, sla_breach=True)]
    r = run_checks(lines)["apology_after_wait"]
    assert r.passed is True and r.evidence[0].phrase in ("不好意思", "久等了")


def test_nothing_to_judge_is_not_applicable() -> None:
    only_customer = [c(1, "在吗")]
    r = run_checks(only_customer)
    assert r["unanswered_end"].passed is False  # never answered at all
    assert all(r[name].passed is None for name in CHECKS if name != "unanswered_end")
    assert all(res.passed is None for res in run_checks([]).values())


def test_check_names_match_what_scorecards_may_name() -> None:
    assert tuple(CHECKS) == AUTO_CHECK_NAMES


@pytest.mark.parametrize(("criterion", "result", "expected"), [
    (Criterion("g", "问候"), CheckResult("greeting", True), Rating(1)),
    (Criterion("g", "问候"), CheckResult("greeting", False, 1), Rating(0)),
    (Criterion("t", "语气", scale="rating"), CheckResult("tone", False, 2), Rating(1)),
    (Criterion("t", "语气", scale="rating"), CheckResult("tone", True), Rating(5)),
    (Criterion("f", "禁用语", kind="adjust", points=-5, max_times=2), CheckResult("forbidden", False, 3), Rating(2)),
    (Criterion("f", "禁用语", kind="adjust", points=-5, max_times=2), CheckResult("forbidden", True), Rating(0)),
    (Criterion("s", "情绪好转", kind="adjust", points=3), CheckResult("sentiment_end", True), Rating(1)),
    (Criterion("a", "致歉", allow_na=True), CheckResult("apology_after_wait", None), Rating(na=True)),
    (Criterion("a", "致歉"), CheckResult("apology_after_wait", None), None),
    (Criterion("a", "致歉"), None, None),
])
def test_proposals_on_the_criterion_scale(criterion: Criterion, result: CheckResult | None,
                                         expected: Rating | None) -> None:
    assert propose(criterion, result) == expected


def test_reviewer_pass_reading() -> None:
    assert reviewer_passed(Criterion("t", "语气", scale="rating"), 3) is True
    assert reviewer_passed(Criterion("t", "语气", scale="rating"), 2) is False
    assert reviewer_passed(Criterion("f", "禁用语", kind="adjust", points=-5, max_times=3), 0) is True
    assert reviewer_passed(Criterion("f", "禁用语", kind="adjust", points=-5, max_times=3), 1) is False


def test_evidence_round_trips_through_json() -> None:
    evidence = run_checks(BAD)["apology_after_wait"].evidence
    assert evidence_from_json(evidence_to_json(evidence)) == evidence
