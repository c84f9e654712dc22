"""Alert rules on SQLite and PostgreSQL: thresholds, week-on-week changes, fatal items, each firing stored and sent
once, delivery to a real local HTTP endpoint, failures recorded without failing the run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select

from qa.models import Conversation
from qa.program import alerts, reviews, store
from qa.program.alerts import AlertRule
from qa.program.errors import ProgramError
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from tests.helpers import read
from tests.seed import seed_small


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)  # last day 2026-11-13; see tests/seed.py for every figure below
    return engine


def test_threshold_on_one_category(db: Engine) -> None:
    rule = AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3, min_volume=1)
    [firing] = read(db, alerts.evaluate, rule)
    assert firing.subject == "分类 退货"
    assert firing.current == 1.0 and firing.volume == 2  # tm-3 (0.8) and tm-4 (0.9), both ≥ RISK_HIGH
    assert "高于预警线 30.0%" in firing.message and "【退货不满】" in firing.message
    assert str(firing.start) == "2026-11-07" and str(firing.end) == "2026-11-13"


def test_threshold_each_value_and_volume(db: Engine) -> None:
    every = AlertRule("高风险", "threshold", "risk_high_share", "category", None, 0.3, min_volume=1)
    assert sorted(f.subject for f in read(db, alerts.evaluate, every)) == ["分类 负面评价", "分类 赠品/物流",
                                                                          "分类 退货"]
    assert read(db, alerts.evaluate, AlertRule("高风险", "threshold", "risk_high_share", "category", None, 0.3,
                                               min_volume=3)) == []  # no category has 3 scored conversations


def test_lower_is_worse_metric_fires_below(db: Engine) -> None:
    rule = AlertRule("京东 SLA", "threshold", "sla_rate", "platform", "京东", 0.9, min_volume=1)
    [firing] = read(db, alerts.evaluate, rule)  # JD's 30 s SLA: jd-1 1 of 2 replies in time, jd-2 1 of 2
    assert firing.current == 0.5 and "低于预警线 90.0%" in firing.message
    whole = AlertRule("全部 SLA", "threshold", "sla_rate", None, None, 0.5, min_volume=1)
    assert read(db, alerts.evaluate, whole) == []  # 12 of 16 replies in time overall


def test_week_on_week_change_per_agent(db: Engine) -> None:
    rule = AlertRule("不满翻倍", "change", "risk_mean", "agent", None, 1.5, window_days=2, min_volume=1)
    [firing] = read(db, alerts.evaluate, rule)  # 11-12..13 against 11-10..11
    assert firing.subject == "坐席 小李"  # 0.30 → 0.60; 阿杰 0.80 → 0.90 is not ×1.5; 小王 had nothing before
    assert (firing.previous, firing.current) == pytest.approx((0.3, 0.6))


def _fatal_review(engine: Engine, ext: str) -> None:
    card = Scorecard("售后", (Section("a", "处理", (
        Criterion("rude", "辱骂顾客", fatal="all"), Criterion("polite", "礼貌", scale="rating"))),))
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == ext))
    versions = read(engine, store.list_scorecards)
    vid = int(versions["version_id"].iloc[0]) if not versions.empty else store.create_scorecard(
        engine, card, "陈经理").version_id
    reviews.save_review(engine, cid, vid, {"rude": Rating(0), "polite": Rating(4)}, "王质检")


def test_fatal_items_fire_per_agent_and_again_on_a_new_failure(db: Engine) -> None:
    rule = AlertRule("致命项", "fatal")
    rule_id = alerts.add_rule(db, rule, "陈经理")
    assert alerts.run_alerts(db, send=_never).new == 0
    _fatal_review(db, "tm-3")
    assert alerts.run_alerts(db, send=_never).new == 1
    assert alerts.run_alerts(db, send=_never).new == 0  # nothing new: not stored or sent twice
    _fatal_review(db, "tm-4")
    assert alerts.run_alerts(db, send=_never).new == 1
    events = read(db, alerts.recent_events)
    assert events["message"].tolist() == ["【致命项】坐席 阿杰 近 7 天有 2 次复核致命项未通过",
                                          "【致命项】坐席 阿杰 近 7 天有 1 次复核致命项未通过"]
    assert events["sent"].tolist() == ["", ""]  # no webhook set
    alerts.delete_rule(db, rule_id, "陈经理")
    assert read(db, alerts.recent_events).empty


def _never(url: str, payload: dict[str, Any]) -> None:
    raise AssertionError("a rule without a webhook sends nothing")


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received, _Hook.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/robot"
    server.shutdown()


def test_webhook_receives_the_firing_as_json_once(db: Engine, hook: str) -> None:
    alerts.add_rule(db, AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3,
                                  min_volume=1, webhook_url=hook), "陈经理")
    report = alerts.run_alerts(db)
    assert (report.new, report.delivered, report.failed) == (1, 1, 0)
    [payload] = _Hook.received
    assert payload["msgtype"] == "text" and "分类 退货" in payload["text"]["content"]
    assert payload["subject"] == "分类 退货" and payload["current"] == 1.0 and payload["volume"] == 2
    assert payload["period"] == ["2026-11-07", "2026-11-13"]
    alerts.run_alerts(db)
    assert len(_Hook.received) == 1
    assert read(db, alerts.recent_events)["sent"].tolist() == ["已发送"]


def test_failed_delivery_is_recorded_and_the_run_goes_on(db: Engine, hook: str) -> None:
    _Hook.status = 500
    alerts.add_rule(db, AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3,
                                  min_volume=1, webhook_url=hook), "陈经理")
    alerts.add_rule(db, AlertRule("无人监听", "threshold", "risk_high_share", "category", "负面评价", 0.3,
                                  min_volume=1, webhook_url="http://127.0.0.1:9/closed"), "陈经理")
    report = alerts.run_alerts(db)
    assert (report.new, report.delivered, report.failed) == (2, 0, 2)
    sent = read(db, alerts.recent_events)["sent"].tolist()
    assert all(s.startswith("发送失败：") for s in sent) and any("500" in s for s in sent)


def test_robot_hosts_get_text_only() -> None:
    from datetime import date

    firing = alerts.Firing("分类 退货", "【x】…", 1.0, None, 2, date(2026, 11, 7), date(2026, 11, 13))
    rule = AlertRule("x", "threshold", "risk_high_share", "category", "退货", 0.3)
    robot = alerts._payload("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", rule, firing)
    assert set(robot) == {"msgtype", "text"}


@pytest.mark.parametrize(("rule", "message"), [
    (AlertRule("", "fatal"), "名称"),
    (AlertRule("x", "sometimes"), "预警类型"),
    (AlertRule("x", "threshold", "happiness"), "指标"),
    (AlertRule("x", "change", "risk_mean", threshold=1.0), "大于 1"),
    (AlertRule("x", "threshold", "risk_high_share", threshold=30), "30% 填 0.3"),  # a percentage typed as such
    (AlertRule("x", "threshold", "risk_mean", None, "退货", 0.3), "维度"),
    (AlertRule("x", "threshold", "risk_mean", "planet", None, 0.3), "维度"),
    (AlertRule("x", "threshold", "risk_mean", threshold=0.3, window_days=0), "窗口"),
    (AlertRule("x", "fatal", webhook_url="file:///etc/passwd"), "http"),
])
def test_rules_that_cannot_work_are_refused(sqlite_engine: Engine, rule: AlertRule, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        alerts.add_rule(sqlite_engine, rule, "陈经理")


def test_duplicate_name_refused_and_disabled_rules_skipped(db: Engine) -> None:
    rule = AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3, min_volume=1)
    rule_id = alerts.add_rule(db, rule, "陈经理")
    with pytest.raises(ProgramError, match="已有名为"):
        alerts.add_rule(db, rule, "陈经理")
    alerts.set_enabled(db, rule_id, False, "陈经理")
    assert alerts.run_alerts(db).new == 0
    assert alerts.describe_rule(rule) == "分类“退货”：高风险会话占比 近 7 天高于 30.0%（至少 1 个已评分会话）"


def test_only_managers_set_rules(db: Engine) -> None:
    from qa.access import AccessDenied

    rule = AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3)
    with pytest.raises(AccessDenied, match="没有权限管理质检方案"):
        alerts.add_rule(db, rule, "王质检")
    rule_id = alerts.add_rule(db, rule, "陈经理")
    with pytest.raises(AccessDenied):
        alerts.delete_rule(db, rule_id, "刘总")


def test_a_rule_s_life_is_in_the_audit_trail_without_its_webhook(db: Engine) -> None:
    from qa.access import SYSTEM
    from qa.audit import audit_table, audit_trail

    rule = AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3,
                     webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret")
    rule_id = alerts.add_rule(db, rule, "陈经理")
    alerts.set_enabled(db, rule_id, False, "陈经理")
    alerts.set_enabled(db, rule_id, False, "陈经理")  # no change: nothing to record
    alerts.set_enabled(db, rule_id, True, "陈经理")
    alerts.delete_rule(db, rule_id, "陈经理")
    trail = read(db, audit_trail, SYSTEM, entity="alert_rule")
    assert trail[["user_name", "action", "entity_id"]].values.tolist() == [
        ["陈经理", action, str(rule_id)] for action in ("delete", "update", "update", "create")]
    assert json.loads(trail["before"].iloc[0])["name"] == "退货不满" and "secret" not in trail["before"].iloc[0]
    assert json.loads(trail["after"].iloc[-1])["threshold"] == 0.3 and "secret" not in trail["after"].iloc[-1]
    assert [json.loads(a)["enabled"] for a in trail["after"].iloc[1:3]] == [True, False]
    assert audit_table(trail)[["对象", "内容"]].values.tolist()[0][0] == "预警规则"
