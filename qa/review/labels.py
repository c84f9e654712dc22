"""Reviewers' judgements turned into labels for the message models: what they confirm or contradict.

A reviewer who tags a reply 语气生硬 has said the tone model should flag it; one who gives 态度礼貌 4 or 5 while
replies of the conversation carry a tone flag has said those flags were wrong. Those judgements are stored as
``model_labels`` rows (one per reviewer, message and model) so that ``huifang train --from-db`` can learn from
them and the Models page can show how often reviewers agree with each flag. Three sources, strongest first:

- ``feedback``: the reviewer pressed 确认 or 误报 on a flag in the replay;
- ``tag``: a message tag that names what a model measures (``TAG_LABELS``);
- ``rubric``: 态度礼貌 ≥ 4 contradicts every tone flag in the conversation that the reviewer did not tag.

Tag and rubric labels are derived from the reviewer's annotations and re-derived on every annotation write
(``sync_labels``, in the same transaction), so editing or deleting a note or a review never leaves a stale
label; feedback labels are written directly and win over derived ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, case, delete, func, insert, select

from qa.access import require_user
from qa.busy import retry_when_busy
from qa.errors import HuifangError, NotFoundError
from qa.models import Annotation, Message, MessageScore, ModelLabel
from scoring.schema import RELEVANCE_LOW, SENTIMENT_HIGH, TONE_FLAG

__all__ = ["FLAGS", "TAG_LABELS", "Flag", "label_summary", "labelled_messages", "my_feedback", "raised_flags",
           "record_feedback", "sync_labels"]


@dataclass(frozen=True)
class Flag:
    """A message model's flag as reviewers see it: which score, on whose messages, raised when."""

    field: str
    name: str
    role: str
    raised: Callable[[float], bool]


FLAGS: dict[str, Flag] = {f.field: f for f in (
    Flag("tone_risk", "语气风险", "agent", lambda s: s >= TONE_FLAG),
    Flag("relevance", "答非所问", "agent", lambda s: s < RELEVANCE_LOW),
    Flag("sentiment_neg", "顾客负面情绪", "customer", lambda s: s >= SENTIMENT_HIGH),
)}

TAG_LABELS: dict[str, tuple[tuple[str, bool], ...]] = {
    "禁用语": (("tone_risk", True),),
    "语气生硬": (("tone_risk", True),),
    "推诿": (("tone_risk", True),),
    "答非所问": (("relevance", True),),
    "优秀话术": (("tone_risk", False), ("relevance", False)),
}
"""Message tags that say whether a model's flag belongs on the message (other tags say nothing about a model)."""

MANNER_ITEM, MANNER_FINE = "态度礼貌", 4
DERIVED = ("tag", "rubric")


class LabelError(HuifangError):
    """Feedback that cannot be recorded (unknown model, a message the model does not score, no score yet)."""


def _scores(conn: Connection, conversation_id: int) -> dict[int, tuple[str, dict[str, float | None]]]:
    ms = MessageScore
    rows = conn.execute(
        select(Message.id, Message.role, ms.tone_risk, ms.relevance, ms.sentiment_neg)
        .outerjoin(ms, ms.message_id == Message.id).where(Message.conversation_id == conversation_id)).all()
    return {r.id: (r.role, {"tone_risk": r.tone_risk, "relevance": r.relevance, "sentiment_neg": r.sentiment_neg})
            for r in rows}


