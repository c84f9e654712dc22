"""Simulates one customer-service conversation of the demo data, message by message.

The calendar in ``huifang_demo.generate`` decides when a conversation happens, on which shop, about what and how busy the
agents are; this module plays it out. Agent profiles (speed, how waits grow under load, tone, forbidden phrases,
how often they resolve) drive what the customer experiences, the customer's mood follows the waits and the tone,
and the CSAT they may give follows the mood — so dashboards built on the demo show real relationships.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar, cast

from huifang_demo.phrases import (
    AGENT_CLOSERS,
    APOLOGIES,
    BOT_HANDOFF,
    BOT_NAME,
    BOT_NIGHT,
    BOT_QUEUE,
    BOT_WELCOME,
    CATALOGUE,
    CLOSERS,
    COMMUNITIES,
    COMPANY_TRADES,
    COMPANY_WORDS,
    COURIERS,
    CURT_CLOSERS,
    CURT_GREETINGS,
    CURT_HOLDS,
    CUSTOMER_OPENERS,
    DEFECTS,
    ETAS,
    EVIDENCE,
    FOLLOW_PREFIXES,
    FORBIDDEN,
    GIFTS,
    GREETINGS,
    HOLDS,
    HUMAN_REQUESTS,
    IMPATIENCE,
    INTENTS,
    PLACES,
    POLITE_PREFIXES,
    POLITE_SUFFIXES,
    ROADS,
    SHOPS,
    SYSTEM_JOINED,
    SYSTEM_TRANSFER,
    TONE_REACTIONS,
    TRANSFER_IN,
    TRANSFER_OUT,
    Intent,
    Product,
    Topic,
)
from qa.ingest.records import ConversationRecord, MessageRecord, TicketRecord

__all__ = ["Profile", "Agent", "PROFILES", "ROSTER", "TEAMS", "PLATFORMS", "Scene", "simulate", "agents_for"]

T = TypeVar("T")

PLATFORMS: tuple[str, ...] = ("天猫", "京东", "抖音")
TEAMS: tuple[str, ...] = ("售前", "售后", "物流/赠品", "评价")


@dataclass(frozen=True, slots=True)
class Profile:
    """How an agent works: typical reply wait, how it grows with load, tone and how often problems get solved."""

    label: str
    base_wait_s: float
    load_sensitivity: float
    polite: float
    curt: float
    forbidden: float
    off_topic: float
    resolve: float


PROFILES: dict[str, Profile] = {p.label: p for p in (
    Profile("fast_polite", 16, 0.12, 0.95, 0.02, 0.0, 0.01, 0.85),
    Profile("slow_at_peak", 45, 0.85, 0.8, 0.05, 0.004, 0.02, 0.75),
    Profile("curt", 22, 0.3, 0.08, 0.75, 0.01, 0.06, 0.7),
    Profile("forbidden", 35, 0.4, 0.3, 0.4, 0.12, 0.08, 0.55),
    Profile("resolver", 30, 0.3, 0.85, 0.03, 0.0, 0.005, 0.95),
    Profile("average", 30, 0.4, 0.65, 0.15, 0.008, 0.03, 0.75),
)}


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent: a name unique across the shops, one team, the platforms they serve."""

    name: str
    team: str
    platforms: tuple[str, ...]
    profile: Profile


