"""Waits, first response, SLA per platform, service hours and unanswered messages."""

from __future__ import annotations

from datetime import datetime

import pytest

from scoring.responsiveness import duration_change, duration_text, load_sla_rules, measure, rule_for, timing_explanation
from scoring.schema import Msg

T0 = datetime(2026, 11, 11, 10, 0, 0)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds)


@pytest.mark.parametrize(
    ("platform", "wait", "breach"),
    [
        ("天猫", 312, True),
        ("淘宝", 100, False),
        ("京东", 45, True),   # 30-second first reply
        ("京东", 20, False),
        ("抖音", 200, True),
        ("tmall", 179, False),
        (None, 200, True),    # default rule: 180 s
    ],
)
def test_first_reply_against_platform_sla(platform: str | None, wait: int, breach: bool) -> None:
    msgs = [Msg("customer", "在吗", at(0)), Msg("agent", "您好", at(wait))]
    r = measure(msgs, rule_for(platform, load_sla_rules()))
    assert r.first_response_s == wait
    assert r.replies[1].breach is breach


def test_explanation_names_wait_platform_and_sla() -> None:
    msgs = [Msg("customer", "在吗", at(0)), Msg("agent", "您好", at(312))]
    rule = rule_for("天猫", load_sla_rules())
    assert timing_explanation(measure(msgs, rule).replies[1], rule.platform) == "首次响应 5 分 12 秒，超过天猫 SLA 3 分"


def test_wait_runs_from_first_unanswered_message_and_bots_do_not_stop_it() -> None:
    msgs = [
        Msg("customer", "在吗", at(0)), Msg("customer", "有人吗", at(60)), Msg("bot", "自动回复", at(1)),
        Msg("system", "转人工", at(2)), Msg("agent", "您好", at(240)), Msg("customer", "好的", at(300)),
        Msg("agent", "嗯", at(330)),
    ]
    r = measure(msgs, rule_for("天猫", load_sla_rules()))
    assert set(r.replies) == {4, 6}
    assert r.replies[4].wait_s == 240 and r.replies[6].wait_s == 30
    assert r.max_wait_s == 240 and r.replies_in_sla == 1 and r.unanswered_at_end == 0


def test_jd_has_no_sla_for_later_replies() -> None:
    msgs = [Msg("customer", "a", at(0)), Msg("agent", "b", at(10)), Msg("customer", "c", at(20)),
            Msg("agent", "d", at(500))]
    r = measure(msgs, rule_for("京东自营", load_sla_rules()))
    assert r.replies[3].wait_s == 480 and r.replies[3].breach is None


def test_missing_timestamp_gives_empty_wait() -> None:
    msgs = [Msg("customer", "在吗", None), Msg("agent", "您好", at(10)), Msg("customer", "?", at(20)),
            Msg("agent", "嗯", None)]
    r = measure(msgs, rule_for("天猫", load_sla_rules()))
    assert r.replies[1].wait_s is None and r.replies[1].breach is None
    assert r.replies[3].wait_s is None and r.first_response_s is None and r.max_wait_s is None


def test_wait_outside_service_hours_counts_from_opening() -> None:
    night = datetime(2026, 11, 11, 2, 30)
    msgs = [Msg("customer", "在吗", night), Msg("agent", "您好", datetime(2026, 11, 11, 9, 2))]
    rule = rule_for("天猫", load_sla_rules())
    t = measure(msgs, rule).replies[1]
    assert t.wait_s == 120 and t.breach is False
    assert "从 09:00 起算" in timing_explanation(t, rule.platform)


def test_unanswered_customer_messages_at_end() -> None:
    msgs = [Msg("customer", "a", at(0)), Msg("agent", "b", at(5)), Msg("customer", "c", at(9)),
            Msg("customer", "d", at(12)), Msg("bot", "稍后回复", at(13))]
    assert measure(msgs, rule_for("抖音", load_sla_rules())).unanswered_at_end == 2


@pytest.mark.parametrize(("seconds", "text"), [(38, "38 秒"), (45.4, "45 秒"), (60, "1 分"), (294, "4 分 54 秒"),
                                               (600, "10 分"), (3600, "1 小时"), (3720, "1 小时 2 分"),
                                               (7500, "2 小时 5 分")])
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(68.75, "+1 分 9 秒"), (-38, "-38 秒"), (0.2, "0 秒")])
def test_duration_change_is_signed(seconds: float, text: str) -> None:
    assert duration_change(seconds) == text