def derived_labels(tags: dict[int, list[str]], manner: float | None,
                   scores: dict[int, tuple[str, dict[str, float | None]]]) -> dict[tuple[int, str], tuple[bool, str]]:
    """(message, field) → (flag belongs there, source) from one reviewer's tags per message and 态度礼貌 score."""
    out: dict[tuple[int, str], tuple[bool, str]] = {}
    for message_id, message_tags in tags.items():
        role = scores.get(message_id, ("", {}))[0]
        for tag in message_tags:
            for field, flagged in TAG_LABELS.get(tag, ()):
                if FLAGS[field].role == role:  # a tag on the wrong side of the chat says nothing about the model
                    key = (message_id, field)
                    out[key] = (out.get(key, (False, ""))[0] or flagged, "tag")
    if manner is not None and manner >= MANNER_FINE:
        tone = FLAGS["tone_risk"]
        for message_id, (role, values) in scores.items():
            score = values["tone_risk"]
            if role == tone.role and score is not None and tone.raised(score):
                out.setdefault((message_id, "tone_risk"), (False, "rubric"))
    return out


def sync_labels(conn: Connection, conversation_id: int, reviewer_id: int) -> None:
    """Re-derive this reviewer's tag and rubric labels on a conversation from their current annotations."""
    a = Annotation
    rows = conn.execute(select(a.message_id, a.rubric_item, a.score, a.tags).where(
        a.conversation_id == conversation_id, a.reviewer_id == reviewer_id, a.deleted_at.is_(None))).all()
    tags: dict[int, list[str]] = {}
    manner = None
    for r in rows:
        if r.message_id is not None and r.tags:
            tags.setdefault(r.message_id, []).extend(r.tags.split("，"))
        elif r.message_id is None and r.rubric_item == MANNER_ITEM:
            manner = r.score
    scores = _scores(conn, conversation_id)
    ml = ModelLabel
    mine = (ml.conversation_id == conversation_id, ml.reviewer_id == reviewer_id)
    conn.execute(delete(ml).where(*mine, ml.source.in_(DERIVED)))
    kept = {(r.message_id, r.field) for r in conn.execute(select(ml.message_id, ml.field).where(*mine))}
    now = datetime.now()
    values = [dict(message_id=message_id, conversation_id=conversation_id, reviewer_id=reviewer_id, field=field,
                   flagged=flagged, model_score=scores[message_id][1][field], source=source, created_at=now)
              for (message_id, field), (flagged, source) in derived_labels(tags, manner, scores).items()
              if (message_id, field) not in kept]
    if values:
        conn.execute(insert(ml), values)


@retry_when_busy
def record_feedback(engine: Engine, message_id: int, reviewer_id: int, field: str, agrees: bool) -> None:
    """Store a reviewer's 确认 (``agrees``) or 误报 on a model's flag of one message, replacing their earlier label."""
    flag = FLAGS.get(field)
    if flag is None:
        raise LabelError(f"未知的模型分数“{field}”，可选：{'、'.join(FLAGS)}")
    ms = MessageScore
    with engine.begin() as conn:
        require_user(conn, reviewer_id, "review")
        row = conn.execute(select(Message.conversation_id, Message.role, getattr(ms, field).label("score"))
                           .outerjoin(ms, ms.message_id == Message.id).where(Message.id == message_id)).first()
        if row is None:
            raise NotFoundError(f"消息 {message_id} 不存在（可能已被删除）")
        if row.role != flag.role or row.score is None:
            raise LabelError(f"这条消息没有{flag.name}评分，无法确认或纠正")
        ml = ModelLabel
        conn.execute(delete(ml).where(ml.reviewer_id == reviewer_id, ml.message_id == message_id, ml.field == field))
        conn.execute(insert(ml).values(
            message_id=message_id, conversation_id=row.conversation_id, reviewer_id=reviewer_id, field=field,
            flagged=flag.raised(row.score) == agrees, model_score=row.score, source="feedback",
            created_at=datetime.now()))


def raised_flags(messages: pd.DataFrame) -> list[tuple[int, int, str, float]]:
    """(message id, seq, field, score) of every flag raised in a replay's messages, in chat order: what a reviewer
    is asked to confirm or contradict."""
    out = []
    for row in messages.itertuples():
        for flag in FLAGS.values():
            score = getattr(row, flag.field)
            if row.role == flag.role and pd.notna(score) and flag.raised(score):
                out.append((int(row.id), int(row.seq), flag.field, float(score)))
    return out


