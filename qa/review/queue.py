"""The review queue: which conversations a QA reviewer should look at first, and why.

The ranking is one SQL expression (predicted dissatisfaction plus fixed weights for each reason that applies), so
sorting and counting 100,000 conversations stays one indexed scan; reasons with their details (the phrase hit,
the wait against the platform SLA) are worked out only for the 50 rows on screen. Samples are drawn in SQL with a
seeded integer hash of the conversation id, so the same seed gives the same sample on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
)

from qa.access import Principal, require, require_user
from qa.analytics.filters import Filters, apply_to_conversations
from qa.busy import retry_when_busy
from qa.models import (
    Agent,
    AgentSegment,
    Annotation,
    Conversation,
    ConversationScore,
    Message,
    MessageScore,
    Platform,
    ReviewAssignment,
    Shop,
    User,
)
from scoring.responsiveness import duration_text, gap_text, load_sla_rules, rule_for
from scoring.schema import RELEVANCE_MEAN_LOW, RISK_HIGH, SENTIMENT_HIGH, TONE_FLAG

__all__ = [
    "CSAT_LOW",
    "PAGE_SIZE",
    "REASONS",
    "SAMPLE_MODES",
    "STATUS_DONE",
    "STATUS_TODO",
    "Neighbours",
    "QueueCursor",
    "QueueQuery",
    "assign",
    "conversation_reasons",
    "forbidden_phrase",
    "neighbours",
    "page_ids",
    "platform_sla",
    "queue_count",
    "queue_page",
    "review_state",
]

PAGE_SIZE = 50
CSAT_LOW = 2
STATUS_TODO, STATUS_DONE = "待审", "已完成"
SAMPLE_MODES = {"ranked": "全部（按优先级）", "random": "随机抽样 n%", "quota": "每个坐席 k 条",
                "risk": "按风险加权抽样 n%", "draw": "随机抽取 N 条"}

_c, _s = Conversation, ConversationScore
_PRIME = 2_147_483_647  # 2**31 - 1: every intermediate product stays below 2**63 on both databases


@dataclass(frozen=True)
class QueueQuery:
    """Everything that decides which conversations the queue shows, in which order: hashable, so a cache key."""

    filters: Filters = field(default_factory=Filters)
    mode: str = "ranked"
    rate: float = 0.1  # share sampled in the random and risk-weighted modes
    quota: int = 5  # conversations per agent in the quota mode; conversations in all in the draw mode
    seed: int = 1
    reviewer_id: int | None = None  # "my queue": only what is assigned to this reviewer
    status: str | None = None  # with reviewer_id: STATUS_TODO or STATUS_DONE
    for_agent: str | None = None  # an agent's own list: a transferred chat's reasons name only what they own

    def describe_sample(self) -> str:
        """How the sample was drawn, stored on assignments and shown next to the count, e.g. "随机 10% · 抽样编号 42"."""
        if self.mode == "random":
            return f"随机 {self.rate:.0%} · 抽样编号 {self.seed}"
        if self.mode == "quota":
            return f"每坐席 {self.quota} 条 · 抽样编号 {self.seed}"
        if self.mode == "risk":
            return f"风险加权 {self.rate:.0%} · 抽样编号 {self.seed}"
        if self.mode == "draw":
            return f"随机抽取 {self.quota} 条 · 抽样编号 {self.seed}"
        return "按优先级"


@dataclass(frozen=True)
class _Reason:
    """One reason a conversation deserves review: its label, ranking weight, SQL test and on-screen detail."""

    key: str
    label: str
    weight: float
    test: Callable[[ColumnElement, ColumnElement], ColumnElement]  # (first-reply SLA, later-reply SLA) -> bool
    detail: Callable[[pd.Series], str]


def forbidden_phrase(hit: str) -> str | None:
    """The 禁用语 in a stored rule hit ("禁用语:不知道" → "不知道"); None for other rules such as "超时:SLA"."""
    kind, sep, value = hit.partition(":")
    if not sep:
        return hit.strip() or None
    return (value.strip() or None) if kind == "禁用语" else None


def _slow_detail(r: pd.Series) -> str:
    if pd.notna(r.first_sla) and pd.notna(r.first_response_s) and r.first_response_s > r.first_sla:
        return f"慢：首次响应 {duration_text(r.first_response_s)}，超过 SLA {duration_text(r.first_sla)}"
    return f"慢：最长等待 {duration_text(r.max_wait_s)}，超过 SLA {duration_text(r.reply_sla)}"


def _tone_detail(r: pd.Series) -> str:
    if r.phrases:
        return "禁用语：" + "、".join(f"“{p}”" for p in r.phrases)
    return f"语气：风险 {r.tone_risk:.2f}"


REASONS: tuple[_Reason, ...] = (
    # a conversation with rows rejected at import is not judged on its waits (scoring.responsiveness)
    _Reason("slow", "慢", 0.3,
            lambda first, later: and_(_c.rejected_rows == 0, or_(_s.first_response_s > first, _s.max_wait_s > later)),
            _slow_detail),
    # rule_hits counts 禁用语 hits and one "超时:SLA" hit per late reply, so more hits than late-or-untimed
    # replies means at least one 禁用语.
    _Reason("tone", "禁用语/语气", 0.5,
            lambda _f, _l: or_(_s.tone_risk >= TONE_FLAG, _s.rule_hits > _s.replies - _s.replies_in_sla),
            _tone_detail),
    _Reason("emotion", "客户情绪", 0.3,
            lambda _f, _l: _s.sentiment_worst >= SENTIMENT_HIGH, lambda r: f"客户情绪：最负面 {r.sentiment_worst:.2f}"),
    _Reason("offtopic", "答非所问", 0.3,
            lambda _f, _l: _s.relevance < RELEVANCE_MEAN_LOW, lambda r: f"答非所问：相关度 {r.relevance:.2f}"),
    _Reason("csat", "差评", 0.6, lambda _f, _l: _c.csat <= CSAT_LOW, lambda r: f"差评：CSAT {r.csat:.0f}"),
    _Reason("risk", "预测不满", 0.0,
            lambda _f, _l: _s.dissatisfaction_risk >= RISK_HIGH, lambda r: f"预测不满 {r.risk:.2f}"),
    _Reason("gap", "导入有缺行", 0.0, lambda _f, _l: _c.rejected_rows > 0, lambda r: gap_text(r.rejected_rows)),
)


_SEGMENT_TESTS: dict[str, Callable[[pd.Series], bool]] = {
    # the reasons an agent owns, tested on one agent's segment (qa.analytics.segments) as REASONS test conversations
    "slow": lambda r: bool((pd.notna(r.first_response_s) and pd.notna(r.first_sla) and r.first_response_s > r.first_sla)
                           or (pd.notna(r.max_wait_s) and pd.notna(r.reply_sla) and r.max_wait_s > r.reply_sla)),
    "tone": lambda r: bool(r.phrases) or bool(pd.notna(r.tone_risk) and r.tone_risk >= TONE_FLAG),
    "offtopic": lambda r: bool(pd.notna(r.relevance) and r.relevance < RELEVANCE_MEAN_LOW),
    "csat": lambda r: bool(pd.notna(r.csat) and r.csat <= CSAT_LOW),
}


def _named(detail: str, agent: str) -> str:
    """"慢：首次响应 14 分…" said of one agent: "慢（小安）：首次响应 14 分…"."""
    head, sep, tail = detail.partition("：")
    return f"{head}（{agent}）{sep}{tail}"


def _handlers(segments: list[pd.Series]) -> str | None:
    """"小安→阿强" for a chat several agents handled, in order; None for one agent (the row's own agent column)."""
    names = [seg.agent for k, seg in enumerate(segments) if k == 0 or segments[k - 1].agent != seg.agent]
    return "→".join(names) if len(names) > 1 else None


OTHERS_OWN = "另有原因在其他坐席负责的部分"
"""What an agent's own list says in place of a colleague's reasons in a chat they shared."""


def _reasons(row: pd.Series, segments: list[pd.Series], for_agent: str | None = None) -> str:
    """The reasons of one queue row; in a chat handled by several agents each reason an agent owns names them.

    With ``for_agent`` (an agent reading their own list) a transferred chat's owned reasons are that agent's
    only, and a colleague's are not spelled out: they are the colleague's to read, not this agent's."""
    out: list[str] = []
    transferred = len({seg.agent for seg in segments}) > 1
    others = False
    for r in REASONS:
        if not row[f"is_{r.key}"]:
            continue
        test = _SEGMENT_TESTS.get(r.key)
        if not (transferred and test):
            out.append(r.detail(row))
            continue
        owners = [seg for seg in segments if test(seg)]
        if not owners:  # no one segment crosses the line the whole chat does
            out.append(r.detail(row))
        elif for_agent is None:
            out.extend(dict.fromkeys(_named(r.detail(seg), seg.agent) for seg in owners))
        else:
            mine = [seg for seg in owners if seg.agent == for_agent]
            others = others or len(mine) < len(owners)
            out.extend(dict.fromkeys(r.detail(seg) for seg in mine))
    return "；".join(out + ([OTHERS_OWN] if others else []))


def platform_sla(platform: str | None) -> tuple[float | None, float | None]:
    """(first-reply, later-reply) SLA seconds of a platform from data/lexicon/sla_rules.csv; None = no target."""
    rule = rule_for(platform, load_sla_rules())
    return rule.first_reply_s, rule.reply_s


def _sla_columns(conn: Connection) -> tuple[ColumnElement, ColumnElement]:
    """Per-platform first-reply and later-reply SLA seconds as CASE expressions over conversations.platform_id."""
    targets = {pid: platform_sla(name) for pid, name in conn.execute(select(Platform.id, Platform.name))}

    def column(i: int) -> ColumnElement:
        def value(v: float | None) -> ColumnElement:
            return literal(v, Float) if v is not None else null()
        fallback = value(platform_sla(None)[i])
        if not targets:
            return fallback
        return case({pid: value(t[i]) for pid, t in targets.items()}, value=_c.platform_id, else_=fallback)

    return column(0), column(1)


def _flag(condition: ColumnElement) -> ColumnElement:
    return case((condition, 1), else_=0)


def _unit_hash(seed: int) -> ColumnElement:
    """A reproducible pseudo-random number in [0, 1) per conversation, from its id and ``seed``, in portable SQL."""
    h1 = (cast(_c.id, BigInteger) * literal(1_103_515_245, BigInteger)
          + literal((seed * 2_654_435 + 12_345) % _PRIME, BigInteger)) % _PRIME
    h2 = (h1 * h1 + literal(seed % _PRIME, BigInteger)) % _PRIME
    h3 = (h2 * literal(48_271, BigInteger) + h1) % _PRIME
    return cast(h3, Float) / float(_PRIME)


def _narrowed(query: Select, q: QueueQuery) -> Select:
    """``query`` (over conversations outer-joined to their scores) restricted to the filters and "my queue"."""
    query = apply_to_conversations(query, q.filters)
    if q.reviewer_id is not None:
        mine = [ReviewAssignment.conversation_id == _c.id, ReviewAssignment.reviewer_id == q.reviewer_id]
        if q.status:
            mine.append(ReviewAssignment.status == q.status)
        query = query.where(exists().where(*mine))
    return query


def _ranked(conn: Connection, q: QueueQuery) -> Select:
    """SELECT id, priority of the conversations in the queue (filters, "my queue" and the sample applied)."""
    first_sla, later_sla = _sla_columns(conn)
    priority: ColumnElement[float] = func.coalesce(_s.dissatisfaction_risk, 0.0)
    for r in REASONS:
        if r.weight:
            priority = priority + r.weight * _flag(r.test(first_sla, later_sla))
    scored = _c.__table__.outerjoin(_s.__table__, _s.conversation_id == _c.id)
    ranked = select(_c.id.label("id"), priority.label("priority")).select_from(scored)
    if q.mode == "quota":  # number each agent's conversations in seeded random order; rank only the first k
        numbered = _narrowed(select(_c.id.label("id"), func.row_number().over(
            partition_by=_c.agent_id, order_by=(_unit_hash(q.seed), _c.id)).label("n")).select_from(scored),
            q).subquery()
        return ranked.where(_c.id.in_(select(numbered.c.id).where(numbered.c.n <= q.quota)))
    if q.mode == "draw":  # the first N in seeded random order: a fixed count, e.g. a calibration session's
        drawn = _narrowed(select(_c.id).select_from(scored), q).order_by(_unit_hash(q.seed), _c.id).limit(q.quota)
        return ranked.where(_c.id.in_(drawn))
    ranked = _narrowed(ranked, q)
    if q.mode == "random":
        return ranked.where(_unit_hash(q.seed) < q.rate)
    if q.mode == "risk":
        mean = _narrowed(select(func.avg(_s.dissatisfaction_risk)).select_from(scored), q).scalar_subquery()
        return ranked.where(_unit_hash(q.seed) < q.rate * _s.dissatisfaction_risk / mean)
    if q.mode != "ranked":
        raise ValueError(f"unknown sample mode {q.mode!r}")
    return ranked


def queue_count(conn: Connection, q: QueueQuery) -> int:
    """How many conversations the queue holds."""
    ranked = _ranked(conn, q).subquery()
    return conn.scalar(select(func.count()).select_from(ranked)) or 0


def _page_ids(conn: Connection, q: QueueQuery, page: int, page_size: int) -> list[tuple[int, float]]:
    ranked = _ranked(conn, q).subquery()
    rows = conn.execute(select(ranked.c.id, ranked.c.priority)
                        .order_by(ranked.c.priority.desc(), ranked.c.id)
                        .limit(page_size).offset(max(page - 1, 0) * page_size)).all()
    return [(r.id, float(r.priority)) for r in rows]


def page_ids(conn: Connection, q: QueueQuery, page: int, page_size: int = PAGE_SIZE) -> list[int]:
    """Conversation ids on one page (1-based) of the queue, in queue order."""
    return [cid for cid, _p in _page_ids(conn, q, page, page_size)]


_PAGE_COLUMNS = ["id", "external_id", "started_at", "platform", "shop", "agent", "team", "category", "csat",
                 "risk", "priority", "reasons", "reviewed", "assigned", "review"]


def queue_page(conn: Connection, q: QueueQuery, page: int, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """One page of the queue with dimensions, scores and the human-readable reasons, in queue order."""
    ranked = _page_ids(conn, q, page, page_size)
    if not ranked:
        return pd.DataFrame(columns=_PAGE_COLUMNS)
    df = _described(conn, [cid for cid, _p in ranked], q.for_agent)
    df["priority"] = [round(p, 2) for _cid, p in ranked]
    return df[_PAGE_COLUMNS]


def conversation_reasons(conn: Connection, conversation_id: int, for_agent: str | None = None) -> str:
    """Why the queue ranks this conversation up, in the queue's own words ("" when no reason applies); with
    ``for_agent``, as that agent's own list says it."""
    return str(_described(conn, [conversation_id], for_agent)["reasons"].iloc[0])


def _described(conn: Connection, ids: list[int], for_agent: str | None = None) -> pd.DataFrame:
    """Dimensions, scores, reasons and assignments of existing conversations ``ids``, in that order."""
    first_sla, later_sla = _sla_columns(conn)
    rows = conn.execute(
        select(_c.id, _c.external_id, _c.started_at, Platform.name.label("platform"), Shop.name.label("shop"),
               Agent.name.label("agent"), func.coalesce(_c.team, Agent.team).label("team"),
               func.coalesce(_c.category, _s.category).label("category"), _c.csat, _c.rejected_rows,
               _s.dissatisfaction_risk.label("risk"), _s.tone_risk, _s.relevance, _s.sentiment_worst,
               _s.first_response_s, _s.max_wait_s, first_sla.label("first_sla"), later_sla.label("reply_sla"),
               exists().where(Annotation.conversation_id == _c.id, Annotation.deleted_at.is_(None)).label("reviewed"),
               *[_flag(r.test(first_sla, later_sla)).label(f"is_{r.key}") for r in REASONS])
        .select_from(_c.__table__.outerjoin(_s.__table__, _s.conversation_id == _c.id)
                     .outerjoin(Platform.__table__, Platform.id == _c.platform_id)
                     .outerjoin(Shop.__table__, Shop.id == _c.shop_id)
                     .outerjoin(Agent.__table__, Agent.id == _c.agent_id))
        .where(_c.id.in_(ids))).mappings().all()
    phrases, agent_phrases = _rule_phrases(conn, ids)
    assigned = _assignments(conn, ids)
    df = pd.DataFrame(rows).set_index("id").loc[ids].reset_index()
    df["reviewed"] = df["reviewed"].astype(bool)
    df["phrases"] = [phrases.get(cid, []) for cid in df["id"]]
    segments = _segments(conn, df, agent_phrases)
    df["reasons"] = [_reasons(row, segments.get(row["id"], []), for_agent) for _i, row in df.iterrows()]
    df["agent"] = [_handlers(segments.get(cid, [])) or agent for cid, agent in zip(df["id"], df["agent"])]
    df["assigned"] = [assigned.get(cid, "") for cid in df["id"]]
    df["review"] = [review_state(r, a) for r, a in zip(df["reviewed"], df["assigned"], strict=True)]
    return df


def review_state(reviewed: bool, assigned: str) -> str:
    """Whether a conversation is reviewed and to whom it is assigned, in one cell: "已复核；王质检·已完成", "未复核"."""
    said = (["已复核"] if reviewed else []) + ([assigned] if assigned else [])
    return "；".join(said) or "未复核"


def _rule_phrases(conn: Connection, ids: Sequence[int], limit: int = 3
                  ) -> tuple[dict[int, list[str]], dict[tuple[int, int | None], list[str]]]:
    """Distinct rule-hit phrases (at most ``limit``), in message order: per conversation, and per conversation and
    the agent who wrote them."""
    out: dict[int, list[str]] = {}
    by_agent: dict[tuple[int, int | None], list[str]] = {}
    rows = conn.execute(select(MessageScore.conversation_id, Message.agent_id, MessageScore.rule_hits)
                        .join(Message, Message.id == MessageScore.message_id)
                        .where(MessageScore.conversation_id.in_(ids), MessageScore.rule_hits != "")
                        .order_by(MessageScore.conversation_id, MessageScore.message_id))
    for cid, agent_id, hits in rows:
        for found in (out.setdefault(cid, []), by_agent.setdefault((cid, agent_id), [])):
            for phrase in filter(None, map(forbidden_phrase, hits.split("；"))):
                if phrase not in found and len(found) < limit:
                    found.append(phrase)
    return ({cid: found for cid, found in out.items() if found},
            {key: found for key, found in by_agent.items() if found})


def _segments(conn: Connection, page: pd.DataFrame, phrases: dict[tuple[int, int | None], list[str]]
              ) -> dict[int, list[pd.Series]]:
    """The agent segments of the page's conversations, each with its agent's name, phrases and the SLA targets."""
    g = AgentSegment
    rows = conn.execute(select(g.conversation_id, g.agent_id, func.coalesce(Agent.name, "未知坐席").label("agent"),
                               g.first_response_s, g.max_wait_s, g.tone_risk, g.relevance, g.csat)
                        .outerjoin(Agent, Agent.id == g.agent_id)
                        .where(g.conversation_id.in_(list(page["id"]))).order_by(g.conversation_id, g.segment))
    sla = {row["id"]: (row["first_sla"], row["reply_sla"]) for _i, row in page.iterrows()}
    out: dict[int, list[pd.Series]] = {}
    for r in rows.mappings():
        cid = r["conversation_id"]
        out.setdefault(cid, []).append(pd.Series({
            **r, "first_sla": sla[cid][0], "reply_sla": sla[cid][1],
            "phrases": phrases.get((cid, r["agent_id"]), [])}))
    return out


def _assignments(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """"王质检·待审, 李质检·已完成" per conversation."""
    rows = conn.execute(select(ReviewAssignment.conversation_id, User.name, ReviewAssignment.status)
                        .join(User, User.id == ReviewAssignment.reviewer_id)
                        .where(ReviewAssignment.conversation_id.in_(ids)).order_by(User.name))
    out: dict[int, list[str]] = {}
    for cid, name, status in rows:
        out.setdefault(cid, []).append(f"{name}·{status}")
    return {cid: "，".join(v) for cid, v in out.items()}


@dataclass(frozen=True)
class QueueCursor:
    """Where a reviewer is in a queue: the query, the page shown and its ids (kept in session state)."""

    query: QueueQuery
    page: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Neighbours:
    """The conversations before and after one in the queue, each as (conversation_id, page), or None at an end."""

    prev: tuple[int, int] | None
    next: tuple[int, int] | None
    position: int | None  # 1-based place in the queue; None when the conversation is not on the given page


def neighbours(conn: Connection, q: QueueQuery, page: int, ids: Sequence[int], conversation_id: int,
               page_size: int = PAGE_SIZE) -> Neighbours:
    """Previous/next of ``conversation_id`` given the ids of its queue page; queries only at a page boundary."""
    if conversation_id not in ids:
        return Neighbours(None, None, None)
    i = list(ids).index(conversation_id)
    prev = (ids[i - 1], page) if i > 0 else None
    nxt = (ids[i + 1], page) if i + 1 < len(ids) else None
    if prev is None and page > 1:
        before = page_ids(conn, q, page - 1, page_size)
        prev = (before[-1], page - 1) if before else None
    if nxt is None and len(ids) == page_size:
        after = page_ids(conn, q, page + 1, page_size)
        nxt = (after[0], page + 1) if after else None
    return Neighbours(prev, nxt, (page - 1) * page_size + i + 1)


@retry_when_busy
def assign(engine: Engine, q: QueueQuery, reviewer_id: int, limit: int | None = None, *, by: Principal) -> int:
    """Assign the queue's conversations (the top ``limit`` if given) to a reviewer; returns how many were new.
    Reviewers may assign to themselves, managers to anyone who may review.

    Conversations the reviewer has already given a verdict are not assigned again: they would come back as
    pending work that is done.
    """
    now = datetime.now().replace(microsecond=0)
    require(by, "assign" if by.user_id == reviewer_id else "assign_others")
    with engine.begin() as conn:
        require_user(conn, reviewer_id, "review")
        ranked = _ranked(conn, q).subquery()
        chosen = (select(ranked.c.id).order_by(ranked.c.priority.desc(), ranked.c.id)
                  .limit(limit if limit else None)).subquery()
        already = exists().where(ReviewAssignment.conversation_id == chosen.c.id,
                                 ReviewAssignment.reviewer_id == reviewer_id)
        reviewed = exists().where(Annotation.conversation_id == chosen.c.id, Annotation.reviewer_id == reviewer_id,
                                  Annotation.verdict.is_not(None), Annotation.deleted_at.is_(None))
        rows = select(chosen.c.id, literal(reviewer_id), literal(STATUS_TODO), literal(q.describe_sample()),
                      literal(now)).where(~already, ~reviewed)
        added = conn.execute(insert(ReviewAssignment).from_select(
            ["conversation_id", "reviewer_id", "status", "sample_mode", "assigned_at"], rows)
            .returning(ReviewAssignment.id))  # psycopg reports no rowcount for INSERT … SELECT
        return len(added.all())

