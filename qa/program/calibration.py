"""Calibration sessions (校准): the same conversations scored blind by several reviewers on one scorecard version.

A manager creates a session (conversations, reviewers, an optional benchmark reviewer who takes part too),
reviewers submit reviews into it, the manager closes it. Until it closes, a reviewer sees only their own
scores (``can_see``): no anchoring on a colleague's number. Results and the trend over sessions exist only for
closed sessions. Calibration reviews carry the session id and never count in agents' scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from qa.busy import retry_when_busy
from qa.errors import NotFoundError
from qa.models import (
    CalibrationConversation,
    CalibrationReviewer,
    CalibrationSession,
    Conversation,
    ScorecardRecord,
    ScorecardReview,
    ScorecardVersion,
    User,
)
from qa.program.calibration_stats import CalibrationResults, ReviewScores, calibration_results
from qa.program.errors import CalibrationError
from qa.program.people import acting_id, user_id
from qa.program.reviews import guard_first_save, load_review, write_review
from qa.program.scorecard import Rating
from qa.program.store import load_version

__all__ = [
    "SessionInfo",
    "calibration_trend",
    "can_see",
    "close_session",
    "create_session",
    "list_sessions",
    "my_calibration_work",
    "session_info",
    "session_progress",
    "session_results",
    "submit_review",
    "visible_reviews",
]


@dataclass(frozen=True)
class SessionInfo:
    """What a session is: its scorecard version, conversations, reviewers, benchmark and state."""

    id: int
    name: str
    version_id: int
    conversation_ids: tuple[int, ...]
    reviewers: tuple[str, ...]
    benchmark: str | None
    created_by: str | None
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str = ""  # how the conversations were chosen, e.g. "随机抽取 5 条 · 抽样编号 42 · 筛选：售后"

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


def _now() -> datetime:
    return datetime.now()


def can_see(closed: bool, viewer: str, reviewer: str) -> bool:
    """The blind rule: a reviewer's scores are visible to others only once the session is closed."""
    return closed or viewer == reviewer


def create_session(engine: Engine, name: str, version_id: int, conversation_ids: Sequence[int],
                   reviewers: Sequence[str], actor: str, benchmark: str | None = None, note: str = "",
                   now: datetime | None = None) -> int:
    """Create a session; the benchmark reviewer, if any, takes part too. Returns its id."""
    name = name.strip()
    if not name:
        raise CalibrationError("请给校准会起个名字")
    conversations = list(dict.fromkeys(conversation_ids))
    people = list(dict.fromkeys([r.strip() for r in reviewers if r.strip()] + ([benchmark] if benchmark else [])))
    if not conversations:
        raise CalibrationError("请至少选择一个会话")
    if len(people) < 2:
        raise CalibrationError("校准至少需要两位质检员")
    with engine.begin() as conn:
        load_version(conn, version_id)
        known = set(conn.scalars(select(Conversation.id).where(Conversation.id.in_(conversations))))
        missing = [str(c) for c in conversations if c not in known]
        if missing:
            raise NotFoundError(f"会话不存在：{'、'.join(missing)}")
        ids = {p: user_id(conn, p) for p in people}
        sid = conn.execute(insert(CalibrationSession).values(
            name=name, version_id=version_id, benchmark_id=ids[benchmark] if benchmark else None, note=note.strip(),
            created_by=acting_id(conn, actor, "manage_program"), created_at=now or _now()).returning(CalibrationSession.id)).scalar_one()
        conn.execute(insert(CalibrationConversation), [{"session_id": sid, "conversation_id": c} for c in conversations])
        conn.execute(insert(CalibrationReviewer), [{"session_id": sid, "reviewer_id": uid} for uid in ids.values()])
    return sid


