"""Seeded demo data: six months of customer-service chats of one brand on 天猫, 京东 and 抖音, in import formats.

``generate_demo`` writes what a shop would bring to Huifang — canonical JSONL, a ticket sheet exported from
Excel, a JD 咚咚 log and a Qianniu TXT export — so that ``huifang demo`` exercises the real import path and the
dashboards have something true to show: an 11.11 peak and its after-sales wave, daily and hourly rhythm, agents
whose speed and tone differ, customers whose mood and CSAT follow the waits. Conversations are generated one at a
time and written at once (memory does not grow with size); the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path

from huifang_demo.chat import PLATFORMS, Scene, simulate
from huifang_demo.phrases import (
    INTENTS,
    JD_AGENT_PREFIX,
    JD_BOT,
    JD_HUMAN_REQUEST,
    JD_ORDER_CARD,
    JD_WELCOME_CARD,
    NICK_HEADS,
    NICK_TAILS,
    QIANNIU_BOT,
    SHOPS,
    Intent,
)
from huifang_demo.reviews import REVIEWS_FILE, ReviewWriter
from qa.ingest.records import ConversationRecord, TicketRecord

__all__ = ["DemoFiles", "generate_demo", "CONVERSATIONS_FILE", "TICKETS_FILE", "JD_FILE", "QIANNIU_FILE",
           "REVIEWS_FILE", "TICKET_COLUMNS"]

CONVERSATIONS_FILE = "conversations.jsonl"
TICKETS_FILE = "tickets.csv"
JD_FILE = "jd_chat.log"
QIANNIU_FILE = "qianniu_chat.txt"
TICKET_COLUMNS = ("工单号", "会话ID", "订单号", "平台", "店铺", "工单类型", "状态", "创建时间", "关闭时间", "处理结果", "满意度")
_CSAT_WORDS = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """What ``generate_demo`` wrote: the five paths and how much went into each."""

    conversations_jsonl: Path
    tickets_csv: Path
    jd_log: Path
    qianniu_txt: Path
    reviews_csv: Path
    conversations: int
    messages: int
    jsonl_conversations: int
    jd_sessions: int
    qianniu_sessions: int
    tickets: int
    reviews: int
    linked_reviews: int  # reviews whose order id is a demo conversation's

    @property
    def paths(self) -> tuple[Path, ...]:
        """All written files, in the order an importer should read them (tickets after their conversations)."""
        return self.conversations_jsonl, self.jd_log, self.qianniu_txt, self.tickets_csv, self.reviews_csv


def generate_demo(out_dir: Path, *, conversations: int = 10_000, messages: int | None = None, seed: int = 7,
                  end: date = date(2026, 11, 20), months: int = 6) -> DemoFiles:
    """Write the demo files into ``out_dir``; ``messages``, when given, sizes the data by messages instead."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    days = _days(end, months)
    if messages is not None:
        if messages < 1:
            raise ValueError(f"messages must be at least 1, got {messages}")
        conversations = _conversations_for(messages, days, seed)
    if conversations < 1:
        raise ValueError(f"conversations must be at least 1, got {conversations}")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _Writers(out_dir, seed, end) as writers:
        for scene in _scenes(rng, days, conversations):
            conversation, ticket = simulate(rng, scene)
            writers.write(_route(rng, conversation, ticket), conversation, ticket)
    return writers.summary()


# --- calendar ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Festival:
    """A shopping festival: the peak day, the ramp before it and the after-sales wave after it."""

    month: int
    day: int
    peak: float
    ramp_days: int
    ramp_top: float
    wave_days: int
    wave_top: float
    name: str


_FESTIVALS = (_Festival(11, 11, 6.0, 21, 2.0, 9, 3.0, "双十一"), _Festival(6, 18, 2.6, 7, 1.5, 7, 1.7, "618"))
# Share of a day's chats starting in each hour: quiet nights, a morning rise, busiest in the evening.
_HOURS = (0.45, 0.22, 0.1, 0.05, 0.04, 0.04, 0.07, 0.15, 0.4, 0.8, 1.0, 1.05,
          0.9, 0.85, 1.0, 1.05, 1.0, 0.95, 0.95, 1.15, 1.4, 1.6, 1.55, 1.1)
