"""Acknowledgement and disputes (确认 / 申诉) of reviews, with who and when at every step.

An agent (or their team lead) sees their reviews and either confirms one — accepting it, so it can no longer be
disputed — or disputes it with a reason within ``DISPUTE_WINDOW`` of the review's last change. A QA manager
other than the person disputing resolves it: upholds it, or changes the criteria (the score is recomputed, never
typed). The review's stored score is then the final one everywhere; the ratings before the change stay with the
dispute. One dispute per review: its resolution is the last word. Calibration reviews are not the agent's to
confirm or dispute: they never count in agents' scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Row, Select, case, func, insert, select, update

from qa.access import principal_of, require_conversation
from qa.audit import record
from qa.errors import NotFoundError
from qa.models import (
    Agent,
    Conversation,
    Dispute,
    ScorecardRecord,
    ScorecardReview,
    ScorecardVersion,
    User,
)
from qa.program.errors import DisputeError
from qa.program.people import acting_id, user_id, user_names
from qa.program.reviews import load_review, write_items
from qa.program.scorecard import Rating, check_ratings, score_review

__all__ = [
    "CHANGED",
    "DISPUTE_WINDOW",
    "OPEN",
    "UPHELD",
    "Step",
    "acknowledge",
    "dispute_rates",
    "open_dispute",
    "open_disputes",
    "resolve_dispute",
    "review_timeline",
    "reviews_for",
]

DISPUTE_WINDOW = timedelta(days=7)
OPEN, UPHELD, CHANGED = "申诉中", "维持原判", "已改分"


@dataclass(frozen=True)
class Step:
    """One step in a review's life, as the dispute page lists them."""

    what: str
    who: str | None
    when: datetime | None
    detail: str = ""


def _now() -> datetime:
    return datetime.now()


def _regular_review(conn: Connection, review_id: int) -> Row:
    r = ScorecardReview
    row = conn.execute(select(r.id, r.session_id, r.score, r.updated_at, r.acknowledged_at)
                       .where(r.id == review_id)).first()
    if row is None:
        raise NotFoundError(f"评审 {review_id} 不存在（可能已被删除）")
    if row.session_id is not None:
        raise DisputeError("校准评分不计入坐席成绩，不能确认或申诉")
    return row


def acknowledge(engine: Engine, review_id: int, actor: str, now: datetime | None = None) -> None:
    """Confirm a review (已确认): the agent accepts it. Confirming twice keeps the first confirmation."""
    with engine.begin() as conn:
        row = _regular_review(conn, review_id)
        _answering_agent(conn, actor, review_id)
        status = conn.scalar(select(Dispute.status).where(Dispute.review_id == review_id))
        if status == OPEN:
            raise DisputeError("这条评审正在申诉中，处理完毕后再确认")
        if row.acknowledged_at is None:
            conn.execute(update(ScorecardReview).where(ScorecardReview.id == review_id)
                         .values(acknowledged_by=user_id(conn, actor), acknowledged_at=now or _now()))


def _answering_agent(conn: Connection, actor: str, review_id: int) -> int:
    """The id of ``actor``, who must be the agent whose conversation the review is of: confirming or disputing is
    the reviewed agent's answer, not something a reviewer or manager may do on their behalf."""
    uid = acting_id(conn, actor, "answer_review")
    require_conversation(conn, principal_of(conn, uid), load_review(conn, review_id).conversation_id)
    return uid


def _ratings_json(ratings: Mapping[str, Rating]) -> str:
    return json.dumps({k: {"value": r.value, "na": r.na, "comment": r.comment} for k, r in ratings.items()},
                      ensure_ascii=False)


