"""Agent scorecards: one agent's figures against their team, their weekly trend, and their best/worst cases.

Volumes and rates come from ``agent_daily_stats`` (each agent's own part of a transferred chat, see
``qa.analytics.segments``) through ``qa.analytics.dashboard.cube`` and its ratios (computed as the overview's);
only reviews (rubric annotations and scorecard reviews, the latter with their final score) and the best/worst
lists read conversations, each one bounded query. An agent's team is their home team (``agents.team``); the
team's figures pool its members' conversations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import (
    Connection,
    Float,
    String,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)

from qa.analytics import dashboard
from qa.analytics.filters import Filters, apply_to_conversations
from qa.models import (
    Agent,
    AgentSegment,
    Annotation,
    Conversation,
    ConversationScore,
    Dispute,
    Message,
    Platform,
    ScorecardReview,
)
from qa.review.annotations import VERDICTS
from scoring.responsiveness import duration_text

__all__ = ["FAIL", "REVIEW_RATES", "REVIEW_SUMS", "Scorecard", "agents_in_scope", "extreme_conversations", "scorecard"]

FAIL = VERDICTS[-1]  # "不合格": the verdict that counts as a failed review
REVIEW_SUMS = ("reviewed", "card_sum", "card_n", "disputed", "rubric_sum", "rubric_n", "verdicts", "fails")
REVIEW_RATES = ("card_mean", "dispute_share", "rubric_mean", "fail_share")
ALL_AGENTS = "全部坐席"


@dataclass(frozen=True)
class Scorecard:
    """One agent's figures next to their team's, every member's figures, and agent and team per week."""

    agent: str
    team: str | None
    mine: dict[str, float]
    team_figures: dict[str, float]
    members: pd.DataFrame  # agent, SUMS, METRICS, REVIEW_SUMS, REVIEW_RATES — one row per active member
    trend: pd.DataFrame  # who (the agent's or the team's name), then dashboard.buckets columns per week
    partial_weeks: list[tuple[date, date]]  # first and last weeks cut short by the period: not in ``trend``

    @property
    def team_label(self) -> str:
        return self.team or ALL_AGENTS

    def versus_team(self, key: str) -> float | None:
        """The agent's figure minus the team's, or None when either is missing."""
        a, b = self.mine.get(key), self.team_figures.get(key)
        if a is None or b is None or pd.isna(a) or pd.isna(b):
            return None
        return a - b


def _scope(f: Filters) -> Filters:
    """``f`` without team/agent choices: a scorecard follows the agent, whichever team a conversation was in."""
    return f.with_(teams=(), agents=())