_FIRST_STAFFED_HOUR = 9
_STAFFED_MEAN = sum(_HOURS[_FIRST_STAFFED_HOUR:]) / (24 - _FIRST_STAFFED_HOUR)
_PLATFORM_WEIGHTS = (0.45, 0.30, 0.25)
_PLATFORM_CODES = {"天猫": "TM", "京东": "JD", "抖音": "DY"}
# Intent mix by period: pre-sales questions before a festival, returns and parcels after it.
_MIX = {
    "normal": {"产品/尺码咨询": 38, "退货": 14, "换货": 8, "赠品/物流": 14, "负面评价": 5, "售后回访": 5, "发票": 5, "其他": 11},
    "presale": {"产品/尺码咨询": 55, "退货": 7, "换货": 4, "赠品/物流": 10, "负面评价": 2, "售后回访": 2, "发票": 5, "其他": 15},
    "peak": {"产品/尺码咨询": 50, "退货": 7, "换货": 4, "赠品/物流": 12, "负面评价": 2, "售后回访": 1, "发票": 6, "其他": 18},
    "wave": {"产品/尺码咨询": 15, "退货": 22, "换货": 12, "赠品/物流": 28, "负面评价": 10, "售后回访": 4, "发票": 4, "其他": 5},
}


def _days(end: date, months: int) -> list[date]:
    """The days of the ``months`` calendar months that end on ``end`` (inclusive)."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    month += 1
    day = min(end.day, _month_length(year, month))
    start = date(year, month, day) + timedelta(days=1)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _month_length(year: int, month: int) -> int:
    return ((date(year + month // 12, month % 12 + 1, 1)) - date(year, month, 1)).days


def _festival_phase(d: date) -> tuple[_Festival | None, int]:
    """The festival whose ramp, peak or wave ``d`` falls in, and the days from its peak (negative before)."""
    for festival in _FESTIVALS:
        delta = (d - date(d.year, festival.month, festival.day)).days
        if -festival.ramp_days <= delta <= festival.wave_days:
            return festival, delta
    return None, 0


def _period(d: date) -> str:
    festival, delta = _festival_phase(d)
    if festival is None:
        return "normal"
    return "peak" if delta == 0 else "presale" if delta < 0 else "wave"


def _day_weight(d: date) -> float:
    """Relative chat volume of a day: weekends a little busier, festivals ramp up, peak, then an after-sales wave."""
    weekly = 1.15 if d.weekday() >= 5 else 1.0
    festival, delta = _festival_phase(d)
    if festival is None:
        return weekly
    if delta == 0:
        return festival.peak
    if delta < 0:
        return weekly * (1 + (festival.ramp_top - 1) * (festival.ramp_days + delta + 1) / festival.ramp_days)
    return weekly * (1 + (festival.wave_top - 1) * (1 - (delta - 1) / festival.wave_days))


def _hour_weights(d: date) -> tuple[float, ...]:
    """On a festival's peak day the sale opens at midnight: the first hours are crowded and staffed."""
    if _period(d) != "peak":
        return _HOURS
    return (_HOURS[0] * 8, _HOURS[1] * 4) + _HOURS[2:]


def _staffed(d: date, hour: int) -> bool:
    return hour >= _FIRST_STAFFED_HOUR or (hour < 2 and _period(d) == "peak")


def _next_festival(d: date) -> str:
    """What customers call the coming sale (they ask 618有优惠吗 in May, 双十一 from summer on)."""
    if (d.month, d.day) <= (6, 18):
        return "618"
    if (d.month, d.day) <= (11, 11):
        return "双十一"
    return "双十二"