def my_feedback(conn: Connection, conversation_id: int, reviewer_id: int) -> dict[tuple[int, str], bool]:
    """(message, field) → whether this reviewer confirmed the flag there, for their 确认/误报 presses only."""
    ml = ModelLabel
    rows = conn.execute(select(ml.message_id, ml.field, ml.flagged, ml.model_score).where(
        ml.conversation_id == conversation_id, ml.reviewer_id == reviewer_id, ml.source == "feedback")).all()
    return {(r.message_id, r.field): FLAGS[r.field].raised(r.model_score) == r.flagged for r in rows}


def label_summary(conn: Connection) -> pd.DataFrame:
    """Per model and source: labels given, and how many confirmed or contradicted the flag as it was then (labels
    on messages not yet scored count as given, neither confirming nor contradicting)."""
    ml = ModelLabel
    rows = conn.execute(select(ml.field, ml.source, ml.flagged, ml.model_score)).all()
    df = pd.DataFrame(rows, columns=["field", "source", "flagged", "model_score"])
    if df.empty:
        return pd.DataFrame(columns=["模型", "来源", "标注", "确认", "纠正", "确认率"])
    scored = df["model_score"].notna()
    df["agrees"] = [scored_ and FLAGS[f].raised(s) == bool(g)
                    for f, s, g, scored_ in zip(df["field"], df["model_score"], df["flagged"], scored)]
    df["scored"] = scored
    out = df.groupby(["field", "source"]).agg(n=("agrees", "size"), scored=("scored", "sum"),
                                              agrees=("agrees", "sum")).reset_index()
    names = {"feedback": "确认/误报", "tag": "消息标签", "rubric": "态度礼貌评分"}
    return pd.DataFrame({"模型": [FLAGS[f].name for f in out["field"]], "来源": out["source"].map(names),
                         "标注": out["n"], "确认": out["agrees"], "纠正": out["scored"] - out["agrees"],
                         "确认率": (out["agrees"] / out["scored"].where(out["scored"] > 0)).round(3)})


def labelled_messages(conn: Connection, field: str) -> pd.DataFrame:
    """Messages reviewers labelled for ``field``: ``message_id``, ``conversation_id``, ``text``, ``context`` (the
    customer's last two lines before an agent reply, as the tone model reads it) and ``flagged`` (the reviewers'
    majority; ties are dropped as undecided)."""
    ml = ModelLabel
    votes = (select(ml.message_id, ml.conversation_id,
                    func.sum(case((ml.flagged, 1), else_=0)).label("yes"), func.count().label("n"))
             .where(ml.field == field).group_by(ml.message_id, ml.conversation_id).subquery())
    rows = conn.execute(select(votes, Message.seq, Message.text)
                        .join(Message, Message.id == votes.c.message_id)
                        .where(votes.c.yes * 2 != votes.c.n).order_by(votes.c.message_id)).all()
    columns = ["message_id", "conversation_id", "text", "context", "flagged"]
    if not rows:
        return pd.DataFrame(columns=columns)
    before = conn.execute(
        select(Message.conversation_id, Message.seq, Message.text)
        .where(Message.conversation_id.in_({r.conversation_id for r in rows}), Message.role == "customer")
        .order_by(Message.conversation_id, Message.seq)).all()
    customer: dict[int, list[tuple[int, str]]] = {}
    for b in before:
        customer.setdefault(b.conversation_id, []).append((b.seq, b.text))
    context = [" ‖ ".join([t for s, t in customer.get(r.conversation_id, []) if s < r.seq][-2:]) for r in rows]
    return pd.DataFrame({"message_id": [r.message_id for r in rows],
                         "conversation_id": [r.conversation_id for r in rows],
                         "text": [r.text for r in rows], "context": context,
                         "flagged": [int(r.yes * 2 > r.n) for r in rows]}, columns=columns)

