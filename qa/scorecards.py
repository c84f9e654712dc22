"""Agent scorecards: one agent's figures against their team, their weekly trend, and their best/worst cases.

Volumes and rates come from ``daily_stats`` with ``qa.dashboard``'s sums and ratios (so the numbers agree with
the overview); only reviews (annotations) and the best/worst lists read conversations, each one bounded query.
An agent's team is their home team (``agents.team``); the team's figures pool all its members' conversations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, case, distinct, func, select

from qa import dashboard
from qa.annotations import VERDICTS
from qa.filters import Filters, apply_to_conversations, apply_to_daily_stats
from qa.models import Agent, Annotation, Conversation, ConversationScore, DailyStat, Platform

__all__ = ["FAIL", "REVIEW_SUMS", "Scorecard", "agents_in_scope", "team_table", "scorecard",
           "extreme_conversations"]

FAIL = VERDICTS[-1]  # "不合格": the verdict that counts as a failed review
REVIEW_SUMS = ("reviewed", "rubric_sum", "rubric_n", "verdicts", "fails")
ALL_AGENTS = "全部坐席"


@dataclass(frozen=True)
class Scorecard:
    """One agent's figures next to their team's, and both per week."""

    agent: str
    team: str | None
    mine: dict[str, float]
    team_figures: dict[str, float]
    trend: pd.DataFrame  # who ("坐席" or the team name), period, start, end, SUMS and METRICS

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
    out["rubric_mean"] = (out["rubric_sum"] / out["rubric_n"]).where(out["rubric_n"] > 0)
    out["fail_share"] = (out["fails"] / out["verdicts"]).where(out["verdicts"] > 0)
    return out


def _agent_sums(conn: Connection, f: Filters, team: str | None) -> pd.DataFrame:
    """daily_stats sums per agent (name, home team), for the members of ``team`` (everyone when None)."""
    period = dashboard.resolve_period(conn, f)
    columns = ["agent", "team", *dashboard.SUMS]
    if period is None:
        return pd.DataFrame(columns=columns)
    sums = (func.coalesce(func.sum(getattr(DailyStat, s)), 0).label(s) for s in dashboard.SUMS)
    query = select(Agent.name, Agent.team, *sums).select_from(DailyStat).join(Agent, Agent.id == DailyStat.agent_id)
    if team is not None:
        query = query.where(Agent.team == team)
    query = apply_to_daily_stats(query, f.with_(start=period.start, end=period.end))
    result = conn.execute(query.group_by(Agent.name, Agent.team))
    df = pd.DataFrame(result.all(), columns=columns).astype({s: float for s in dashboard.SUMS})
    return df.sort_values("agent", ignore_index=True)  # in Python: SQLite and PostgreSQL collate names differently


def _review_sums(conn: Connection, f: Filters, team: str | None) -> pd.DataFrame:
    """Per agent: reviewed conversations, rubric score sum and count, verdicts and 不合格 verdicts."""
    c, a = Conversation, Annotation
    period = dashboard.resolve_period(conn, f)
    if period is None:
        return pd.DataFrame(columns=["agent", *REVIEW_SUMS])
    query = (
        select(Agent.name.label("agent"),
               func.count(distinct(a.conversation_id)).label("reviewed"),
               func.coalesce(func.sum(a.score), 0.0).label("rubric_sum"),
               func.count(a.score).label("rubric_n"),
               func.count(a.verdict).label("verdicts"),
               func.coalesce(func.sum(case((a.verdict == FAIL, 1), else_=0)), 0).label("fails"))
        .select_from(a).join(c, c.id == a.conversation_id).join(Agent, Agent.id == c.agent_id)
        .outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
    )
    if team is not None:
        query = query.where(Agent.team == team)
    query = apply_to_conversations(query, f.with_(start=period.start, end=period.end)).group_by(Agent.name)
    result = conn.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys())).astype({s: float for s in REVIEW_SUMS})


def agents_in_scope(conn: Connection, f: Filters) -> pd.DataFrame:
    """Agents with conversations within ``f`` (agent, team, conversations), for the agent picker."""
    df = _agent_sums(conn, f, None)
    return df[df["conversations"] > 0][["agent", "team", "conversations"]].reset_index(drop=True)


def team_table(conn: Connection, f: Filters, team: str | None) -> pd.DataFrame:
    """Every member of ``team`` active within ``f``: daily_stats sums and rates plus review figures."""
    scope = _scope(f)
    sums = _agent_sums(conn, scope, team)
    reviews = _review_sums(conn, scope, team)
    df = sums.merge(reviews, on="agent", how="left").fillna({s: 0.0 for s in REVIEW_SUMS})
    return _with_review_rates(dashboard.with_rates(df)).reset_index(drop=True)


def scorecard(conn: Connection, f: Filters, agent: str) -> Scorecard | None:
    """``agent``'s figures and their team's within ``f`` (dates, platform, shop, category); None if unknown."""
    team = conn.scalar(select(Agent.team).where(Agent.name == agent))
    members = team_table(conn, f, team)
    mine = members[members["agent"] == agent]
    if mine.empty:
        return None
    totals = members[[*dashboard.SUMS, *REVIEW_SUMS]].sum().to_frame().T
    team_row = _with_review_rates(dashboard.with_rates(totals)).iloc[0]
    scope = _scope(f)
    mine_trend = dashboard.trend(conn, scope.with_(agents=(agent,)), "week").assign(who="坐席")
    team_trend = dashboard.trend(conn, scope.with_(agents=tuple(members["agent"])), "week")
    label = team or ALL_AGENTS
    trend = pd.concat([mine_trend, team_trend.assign(who=label)], ignore_index=True)
    return Scorecard(agent, team, _floats(mine.iloc[0]), _floats(team_row), trend)


def _floats(row: pd.Series) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k not in ("agent", "team")}


def extreme_conversations(conn: Connection, f: Filters, agent: str, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``agent``'s ``n`` lowest-risk (best) and ``n`` highest-risk (worst) scored conversations within ``f``."""
    c, s = Conversation, ConversationScore
    period = dashboard.resolve_period(conn, f)
    scope = _scope(f).with_(agents=(agent,))
    if period is not None:
        scope = scope.with_(start=period.start, end=period.end)
    query = apply_to_conversations(
        select(c.id.label("conversation_id"), c.external_id, c.started_at, Platform.name.label("platform"),
               func.coalesce(c.category, s.category).label("category"), c.csat,
               s.dissatisfaction_risk.label("risk"), s.first_response_s, s.explanation)
        .select_from(c).join(s, s.conversation_id == c.id).outerjoin(Platform, Platform.id == c.platform_id),
        scope,
    )

    def pick(order: list) -> pd.DataFrame:
        result = conn.execute(query.order_by(*order, c.id).limit(n))
        return pd.DataFrame(result.all(), columns=list(result.keys()))

    return pick([s.dissatisfaction_risk.asc()]), pick([s.dissatisfaction_risk.desc()])
