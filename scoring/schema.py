"""The records scoring reads and writes, and the score schema: every score field declared once, here.

``MessageScore`` and ``ConversationScore`` are the schema. Each score field carries its Chinese label and, for
the scores people act on, the line at which it is flagged; the database writer, ``huifang score-file``, the
exports and the pages' columns all read these declarations (``score_fields``), and the flag lines below are
the only thresholds. Adding a score: a field here, a column in ``qa.models`` (with a migration), and the model
that fills it in ``scoring.pipeline``. Times are naive Asia/Shanghai datetimes or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

__all__ = ["Msg", "Conv", "MessageScore", "ConversationScore", "ScoreField", "score_fields", "score_values",
           "rule_hits_text", "rule_hits_list", "RISK_HIGH", "TONE_FLAG", "SENTIMENT_HIGH", "RELEVANCE_LOW",
           "RELEVANCE_MEAN_LOW"]

RISK_HIGH = 0.5
"""Predicted dissatisfaction at or above this is "high risk" (queue reason, daily statistics, model agreement)."""
TONE_FLAG = 0.5
"""An agent reply whose tone risk reaches this is flagged."""
SENTIMENT_HIGH = 0.7
"""A customer message at or above this probability of being negative is shown as negative."""
RELEVANCE_LOW = 0.1
"""An agent reply below this relevance is "答非所问". Set where about 2.4% of real agent replies fall (JD and
STC-3 calibration slices), as the tone flag is, so that a flag is worth a look: it catches about a third of the
replies taken from another conversation. (At 0.3, the line the first model had, a fifth of real replies were
flagged and reviewers would learn to ignore it.) ``huifang evaluate`` reports both shares on held-out data."""
RELEVANCE_MEAN_LOW = 0.3
"""A conversation (or one agent's part of it) whose replies average below this relevance is "答非所问" in the
review queue: most of its replies are weak, not one."""


def _score(label: str, *, flag: float | None = None, default: Any = None) -> Any:
    """A score field: ``label`` is what people read, ``flag`` the line at which it is flagged."""
    return field(default=default, metadata={"label": label, "flag": flag})


@dataclass(slots=True)
class Msg:
    """One message to score; ``role`` is customer, agent, bot or system."""

    role: str
    text: str
    ts: datetime | None = None
    agent: str | None = None


@dataclass(slots=True)
class Conv:
    """One conversation to score; ``key`` is whatever the caller uses to put the scores back."""

    key: str
    messages: list[Msg]
    platform: str | None = None
    category: str | None = None
    csat: int | None = None
    rejected_rows: int = 0  # rows the import rejected: a gap in the record, not the agent's (see measure)


@dataclass(slots=True)
class MessageScore:
    """Scores of one message; fields not applicable to the role are None.

    ``explanation`` is short Chinese text a reviewer can read: the words or rules that drove the scores.
    """

    seq: int
    sentiment_neg: float | None = _score("顾客负面情绪", flag=SENTIMENT_HIGH)
    tone_risk: float | None = _score("语气风险", flag=TONE_FLAG)
    relevance: float | None = _score("相关度", flag=RELEVANCE_LOW)
    wait_s: float | None = _score("等待（秒）")
    sla_breach: bool | None = _score("超 SLA")
    rule_hits: list[str] = field(default_factory=list, metadata={"label": "规则命中", "flag": None})
    explanation: str = _score("评分说明", default="")


@dataclass(slots=True)
class ConversationScore:
    """Scores of one conversation, with the per-message scores in ``messages``."""

    key: str
    dissatisfaction_risk: float = _score("不满风险", flag=RISK_HIGH, default=0.0)
    tone_risk: float | None = _score("语气风险（最高）", flag=TONE_FLAG)
    relevance: float | None = _score("相关度（均值）", flag=RELEVANCE_MEAN_LOW)
    first_response_s: float | None = _score("首次响应（秒）")
    max_wait_s: float | None = _score("最长等待（秒）")
    replies: int = _score("客服回复数", default=0)
    replies_in_sla: int = _score("SLA 内回复数", default=0)
    unanswered_at_end: int = _score("结尾未回复", default=0)
    sentiment_start: float | None = _score("开始情绪")
    sentiment_worst: float | None = _score("最差情绪", flag=SENTIMENT_HIGH)
    sentiment_end: float | None = _score("结束情绪")
    rule_hits: int = _score("规则命中数", default=0)
    category: str = _score("分类", default="")
    category_source: str = _score("分类来源", default="")
    explanation: str = _score("评分说明", default="")
    messages: list[MessageScore] = field(default_factory=list)


@dataclass(frozen=True)
class ScoreField:
    """One declared score: its name (also its database column), label and flag line."""

    name: str
    label: str
    flag: float | None


_FIELDS = {cls: tuple(ScoreField(f.name, f.metadata["label"], f.metadata["flag"]) for f in fields(cls)
                      if "label" in f.metadata) for cls in (MessageScore, ConversationScore)}
_NAMES = {cls: tuple(f.name for f in declared) for cls, declared in _FIELDS.items()}


def score_fields(cls: type[MessageScore] | type[ConversationScore]) -> tuple[ScoreField, ...]:
    """The score fields of ``cls`` in declaration order (not its key, sequence number or nested messages)."""
    return _FIELDS[cls]


def score_values(score: MessageScore | ConversationScore) -> dict[str, Any]:
    """``{field: value}`` of every score field, lists joined into text as they are stored and exported."""
    out = {name: getattr(score, name) for name in _NAMES[type(score)]}
    if isinstance(score, MessageScore):  # the one list-valued field, kept as text
        out["rule_hits"] = rule_hits_text(score.rule_hits)
    return out


def rule_hits_text(hits: Sequence[str]) -> str:
    """A message's rule hits as stored and exported: one text, joined by "；"."""
    return "；".join(hits)


def rule_hits_list(text: str | None) -> list[str]:
    """The stored text of ``rule_hits_text`` back as its hits."""
    return [h for h in (text or "").split("；") if h]