def _with_review_rates(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    sums = out[list(REVIEW_SUMS)].astype(float)  # SQL NULLs arrive as None objects, which the page would show
    # as the word "None"; as floats they are NaN, an empty cell
    out["card_mean"] = (sums["card_sum"] / sums["card_n"]).where(sums["card_n"] > 0)
    out["dispute_share"] = (sums["disputed"] / sums["card_n"]).where(sums["card_n"] > 0)
    out["rubric_mean"] = (sums["rubric_sum"] / sums["rubric_n"]).where(sums["rubric_n"] > 0)
    out["fail_share"] = (sums["fails"] / sums["verdicts"]).where(sums["verdicts"] > 0)
    return out


def _review_facts() -> Subquery:
    """One row per review fact and agent it counts for: a rubric annotation (score, verdict) or a scorecard review
    (its final score, after any dispute; calibration reviews never count), with the conversation it is of.

    A note on a message counts for the agent who sent it; a review of the whole conversation for every agent who
    handled part of it (a transferred chat), or its main agent when it has no segments yet.
    """
    c, a, r, g = Conversation, Annotation, ScorecardReview, AgentSegment
    handlers = select(g.conversation_id, g.agent_id).distinct().subquery()
    number, zero = cast(null(), Float), literal(0)
    rubric = (
        select(case((a.message_id.is_not(None), Message.agent_id),
                    else_=func.coalesce(handlers.c.agent_id, c.agent_id)).label("agent_id"),
               a.conversation_id, a.score.label("rubric"), a.verdict, case((a.verdict == FAIL, 1), else_=0).label("fail"),
               number.label("card"), zero.label("disputed"))
        .select_from(a).join(c, c.id == a.conversation_id).outerjoin(Message, Message.id == a.message_id)
        .outerjoin(handlers, and_(handlers.c.conversation_id == a.conversation_id, a.message_id.is_(None)))
        .where(a.deleted_at.is_(None)))
    cards = (
        select(func.coalesce(handlers.c.agent_id, c.agent_id).label("agent_id"), r.conversation_id,
               number, cast(null(), String), zero, r.score,
               case((Dispute.id.is_not(None), 1), else_=0))
        .select_from(r).join(c, c.id == r.conversation_id).outerjoin(Dispute, Dispute.review_id == r.id)
        .outerjoin(handlers, handlers.c.conversation_id == r.conversation_id)
        .where(r.session_id.is_(None)))
    return union_all(rubric, cards).subquery()


def _review_sums(conn: Connection, f: Filters, period: dashboard.Period, team: str | None) -> pd.DataFrame:
    """Per agent of ``team`` (everyone when None): conversations with any review, the final scorecard scores'
    sum and count and how many were disputed, rubric sums, verdicts and 不合格s (``REVIEW_SUMS``)."""
    c, facts = Conversation, _review_facts()
    query = (
        select(Agent.name.label("agent"),
               func.count(distinct(facts.c.conversation_id)).label("reviewed"),
               func.coalesce(func.sum(facts.c.card), 0.0).label("card_sum"),
               func.count(facts.c.card).label("card_n"),
               func.coalesce(func.sum(facts.c.disputed), 0).label("disputed"),
               func.coalesce(func.sum(facts.c.rubric), 0.0).label("rubric_sum"),
               func.count(facts.c.rubric).label("rubric_n"),
               func.count(facts.c.verdict).label("verdicts"),
               func.coalesce(func.sum(facts.c.fail), 0).label("fails"))
        .select_from(facts).join(c, c.id == facts.c.conversation_id).join(Agent, Agent.id == facts.c.agent_id)
        .outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
    )
    if team is not None:
        query = query.where(Agent.team == team)
    query = apply_to_conversations(query, f.with_(start=period.start, end=period.end)).group_by(Agent.name)
    result = conn.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys())).astype({s: float for s in REVIEW_SUMS})


def agents_in_scope(conn: Connection, f: Filters) -> pd.DataFrame:
    """Agents with conversations within ``f`` (agent, home team, conversations), for the agent picker."""
    c = dashboard.cube(conn, f, by=("agent",), previous=False, per_agent=True)
    columns = ["agent", "team", "conversations"]
    if c is None:
        return pd.DataFrame(columns=columns)
    counts = c.rows[c.rows["agent"] != dashboard.UNKNOWN].groupby("agent", as_index=False)["conversations"].sum()
    teams = dict(conn.execute(select(Agent.name, Agent.team)).all())
    counts = counts[counts["conversations"] > 0].assign(team=counts["agent"].map(teams))
    # sorted in Python: SQLite and PostgreSQL collate Chinese names differently
    return counts[columns].sort_values("agent", ignore_index=True)