_T, _J, _D = PLATFORMS
ROSTER: tuple[Agent, ...] = tuple(Agent(name, team, platforms, PROFILES[label]) for name, team, platforms, label in (
    ("小美", "售前", (_T,), "fast_polite"), ("阿杰", "售前", (_T, _D), "curt"), ("小雨", "售前", (_T,), "slow_at_peak"),
    ("晓晓", "售前", (_J,), "fast_polite"), ("阿强", "售前", (_J,), "forbidden"), ("小琪", "售前", (_J, _T), "resolver"),
    ("甜甜", "售前", (_D,), "fast_polite"), ("小鹿", "售前", (_D,), "slow_at_peak"), ("阿宁", "售前", (_T,), "average"),
    ("小柚", "售前", (_D, _J), "average"), ("小鱼", "售前", (_T,), "slow_at_peak"), ("阿凯", "售前", (_J,), "curt"),
    ("小桃", "售前", (_D,), "average"), ("七七", "售前", (_T, _J), "fast_polite"),
    ("小敏", "售后", (_T,), "resolver"), ("阿峰", "售后", (_T,), "forbidden"), ("小安", "售后", (_T, _J), "slow_at_peak"),
    ("阿乐", "售后", (_J,), "resolver"), ("小静", "售后", (_J,), "curt"), ("大伟", "售后", (_D,), "forbidden"),
    ("小婷", "售后", (_D,), "fast_polite"), ("阿亮", "售后", (_T,), "average"), ("小蓝", "售后", (_J, _D), "average"),
    ("小雅", "售后", (_T,), "fast_polite"), ("阿东", "售后", (_D,), "slow_at_peak"), ("小云", "售后", (_T, _D), "resolver"),
    ("小满", "物流/赠品", (_T,), "fast_polite"), ("阿斌", "物流/赠品", (_T, _J), "curt"), ("小可", "物流/赠品", (_J,), "average"),
    ("阿俊", "物流/赠品", (_D,), "slow_at_peak"), ("小丁", "物流/赠品", (_D, _T), "forbidden"),
    ("小月", "物流/赠品", (_J,), "resolver"), ("阿飞", "物流/赠品", (_T,), "slow_at_peak"), ("豆豆", "物流/赠品", (_D,), "average"),
    ("小诺", "评价", (_T, _J), "resolver"), ("阿青", "评价", (_T,), "curt"), ("小悦", "评价", (_J,), "fast_polite"),
    ("阿浩", "评价", (_D, _T), "forbidden"), ("小希", "评价", (_D,), "average"), ("团团", "评价", (_J, _D), "slow_at_peak"),
))

_BY_TEAM_PLATFORM: dict[tuple[str, str], tuple[Agent, ...]] = {
    (team, platform): tuple(a for a in ROSTER if a.team == team and platform in a.platforms)
    for team in TEAMS for platform in PLATFORMS
}


def agents_for(team: str, platform: str) -> tuple[Agent, ...]:
    """Agents of a team serving a platform (every pair has at least one; tests hold the roster to that)."""
    return _BY_TEAM_PLATFORM[(team, platform)]


@dataclass(frozen=True, slots=True)
class Scene:
    """What the calendar decided for one conversation before it is played out."""

    conversation_id: str
    start: datetime
    platform: str
    intent: Intent
    staffed: bool
    load: float
    festival: str
    in_wave: bool
    customer: str
    data_end: datetime


_MISTAGGED = 0.03
_BOT_ONLY_BY_DAY = 0.04
_TRANSFER_P = 0.05
_OVERFLOW_P = 0.12
_SECOND_TEAM_SHARE = 0.3
_FOLLOW_TOPICS = (0, 1, 1, 2, 2, 3, 4)  # how many questions follow the first one, drawn uniformly


def simulate(rng: random.Random, scene: Scene) -> tuple[ConversationRecord, TicketRecord | None]:
    """Play out one conversation; returns it and the after-sales ticket it opened, if any."""
    chat = _Chat(rng, scene)
    call_back = scene.intent.agent_opens_p >= 1.0
    if scene.staffed and (call_back or rng.random() > _BOT_ONLY_BY_DAY):
        chat.with_agents()
    else:
        chat.bot_only()
    return chat.finish()


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice`` without its overhead, which shows at a million messages."""
    return items[int(rng.random() * len(items))]


def _log_normal(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    """Whole seconds from a log-normal; chat gaps are skewed: mostly short, sometimes very long."""
    return min(high, max(low, round(rng.lognormvariate(math.log(median), sigma))))


class _Slots(dict[str, object]):
    """The details one conversation is about, each drawn the first time a message mentions it, then kept.

    Keeping them makes every message of a chat speak of the same product, size and parcel; drawing lazily keeps
    generation fast, as a chat mentions only a few of the details it could.
    """

    def __init__(self, rng: random.Random, scene: Scene, product: Product) -> None:
        super().__init__(product=product.name, facts=product.facts, festival=scene.festival, bot=BOT_NAME,
                         shop=SHOPS[scene.platform], agent="", team="", wait_min=0)
        self.rng, self.scene, self.product = rng, scene, product

    def __missing__(self, key: str) -> object:
        value = _SLOT_MAKERS[key](self)
        self[key] = value
        return value


def _address(s: _Slots) -> str:
    rng = s.rng
    province, city, districts = _pick(rng, PLACES)
    city = "" if city == province else city  # 北京市丰台区, not 北京市北京市丰台区
    street = f"{_pick(rng, districts)}{_pick(rng, ROADS)}{rng.randint(1, 399)}号{_pick(rng, COMMUNITIES)}"
    return f"{province}{city}{street}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}"


def _tax_id(s: _Slots) -> str:
    """An 18-character unified social credit code, shaped like a real company's."""
    rng = s.rng
    return f"91{rng.randint(110000, 659999)}MA{rng.randint(10, 99)}{rng.randint(1000, 9999)}X{rng.randint(1, 9)}"