def open_dispute(engine: Engine, review_id: int, reason: str, actor: str, now: datetime | None = None,
                 window: timedelta = DISPUTE_WINDOW) -> int:
    """Dispute a review with a reason, within ``window`` of its last change; returns the dispute id."""
    reason = reason.strip()
    if not reason:
        raise DisputeError("请写明申诉理由")
    now = now or _now()
    with engine.begin() as conn:
        row = _regular_review(conn, review_id)
        if conn.scalar(select(Dispute.id).where(Dispute.review_id == review_id)) is not None:
            raise DisputeError("这条评审已经申诉过：每条评审只能申诉一次")
        if row.acknowledged_at is not None:
            raise DisputeError("这条评审已确认，不能再申诉")
        deadline = row.updated_at + window
        if now > deadline:
            raise DisputeError(f"申诉期已过：须在评审后 {window.days} 天内（{deadline:%Y-%m-%d %H:%M} 前）提出")
        review = load_review(conn, review_id)
        opener = _answering_agent(conn, actor, review_id)
        return conn.execute(insert(Dispute).values(
            review_id=review_id, opened_by=opener, opened_at=now, reason=reason, status=OPEN,
            resolution="", score_before=row.score, ratings_before=_ratings_json(review.ratings))
            .returning(Dispute.id)).scalar_one()


def resolve_dispute(engine: Engine, dispute_id: int, actor: str, comment: str,
                    ratings: Mapping[str, Rating] | None = None, now: datetime | None = None) -> str:
    """Uphold the review (no ``ratings``, or the same ones) or change it to ``ratings``; returns the status."""
    comment = comment.strip()
    if not comment:
        raise DisputeError("请填写处理意见")
    now = now or _now()
    with engine.begin() as conn:
        d = conn.execute(select(Dispute.review_id, Dispute.status, Dispute.opened_by, Dispute.score_before)
                         .where(Dispute.id == dispute_id)).first()
        if d is None:
            raise NotFoundError(f"申诉 {dispute_id} 不存在")
        if d.status != OPEN:
            raise DisputeError(f"这条申诉已经处理（{d.status}）")
        resolver = acting_id(conn, actor, "manage_program")
        if resolver == d.opened_by:
            raise DisputeError("申诉须由提出人以外的质检主管处理")
        review = load_review(conn, d.review_id)
        score = d.score_before
        status = UPHELD
        if ratings is not None and _values(ratings) != _values(review.ratings):
            check_ratings(review.scorecard.card, ratings)
            result = score_review(review.scorecard.card, ratings)
            write_items(conn, d.review_id, ratings, review.proposals)
            conn.execute(update(ScorecardReview).where(ScorecardReview.id == d.review_id).values(
                score=result.score, fatal_failed=result.fatal_failed, updated_at=now,
                version=ScorecardReview.version + 1))  # a tab opened on the old version is refused
            record(conn, resolver, "update", "scorecard_review", d.review_id,
                   {"score": review.score, "ratings": _values(review.ratings), "dispute": dispute_id},
                   {"score": result.score, "ratings": _values(ratings), "dispute": dispute_id})
            score, status = result.score, CHANGED
        conn.execute(update(Dispute).where(Dispute.id == dispute_id).values(
            status=status, resolved_by=resolver, resolved_at=now, resolution=comment, score_after=score))
    return status


def _values(ratings: Mapping[str, Rating]) -> dict[str, tuple[float | None, bool]]:
    return {k: (None if r.na else r.value, r.na) for k, r in ratings.items()}


def _fmt(score: float | None) -> str:
    return "无" if score is None else f"{score:.1f}".rstrip("0").rstrip(".")


def review_timeline(conn: Connection, review_id: int) -> list[Step]:
    """Every step of a review with who and when: reviewed, confirmed, disputed, resolved."""
    review = load_review(conn, review_id)
    d = conn.execute(select(Dispute).where(Dispute.review_id == review_id)).mappings().first()
    as_reviewed = review.score if d is None else d["score_before"]
    steps = [Step("评审", review.reviewer, review.created_at, f"得分 {_fmt(as_reviewed)}")]
    names = user_names(conn)
    if d is not None:
        steps.append(Step("申诉", names.get(d["opened_by"]), d["opened_at"], d["reason"]))
        if d["resolved_at"] is not None:
            change = (f"{_fmt(d['score_before'])} → {_fmt(d['score_after'])}" if d["status"] == CHANGED
                      else f"维持 {_fmt(d['score_before'])}")
            steps.append(Step(d["status"], names.get(d["resolved_by"]), d["resolved_at"],
                              f"{change}：{d['resolution']}"))
    if review.acknowledged_at is not None:
        steps.append(Step("确认", review.acknowledged_by, review.acknowledged_at))
    return sorted(steps, key=lambda s: s.when or datetime.min)