def _counts(rng: random.Random, days: list[date], total: int) -> list[int]:
    """Split ``total`` conversations over the days by weight (with day-to-day noise), largest remainder first."""
    weights = [_day_weight(d) * rng.uniform(0.9, 1.1) for d in days]
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _scenes(rng: random.Random, days: list[date], total: int) -> Iterator[Scene]:
    """Every conversation's setting, day by day and in start-time order within a day."""
    data_end = datetime.combine(days[-1], time(23, 59, 59))
    customers = max(200, total * 3 // 5)
    for d, count in zip(days, _counts(rng, days, total)):
        hours = _hour_weights(d)
        seconds = sorted(h * 3600 + int(rng.random() * 3600)
                         for h in rng.choices(range(24), cum_weights=list(accumulate(hours)), k=count))
        period, festival, day_weight = _period(d), _next_festival(d), _day_weight(d)
        for n, second in enumerate(seconds, start=1):
            hour = second // 3600
            staffed = _staffed(d, hour)
            platform = rng.choices(PLATFORMS, weights=_PLATFORM_WEIGHTS)[0]
            yield Scene(
                conversation_id=f"{_PLATFORM_CODES[platform]}{d:%Y%m%d}{n:05d}",
                start=datetime.combine(d, time()) + timedelta(seconds=second),
                platform=platform,
                intent=_intent(rng, period, staffed),
                staffed=staffed,
                load=day_weight * hours[hour] / _STAFFED_MEAN,
                festival=festival,
                in_wave=period == "wave",
                customer=_customer(platform, rng.randrange(customers)),
                data_end=data_end,
            )


def _intent(rng: random.Random, period: str, staffed: bool) -> Intent:
    """Draw an intent from the period's mix; call-backs (售后回访) happen only when agents are at work."""
    mix = _MIX[period]
    names = [n for n in mix if staffed or INTENTS[n].agent_opens_p < 1.0]
    return INTENTS[rng.choices(names, weights=[mix[n] for n in names])[0]]


def _customer(platform: str, index: int) -> str:
    """A stable buyer nick per platform: Taobao nicks, JD pins, masked Douyin names; repeat buyers reuse theirs."""
    if platform == "京东":
        return f"jd_{index * 2654435761 % 16 ** 10:010x}"
    if platform == "抖音":
        digits = f"{index * 7919 % 10 ** 8:08d}"
        return f"抖音用户{digits[:2]}****{digits[-2:]}"
    if index % 3 == 0:
        return f"tb{index * 40503 % 10 ** 9:09d}"
    head, tail = NICK_HEADS[index % len(NICK_HEADS)], NICK_TAILS[index // len(NICK_HEADS) % len(NICK_TAILS)]
    return f"{head}{tail}{index // 400 or ''}"


def _conversations_for(messages: int, days: list[date], seed: int) -> int:
    """How many conversations give about ``messages`` messages, measured on a seeded pilot sample."""
    rng = random.Random(f"pilot-{seed}")
    pilot = 1000
    sampled = sum(len(simulate(rng, scene)[0].messages) for scene in _scenes(rng, days, pilot))
    return max(1, round(messages * pilot / sampled))


# --- routing and writing -----------------------------------------------------------------------------------------

# Share of ticket-less chats of each workbench's platform written in its export layout instead of JSONL.
_WORKBENCH_SHARE = {"京东": 0.1, "天猫": 0.08}


def _route(rng: random.Random, conversation: ConversationRecord, ticket: TicketRecord | None) -> str:
    """Which file a conversation goes to; workbench exports carry no ticket link, so ticketed chats stay in JSONL."""
    share = _WORKBENCH_SHARE.get(conversation.platform or "", 0.0)
    if ticket is not None or rng.random() >= share:
        return CONVERSATIONS_FILE
    return JD_FILE if conversation.platform == "京东" else QIANNIU_FILE


class _Writers:
    """The five open output files and their tallies."""

    def __init__(self, out_dir: Path, seed: int, end: date) -> None:
        self.out_dir, self.seed, self.end = out_dir, seed, end
        self.counts = {CONVERSATIONS_FILE: 0, JD_FILE: 0, QIANNIU_FILE: 0, TICKETS_FILE: 0}
        self.messages = 0
        self._stack = ExitStack()

    def __enter__(self) -> _Writers:
        stack, out = self._stack, self.out_dir
        self.jsonl = stack.enter_context(open(out / CONVERSATIONS_FILE, "w", encoding="utf-8", newline="\n"))
        tickets = stack.enter_context(open(out / TICKETS_FILE, "w", encoding="utf-8-sig", newline=""))
        self.tickets = csv.writer(tickets)  # Excel's CSV: CRLF rows, BOM first
        self.tickets.writerow(TICKET_COLUMNS)
        self.jd = stack.enter_context(open(out / JD_FILE, "w", encoding="utf-8", newline="\r\n"))
        self.qianniu = stack.enter_context(open(out / QIANNIU_FILE, "w", encoding="gb18030", newline="\r\n"))
        self.qianniu.write(_QIANNIU_HEADER)
        reviews = stack.enter_context(open(out / REVIEWS_FILE, "w", encoding="gbk", newline=""))  # as back offices give it
        self.reviews = ReviewWriter(reviews, self.seed, self.end)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def write(self, target: str, conversation: ConversationRecord, ticket: TicketRecord | None) -> None:
        self.counts[target] += 1
        self.messages += len(conversation.messages)
        if target == CONVERSATIONS_FILE:
            self.jsonl.write(_jsonl_line(conversation))
        elif target == JD_FILE:
            self.jd.write(_jd_session(conversation))
        else:
            self.qianniu.write(_qianniu_session(conversation))
        if ticket is not None:
            self.counts[TICKETS_FILE] += 1
            self.tickets.writerow(_ticket_row(ticket))
        self.reviews.add(conversation)

    def summary(self) -> DemoFiles:
        out, counts = self.out_dir, self.counts
        return DemoFiles(
            conversations_jsonl=out / CONVERSATIONS_FILE, tickets_csv=out / TICKETS_FILE, jd_log=out / JD_FILE,
            qianniu_txt=out / QIANNIU_FILE, reviews_csv=out / REVIEWS_FILE,
            conversations=counts[CONVERSATIONS_FILE] + counts[JD_FILE] + counts[QIANNIU_FILE],
            messages=self.messages, jsonl_conversations=counts[CONVERSATIONS_FILE], jd_sessions=counts[JD_FILE],
            qianniu_sessions=counts[QIANNIU_FILE], tickets=counts[TICKETS_FILE], reviews=self.reviews.reviews,
            linked_reviews=self.reviews.linked)


def _jsonl_line(c: ConversationRecord) -> str:
    """One canonical JSONL line; optional fields are left out rather than written as null."""
    record: dict[str, object] = {"conversation_id": c.external_id}
    for key, value in (("platform", c.platform), ("shop", c.shop), ("category", c.category), ("csat", c.csat),
                       ("ticket_id", c.ticket_id), ("order_id", c.order_id), ("customer", c.customer),
                       ("team", c.team)):
        if value is not None:
            record[key] = value
    record["messages"] = [_jsonl_message(m.role, m.text, m.ts, m.agent) for m in c.messages]
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _jsonl_message(role: str, text: str, ts: datetime | None, agent: str | None) -> dict[str, str]:
    message = {"role": role, "text": text}
    if ts is not None:
        message["ts"] = ts.isoformat() + "+08:00"
    if agent is not None:
        message["agent"] = agent
    return message


def _ticket_row(t: TicketRecord) -> list[str]:
    return [t.external_id, t.conversation_id or "", t.order_id or "", t.platform or "", t.shop or "", t.category or "",
            t.status or "", _clock(t.created_at), _clock(t.closed_at), t.outcome or "",
            _CSAT_WORDS.get(t.csat, "") if t.csat else ""]


def _clock(ts: datetime | None) -> str:
    return ts.isoformat(" ") if ts is not None else ""


_JD_OPEN = "/*****************以下为一通会话************************************/\n"
_JD_CLOSE = "/*****************会话结束_时间：{}************************/\n"


def _jd_session(c: ConversationRecord) -> str:
    """A JD 咚咚 session: a welcome card from JIMI, the buyer's order card, headers and bodies, the end line.

    System lines of the canonical record have no place in the log except as 用户发起转人工 after the bot.
    """
    lines = [_JD_OPEN]
    previous_role = None
    first_customer = next((i for i, m in enumerate(c.messages) if m.role == "customer"), -1)
    for i, m in enumerate(c.messages):
        stamp = _clock(m.ts)
        if m.role == "bot" and i == 0:
            lines.append(f"{JD_BOT} {stamp}\n{JD_WELCOME_CARD}\n")
        if i == first_customer and c.order_id:
            lines.append(f"{c.customer} {stamp}\n{JD_ORDER_CARD.format(order=c.order_id, sku=_jd_sku(c))}\n")
        if m.role == "system":
            if previous_role == "bot":
                lines.append(f"{c.customer} {stamp}\n{JD_HUMAN_REQUEST}\n")
        else:
            lines.append(f"{_jd_sender(c, m.role, m.agent)} {stamp}\n{m.text}\n")
        previous_role = m.role
    last = c.messages[-1].ts or datetime.min
    lines.append(_JD_CLOSE.format(_clock(last + timedelta(minutes=3))))
    return "".join(lines)


def _jd_sku(c: ConversationRecord) -> str:
    """A JD item id, stable per order so the card reads the same wherever it appears."""
    return f"100{int(c.order_id or 0) % 10 ** 9:09d}"


def _jd_sender(c: ConversationRecord, role: str, agent: str | None) -> str:
    if role == "customer":
        return c.customer or ""
    if role == "bot":
        return JD_BOT
    return f"{JD_AGENT_PREFIX}{agent}"


_QIANNIU_RULE = "=" * 64 + "\n"
_QIANNIU_HEADER = (f"消息记录（此消息记录为文本格式，不支持重新导入）\n{_QIANNIU_RULE}消息分组:全部买家\n{_QIANNIU_RULE}"
                   f"消息对象:全部联系人\n{_QIANNIU_RULE}\n")
_QIANNIU_SEPARATOR = "-" * 20 + "\n"


def _qianniu_session(c: ConversationRecord) -> str:
    """A Qianniu message-manager session: ``发送者(时间): 正文`` lines, system lines dropped, dashes after."""
    shop = c.shop or SHOPS["天猫"]
    senders = {"customer": c.customer or "", "bot": f"{shop}:{QIANNIU_BOT}"}
    lines = [f"{senders.get(m.role) or f'{shop}:{m.agent}'}({_clock(m.ts)}): {m.text}\n"
             for m in c.messages if m.role != "system"]
    return "".join(lines) + _QIANNIU_SEPARATOR