def _promotion(s: _Slots) -> tuple[int, int]:
    return _pick(s.rng, ((200, 30), (300, 40), (400, 50), (300, 50)))


_SLOT_MAKERS: dict[str, Callable[[_Slots], object]] = {
    "colour": lambda s: _pick(s.rng, s.product.colours),
    "colour2": lambda s: _pick(s.rng, s.product.colours),
    "height": lambda s: s.rng.randint(150, 186),
    "weight": lambda s: s.rng.randint(88, 185),
    "size": lambda s: _sizes(s.product, cast(int, s["height"]), cast(int, s["weight"]))[0],
    "size2": lambda s: _sizes(s.product, cast(int, s["height"]), cast(int, s["weight"]))[1],
    "foot": lambda s: _foot_cm(cast(str, s["size"])),
    "length": lambda s: s.rng.randint(62, 78),
    "warranty": lambda s: _pick(s.rng, (1, 2, 3)),
    "timer": lambda s: _pick(s.rng, (2, 4, 8, 12)),
    "upgrade": lambda s: _pick(s.rng, ("静音电机", "智能控温", "内胆材质", "一键清洁")),
    "carrier": lambda s: _courier(s.rng, s.scene.platform),
    "courier": lambda s: cast(tuple[str, str, int], s["carrier"])[0],
    "tracking": lambda s: _tracking(s.rng, *cast(tuple[str, str, int], s["carrier"])[1:]),
    "tracking2": lambda s: _tracking(s.rng, *cast(tuple[str, str, int], s["carrier"])[1:]),
    "city": lambda s: _pick(s.rng, PLACES)[1].rstrip("市"),
    "eta": lambda s: _pick(s.rng, ETAS),
    "order": lambda s: _order_id(s.rng, s.scene.platform),
    "order_day": lambda s: _order_day(s.rng, s.scene.start.date(), s.scene.in_wave),
    "days": lambda s: s.rng.randint(3, 10),
    "hours": lambda s: _pick(s.rng, (12, 24, 48)),
    "gift": lambda s: _pick(s.rng, GIFTS),
    "defect": lambda s: _pick(s.rng, DEFECTS[s.product.kind]),
    "address": _address,
    "return_address": lambda s: "浙江省嘉兴市南湖区科技大道88号沐禾电商仓3号库",
    "return_phone": lambda s: f"0573-8{s.rng.randint(1000000, 9999999)}",
    "company": lambda s: f"{s['city']}{_pick(s.rng, COMPANY_WORDS)}{_pick(s.rng, COMPANY_TRADES)}有限公司",
    "tax_id": _tax_id,
    "email": lambda s: f"{s.rng.randint(10000000, 3999999999)}@{_pick(s.rng, ('qq.com', '163.com', '126.com'))}",
    "amount": lambda s: s.product.price * _pick(s.rng, (1, 1, 1, 1, 2, 3)),
    "comp": lambda s: _pick(s.rng, (5, 10, 10, 15, 20, 30)),
    "diff": lambda s: s.rng.randint(1, 12) * 10,
    "promotion": _promotion,
    "full": lambda s: cast(tuple[int, int], s["promotion"])[0],
    "off": lambda s: cast(tuple[int, int], s["promotion"])[1],
    "sf_fee": lambda s: _pick(s.rng, (8, 10, 12, 15)),
    "presale_days": lambda s: _pick(s.rng, (3, 5, 7, 15)),
    "restock": lambda s: _day_text(s.scene.start.date() + timedelta(days=s.rng.randint(3, 15))),
    "queue": lambda s: max(3, round(s.scene.load * s.rng.randint(5, 20))),
}


