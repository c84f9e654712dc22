"""Reviews on a scorecard: one row per review (its computed score) and one per criterion (value or N/A).

The stored score is what every list and chart reads; it is recomputed from the items whenever they change (a
reviewer's edit, a dispute's change), never typed. Reviews made in a calibration session carry its id and are
left out of agents' scores. A review under dispute, or whose dispute was resolved, is no longer the reviewer's to
edit: the dispute's resolution is the final word.

A reviewer has one review per conversation (and one per calibration session), enforced by unique indexes, and its
``version`` rises with every save: a save names the version its form was filled from and is refused
(``StaleScorecardReviewError``) when that is no longer the stored one, so a stale tab cannot silently revert a
newer score — the same integrity as rubric reviews (``qa.review.annotations``, issue #12 case 3). Reviews are
never deleted on their own (only with their conversation), so there is no delete to make soft.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from qa.audit import record
from qa.busy import retry_when_busy
from qa.errors import NotFoundError
from qa.models import (
    Conversation,
    Dispute,
    ScorecardRecord,
    ScorecardReview,
    ScorecardReviewItem,
    ScorecardVersion,
    User,
)
from qa.program.errors import DisputeError, ProgramError
from qa.program.people import acting_id
from qa.program.scorecard import Rating, ScoreResult, check_ratings, score_review
from qa.program.store import StoredScorecard, load_version

__all__ = [
    "StaleScorecardReviewError",
    "StoredReview",
    "conversation_reviews",
    "guard_first_save",
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
    version: int = 1


class StaleScorecardReviewError(ProgramError):
    """A save based on an older version of the review than the stored one (another tab or reviewer saved since
    the form was filled). Carries the stored review so the page can show what would have been overwritten."""

    def __init__(self, current: StoredReview | None, based_on: int) -> None:
        self.current = current
        self.based_on = based_on
        if current is None:
            now = "这份评分表评审刚被同时保存"
        else:
            items = "，".join(f"{c.label} {_rating_word(current.ratings.get(c.key))}"
                             for _s, c in current.scorecard.card.criteria())
            score = "无" if current.score is None else f"{current.score:.1f}"
            now = (f"这份评分表评审在你打开表单后已被修改（{current.updated_at:%m-%d %H:%M:%S} 保存为第 "
                   f"{current.version} 版，你的表单基于第 {based_on} 版）。现在的内容：得分 {score}；{items}；"
                   f"评语“{current.comment or '无'}”")
        super().__init__(f"{now}。你的修改没有保存，以免覆盖这次更新：请看过最新内容后重新填写并保存。")


def _rating_word(rating: Rating | None) -> str:
    if rating is None or (rating.value is None and not rating.na):
        return "未评"
    return "不适用" if rating.na else f"{rating.value:g}"


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


def _review_id(conn: Connection, conversation_id: int, reviewer_id: int, session_id: int | None) -> int | None:
    r = ScorecardReview
    session = r.session_id.is_(None) if session_id is None else r.session_id == session_id
    return conn.scalar(select(r.id).where(r.conversation_id == conversation_id, r.reviewer_id == reviewer_id, session))


def _stale(conn: Connection, conversation_id: int, reviewer_id: int, session_id: int | None,
           based_on: int) -> StaleScorecardReviewError:
    rid = _review_id(conn, conversation_id, reviewer_id, session_id)
    return StaleScorecardReviewError(None if rid is None else load_review(conn, rid), based_on)


def write_review(conn: Connection, conversation_id: int, version_id: int, ratings: Mapping[str, Rating],
                 reviewer_id: int, comment: str, session_id: int | None, proposals: Mapping[str, float | None],
                 now: datetime, base_version: int | None = None) -> int:
    """Create or replace this reviewer's review of the conversation (in the session, if any); the score is
    computed here. Runs inside the caller's transaction so calibration can check its session first.

    ``base_version`` is the version the form was filled from (``StoredReview.version``, 0 for a new review); a
    save based on another one raises StaleScorecardReviewError. None (a script, the demo) saves over any version.
    """
    if conn.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在（可能已被删除）")
    card = load_version(conn, version_id).card
    check_ratings(card, ratings)
    result = score_review(card, ratings)
    r = ScorecardReview
    session = r.session_id.is_(None) if session_id is None else r.session_id == session_id
    existing = conn.execute(select(r.id, Dispute.status, r.version_id, r.score, r.fatal_failed, r.comment, r.version)
                            .outerjoin(Dispute, Dispute.review_id == r.id).where(
        r.conversation_id == conversation_id, r.reviewer_id == reviewer_id, session)).first()
    values = {"version_id": version_id, "score": result.score, "fatal_failed": result.fatal_failed,
              "comment": comment.strip(), "updated_at": now}
    if existing is None:
        if base_version not in (None, 0):
            raise _stale(conn, conversation_id, reviewer_id, session_id, base_version)
        # Two first saves at once: the unique index lets one in; the caller reports the other as stale.
        review_id = conn.execute(insert(r).values(
            conversation_id=conversation_id, reviewer_id=reviewer_id, session_id=session_id, created_at=now,
            version=1, **values).returning(r.id)).scalar_one()
        values["version"] = 1
    else:
        review_id, dispute = existing.id, existing.status
        if dispute is not None:
            raise DisputeError(f"这条评审已被申诉（{dispute}），不能再修改：由质检主管在申诉中维持或改分")
        if base_version is not None and base_version != existing.version:
            raise StaleScorecardReviewError(load_review(conn, review_id), base_version)
        values["version"] = existing.version + 1
        # Compare-and-set: a concurrent save of the same version leaves this one matching no row.
        claimed = conn.execute(update(r).where(r.id == review_id, r.version == existing.version)
                               .values(**values, acknowledged_by=None, acknowledged_at=None)).rowcount
        if not claimed:
            raise _stale(conn, conversation_id, reviewer_id, session_id,
                         existing.version if base_version is None else base_version)
    write_items(conn, review_id, ratings, proposals)
    after: dict[str, object] = {k: values[k] for k in ("version_id", "score", "fatal_failed", "comment", "version")}
    after["ratings"] = {key: None if rating.na else rating.value for key, rating in ratings.items()}
    before = None if existing is None else {k: getattr(existing, k) for k in ("version_id", "score", "fatal_failed",
                                                                               "comment", "version")}
    record(conn, reviewer_id, "update" if existing else "create", "scorecard_review", review_id, before, after)
    return review_id


def guard_first_save(engine: Engine, write: Callable[[Connection], int], conversation_id: int, actor: str,
                     session_id: int | None, base_version: int | None) -> int:
    """Run ``write`` (one transaction calling ``write_review``) and report a first save that lost the race to a
    concurrent one (the unique index refused it) as stale, with the review that got in."""
    try:
        with engine.begin() as conn:
            return write(conn)
    except IntegrityError:
        with engine.connect() as conn:
            raise _stale(conn, conversation_id, acting_id(conn, actor, "review"), session_id,
                         base_version or 0) from None


@retry_when_busy
def save_review(engine: Engine, conversation_id: int, version_id: int, ratings: Mapping[str, Rating], actor: str,
                comment: str = "", proposals: Mapping[str, float | None] | None = None,
                now: datetime | None = None, *, base_version: int | None = None) -> int:
    """Save ``actor``'s review of a conversation on a scorecard version (editing replaces their earlier one);
    ``proposals`` are the automatic values shown, kept to measure how often reviewers accept them;
    ``base_version``: see ``write_review``."""
    return guard_first_save(engine, lambda conn: write_review(
        conn, conversation_id, version_id, ratings, acting_id(conn, actor, "review"), comment, None, proposals or {},
        now or _now(), base_version), conversation_id, actor, None, base_version)


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
                        row["dispute_status"], row["version"])


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
