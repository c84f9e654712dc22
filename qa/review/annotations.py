"""Reviewers' judgements: the rubric, the verdict vocabulary, and saving/editing annotations.

The vocabulary lives here so the queue, replay, agreement statistics and exports all use the same words. A
reviewer's review of a conversation is one row per rubric item plus one verdict row (all with no message);
comments and tags on single messages are further rows. Every write is one transaction, and saving a verdict
completes the reviewer's assignment for that conversation.

A review has a head row (``reviews``, one per conversation and reviewer) whose version rises with every change:
a save names the version its form was based on and is refused when that is no longer the stored one (a stale
tab must not revert a newer 不合格). Deleted annotations are kept, marked ``deleted_at``; every write also appends
to the audit trail (``qa.audit``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from qa.access import require_user
from qa.audit import record
from qa.busy import retry_when_busy
from qa.db import transaction
from qa.errors import HuifangError, NotFoundError
from qa.models import Annotation, Conversation, Message, ModelLabel, ReviewAssignment, ReviewRecord, User
from qa.review.labels import sync_labels

__all__ = [
    "MESSAGE_TAGS",
    "RUBRIC",
    "RUBRIC_SCALE",
    "VERDICTS",
    "AnnotationError",
    "Review",
    "StaleReviewError",
    "add_message_note",
    "delete_annotation",
    "list_annotations",
    "my_review",
    "review_version",
    "save_review",
    "update_message_note",
]

RUBRIC: tuple[str, ...] = ("响应及时", "态度礼貌", "解决问题", "规范用语")
RUBRIC_SCALE: tuple[int, int] = (1, 5)
VERDICTS: tuple[str, ...] = ("合格", "需改进", "不合格")
MESSAGE_TAGS: tuple[str, ...] = ("禁用语", "语气生硬", "答非所问", "推诿", "信息错误", "超时", "优秀话术")


class AnnotationError(HuifangError):
    """An annotation that cannot be saved as asked (unknown verdict, score out of range, someone else's note)."""


@dataclass(frozen=True)
class Review:
    """One reviewer's overall review of a conversation: rubric scores, a verdict and a comment."""

    scores: dict[str, int] = field(default_factory=dict)
    verdict: str | None = None
    comment: str = ""
    version: int = 0  # as stored (my_review); 0 for a review not saved yet
    updated_at: datetime | None = None


def _now() -> datetime:
    return datetime.now()


def _check_conversation(conn: Connection, conversation_id: int) -> None:
    if conn.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在（可能已被删除）")


def _check_review(review: Review) -> None:
    lo, hi = RUBRIC_SCALE
    for item, score in review.scores.items():
        if item not in RUBRIC:
            raise AnnotationError(f"未知的评分项“{item}”，可选：{'、'.join(RUBRIC)}")
        if not lo <= score <= hi:
            raise AnnotationError(f"“{item}”的评分须在 {lo}–{hi} 之间，收到 {score}")
    if review.verdict is not None and review.verdict not in VERDICTS:
        raise AnnotationError(f"未知的结论“{review.verdict}”，可选：{'、'.join(VERDICTS)}")
    if not review.scores and review.verdict is None and not review.comment.strip():
        raise AnnotationError("评审是空的：请至少打一项分、选择结论或写评语")


class StaleReviewError(AnnotationError):
    """A save based on an older version of the review than the stored one: someone (or another tab) changed it
    since the form was opened. Carries the stored review so the page can show what would have been overwritten."""

    def __init__(self, current: Review | None, based_on: int) -> None:
        self.current = current
        self.based_on = based_on
        if current is None:
            now = "这份评审已被删除"
        else:
            scores = "，".join(f"{item} {score} 分" for item, score in current.scores.items()) or "无评分"
            when = f"{current.updated_at:%m-%d %H:%M:%S} " if current.updated_at else ""
            now = (f"这份评审在你打开表单后已被修改（{when}保存为第 {current.version} 版，你的表单基于第 {based_on} 版）。"
                   f"现在的内容：结论 {current.verdict or '未选'}；{scores}；评语“{current.comment or '无'}”")
        super().__init__(f"{now}。你的修改没有保存，以免覆盖这次更新：请看过最新内容后重新填写并保存。")


def _review_head(conn: Connection, conversation_id: int, reviewer_id: int) -> Row | None:
    r = ReviewRecord
    return conn.execute(select(r.id, r.version, r.deleted_at).where(
        r.conversation_id == conversation_id, r.reviewer_id == reviewer_id)).first()


def _bump_version(conn: Connection, conversation_id: int, reviewer_id: int, base_version: int | None,
                  now: datetime) -> int:
    """Move the review head to the next version, claiming it for this transaction; ``base_version`` None skips
    the staleness check (a delete). Raises _Stale when another save got there first."""
    r = ReviewRecord
    head = _review_head(conn, conversation_id, reviewer_id)
    if head is None:
        if base_version not in (None, 0):
            raise _Stale
        try:  # two first saves at once: the unique constraint lets one in, the other is stale
            conn.execute(insert(r).values(conversation_id=conversation_id, reviewer_id=reviewer_id, version=1,
                                          updated_at=now))
        except IntegrityError:
            raise _Stale from None
        return 1
    # A deleted review is "nothing", which is what a fresh form (version 0) is based on too.
    if base_version is not None and base_version != head.version and not (
            head.deleted_at is not None and base_version == 0):
        raise _Stale
    # Compare-and-set: a concurrent save of the same version leaves this one matching no row.
    claimed = conn.execute(update(r).where(r.id == head.id, r.version == head.version)
                           .values(version=head.version + 1, updated_at=now)).rowcount
    if not claimed:
        raise _Stale
    return head.version + 1


def _close_if_empty(conn: Connection, conversation_id: int, reviewer_id: int, now: datetime) -> None:
    """The review head is deleted exactly when none of its rows is left."""
    a, r = Annotation, ReviewRecord
    live = conn.scalar(select(func.count()).where(
        a.conversation_id == conversation_id, a.reviewer_id == reviewer_id, a.message_id.is_(None),
        a.deleted_at.is_(None)))
    conn.execute(update(r).where(r.conversation_id == conversation_id, r.reviewer_id == reviewer_id)
                 .values(deleted_at=None if live else now))


class _Stale(Exception):
    """Internal: the transaction found a newer review version; rolled back, then reported as StaleReviewError."""


@retry_when_busy
def save_review(engine: Engine, conversation_id: int, reviewer_id: int, review: Review, *,
                base_version: int) -> int:
    """Create or replace this reviewer's rubric scores and verdict on a conversation; returns the new version.

    ``base_version`` is the version the form was filled from (``my_review(...).version``, 0 for a new review); a
    save based on an older one raises StaleReviewError rather than reverting someone's newer change.
    """
    _check_review(review)
    now = _now()
    a = Annotation
    mine = (a.conversation_id == conversation_id, a.reviewer_id == reviewer_id, a.message_id.is_(None),
            a.deleted_at.is_(None))
    try:
        with engine.begin() as conn:
            require_user(conn, reviewer_id, "review")
            _check_conversation(conn, conversation_id)
            version = _bump_version(conn, conversation_id, reviewer_id, base_version, now)
            before = my_review(conn, conversation_id, reviewer_id)
            existing = {row.rubric_item: row.id for row in conn.execute(select(a.id, a.rubric_item).where(*mine))}
            wanted: dict[str | None, dict] = {item: {"score": float(s), "verdict": None, "comment": ""}
                                              for item, s in review.scores.items()}
            if review.verdict is not None or review.comment.strip():
                wanted[None] = {"score": None, "verdict": review.verdict, "comment": review.comment.strip()}
            for item, values in wanted.items():
                if item in existing:
                    conn.execute(update(a).where(a.id == existing[item]).values(**values, updated_at=now))
                else:
                    conn.execute(insert(a).values(conversation_id=conversation_id, reviewer_id=reviewer_id,
                                                  rubric_item=item, tags="", created_at=now, updated_at=now,
                                                  **values))
            dropped = [aid for item, aid in existing.items() if item not in wanted]
            if dropped:
                conn.execute(update(a).where(a.id.in_(dropped)).values(deleted_at=now, updated_at=now))
            _close_if_empty(conn, conversation_id, reviewer_id, now)
            _sync_assignment(conn, conversation_id, reviewer_id, now)
            sync_labels(conn, conversation_id, reviewer_id)
            record(conn, reviewer_id, "update" if before else "create", "review", f"{conversation_id}/{reviewer_id}",
                   _audit_view(before), _audit_view(my_review(conn, conversation_id, reviewer_id)))
    except _Stale:
        with engine.connect() as conn:
            raise StaleReviewError(my_review(conn, conversation_id, reviewer_id), base_version) from None
    except IntegrityError:  # the unique live-row indexes caught a concurrent write the version did not
        with engine.connect() as conn:
            raise StaleReviewError(my_review(conn, conversation_id, reviewer_id), base_version) from None
    return version


def _audit_view(review: Review | None) -> dict | None:
    if review is None:
        return None
    return {"scores": review.scores, "verdict": review.verdict, "comment": review.comment, "version": review.version}


def _sync_assignment(conn: Connection, conversation_id: int, reviewer_id: int, now: datetime) -> None:
    """An assignment is done exactly when its reviewer has a verdict on the conversation."""
    has_verdict = conn.execute(select(func.count()).where(
        Annotation.conversation_id == conversation_id, Annotation.reviewer_id == reviewer_id,
        Annotation.verdict.is_not(None), Annotation.deleted_at.is_(None))).scalar_one() > 0
    ra = ReviewAssignment
    conn.execute(update(ra).where(ra.conversation_id == conversation_id, ra.reviewer_id == reviewer_id)
                 .values(status="已完成" if has_verdict else "待审", done_at=now if has_verdict else None))


def my_review(conn: Connection, conversation_id: int, reviewer_id: int) -> Review | None:
    """This reviewer's current review of the conversation with its version (to prefill the form and to save
    against), or None."""
    a = Annotation
    rows = conn.execute(select(a.rubric_item, a.score, a.verdict, a.comment, a.updated_at).where(
        a.conversation_id == conversation_id, a.reviewer_id == reviewer_id, a.message_id.is_(None),
        a.deleted_at.is_(None))).all()
    if not rows:
        return None
    head = _review_head(conn, conversation_id, reviewer_id)
    scores = {r.rubric_item: int(r.score) for r in rows if r.rubric_item and r.score is not None}
    overall = next((r for r in rows if r.rubric_item is None), None)
    return Review(scores, overall.verdict if overall else None, overall.comment if overall else "",
                  version=head.version if head else 0, updated_at=max(r.updated_at for r in rows))


def _clean_tags(tags: list[str] | tuple[str, ...]) -> str:
    return "，".join(dict.fromkeys(t.strip() for t in tags if t.strip()))[:500]


def _note_view(conn: Connection, annotation_id: int) -> dict:
    a = Annotation
    row = conn.execute(select(a.conversation_id, a.message_id, a.reviewer_id, a.rubric_item, a.score, a.verdict,
                              a.tags, a.comment).where(a.id == annotation_id)).mappings().one()
    return dict(row)


@retry_when_busy
def add_message_note(engine: Engine | Connection, conversation_id: int, message_id: int, reviewer_id: int, comment: str,
                     tags: list[str] | tuple[str, ...] = ()) -> int:
    """Store a comment and/or tags on one message of a conversation; returns the annotation id."""
    comment, tag_text = comment.strip(), _clean_tags(tags)
    if not comment and not tag_text:
        raise AnnotationError("请填写批注内容或选择至少一个标签")
    now = _now()
    with transaction(engine) as conn:
        require_user(conn, reviewer_id, "review")
        owner = conn.scalar(select(Message.conversation_id).where(Message.id == message_id))
        if owner != conversation_id:
            raise NotFoundError(f"消息 {message_id} 不属于会话 {conversation_id}")
        annotation_id = conn.execute(insert(Annotation).values(
            conversation_id=conversation_id, message_id=message_id, reviewer_id=reviewer_id, tags=tag_text,
            comment=comment, created_at=now, updated_at=now).returning(Annotation.id)).scalar_one()
        sync_labels(conn, conversation_id, reviewer_id)
        record(conn, reviewer_id, "create", "note", annotation_id, None, _note_view(conn, annotation_id))
        return annotation_id


def _own(conn: Connection, annotation_id: int, reviewer_id: int) -> Row:
    require_user(conn, reviewer_id, "review")
    row = conn.execute(select(Annotation.reviewer_id, Annotation.conversation_id, Annotation.message_id)
                       .where(Annotation.id == annotation_id, Annotation.deleted_at.is_(None))).first()
    if row is None:
        raise NotFoundError(f"批注 {annotation_id} 不存在（可能已被删除）")
    if row.reviewer_id != reviewer_id:
        raise AnnotationError("只能修改或删除自己的批注")
    return row


@retry_when_busy
def update_message_note(engine: Engine | Connection, annotation_id: int, reviewer_id: int, comment: str,
                        tags: list[str] | tuple[str, ...] = ()) -> None:
    """Edit the reviewer's own note on a message."""
    comment, tag_text = comment.strip(), _clean_tags(tags)
    if not comment and not tag_text:
        raise AnnotationError("批注不能为空；要删除请点“删除”")
    with transaction(engine) as conn:
        row = _own(conn, annotation_id, reviewer_id)
        before = _note_view(conn, annotation_id)
        conn.execute(update(Annotation).where(Annotation.id == annotation_id)
                     .values(comment=comment, tags=tag_text, updated_at=_now()))
        sync_labels(conn, row.conversation_id, reviewer_id)
        record(conn, reviewer_id, "update", "note", annotation_id, before, _note_view(conn, annotation_id))


@retry_when_busy
def delete_annotation(engine: Engine | Connection, annotation_id: int, reviewer_id: int) -> None:
    """Delete one of the reviewer's own annotations (deleting the verdict reopens their assignment). The row is
    kept, marked deleted, and the audit trail says who deleted what."""
    now = _now()
    with transaction(engine) as conn:
        row = _own(conn, annotation_id, reviewer_id)
        before = _note_view(conn, annotation_id)
        if row.message_id is None:  # part of the review: a new version, so an open form cannot bring it back
            _bump_version(conn, row.conversation_id, reviewer_id, None, now)
        conn.execute(update(Annotation).where(Annotation.id == annotation_id).values(deleted_at=now, updated_at=now))
        if row.message_id is None:
            _close_if_empty(conn, row.conversation_id, reviewer_id, now)
        _sync_assignment(conn, row.conversation_id, reviewer_id, now)
        sync_labels(conn, row.conversation_id, reviewer_id)
        record(conn, reviewer_id, "delete", "review" if row.message_id is None else "note", annotation_id, before)


def list_annotations(conn: Connection, conversation_id: int) -> pd.DataFrame:
    """Every annotation on a conversation with reviewer, what it is on ("整体" or "消息 #n", 1-based), oldest first."""
    a = Annotation
    rows = conn.execute(
        select(a.id, a.reviewer_id, User.name.label("reviewer"), a.message_id, Message.seq.label("seq"),
               a.rubric_item, a.score, a.verdict, a.tags, a.comment, a.created_at, a.updated_at)
        .join(User, User.id == a.reviewer_id).outerjoin(Message, Message.id == a.message_id)
        .where(a.conversation_id == conversation_id, a.deleted_at.is_(None))
        .order_by(a.created_at, a.id)).mappings().all()
    columns = ["id", "reviewer_id", "reviewer", "message_id", "seq", "rubric_item", "score", "verdict", "tags",
               "comment", "created_at", "updated_at"]
    df = pd.DataFrame(rows, columns=columns).astype({"score": float})
    df.insert(3, "target", ["整体" if pd.isna(seq) else f"消息 #{int(seq) + 1}" for seq in df["seq"]])
    return df


def review_version(conn: Connection) -> str:
    """Changes whenever an annotation, assignment or model label is added, edited or removed: a cache key for
    review views."""
    ann = conn.execute(select(func.count(), func.max(Annotation.id), func.max(Annotation.updated_at))).one()
    labels = conn.execute(select(func.count(), func.max(ModelLabel.id))).one()
    ra = conn.execute(select(func.count(), func.max(ReviewAssignment.id), func.max(ReviewAssignment.done_at),
                             func.count(ReviewAssignment.done_at))).one()
    return "|".join(map(str, (*ann, *ra, *labels)))