def _review_rows() -> Select:
    r, c = ScorecardReview, Conversation
    return (select(r.id.label("review_id"), c.id.label("conversation_id"), c.external_id, Agent.name.label("agent"),
                   Agent.team, User.name.label("reviewer"), ScorecardRecord.name.label("scorecard"), r.score,
                   r.fatal_failed, r.updated_at, r.acknowledged_at, Dispute.id.label("dispute_id"),
                   Dispute.status.label("dispute_status"), Dispute.opened_at, Dispute.reason)
            .join(c, c.id == r.conversation_id).outerjoin(Agent, Agent.id == c.agent_id)
            .join(User, User.id == r.reviewer_id).join(ScorecardVersion, ScorecardVersion.id == r.version_id)
            .join(ScorecardRecord, ScorecardRecord.id == ScorecardVersion.scorecard_id)
            .outerjoin(Dispute, Dispute.review_id == r.id).where(r.session_id.is_(None)))


_REVIEW_COLUMNS = ["review_id", "conversation_id", "external_id", "agent", "team", "reviewer", "scorecard", "score",
                   "fatal_failed", "updated_at", "acknowledged_at", "dispute_id", "dispute_status", "opened_at",
                   "reason"]


def reviews_for(conn: Connection, agent: str | None = None, team: str | None = None, now: datetime | None = None,
                window: timedelta = DISPUTE_WINDOW, reviewer: str | None = None) -> pd.DataFrame:
    """An agent's (or a team's, or those a reviewer wrote) reviews, newest first, with the final score, their state
    and whether they can still be disputed (``dispute_deadline``, ``can_dispute``)."""
    query = _review_rows().order_by(ScorecardReview.updated_at.desc(), ScorecardReview.id.desc())
    if agent is not None:
        query = query.where(Agent.name == agent)
    if team is not None:
        query = query.where(Agent.team == team)
    if reviewer is not None:
        query = query.where(User.name == reviewer)
    df = pd.DataFrame(conn.execute(query).mappings().all(), columns=_REVIEW_COLUMNS)
    now = now or _now()
    df["dispute_deadline"] = df["updated_at"] + window
    df["can_dispute"] = df["dispute_id"].isna() & df["acknowledged_at"].isna() & (df["dispute_deadline"] >= now)
    return df


def open_disputes(conn: Connection) -> pd.DataFrame:
    """Disputes waiting for a QA manager, oldest first (the same columns as ``reviews_for``)."""
    query = _review_rows().where(Dispute.status == OPEN).order_by(Dispute.opened_at, Dispute.id)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=_REVIEW_COLUMNS)


def dispute_rates(conn: Connection) -> pd.DataFrame:
    """Per reviewer: reviews, disputed, changed, dispute_rate, change_rate (regular reviews only)."""
    r = ScorecardReview
    rows = conn.execute(
        select(User.name.label("reviewer"), func.count(r.id).label("reviews"),
               func.count(Dispute.id).label("disputed"),
               func.sum(case((Dispute.status == CHANGED, 1), else_=0)).label("changed"))
        .join(User, User.id == r.reviewer_id).outerjoin(Dispute, Dispute.review_id == r.id)
        .where(r.session_id.is_(None)).group_by(User.name).order_by(User.name)).mappings().all()
    df = pd.DataFrame(rows, columns=["reviewer", "reviews", "disputed", "changed"]).astype(
        {"reviews": int, "disputed": int, "changed": int})
    df["dispute_rate"] = df["disputed"] / df["reviews"]
    df["change_rate"] = (df["changed"] / df["disputed"]).where(df["disputed"] > 0)
    return df
