"""Reviews on a scorecard: one row per review (its computed score) and one per criterion (value or N/A).

The stored score is what every list and chart reads; it is recomputed from the items whenever they change (a
reviewer's edit, a dispute's change), never typed. Reviews made in a calibration session carry its id and are
left out of agents' scores. A review under dispute, or whose dispute was resolved, is no longer the reviewer's to
edit: the dispute's resolution is the final word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, case, delete, func, insert, select, update

from qa.audit import record
from qa.errors import NotFoundError
from qa.models import (
    Agent,
    Conversation,
    Dispute,
    ScorecardRecord,
    ScorecardReview,
    ScorecardReviewItem,
    ScorecardVersion,
    User,
)
from qa.program.errors import DisputeError
from qa.program.people import acting_id
from qa.program.scorecard import Rating, ScoreResult, check_ratings, score_review
from qa.program.store import StoredScorecard, load_version

__all__ = [
    "StoredReview",
    "agent_review_scores",
    "conversation_reviews",
    "load_review",
    "my_review",
    "save_review",
    "write_items",
    "write_review",
]


@dataclass(frozen=True)
class StoredReview:
    """A stored review with its scorecard version, ratings, proposals shown, and the score recomputed."""

    id: int
    conversation_id: int
    reviewer: str
    scorecard: StoredScorecard
    ratings: dict[str, Rating]
    proposals: dict[str, float | None]
    result: ScoreResult
    score: float | None  # as stored: the final score (equal to result.score)
    comment: str
    session_id: int | None
    created_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    dispute_status: str | None


def _now() -> datetime:
    return datetime.now()


def write_items(conn: Connection, review_id: int, ratings: Mapping[str, Rating],
                proposals: Mapping[str, float | None]) -> None:
    """Replace a review's per-criterion rows (inside the caller's transaction)."""
    conn.execute(delete(ScorecardReviewItem).where(ScorecardReviewItem.review_id == review_id))
    rows = [{"review_id": review_id, "criterion_key": key, "value": None if r.na else r.value, "na": r.na,
             "proposed": proposals.get(key), "comment": r.comment.strip()} for key, r in ratings.items()]
    if rows:
        conn.execute(insert(ScorecardReviewItem), rows)


def write_review(conn: Connection, conversation_id: int, version_id: int, ratings: Mapping[str, Rating],
                 reviewer_id: int, comment: str, session_id: int | None, proposals: Mapping[str, float | None],
                 now: datetime) -> int:
    """Create or replace this reviewer's review of the conversation (in the session, if any); the score is
    computed here. Runs inside the caller's transaction so calibration can check its session first."""
    if conn.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在（可能已被删除）")
    card = load_version(conn, version_id).card
    check_ratings(card, ratings)
    result = score_review(card, ratings)
    r = ScorecardReview
    session = r.session_id.is_(None) if session_id is None else r.session_id == session_id
    existing = conn.execute(select(r.id, Dispute.status, r.version_id, r.score, r.fatal_failed, r.comment)
                            .outerjoin(Dispute, Dispute.review_id == r.id).where(
        r.conversation_id == conversation_id, r.reviewer_id == reviewer_id, session)).first()
    values = {"version_id": version_id, "score": result.score, "fatal_failed": result.fatal_failed,
              "comment": comment.strip(), "updated_at": now}
    if existing is None:
        review_id = conn.execute(insert(r).values(
            conversation_id=conversation_id, reviewer_id=reviewer_id, session_id=session_id, created_at=now, **values)
            .returning(r.id)).scalar_one()
    else:
        review_id, dispute = existing.id, existing.status
        if dispute is not None:
            raise DisputeError(f"这条评审已被申诉（{dispute}），不能再修改：由质检主管在申诉中维持或改分")
        conn.execute(update(r).where(r.id == review_id).values(**values, acknowledged_by=None, acknowledged_at=None))
    write_items(conn, review_id, ratings, proposals)
    after: dict[str, object] = {k: values[k] for k in ("version_id", "score", "fatal_failed", "comment")}
    after["ratings"] = {key: None if rating.na else rating.value for key, rating in ratings.items()}
    before = None if existing is None else {k: getattr(existing, k) for k in ("version_id", "score", "fatal_failed",
                                                                               "comment")}
    record(conn, reviewer_id, "update" if existing else "create", "scorecard_review", review_id, before, after)
    return review_id


