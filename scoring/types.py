"""The plain input and output records of scoring, independent of the database and of Streamlit.

`qa` converts stored conversations into these and stores what comes back; `huifang score-file` builds them
from canonical JSONL. Times are naive Asia/Shanghai datetimes or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Msg", "Conv", "MessageScore", "ConversationScore"]


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


@dataclass(slots=True)
class MessageScore:
    """Scores of one message; fields not applicable to the role are None.

    ``explanation`` is short Chinese/English text a reviewer can read: the words or rules that drove the scores.
    """

    seq: int
    sentiment_neg: float | None = None
    tone_risk: float | None = None
    relevance: float | None = None
    wait_s: float | None = None
    sla_breach: bool | None = None
    rule_hits: list[str] = field(default_factory=list)
    explanation: str = ""


@dataclass(slots=True)
class ConversationScore:
    """Scores of one conversation, with the per-message scores in ``messages``."""

    key: str
    dissatisfaction_risk: float
    tone_risk: float | None
    relevance: float | None
    first_response_s: float | None
    max_wait_s: float | None
    replies: int
    replies_in_sla: int
    unanswered_at_end: int
    sentiment_start: float | None
    sentiment_worst: float | None
    sentiment_end: float | None
    category: str
    category_source: str
    explanation: str
    messages: list[MessageScore] = field(default_factory=list)