def scorecard(conn: Connection, f: Filters, agent: str) -> Scorecard | None:
    """``agent``'s figures and their team's within ``f`` (dates, platform, shop, category); None if inactive.

    One agent_daily_stats aggregate per (day, member) and one annotations aggregate per member give the card, the
    team table and both weekly lines.
    """
    found = conn.execute(select(Agent.team).where(Agent.name == agent)).first()
    if found is None:
        return None
    team = found.team
    scope = _scope(f)
    if team is not None:
        scope = scope.with_(agents=tuple(conn.scalars(select(Agent.name).where(Agent.team == team))))
    c = dashboard.cube(conn, scope, by=("agent",), previous=False, per_agent=True)
    if c is None:
        return None
    sums = c.rows.groupby("agent", as_index=False)[list(dashboard.SUMS)].sum()
    sums = sums[(sums["conversations"] > 0) & (sums["agent"] != dashboard.UNKNOWN)]
    members = sums.merge(_review_sums(conn, scope, c.period, team), on="agent", how="left")
    members = _with_review_rates(dashboard.with_rates(members.fillna({s: 0.0 for s in REVIEW_SUMS})))
    members = members.sort_values("agent", ignore_index=True)
    mine = members[members["agent"] == agent]
    if mine.empty:
        return None
    totals = members[[*dashboard.SUMS, *REVIEW_SUMS]].sum().to_frame().T.astype(float)
    team_row = _with_review_rates(dashboard.with_rates(totals)).iloc[0]
    trend = pd.concat([
        dashboard.trend(c.only("agent", (agent,)), "week").assign(who=agent),
        dashboard.trend(c.only("agent", tuple(members["agent"])), "week").assign(who=team or ALL_AGENTS),
    ], ignore_index=True)
    return Scorecard(agent, team, _floats(mine.iloc[0]), _floats(team_row), members, trend,
                     dashboard.partial_weeks(c))


def _floats(row: pd.Series) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k != "agent"}


def extreme_conversations(conn: Connection, f: Filters, agent: str, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``agent``'s ``n`` lowest-risk (best) and ``n`` highest-risk (worst) scored conversations within ``f``.

    Ranked by the risk of the agent's own part (their segment): a chat that went wrong before it was transferred
    to them is not their worst case. ``explanation`` says what the agent owns in a transferred chat.
    """
    c, s, g = Conversation, ConversationScore, AgentSegment
    period = dashboard.resolve_period(conn, f)
    scope = _scope(f)
    if period is not None:
        scope = scope.with_(start=period.start, end=period.end)
    agents = func.count().over(partition_by=g.conversation_id)
    parts = (select(g.conversation_id, g.agent_id, g.risk, g.first_response_s, g.max_wait_s, g.replies, g.breaches,
                    agents.label("segments")).subquery())
    query = apply_to_conversations(
        select(c.id.label("conversation_id"), c.external_id, c.started_at, Platform.name.label("platform"),
               func.coalesce(c.category, s.category).label("category"), c.csat,
               parts.c.risk.label("risk"), parts.c.first_response_s, parts.c.max_wait_s, parts.c.replies,
               parts.c.breaches, parts.c.segments, s.explanation)
        .select_from(c).join(s, s.conversation_id == c.id).join(parts, parts.c.conversation_id == c.id)
        .join(Agent, Agent.id == parts.c.agent_id).outerjoin(Platform, Platform.id == c.platform_id)
        .where(Agent.name == agent, parts.c.risk.is_not(None)),
        scope,
    )

    def pick(order: list) -> pd.DataFrame:
        result = conn.execute(query.order_by(*order, c.id).limit(n))
        df = pd.DataFrame(result.all(), columns=list(result.keys()))
        if not df.empty:
            df["explanation"] = [_own_part(agent, r) if r["segments"] > 1 else r["explanation"]
                                 for _i, r in df.iterrows()]
        return df.drop(columns=["max_wait_s", "replies", "breaches", "segments"])

    return pick([parts.c.risk.asc()]), pick([parts.c.risk.desc()])


def _own_part(agent: str, r: pd.Series) -> str:
    """What ``agent`` owns in a transferred chat, e.g. "转接会话，小安负责的部分：首次响应 14 分；这部分的不满风险 0.71"."""
    figures = []
    if pd.notna(r["first_response_s"]):
        figures.append(f"首次响应 {duration_text(r['first_response_s'])}")
    if pd.notna(r["max_wait_s"]) and r["max_wait_s"] != r["first_response_s"]:
        figures.append(f"最长等待 {duration_text(r['max_wait_s'])}")
    if r["breaches"]:
        figures.append(f"{r['breaches']:.0f}/{r['replies']:.0f} 次回复超过 SLA")
    figures.append(f"这部分的不满风险 {r['risk']:.2f}")
    return f"转接会话，{agent}负责的部分：" + "；".join(figures)