def save_review(engine: Engine, conversation_id: int, version_id: int, ratings: Mapping[str, Rating], actor: str,
                comment: str = "", proposals: Mapping[str, float | None] | None = None,
                now: datetime | None = None) -> int:
    """Save ``actor``'s review of a conversation on a scorecard version (editing replaces their earlier one);
    ``proposals`` are the automatic values shown, kept to measure how often reviewers accept them."""
    with engine.begin() as conn:
        return write_review(conn, conversation_id, version_id, ratings, acting_id(conn, actor, "review"), comment, None,
                            proposals or {}, now or _now())


def _ratings(conn: Connection, review_id: int) -> tuple[dict[str, Rating], dict[str, float | None]]:
    i = ScorecardReviewItem
    rows = conn.execute(select(i.criterion_key, i.value, i.na, i.proposed, i.comment).where(i.review_id == review_id))
    ratings, proposals = {}, {}
    for key, value, na, proposed, comment in rows:
        ratings[key] = Rating(None if na else value, bool(na), comment)
        proposals[key] = proposed
    return ratings, proposals


def load_review(conn: Connection, review_id: int) -> StoredReview:
    """One review with everything the review page shows; its score recomputed from its own version."""
    r, ack = ScorecardReview, User.__table__.alias("ack")
    row = conn.execute(
        select(r, User.name.label("reviewer"), ack.c.name.label("ack_name"), Dispute.status.label("dispute_status"))
        .join(User, User.id == r.reviewer_id).outerjoin(ack, ack.c.id == r.acknowledged_by)
        .outerjoin(Dispute, Dispute.review_id == r.id).where(r.id == review_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"评审 {review_id} 不存在（可能已被删除）")
    stored = load_version(conn, row["version_id"])
    ratings, proposals = _ratings(conn, review_id)
    return StoredReview(review_id, row["conversation_id"], row["reviewer"], stored, ratings, proposals,
                        score_review(stored.card, ratings), row["score"], row["comment"], row["session_id"],
                        row["created_at"], row["updated_at"], row["ack_name"], row["acknowledged_at"],
                        row["dispute_status"])


def my_review(conn: Connection, conversation_id: int, actor: str, session_id: int | None = None) -> StoredReview | None:
    """``actor``'s review of the conversation (in the session, if given), to prefill the form; None if none."""
    r = ScorecardReview
    session = r.session_id.is_(None) if session_id is None else r.session_id == session_id
    rid = conn.scalar(select(r.id).join(User, User.id == r.reviewer_id).where(
        r.conversation_id == conversation_id, User.name == actor.strip(), session))
    return None if rid is None else load_review(conn, rid)


def conversation_reviews(conn: Connection, conversation_id: int) -> pd.DataFrame:
    """The conversation's reviews (not calibration ones), newest first: id, reviewer, scorecard, version, score,
    fatal_failed, comment, updated_at, acknowledged_at, dispute_status."""
    r, v = ScorecardReview, ScorecardVersion
    rows = conn.execute(
        select(r.id, User.name.label("reviewer"), ScorecardRecord.name.label("scorecard"), v.version, r.score,
               r.fatal_failed, r.comment, r.updated_at, r.acknowledged_at, Dispute.status.label("dispute_status"))
        .join(User, User.id == r.reviewer_id).join(v, v.id == r.version_id)
        .join(ScorecardRecord, ScorecardRecord.id == v.scorecard_id).outerjoin(Dispute, Dispute.review_id == r.id)
        .where(r.conversation_id == conversation_id, r.session_id.is_(None))
        .order_by(r.updated_at.desc(), r.id.desc())).mappings().all()
    return pd.DataFrame(rows, columns=["id", "reviewer", "scorecard", "version", "score", "fatal_failed", "comment",
                                       "updated_at", "acknowledged_at", "dispute_status"])


def agent_review_scores(conn: Connection, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Per agent: reviews, mean final score, fatal failures — calibration reviews excluded; conversations
    started in [start, end] when given. Columns agent, team, reviews, mean_score, fatal."""
    r, c = ScorecardReview, Conversation
    query = (select(Agent.name.label("agent"), Agent.team, func.count(r.id).label("reviews"),
                    func.avg(r.score).label("mean_score"),
                    func.sum(case((r.fatal_failed, 1), else_=0)).label("fatal"))
             .join(c, c.id == r.conversation_id).join(Agent, Agent.id == c.agent_id)
             .where(r.session_id.is_(None)).group_by(Agent.name, Agent.team).order_by(Agent.name))
    if start is not None:
        query = query.where(c.started_at >= datetime.combine(start, datetime.min.time()))
    if end is not None:
        query = query.where(c.started_at < datetime.combine(end + timedelta(days=1), datetime.min.time()))
    df = pd.DataFrame(conn.execute(query).mappings().all(), columns=["agent", "team", "reviews", "mean_score", "fatal"])
    return df.astype({"mean_score": float, "fatal": int})
