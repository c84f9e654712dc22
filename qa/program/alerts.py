"""Alert rules a manager sets, evaluated after every import and scoring run, each firing sent once.

A rule reads the same pre-aggregated ``daily_stats`` and the same metric definitions as the overview
(``qa.analytics.dashboard``), so an alert and the chart a manager opens from it always show the same number.
"Now" is the archive's last day, not the clock: archives are loaded after the fact, and a rule about "this week"
means the last week of data. A firing is stored under a key of (subject, window, count) that is unique per rule,
so re-running after an unrelated import sends nothing twice, while a new window or a new fatal failure fires
again. Delivery failures are recorded on the firing and never fail the import or scoring run that evaluated it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from qa.analytics.dashboard import DIMENSIONS, METRICS, MIN_VOLUME, compare, cube, format_value, kpis
from qa.analytics.filters import Filters, day_range
from qa.audit import record
from qa.busy import retry_when_busy
from qa.models import Agent, AlertEvent, AlertRuleRecord, Conversation, ScorecardReview
from qa.program.errors import ProgramError
from qa.program.people import acting_id

__all__ = [
    "KINDS",
    "AlertRule",
    "AlertRunReport",
    "Firing",
    "add_rule",
    "delete_rule",
    "describe_rule",
    "evaluate",
    "list_rules",
    "post_webhook",
    "recent_events",
    "run_alerts",
    "set_enabled",
]

KINDS: dict[str, str] = {
    "threshold": "超过阈值",
    "change": "环比变差",
    "fatal": "致命项未通过",
}
_ROBOT_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")  # WeCom and DingTalk group robots: text messages only
WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class AlertRule:
    """What to watch. ``threshold`` is a rate for kind "threshold" (0.3 = 30%; seconds for first response), a
    factor for "change" (2 = doubled, or halved for metrics where lower is worse), unused for "fatal"."""

    name: str
    kind: str
    metric: str | None = None
    dimension: str | None = None  # None: the whole archive (or the filters' scope) as one subject
    value: str | None = None  # one value of the dimension (退货, 京东); None: every value separately
    threshold: float = 0.0
    window_days: int = 7
    min_volume: int = MIN_VOLUME
    webhook_url: str = ""
    enabled: bool = True

    def check(self) -> None:
        """Refuse a rule that could never fire or would fire on noise, naming the field to fix."""
        if not self.name.strip():
            raise ProgramError("预警规则需要一个名称")
        if self.kind not in KINDS:
            raise ProgramError(f"预警类型“{self.kind}”未知：应为 {'、'.join(KINDS)} 之一")
        if self.kind != "fatal":
            if self.metric not in METRICS:
                raise ProgramError(f"指标“{self.metric}”未知：应为 {'、'.join(METRICS)} 之一")
            if self.kind == "change" and self.threshold <= 1:
                raise ProgramError("环比变差的倍数须大于 1（例如 2 表示翻倍）")
            if self.kind == "threshold" and self.threshold < 0:
                raise ProgramError("阈值不能为负数")
            if self.kind == "threshold" and METRICS[self.metric].kind == "pct" and self.threshold > 1:
                raise ProgramError(f"“{METRICS[self.metric].label}”是比例，预警线填 0–1 之间的小数："
                                   f"30% 填 0.3（现在填的是 {self.threshold:g}，永远不会触发）")
        if self.dimension is not None and self.dimension not in DIMENSIONS:
            raise ProgramError(f"维度“{self.dimension}”未知：应为 {'、'.join(DIMENSIONS)} 之一")
        if self.value and self.dimension is None:
            raise ProgramError("指定了取值（如“退货”）就要同时选择它所属的维度（如分类）")
        if not 1 <= self.window_days <= 366:
            raise ProgramError("统计窗口应在 1–366 天之间")
        if self.min_volume < 1:
            raise ProgramError("最小样本量至少为 1")
        if self.webhook_url and urlsplit(self.webhook_url).scheme not in ("http", "https"):
            raise ProgramError("Webhook 地址须以 http:// 或 https:// 开头")


@dataclass(frozen=True)
class Firing:
    """One subject breaking one rule in one window, said in a sentence a manager can act on."""

    subject: str
    message: str
    current: float | None
    previous: float | None
    volume: int
    start: date
    end: date

    @property
    def key(self) -> str:
        return f"{self.subject}|{self.start}|{self.end}|{self.volume if self.current is None else ''}"


@dataclass(frozen=True)
class AlertRunReport:
    new: int
    delivered: int
    failed: int


def describe_rule(rule: AlertRule) -> str:
    """The rule in one Chinese sentence, e.g. "坐席：预测不满意（均值） 近 7 天比前 7 天翻 2 倍"."""
    scope = DIMENSIONS[rule.dimension].label if rule.dimension else "全部"
    if rule.value:
        scope += f"“{rule.value}”"
    elif rule.dimension:
        scope = f"每个{scope}"
    if rule.kind == "fatal":
        return f"{scope}：近 {rule.window_days} 天的复核中有致命项未通过"
    assert rule.metric is not None
    m = METRICS[rule.metric]
    if rule.kind == "change":
        direction = "升至" if m.worse_when_higher else "降至"
        factor = f"{rule.threshold:g} 倍" if m.worse_when_higher else f"1/{rule.threshold:g}"
        return (f"{scope}：{m.label} 近 {rule.window_days} 天比前 {rule.window_days} 天{direction}{factor}"
                f"（两段各至少 {rule.min_volume} {m.volume}）")
    side = "高于" if m.worse_when_higher else "低于"
    return (f"{scope}：{m.label} 近 {rule.window_days} 天{side} {format_value(rule.metric, rule.threshold)}"
            f"（至少 {rule.min_volume} {m.volume}）")


def _window(conn: Connection, rule: AlertRule) -> Filters | None:
    span = day_range(conn)
    if span is None:
        return None
    end = span[1]
    return Filters(start=end - timedelta(days=rule.window_days - 1), end=end)


def _subjects(conn: Connection, rule: AlertRule, f: Filters) -> pd.DataFrame | None:
    """Per subject: the metric now and before and its volume (the metric's own denominator) in both windows."""
    if rule.dimension is None:
        c = cube(conn, f, by=())
        if c is None:
            return None
        k = kpis(c)
        return pd.DataFrame([{"value": "全部", **k.current, **{f"prev_{n}": v for n, v in k.previous.items()}}])
    c = cube(conn, f, by=(rule.dimension,))
    if c is None:
        return None
    out = compare(c, rule.dimension)
    return out[out["value"] == rule.value] if rule.value else out


def _subject_name(rule: AlertRule, value: object) -> str:
    return f"{DIMENSIONS[rule.dimension].label} {value}" if rule.dimension else "全部会话"


def _metric_firings(rule: AlertRule, rows: pd.DataFrame, f: Filters) -> list[Firing]:
    assert rule.metric is not None and f.start is not None and f.end is not None
    m = METRICS[rule.metric]
    out = []
    for row in rows.to_dict("records"):
        now, before = row.get(rule.metric), row.get(f"prev_{rule.metric}")
        volume, prev_volume = int(row.get(m.denominator) or 0), int(row.get(f"prev_{m.denominator}") or 0)
        if now is None or pd.isna(now) or volume < rule.min_volume:
            continue
        subject = _subject_name(rule, row["value"])
        shown = format_value(rule.metric, now)
        if rule.kind == "threshold":
            broken = now > rule.threshold if m.worse_when_higher else now < rule.threshold
            message = (f"{subject} 的{m.label}近 {rule.window_days} 天为 {shown}，"
                       f"{'高于' if m.worse_when_higher else '低于'}预警线 {format_value(rule.metric, rule.threshold)}"
                       f"（{volume} {m.volume}）")
        else:
            if before is None or pd.isna(before) or prev_volume < rule.min_volume or before <= 0:
                continue
            broken = now >= before * rule.threshold if m.worse_when_higher else now <= before / rule.threshold
            message = (f"{subject} 的{m.label}近 {rule.window_days} 天为 {shown}，前 {rule.window_days} 天为 "
                       f"{format_value(rule.metric, before)}（{volume} / {prev_volume} {m.volume}）")
        if broken:
            out.append(Firing(subject, f"【{rule.name}】{message}", float(now),
                              None if before is None or pd.isna(before) else float(before), volume, f.start, f.end))
    return out


def _fatal_firings(conn: Connection, rule: AlertRule, f: Filters) -> list[Firing]:
    """Reviews (not calibration ones) with a failed fatal item, per agent, on conversations in the window."""
    assert f.start is not None and f.end is not None
    r, c = ScorecardReview, Conversation
    agent = func.coalesce(Agent.name, "未知坐席")
    query = (select(agent, func.count()).select_from(r).join(c, c.id == r.conversation_id)
             .outerjoin(Agent, Agent.id == c.agent_id)
             .where(r.fatal_failed.is_(True), r.session_id.is_(None),
                    c.started_at >= datetime.combine(f.start, datetime.min.time()),
                    c.started_at < datetime.combine(f.end + timedelta(days=1), datetime.min.time()))
             .group_by(agent))
    if rule.value:
        query = query.where(Agent.name == rule.value)
    return [Firing(f"坐席 {name}", f"【{rule.name}】坐席 {name} 近 {rule.window_days} 天有 {n} 次复核致命项未通过",
                   None, None, int(n), f.start, f.end)
            for name, n in conn.execute(query)]


def evaluate(conn: Connection, rule: AlertRule) -> list[Firing]:
    """What ``rule`` finds in the last ``window_days`` days of the archive (nothing on an empty archive)."""
    f = _window(conn, rule)
    if f is None:
        return []
    if rule.kind == "fatal":
        return _fatal_firings(conn, rule, f)
    rows = _subjects(conn, rule, f)
    return [] if rows is None or rows.empty else _metric_firings(rule, rows, f)


def _rule(row: Any) -> AlertRule:
    return AlertRule(row.name, row.kind, row.metric, row.dimension, row.value, row.threshold, row.window_days,
                     row.min_volume, row.webhook_url, row.enabled)


def list_rules(conn: Connection) -> list[tuple[int, AlertRule]]:
    """Every rule with its id, oldest first."""
    return [(row.id, _rule(row)) for row in conn.execute(select(AlertRuleRecord).order_by(AlertRuleRecord.id))]


@retry_when_busy
def add_rule(engine: Engine, rule: AlertRule, actor: str) -> int:
    """Store a checked rule; a name already used is refused (names are how managers tell rules apart)."""
    rule.check()
    with engine.begin() as conn:
        creator = acting_id(conn, actor, "manage_program")
        if conn.scalar(select(AlertRuleRecord.id).where(AlertRuleRecord.name == rule.name.strip())) is not None:
            raise ProgramError(f"已有名为“{rule.name.strip()}”的预警规则：请换一个名称")
        values = {**asdict(rule), "name": rule.name.strip(), "value": rule.value or None}
        rule_id = conn.execute(insert(AlertRuleRecord).values(
            **values, created_by=creator, created_at=datetime.now(),
        ).returning(AlertRuleRecord.id)).scalar_one()
        record(conn, creator, "create", "alert_rule", rule_id, after=_audited(values))
        return rule_id


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    """A rule as the audit trail keeps it: without its webhook address, which holds the robot's key."""
    return {**values, "webhook_url": None}


@retry_when_busy
def set_enabled(engine: Engine, rule_id: int, enabled: bool, actor: str) -> None:
    """Pause or resume a rule; the audit trail keeps who did it."""
    with engine.begin() as conn:
        by = acting_id(conn, actor, "manage_program")
        was = conn.scalar(select(AlertRuleRecord.enabled).where(AlertRuleRecord.id == rule_id))
        if was is None or bool(was) == enabled:
            return
        conn.execute(update(AlertRuleRecord).where(AlertRuleRecord.id == rule_id).values(enabled=enabled))
        record(conn, by, "update", "alert_rule", rule_id, {"enabled": bool(was)}, {"enabled": enabled})


@retry_when_busy
def delete_rule(engine: Engine, rule_id: int, actor: str) -> None:
    """Remove a rule and its firings (a rule's history means nothing once the rule is gone); the audit trail
    keeps who removed it and what it said (without its webhook address, which holds the robot's key)."""
    with engine.begin() as conn:
        by = acting_id(conn, actor, "manage_program")
        row = conn.execute(select(AlertRuleRecord).where(AlertRuleRecord.id == rule_id)).first()
        if row is None:
            return
        record(conn, by, "delete", "alert_rule", rule_id, _audited(asdict(_rule(row))))
        conn.execute(delete(AlertEvent).where(AlertEvent.rule_id == rule_id))
        conn.execute(delete(AlertRuleRecord).where(AlertRuleRecord.id == rule_id))


def _payload(url: str, rule: AlertRule, firing: Firing) -> dict[str, Any]:
    """Group robots (WeCom, DingTalk) take only a text message; any other endpoint also gets the figures."""
    text = {"msgtype": "text", "text": {"content": f"回放 Huifang 预警\n{firing.message}"}}
    if (urlsplit(url).hostname or "") in _ROBOT_HOSTS:
        return text
    return {**text, "rule": rule.name, "kind": rule.kind, "metric": rule.metric, "subject": firing.subject,
            "current": firing.current, "previous": firing.previous, "volume": firing.volume,
            "period": [firing.start.isoformat(), firing.end.isoformat()]}


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON; raises OSError (urllib's errors are OSErrors) when it is not accepted."""
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310 (http(s) checked)
        if response.status >= 300:
            raise urllib.error.HTTPError(url, response.status, "not accepted", response.headers, None)


Sender = Callable[[str, dict[str, Any]], None]


@retry_when_busy
def _store(engine: Engine, found: Sequence[tuple[int, AlertRule, Firing]]) -> list[tuple[int, AlertRule, Firing]]:
    """Insert the firings not stored before; returns those new ones with their event ids."""
    new = []
    with engine.begin() as conn:
        for rule_id, rule, firing in found:
            exists = conn.scalar(select(AlertEvent.id).where(AlertEvent.rule_id == rule_id,
                                                             AlertEvent.key == firing.key[:300]))
            if exists is not None:
                continue
            event_id = conn.execute(insert(AlertEvent).values(
                rule_id=rule_id, key=firing.key[:300], subject=firing.subject[:200], message=firing.message,
                current=firing.current, previous=firing.previous, volume=firing.volume,
                period_start=firing.start, period_end=firing.end, fired_at=datetime.now(), delivery_error="",
            ).returning(AlertEvent.id)).scalar_one()
            new.append((event_id, rule, firing))
    return new


def run_alerts(engine: Engine, send: Sender = post_webhook) -> AlertRunReport:
    """Evaluate every enabled rule, store new firings, and send each new one to its rule's webhook, if any."""
    with engine.connect() as conn:
        found = [(rule_id, rule, firing) for rule_id, rule in list_rules(conn) if rule.enabled
                 for firing in evaluate(conn, rule)]
    new = _store(engine, found)
    delivered = failed = 0
    for event_id, rule, firing in new:
        if not rule.webhook_url:
            continue
        try:
            send(rule.webhook_url, _payload(rule.webhook_url, rule, firing))
        except OSError as e:  # unreachable host, refused, timeout, HTTP error: recorded, the run goes on
            failed += 1
            _delivery(engine, event_id, None, f"{type(e).__name__}: {e}"[:500])
        else:
            delivered += 1
            _delivery(engine, event_id, datetime.now(), "")
    return AlertRunReport(len(new), delivered, failed)


@retry_when_busy
def _delivery(engine: Engine, event_id: int, at: datetime | None, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(AlertEvent).where(AlertEvent.id == event_id).values(delivered_at=at, delivery_error=error))


def recent_events(conn: Connection, limit: int = 200) -> pd.DataFrame:
    """The latest firings, newest first, with their rule's name and whether they were sent.

    Columns: fired_at, rule, subject, message, sent ("已发送", "发送失败：…", or "" when the rule has no webhook).
    """
    e, r = AlertEvent, AlertRuleRecord
    rows = conn.execute(select(e.fired_at, r.name, e.subject, e.message, e.delivered_at, e.delivery_error,
                               r.webhook_url).join(r, r.id == e.rule_id)
                        .order_by(e.fired_at.desc(), e.id.desc()).limit(limit)).all()
    return pd.DataFrame(
        [(at, name, subject, message,
          "已发送" if sent else f"发送失败：{error}" if error else "" if not url else "待发送")
         for at, name, subject, message, sent, error, url in rows],
        columns=["fired_at", "rule", "subject", "message", "sent"])
