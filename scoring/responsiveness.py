"""Responsiveness of agent replies from timestamps: waits, first response, per-platform SLA, unanswered messages.

A wait runs from the first customer message not yet answered to the next human agent message; bot and system
messages do not stop it. A wait that starts outside service hours counts from the next opening time. Missing
timestamps give an empty wait (None), never an error. Rules live in data/lexicon/sla_rules.csv.

A conversation some of whose rows were rejected at import has a gap where a reply may have been (issue #13.4: a
malformed last reply made the chat "unanswered" with an SLA breach): its waits are measured but not judged
against the SLA, and customer messages left at its end are not counted as unanswered. Where the gap lies is not
known in every format, so no wait of such a conversation is judged.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path

from scoring.schema import Msg
from scoring.text import LEXICON_DIR

__all__ = ["SlaRule", "ReplyTiming", "Responsiveness", "load_sla_rules", "rule_for", "measure", "timing_explanation",
           "gap_text", "duration_text", "duration_change"]


@dataclass(frozen=True, slots=True)
class SlaRule:
    """Reply-time targets of one platform; a None target means "no SLA for that kind of reply"."""

    platform: str
    aliases: tuple[str, ...] = ()
    first_reply_s: float | None = 180.0
    reply_s: float | None = 180.0
    service_start: time = time(9, 0)
    service_end: time | None = None  # None = midnight (open until 24:00)

    def in_service(self, ts: datetime) -> bool:
        """Whether ``ts`` falls within service hours."""
        t = ts.time()
        return t >= self.service_start and (self.service_end is None or t < self.service_end)

    def clock_start(self, ts: datetime) -> datetime:
        """When a wait that starts at ``ts`` begins to count: ``ts`` itself, or the next opening time."""
        if self.in_service(ts):
            return ts
        opening = datetime.combine(ts.date(), self.service_start)
        return opening if ts < opening else opening + timedelta(days=1)


def _parse_clock(s: str) -> time | None:
    s = s.strip()
    if s in ("24:00", ""):
        return None
    h, m = s.split(":")
    return time(int(h), int(m))


def _seconds(s: str) -> float | None:
    return float(s) if s.strip() else None


@cache
def load_sla_rules(path: Path | None = None) -> tuple[SlaRule, ...]:
    """Rules from CSV (platform, aliases, first_reply_s, reply_s, service_start, service_end); ``*`` = default."""
    path = path or LEXICON_DIR / "sla_rules.csv"
    with path.open(encoding="utf-8") as f:
        return tuple(
            SlaRule(
                platform=row["platform"],
                aliases=tuple(a.lower() for a in row["aliases"].split("|") if a),
                first_reply_s=_seconds(row["first_reply_s"]),
                reply_s=_seconds(row["reply_s"]),
                service_start=_parse_clock(row["service_start"]) or time(0, 0),
                service_end=_parse_clock(row["service_end"]),
            )
            for row in csv.DictReader(f)
        )


def rule_for(platform: str | None, rules: Sequence[SlaRule]) -> SlaRule:
    """The rule whose platform name or alias appears in ``platform``; the ``*`` rule otherwise."""
    name = (platform or "").lower()
    default = next((r for r in rules if r.platform == "*"), SlaRule("*"))
    if not name:
        return default
    for r in rules:
        if r.platform != "*" and (r.platform.lower() in name or any(a in name for a in r.aliases)):
            return r
    return default


@dataclass(slots=True)
class ReplyTiming:
    """Timing of one agent message that answered waiting customer messages."""

    wait_s: float | None
    sla_s: float | None
    breach: bool | None
    first: bool
    shifted_to: datetime | None = None
    excused: bool = False  # not judged: the conversation has rows rejected at import


@dataclass(slots=True)
class Responsiveness:
    """Per-reply timings (keyed by message index) and their conversation-level summary."""

    rule: SlaRule
    replies: dict[int, ReplyTiming] = field(default_factory=dict)
    unanswered_at_end: int = 0
    rejected_rows: int = 0  # rows rejected at import: breaches and the unanswered end not counted

    @property
    def first_response_s(self) -> float | None:
        """Wait before the first agent reply, when known."""
        first = next((t for t in self.replies.values() if t.first), None)
        return first.wait_s if first else None

    @property
    def max_wait_s(self) -> float | None:
        """Longest known wait in the conversation."""
        waits = [t.wait_s for t in self.replies.values() if t.wait_s is not None]
        return max(waits) if waits else None

    @property
    def replies_in_sla(self) -> int:
        """Replies whose wait is known and within the SLA (or has no SLA to meet)."""
        return sum(1 for t in self.replies.values() if t.wait_s is not None and not t.breach)


def measure(messages: Sequence[Msg], rule: SlaRule, rejected_rows: int = 0) -> Responsiveness:
    """Walk the conversation once and time every agent reply against ``rule``; ``rejected_rows`` (rows of the
    conversation rejected at import) leaves every reply unjudged and the end not counted as unanswered."""
    result = Responsiveness(rule, rejected_rows=rejected_rows)
    pending = 0
    pending_ts: datetime | None = None
    seen_reply = False
    for i, msg in enumerate(messages):
        if msg.role == "customer":
            if pending == 0:
                pending_ts = msg.ts
            pending += 1
        elif msg.role == "agent" and pending:
            first = not seen_reply
            sla = None if rejected_rows else rule.first_reply_s if first else rule.reply_s
            wait = shifted = None
            if pending_ts is not None and msg.ts is not None:
                start = rule.clock_start(pending_ts)
                shifted = start if start != pending_ts else None
                wait = max(0.0, (msg.ts - start).total_seconds())
            breach = None if wait is None or sla is None else wait > sla
            result.replies[i] = ReplyTiming(wait, sla, breach, first, shifted, bool(rejected_rows))
            seen_reply = True
            pending, pending_ts = 0, None
    result.unanswered_at_end = 0 if rejected_rows else pending
    return result


def duration_text(seconds: float) -> str:
    """A wait as a reviewer says it: "38 秒", "4 分 54 秒", "1 小时 2 分" — the one way every page and the stored
    explanations say a duration, so a replay never shows "等待 294 秒" beside minutes."""
    s = round(seconds)
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分" + (f" {s % 60} 秒" if s % 60 else "")
    return f"{s // 3600} 小时" + (f" {s % 3600 // 60} 分" if s % 3600 // 60 else "")


def duration_change(seconds: float) -> str:
    """A change in a duration, signed: "+1 分 9 秒", "-38 秒", "0 秒"."""
    sign = "+" if round(seconds) > 0 else "-" if round(seconds) < 0 else ""
    return sign + duration_text(abs(seconds))


def timing_explanation(t: ReplyTiming, platform: str) -> str:
    """Chinese sentence for a reviewer, e.g. "等待 5 分 12 秒，超过天猫 SLA 3 分"."""
    if t.wait_s is None:
        return "缺少时间戳，无法计算等待时间"
    what = "首次响应" if t.first else "等待"
    text = f"{what} {duration_text(t.wait_s)}"
    if t.shifted_to is not None:
        text += f"（顾客留言在服务时间外，从 {t.shifted_to:%H:%M} 起算）"
    name = "默认" if platform == "*" else platform
    if t.excused:
        return text + "（导入时此会话有行被拒，可能缺了回复，不判断是否超时）"
    if t.sla_s is None:
        return text
    return text + f"，{'超过' if t.breach else '符合'}{name} SLA {duration_text(t.sla_s)}"


def gap_text(rejected_rows: int) -> str:
    """What a reviewer reads about a conversation with rows rejected at import (queue reason, replay, scores)."""
    return f"导入时有 {rejected_rows} 行被拒，结尾未回复/超时不计"