def session_info(conn: Connection, session_id: int) -> SessionInfo:
    """One session's definition and state."""
    s = CalibrationSession
    names = {uid: name for uid, name in conn.execute(select(User.id, User.name))}
    row = conn.execute(select(s).where(s.id == session_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"校准会 {session_id} 不存在")
    conversations = tuple(conn.scalars(select(CalibrationConversation.conversation_id)
                                       .where(CalibrationConversation.session_id == session_id)
                                       .order_by(CalibrationConversation.conversation_id)))
    reviewers = tuple(sorted(names[uid] for uid in conn.scalars(
        select(CalibrationReviewer.reviewer_id).where(CalibrationReviewer.session_id == session_id))))
    return SessionInfo(session_id, row["name"], row["version_id"], conversations, reviewers,
                       names.get(row["benchmark_id"]), names.get(row["created_by"]), row["created_at"],
                       row["closed_at"], names.get(row["closed_by"]), row["note"] or "")


@retry_when_busy
def submit_review(engine: Engine, session_id: int, conversation_id: int, ratings: Mapping[str, Rating], actor: str,
                  comment: str = "", now: datetime | None = None, *, base_version: int | None = None) -> int:
    """Save ``actor``'s calibration review of one of the session's conversations (editable until it closes);
    ``base_version`` as in ``qa.program.reviews.write_review``."""
    def write(conn: Connection) -> int:
        info = session_info(conn, session_id)
        if info.closed:
            raise CalibrationError(f"校准会“{info.name}”已结束，不能再提交评分")
        if actor.strip() not in info.reviewers:
            raise CalibrationError(f"“{actor}”没有参加校准会“{info.name}”")
        if conversation_id not in info.conversation_ids:
            raise CalibrationError(f"会话 {conversation_id} 不在校准会“{info.name}”中")
        return write_review(conn, conversation_id, info.version_id, ratings, acting_id(conn, actor, "review"), comment,
                            session_id, {}, now or _now(), base_version)

    return guard_first_save(engine, write, conversation_id, actor, session_id, base_version)


def close_session(engine: Engine, session_id: int, actor: str, now: datetime | None = None) -> None:
    """End the session: scores become visible to all and results are computed."""
    with engine.begin() as conn:
        info = session_info(conn, session_id)
        if info.closed:
            raise CalibrationError(f"校准会“{info.name}”已经结束")
        conn.execute(update(CalibrationSession).where(CalibrationSession.id == session_id)
                     .values(closed_at=now or _now(), closed_by=acting_id(conn, actor, "manage_program")))


def _reviews(conn: Connection, session_id: int) -> pd.DataFrame:
    r = ScorecardReview
    return pd.DataFrame(conn.execute(
        select(r.id.label("review_id"), r.conversation_id, User.name.label("reviewer"), r.score, r.updated_at)
        .join(User, User.id == r.reviewer_id).where(r.session_id == session_id)
        .order_by(r.conversation_id, User.name)).mappings().all(),
        columns=["review_id", "conversation_id", "reviewer", "score", "updated_at"])


def visible_reviews(conn: Connection, session_id: int, viewer: str) -> pd.DataFrame:
    """The session's reviews ``viewer`` may see (own ones while open, all once closed): review_id,
    conversation_id, reviewer, score, updated_at."""
    info = session_info(conn, session_id)
    df = _reviews(conn, session_id)
    keep = [can_see(info.closed, viewer.strip(), reviewer) for reviewer in df["reviewer"]]
    return df[keep].reset_index(drop=True)


def session_progress(conn: Connection, session_id: int) -> pd.DataFrame:
    """Per reviewer how many of the session's conversations they scored — counts only, so it is never blind."""
    info = session_info(conn, session_id)
    done = _reviews(conn, session_id).groupby("reviewer").size()
    return pd.DataFrame({"reviewer": list(info.reviewers),
                         "done": [int(done.get(r, 0)) for r in info.reviewers],
                         "total": len(info.conversation_ids),
                         "benchmark": [r == info.benchmark for r in info.reviewers]})


def session_results(conn: Connection, session_id: int) -> CalibrationResults:
    """α, share within ±10 and reviewers' deviations of a closed session."""
    info = session_info(conn, session_id)
    if not info.closed:
        raise CalibrationError(f"校准会“{info.name}”还没有结束：结束后才能看到结果（评分期间互不可见）")
    card = load_version(conn, info.version_id).card
    scored = [load_review(conn, int(rid)) for rid in _reviews(conn, session_id)["review_id"]]
    return calibration_results(card, [ReviewScores(r.conversation_id, r.reviewer, r.ratings) for r in scored],
                               benchmark=info.benchmark)


def list_sessions(conn: Connection) -> pd.DataFrame:
    """Every session, newest first: id, name, scorecard, version, conversations, reviewers, reviews, benchmark,
    created_at, closed_at."""
    s, v = CalibrationSession, ScorecardVersion
    convs = (select(CalibrationConversation.session_id, func.count().label("n"))
             .group_by(CalibrationConversation.session_id).subquery())
    people = (select(CalibrationReviewer.session_id, func.count().label("n"))
              .group_by(CalibrationReviewer.session_id).subquery())
    done = (select(ScorecardReview.session_id, func.count().label("n")).where(ScorecardReview.session_id.is_not(None))
            .group_by(ScorecardReview.session_id).subquery())
    rows = conn.execute(
        select(s.id, s.name, ScorecardRecord.name.label("scorecard"), v.version,
               func.coalesce(convs.c.n, 0).label("conversations"), func.coalesce(people.c.n, 0).label("reviewers"),
               func.coalesce(done.c.n, 0).label("reviews"), User.name.label("benchmark"), s.created_at, s.closed_at)
        .join(v, v.id == s.version_id).join(ScorecardRecord, ScorecardRecord.id == v.scorecard_id)
        .outerjoin(convs, convs.c.session_id == s.id).outerjoin(people, people.c.session_id == s.id)
        .outerjoin(done, done.c.session_id == s.id).outerjoin(User, User.id == s.benchmark_id)
        .order_by(s.created_at.desc(), s.id.desc())).mappings().all()
    return pd.DataFrame(rows, columns=["id", "name", "scorecard", "version", "conversations", "reviewers", "reviews",
                                       "benchmark", "created_at", "closed_at"])


def my_calibration_work(conn: Connection, actor: str) -> pd.DataFrame:
    """Open sessions ``actor`` takes part in, one row per conversation: session_id, session, conversation_id,
    external_id, done (whether they have scored it)."""
    s, cc = CalibrationSession, CalibrationConversation
    uid = conn.scalar(select(User.id).where(User.name == actor.strip()))
    mine = (select(ScorecardReview.session_id, ScorecardReview.conversation_id)
            .where(ScorecardReview.reviewer_id == uid, ScorecardReview.session_id.is_not(None)).subquery())
    rows = conn.execute(
        select(s.id.label("session_id"), s.name.label("session"), cc.conversation_id, Conversation.external_id,
               mine.c.conversation_id.is_not(None).label("done"))
        .join(cc, cc.session_id == s.id).join(Conversation, Conversation.id == cc.conversation_id)
        .join(CalibrationReviewer, (CalibrationReviewer.session_id == s.id) & (CalibrationReviewer.reviewer_id == uid))
        .outerjoin(mine, (mine.c.session_id == s.id) & (mine.c.conversation_id == cc.conversation_id))
        .where(s.closed_at.is_(None)).order_by(s.id, cc.conversation_id)).mappings().all()
    return pd.DataFrame(rows, columns=["session_id", "session", "conversation_id", "external_id", "done"])


def calibration_trend(conn: Connection) -> pd.DataFrame:
    """Closed sessions in the order they closed: session_id, name, closed_at, reviews, alpha (overall score),
    within_share — how agreement moves from one session to the next."""
    s = CalibrationSession
    closed = conn.execute(select(s.id, s.name, s.closed_at).where(s.closed_at.is_not(None))
                          .order_by(s.closed_at, s.id)).all()
    rows = []
    for sid, name, closed_at in closed:
        results = session_results(conn, sid)
        rows.append({"session_id": sid, "name": name, "closed_at": closed_at,
                     "reviews": len(_reviews(conn, sid)),
                     "alpha": results.overall_alpha, "within_share": results.overall_within})
    return pd.DataFrame(rows, columns=["session_id", "name", "closed_at", "reviews", "alpha", "within_share"])