def _sizes(product: Product, height: int, weight: int) -> tuple[str, str]:
    """A size that fits the customer's height and weight, and the next one up (or down at the top)."""
    if not product.sizes:
        return "", ""
    if product.kind == "shoes":
        i = (height - 150) // 4
    elif product.sizes[0].isdigit():  # jeans by waist
        i = (weight - 88) // 12
    else:
        i = (weight - 88) // 20
    i = min(len(product.sizes) - 1, max(0, i))
    j = i + 1 if i + 1 < len(product.sizes) else i - 1
    return product.sizes[i], product.sizes[j]


def _foot_cm(size: str) -> str:
    cm = round((int(size) / 1.5 - 1.5) * 2) / 2
    return f"{cm:g}"


def _courier(rng: random.Random, platform: str) -> tuple[str, str, int]:
    """JD's own orders mostly ship with 京东物流 (the last courier); the other shops use the express firms."""
    if platform == "京东" and rng.random() < 0.8:
        return COURIERS[-1]
    return COURIERS[int(rng.random() * (len(COURIERS) - 1))]


def _tracking(rng: random.Random, prefix: str, digits: int) -> str:
    return f"{prefix}{rng.randrange(10 ** (digits - 1), 10 ** digits)}"


def _order_id(rng: random.Random, platform: str) -> str:
    """Order numbers shaped like each platform's: Tmall 19 digits, JD 12, Douyin 19 starting 69."""
    if platform == "京东":
        return str(rng.randrange(2 * 10 ** 11, 3 * 10 ** 11))
    if platform == "抖音":
        return f"69{rng.randrange(10 ** 16, 10 ** 17)}"
    return str(rng.randrange(10 ** 18, 4 * 10 ** 18))


def _order_day(rng: random.Random, day: date, in_wave: bool) -> str:
    if in_wave and rng.random() < 0.5:
        return _pick(rng, ("双十一", "双11那天", "11号"))
    back = rng.randint(1, 14)
    if back == 1:
        return "昨天"
    if back == 2:
        return "前天"
    return _day_text(day - timedelta(days=back))


def _day_text(d: date) -> str:
    return f"{d.month}月{d.day}号"


def _fill(template: str, slots: dict[str, object]) -> str:
    return template.format_map(slots) if "{" in template else template


class _Chat:
    """Builds one conversation: the clock, who is talking, the customer's mood and what went wrong."""

    def __init__(self, rng: random.Random, scene: Scene) -> None:
        self.rng = rng
        self.scene = scene
        self.intent = scene.intent
        product = CATALOGUE[int(rng.random() * len(CATALOGUE))]
        self.kind = product.kind
        self.slots = _Slots(rng, scene, product)
        self.fitting = [t for t in scene.intent.topics  # the topics that make sense for this product and shop
                        if (not t.kinds or product.kind in t.kinds)
                        and (not t.platforms or scene.platform in t.platforms)]
        self.t = scene.start
        self.messages: list[MessageRecord] = []
        self.anger = scene.intent.temper + rng.choice((0.0, 0.0, 0.3, 0.8))
        self.waiting_since: datetime | None = None
        self.max_wait = 0
        self.forbidden = 0
        self.curt = 0
        self.agent_messages = 0
        self.agent: Agent  # set by set_agent() before any agent speaks
        self.resolved = False
        self.ticket_at: datetime | None = None

    # --- clock and speakers -------------------------------------------------------------------------------

    def _say(self, role: str, text: str, gap: int, agent: str | None = None) -> None:
        self.t += timedelta(seconds=gap)
        self.messages.append(MessageRecord(role=role, text=text, ts=self.t, agent=agent))

    def customer(self, text: str, gap: int | None = None) -> None:
        """The customer types; a gap of None means a natural typing pause."""
        self._say("customer", text, _log_normal(self.rng, 12, 0.6, 2, 180) if gap is None else gap)
        if self.waiting_since is None:
            self.waiting_since = self.t

    def bot(self, template: str, gap: int = 1) -> None:
        self._say("bot", _fill(template, self.slots), gap)

    def system(self, template: str) -> None:
        self._say("system", _fill(template, self.slots), 0)

    def agent_says(self, text: str, gap: int | None = None) -> None:
        """The current agent sends a message right after another (typing pause) or after a measured wait."""
        self._say("agent", text, _log_normal(self.rng, 8, 0.5, 2, 60) if gap is None else gap, self.agent.name)
        self.agent_messages += 1
        if self.waiting_since is not None:
            self.max_wait = max(self.max_wait, int((self.t - self.waiting_since).total_seconds()))
            self.waiting_since = None

    def wait_for_agent(self, first: bool = False) -> int:
        """Let time pass until the agent answers; the customer nudges and grows angry while waiting."""
        profile = self.agent.profile
        median = profile.base_wait_s * (1 + profile.load_sensitivity * max(0.0, self.scene.load - 1.2))
        wait = _log_normal(self.rng, median * (1.6 if first else 1.0), 0.7, 3, 2700)
        self.nudge_during(wait)
        self.anger += max(0, wait - 60) / 400
        return wait

    def nudge_during(self, wait: int) -> None:
        """Customer messages sent while nobody answers (在吗？？ first, threats once angry); the clock stays put."""
        patience = self.rng.uniform(50, 150) / (1 + 0.3 * self.anger)
        start, elapsed, nudges = self.t, patience, 0
        since = self.waiting_since or start
        while elapsed < wait and nudges < 3:
            level = 0 if self.anger < 1.5 else 1 if self.anger < 2.5 else 2
            self.t = start + timedelta(seconds=round(elapsed))
            self.slots["wait_min"] = max(1, round((self.t - since).total_seconds() / 60))
            self.customer(_fill(_pick(self.rng, IMPATIENCE[level]), self.slots), gap=0)
            self.anger += 0.3
            nudges += 1
            elapsed += patience * self.rng.uniform(1.2, 2.0)
        self.t = start

    # --- agent wording --------------------------------------------------------------------------------------

    def answer(self, topic: Topic) -> str:
        """The agent's answer to a topic; careless agents now and then answer another question (答非所问)."""
        if self.rng.random() < self.agent.profile.off_topic:
            topic = self.fitting[int(self.rng.random() * len(self.fitting))]
        return self.reply(topic.answers, topic.short)

    def reply(self, answers: tuple[str, ...], short: tuple[str, ...] = ()) -> str:
        """An agent answer in the agent's tone: polite, plain, curt, or now and then a forbidden phrase."""
        profile, rng = self.agent.profile, self.rng
        forbidden_p = profile.forbidden * (1.5 if self.scene.load > 3 else 1.0) * (1.5 if self.anger > 2 else 1.0)
        if rng.random() < forbidden_p:
            self.forbidden += 1
            phrase = _pick(rng, FORBIDDEN + self.intent.forbidden)
            return phrase if rng.random() < 0.6 else f"{phrase}，{_curtly(_fill(_pick(rng, answers), self.slots))}"
        text = _fill(_pick(rng, answers), self.slots)
        r = rng.random()
        if r < profile.polite:
            return _politely(rng, text)
        if r < profile.polite + profile.curt:
            self.curt += 1
            return _fill(_pick(rng, short), self.slots) if short and rng.random() < 0.5 else _curtly(text, rng)
        return text

    def agent_turn(self, topic: Topic) -> None:
        """Wait, then answer; sometimes first say 稍等 and look it up. A forbidden phrase may draw a retort."""
        wait = self.wait_for_agent()
        forbidden_before = self.forbidden
        if self.rng.random() < 0.15:
            polite = self.rng.random() < self.agent.profile.polite
            self.agent_says(_pick(self.rng, HOLDS if polite else CURT_HOLDS), gap=wait)
            wait = _log_normal(self.rng, 70, 0.6, 10, 900)
            self.waiting_since = self.t
            self.nudge_during(wait)
        self.agent_says(self.answer(topic), gap=wait)
        if self.forbidden > forbidden_before and self.rng.random() < 0.6:
            self.customer(_pick(self.rng, TONE_REACTIONS))
            self.anger += 1.0

    def greet(self, wait: int) -> None:
        """First words of an agent: an apology after a long wait if polite, then a greeting."""
        polite = self.rng.random() < self.agent.profile.polite
        gap: int | None = wait
        if polite and wait > 120:
            self.agent_says(_pick(self.rng, APOLOGIES), gap=wait)
            gap = None
        elif not polite:
            self.curt += 1
        self.agent_says(_fill(_pick(self.rng, GREETINGS if polite else CURT_GREETINGS), self.slots), gap=gap)

    def set_agent(self, agent: Agent) -> None:
        self.agent = agent
        self.slots["agent"] = agent.name
        self.slots["team"] = agent.team

    # --- customer wording -----------------------------------------------------------------------------------

    def ask(self, topic: Topic, follow: bool) -> None:
        """The customer asks a topic's question, sometimes split over two messages as people type."""
        text = _fill(_pick(self.rng, topic.asks), self.slots)
        if follow:
            text = _pick(self.rng, FOLLOW_PREFIXES) + text
        text = _vary_ending(self.rng, text)
        head, sep, tail = text.partition("，")
        if sep and tail and "\n" not in text and self.rng.random() < 0.15:
            self.customer(head)
            self.customer(tail)
        else:
            self.customer(text)

    # --- the two shapes of conversation ----------------------------------------------------------------------

    def bot_only(self) -> None:
        """Night (or a question the bot settles): welcome, question, canned answer, maybe a request for a human."""
        rng, intent = self.rng, self.intent
        night = not self.scene.staffed
        if rng.random() < 0.7:
            self.bot(_pick(rng, BOT_WELCOME), gap=0)
        if rng.random() < 0.4:
            self.customer(_pick(rng, CUSTOMER_OPENERS))
        self.ask(self._topics()[0], follow=False)
        self.bot(_pick(rng, intent.bot_faq) if intent.bot_faq and (not night or rng.random() < 0.5) else
                 _pick(rng, BOT_NIGHT))
        if night and rng.random() < 0.5:
            self.customer(_pick(rng, HUMAN_REQUESTS))
            self.bot(_pick(rng, BOT_NIGHT))
        if rng.random() < 0.4:
            self.customer(_pick(rng, CLOSERS[1] if night else CLOSERS[0]))
        self.resolved = not night

    def with_agents(self) -> None:
        """A chat with human agents: opening, answers to each question, perhaps a transfer, then a close."""
        rng, intent, scene = self.rng, self.intent, self.scene
        agent_opens = bool(intent.agent_opens) and rng.random() < intent.agent_opens_p
        first, final = self._agents(may_transfer=not agent_opens)
        self.set_agent(first)
        topics = self._topics()
        unanswered = rng.random() < min(0.2, 0.03 + 0.02 * max(0.0, scene.load - 2))
        if agent_opens:
            self.agent_says(_politely(rng, _fill(_pick(rng, intent.agent_opens), self.slots)), gap=0)
            if rng.random() < 0.15:
                return  # the customer never answered the call-back
            self.t += timedelta(seconds=_log_normal(rng, 240, 1.0, 5, 7200))
            self.ask(topics[0], follow=False)
            self.agent_turn(topics[0])
        else:
            if not self._open(topics[0], unanswered and len(topics) == 1):
                return
            self.agent_says(self.answer(topics[0]))
        if rng.random() < intent.evidence_p:
            self.customer("[图片]" if self.kind != "appliance" or rng.random() < 0.5 else "[视频]")
            if rng.random() < 0.5:
                self.customer(_pick(rng, ("你看", "就是这里", "看图", "你们自己看看")))
            self.agent_turn(EVIDENCE)
        for i, topic in enumerate(topics[1:], start=1):
            if final is not first and i == 1:
                self._transfer(final)
            self.ask(topic, follow=True)
            if unanswered and i == len(topics) - 1:
                self.nudge_during(_log_normal(rng, 300, 0.5, 120, 1200))
                return
            self.agent_turn(topic)
        if final is not first and self.agent is first:
            self._transfer(final)
        self._close()

    def _open(self, topic: Topic, unanswered: bool) -> bool:
        """Bot welcome, the customer's first words, the bot's try and hand-off, then the agent's greeting.

        Returns False when no agent ever picked the chat up.
        """
        rng = self.rng
        has_bot = rng.random() < 0.55
        if has_bot:
            self.bot(_pick(rng, BOT_WELCOME), gap=0)
        if rng.random() < 0.5:
            self.customer(_pick(rng, CUSTOMER_OPENERS), gap=rng.randint(1, 20))
        if self.intent.about_order and rng.random() < 0.3:
            self.customer(f"订单号：{self.slots['order']}")
        self.ask(topic, follow=False)
        if has_bot and self.intent.bot_faq and rng.random() < 0.35:
            self.bot(_pick(rng, self.intent.bot_faq), gap=rng.randint(1, 3))
            self.customer(_pick(rng, HUMAN_REQUESTS))
            self.bot(_pick(rng, BOT_HANDOFF), gap=1)
            if self.scene.load > 3:
                self.bot(_pick(rng, BOT_QUEUE), gap=1)
        if unanswered:
            self.nudge_during(_log_normal(rng, 600, 0.5, 180, 2400))
            return False
        wait = self.wait_for_agent(first=True)
        if has_bot or rng.random() < 0.3:
            self.t += timedelta(seconds=wait)
            self.system(SYSTEM_JOINED)
            wait = 2
        self.greet(wait)
        return True

    def _transfer(self, to: Agent) -> None:
        """Hand the chat to the right team: a word to the customer, the system line, the new agent's greeting."""
        rng = self.rng
        self.slots["team"] = to.team
        self.agent_says(_fill(_pick(rng, TRANSFER_OUT), self.slots))
        self.slots["agent2"] = to.name
        self.system(SYSTEM_TRANSFER)
        self.waiting_since = self.t
        self.set_agent(to)
        wait = self.wait_for_agent(first=True)
        self.agent_says(_fill(_pick(rng, TRANSFER_IN), self.slots), gap=wait)

    def _close(self) -> None:
        """Resolution or stall, the customer's last words (mood-dependent) and the agent's goodbye."""
        rng, intent = self.rng, self.intent
        load_penalty = 0.85 if self.scene.load > 3 else 1.0
        self.resolved = rng.random() < self.agent.profile.resolve * load_penalty
        lines = intent.resolve if self.resolved else intent.stall
        if lines and (intent.ticket_p or intent.agent_opens or rng.random() < 0.35):
            self.agent_says(self.reply(lines))
            self.ticket_at = self.t
        if not self.resolved:
            self.anger += 0.8
        mood = 0 if self.anger < 1.2 and self.resolved else 2 if self.anger >= 2.2 else 1
        if rng.random() < 0.85:
            self.customer(_pick(rng, CLOSERS[mood]), gap=_log_normal(rng, 25, 0.8, 3, 900))
            if rng.random() < 0.6 or mood == 0:
                polite = rng.random() < self.agent.profile.polite
                self.agent_says(_fill(_pick(rng, AGENT_CLOSERS if polite else CURT_CLOSERS), self.slots),
                                gap=_log_normal(rng, 15, 0.6, 3, 300))

    # --- choices -----------------------------------------------------------------------------------------------

    def _topics(self) -> list[Topic]:
        """The first question and a few follow-ups that fit the product and the platform, without repeats."""
        rng = self.rng
        firsts = [t for t in self.fitting if t.first] or self.fitting
        chosen = [firsts[int(rng.random() * len(firsts))]]
        rest = [t for t in self.fitting if t is not chosen[0] and (self.intent.mixed_openers or not t.first)]
        rng.shuffle(rest)
        chosen += rest[:_FOLLOW_TOPICS[int(rng.random() * len(_FOLLOW_TOPICS))]]
        return chosen

    def _agents(self, may_transfer: bool) -> tuple[Agent, Agent]:
        """First and final agent: the intent's team, overflow to other teams at peak, and a few transfers."""
        rng, scene = self.rng, self.scene
        team = self.intent.team
        if self.intent.second_team and rng.random() < _SECOND_TEAM_SHARE:
            team = self.intent.second_team
        if scene.load > 4 and rng.random() < _OVERFLOW_P:
            team = _pick(rng, tuple(t for t in TEAMS if t != team))
        final = _pick_agent(rng, team, scene.platform)
        if not may_transfer or rng.random() >= _TRANSFER_P:
            return final, final
        wrong_team = "售后" if team == "售前" else "售前"
        return _pick_agent(rng, wrong_team, scene.platform), final

    # --- results ---------------------------------------------------------------------------------------------

    def csat(self) -> int | None:
        """CSAT on a minority, more often from the angry and the pleased; follows wait, tone and resolution."""
        rng = self.rng
        if not self.agent_messages or (self.messages[-1].role == "customer" and not self.resolved):
            return None
        if rng.random() >= 0.2 + 0.15 * (self.anger >= 2) + 0.06 * self.resolved:
            return None
        wait = self.max_wait
        wait_penalty = 0.0 if wait < 120 else 0.4 if wait < 300 else 0.9 if wait < 600 else 1.4
        score = (5.0 - 0.55 * min(self.anger, 4.0) - 0.8 * (not self.resolved) - 0.7 * (self.forbidden > 0)
                 - 0.25 * min(self.curt, 3) - wait_penalty + rng.gauss(0, 0.55))
        return min(5, max(1, round(score)))

    def category(self, ticketed: bool) -> str | None:
        """The type tag: a ticket's type when there is one, else a consult tag on some chats, 3% of those wrong."""
        rng = self.rng
        if ticketed:
            return self.intent.name
        if rng.random() >= (0.5 if self.agent_messages else 0.08):
            return None
        if rng.random() < _MISTAGGED:
            return _pick(rng, tuple(n for n in INTENTS if n != self.intent.name))
        return self.intent.name

    def finish(self) -> tuple[ConversationRecord, TicketRecord | None]:
        """The conversation as the importer's record, and its ticket when the agent registered one."""
        rng, scene = self.rng, self.scene
        ticketed = self.ticket_at is not None and rng.random() < self.intent.ticket_p
        category = self.category(ticketed)
        csat = self.csat()
        wants_order = self.intent.about_order or rng.random() < 0.05
        order_id = str(self.slots["order"]) if wants_order else None
        ticket_id = "GD" + scene.conversation_id[2:] if ticketed else None
        conversation = ConversationRecord(
            external_id=scene.conversation_id, messages=self.messages, platform=scene.platform,
            shop=SHOPS[scene.platform], customer=scene.customer, category=category, csat=csat,
            ticket_id=ticket_id, order_id=order_id, team=self.agent.team if self.agent_messages else None)
        ticket = self._ticket(ticket_id, category, order_id, csat) if ticket_id else None
        return conversation, ticket

    def _ticket(self, ticket_id: str, category: str | None, order_id: str | None, csat: int | None) -> TicketRecord:
        """A ticket created when the agent registered it; closed hours or days later, or still open."""
        rng, intent, scene = self.rng, self.intent, self.scene
        created = self.ticket_at
        assert created is not None  # finish() makes a ticket only where the agent registered one
        closed: datetime | None = created + timedelta(
            seconds=_log_normal(rng, intent.close_hours * 3600, 0.8, 600, 30 * 86400))
        if self.resolved:
            outcome = _weighted(rng, intent.outcomes)
        elif rng.random() < 0.5:
            closed, outcome = None, "处理中"
        else:
            outcome = "驳回" if rng.random() < 0.6 else _weighted(rng, intent.outcomes)
        if closed is not None and closed > scene.data_end:
            closed, outcome = None, "处理中"
        return TicketRecord(
            external_id=ticket_id, category=category, status="已关闭" if closed else "处理中", created_at=created,
            closed_at=closed, order_id=order_id, conversation_id=scene.conversation_id, outcome=outcome, csat=csat,
            platform=scene.platform, shop=SHOPS[scene.platform])


def _pick_agent(rng: random.Random, team: str, platform: str) -> Agent:
    pool = agents_for(team, platform)
    return pool[int(rng.random() * len(pool))]


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def _politely(rng: random.Random, text: str) -> str:
    """Add the 亲/您好 opening and the ~/哦 ending that polite agents use."""
    suffix = _pick(rng, POLITE_SUFFIXES) if text[-1] not in "？?！!~吗呢" and "\n" not in text else ""
    return _pick(rng, POLITE_PREFIXES) + text + suffix


def _curtly(text: str, rng: random.Random | None = None) -> str:
    """Strip the courtesy: 您 becomes 你, and often only the last clause is left."""
    text = text.replace("您", "你")
    if rng is not None and "\n" not in text and "，" in text and rng.random() < 0.5:
        text = text.rsplit("，", 1)[1]
    return text


def _vary_ending(rng: random.Random, text: str) -> str:
    """People end questions with ？, ?, ？？ or nothing at all."""
    if text.endswith("？"):
        return text[:-1] + _pick(rng, ("？", "？", "?", "", "？？"))
    return text
