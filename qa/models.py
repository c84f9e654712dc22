"""The ORM schema: one table per thing a QA team talks about.

Scores live in wide per-message and per-conversation tables (one row per scored object, one column per metric,
with the model version) rather than a long metric/value table: the review queue sorts and filters 100,000
conversations by several metrics at once, and a wide row keeps that a single indexed scan.
``daily_stats`` is derived data, rebuilt after each import and scoring run, so dashboards never scan messages.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Platform",
    "Shop",
    "Agent",
    "User",
    "ImportBatch",
    "Ticket",
    "Conversation",
    "Message",
    "MessageScore",
    "ConversationScore",
    "Annotation",
    "ReviewRecord",
    "AuditEntry",
    "ReviewAssignment",
    "ModelLabel",
    "CoachingList",
    "CoachingItem",
    "DailyStat",
    "AgentDailyStat",
    "AgentSegment",
    "ScorecardRecord",
    "ScorecardVersion",
    "ScorecardRule",
    "ScorecardReview",
    "ScorecardReviewItem",
    "AutoQaCheck",
    "AutoQaScore",
    "CalibrationSession",
    "CalibrationConversation",
    "CalibrationReviewer",
    "Dispute",
    "TagTreeRecord",
    "ProductReview",
    "TagAssignment",
]


class Base(DeclarativeBase):
    pass


class Platform(Base):
    __tablename__ = "platforms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    name: Mapped[str] = mapped_column(String(200))


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)


class User(Base):
    """A person using Huifang with a role (``qa.access.ROLES``); what they write is signed with their id."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(30), default="reviewer")
    # argon2 hash with its salt (pwdlib); None: the account cannot sign in with a password (OIDC or disabled)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    agent_name: Mapped[str | None] = mapped_column(String(200))  # an agent account: whose conversations it sees
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SignInSession(Base):
    """A browser that stays signed in across reloads and tabs: only the token's SHA-256 is stored, so a copy of
    the database signs nobody in; signing out or an expiry ends it (``qa.review.sessions``)."""

    __tablename__ = "sign_in_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class ImportBatch(Base):
    """One file imported: what came in, what was merged or skipped, and every rejected row with its reason."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(50))
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    conversations_added: Mapped[int] = mapped_column(Integer, default=0)
    conversations_merged: Mapped[int] = mapped_column(Integer, default=0)
    conversations_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    messages_added: Mapped[int] = mapped_column(Integer, default=0)
    tickets_added: Mapped[int] = mapped_column(Integer, default=0)
    tickets_updated: Mapped[int] = mapped_column(Integer, default=0)
    reviews_added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # product reviews (评价)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejections: Mapped[str] = mapped_column(Text, default="[]")
    # running → complete; a run that stopped part-way is interrupted (qa.ingest.runs), and ``progress`` holds
    # what a re-run of the same file resumes from (cleared when it completes)
    status: Mapped[str] = mapped_column(String(20), server_default="complete")
    progress: Mapped[str | None] = mapped_column(Text)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300), unique=True)
    external_id: Mapped[str] = mapped_column(String(200))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    category: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_id: Mapped[str | None] = mapped_column(String(100), index=True)
    conversation_external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    outcome: Mapped[str | None] = mapped_column(String(100))
    csat: Mapped[int | None] = mapped_column(Integer)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_started_platform", "started_at", "platform_id"),
        Index("ix_conversations_agent_started", "agent_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300), unique=True)  # platform family|external_id
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    customer: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)  # led by ix_conversations_started_platform
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_id: Mapped[str | None] = mapped_column(String(100), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(50), index=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    # rows of this conversation the last import that wrote it rejected: its gaps are not the agent's (issue #13.4)
    rejected_rows: Mapped[int] = mapped_column(Integer, server_default="0")

    messages: Mapped[list[Message]] = relationship(order_by="Message.seq", viewonly=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_seq", "conversation_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime | None] = mapped_column(DateTime)
    role: Mapped[str] = mapped_column(String(10))
    # no index on agent_id: agents are found through conversations, and a million-row index costs imports ~20%
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    sender: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class MessageScore(Base):
    __tablename__ = "message_scores"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    sentiment_neg: Mapped[float | None] = mapped_column(Float)
    tone_risk: Mapped[float | None] = mapped_column(Float)
    relevance: Mapped[float | None] = mapped_column(Float)
    wait_s: Mapped[float | None] = mapped_column(Float)
    sla_breach: Mapped[bool | None] = mapped_column(Boolean)
    rule_hits: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")


class ConversationScore(Base):
    __tablename__ = "conversation_scores"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(100), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(DateTime)
    dissatisfaction_risk: Mapped[float] = mapped_column(Float, index=True)
    tone_risk: Mapped[float | None] = mapped_column(Float)
    relevance: Mapped[float | None] = mapped_column(Float)
    first_response_s: Mapped[float | None] = mapped_column(Float)
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    replies_in_sla: Mapped[int] = mapped_column(Integer, default=0)
    unanswered_at_end: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_start: Mapped[float | None] = mapped_column(Float)
    sentiment_worst: Mapped[float | None] = mapped_column(Float)
    sentiment_end: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(50))
    category_source: Mapped[str] = mapped_column(String(20))
    rule_hits: Mapped[int] = mapped_column(Integer, default=0)
    explanation: Mapped[str] = mapped_column(Text, default="")


class Annotation(Base):
    """A reviewer's judgement: a rubric score, a verdict, or a comment/tag on the conversation or one message."""

    __tablename__ = "annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rubric_item: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[str] = mapped_column(String(500), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # soft delete: readers skip it, history keeps it


# Two saves at once can never leave two live rows for one rubric item, or two verdict rows, of one reviewer's
# review of a conversation (issue #12, case 3): the database refuses the second.
_LIVE_REVIEW_ROW = "message_id IS NULL AND deleted_at IS NULL"
Index("uq_annotations_review_item", Annotation.conversation_id, Annotation.reviewer_id, Annotation.rubric_item,
      unique=True, sqlite_where=text(f"{_LIVE_REVIEW_ROW} AND rubric_item IS NOT NULL"),
      postgresql_where=text(f"{_LIVE_REVIEW_ROW} AND rubric_item IS NOT NULL"))
Index("uq_annotations_review_overall", Annotation.conversation_id, Annotation.reviewer_id,
      unique=True, sqlite_where=text(f"{_LIVE_REVIEW_ROW} AND rubric_item IS NULL"),
      postgresql_where=text(f"{_LIVE_REVIEW_ROW} AND rubric_item IS NULL"))


class ReviewRecord(Base):
    """The head of one reviewer's review of a conversation (its rows are annotations without a message): exactly
    one per (conversation, reviewer), and its ``version`` goes up with every change, so a save based on an older
    version is refused instead of silently reverting a newer one."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("conversation_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who did what, when, to which record, with the record before and after as JSON. Append-only: there is no
    update or delete function, and database triggers refuse both. No foreign keys, so the history outlives what
    it describes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(100), default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class ModelLabel(Base):
    """A reviewer's judgement on whether a model's flag should be raised on one message (``flagged``), from a tag,
    a rubric score or an explicit confirm/contradict; ``model_score`` is what the model said when it was given.
    Read by ``huifang train --from-db`` and the Models page (see ``qa.review.labels``)."""

    __tablename__ = "model_labels"
    __table_args__ = (UniqueConstraint("reviewer_id", "message_id", "field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(30), index=True)
    flagged: Mapped[bool] = mapped_column(Boolean)
    model_score: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ReviewAssignment(Base):
    """A conversation put in front of a reviewer, by which sampling, and how far the review got."""

    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("conversation_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="待审")
    sample_mode: Mapped[str] = mapped_column(String(50), default="手动")
    assigned_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)


class CoachingList(Base):
    __tablename__ = "coaching_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    topic: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CoachingItem(Base):
    __tablename__ = "coaching_items"
    __table_args__ = (UniqueConstraint("list_id", "conversation_id", "message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("coaching_lists.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="bad")
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime)


class _DailyFigures:
    """The dimensions and sums of one day's pre-aggregated figures (``daily_stats``, ``agent_daily_stats``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    platform_id: Mapped[int | None] = mapped_column(Integer)
    shop_id: Mapped[int | None] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(50))
    conversations: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    csat_n: Mapped[int] = mapped_column(Integer)
    csat_sum: Mapped[float] = mapped_column(Float)
    csat_low: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    risk_sum: Mapped[float] = mapped_column(Float)
    risk_high: Mapped[int] = mapped_column(Integer)
    replies: Mapped[int] = mapped_column(Integer)
    replies_in_sla: Mapped[int] = mapped_column(Integer)
    first_response_n: Mapped[int] = mapped_column(Integer)
    first_response_sum: Mapped[float] = mapped_column(Float)
    tone_flagged: Mapped[int] = mapped_column(Integer)


class DailyStat(_DailyFigures, Base):
    """Pre-aggregated daily figures per platform/shop/team/agent/category; rebuilt, never edited by hand.

    One conversation counts once, under its main agent (``conversations.agent_id``): the overview's figures.
    """

    __tablename__ = "daily_stats"
    __table_args__ = (Index("ix_daily_stats_day", "day"),)


class AgentDailyStat(_DailyFigures, Base):
    """The same figures per agent from ``agent_segments``: what each agent did, a transferred chat split between
    its agents (a conversation counts once for every agent who handled part of it). Rebuilt with daily_stats."""

    __tablename__ = "agent_daily_stats"
    __table_args__ = (Index("ix_agent_daily_stats_day", "day"),)


class AgentSegment(Base):
    """A maximal run of a conversation handled by one agent, with the figures that agent owns (see
    ``qa.analytics.segments`` for the rules); written when the conversation is scored. An untransferred
    conversation has one segment whose figures are the conversation's."""

    __tablename__ = "agent_segments"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    segment: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    replies_in_sla: Mapped[int] = mapped_column(Integer, default=0)
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    first_response_s: Mapped[float | None] = mapped_column(Float)
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    unanswered_at_end: Mapped[int] = mapped_column(Integer, default=0)
    tone_risk: Mapped[float | None] = mapped_column(Float)
    relevance: Mapped[float | None] = mapped_column(Float)
    rule_hits: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[float | None] = mapped_column(Float)
    csat: Mapped[int | None] = mapped_column(Integer)


# ---------------------------------------------------------------- the QA program (qa/program/)


class ScorecardRecord(Base):
    """A named scorecard (售前, 售后, 评价回复…); what it contains lives in its versions."""

    __tablename__ = "scorecards"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ScorecardVersion(Base):
    """One immutable version of a scorecard as JSON: editing makes a new one, reviews keep theirs."""

    __tablename__ = "scorecard_versions"
    __table_args__ = (UniqueConstraint("scorecard_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ScorecardRule(Base):
    """One line of the ordered list that picks a conversation's scorecard; empty fields match anything."""

    __tablename__ = "scorecard_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"))
    team: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(50))
    platform: Mapped[str | None] = mapped_column(String(50))


class ScorecardReview(Base):
    """A reviewer's review of a conversation on one scorecard version; ``score`` is computed, and final after a
    dispute. A review in a calibration session (``session_id``) never counts in agents' scores."""

    __tablename__ = "scorecard_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scorecard_versions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    fatal_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Rises with every save: a save based on an older version is refused (qa.program.reviews), as for rubric reviews.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


# One review per reviewer and conversation, and one per reviewer, conversation and calibration session: two saves
# at once cannot leave two (issue #12, case 3). Two partial indexes because NULL session ids never collide.
Index("uq_scorecard_reviews_review", ScorecardReview.conversation_id, ScorecardReview.reviewer_id, unique=True,
      sqlite_where=text("session_id IS NULL"), postgresql_where=text("session_id IS NULL"))
Index("uq_scorecard_reviews_calibration", ScorecardReview.conversation_id, ScorecardReview.reviewer_id,
      ScorecardReview.session_id, unique=True, sqlite_where=text("session_id IS NOT NULL"),
      postgresql_where=text("session_id IS NOT NULL"))


class ScorecardReviewItem(Base):
    """One criterion of a review: the value or N/A, the automatic proposal shown at the time, a comment."""

    __tablename__ = "scorecard_review_items"
    review_id: Mapped[int] = mapped_column(ForeignKey("scorecard_reviews.id", ondelete="CASCADE"), primary_key=True)
    criterion_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    na: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")


class AutoQaCheck(Base):
    """An automatic check's result on a conversation (kept apart from reviews), with its evidence as JSON."""

    __tablename__ = "auto_qa_checks"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    check_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    count: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    basis: Mapped[str] = mapped_column(String(200))
    checked_at: Mapped[datetime] = mapped_column(DateTime)


class AutoQaScore(Base):
    """A conversation's automatic score: its scorecard's formula over the criteria auto-QA can fill."""

    __tablename__ = "auto_qa_scores"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_versions.id"))
    score: Mapped[float | None] = mapped_column(Float, index=True)
    fatal_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    criteria: Mapped[int] = mapped_column(Integer, default=0)


class CalibrationSession(Base):
    """Reviewers scoring the same conversations blind on one scorecard version, to measure their agreement."""

    __tablename__ = "calibration_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[int] = mapped_column(ForeignKey("scorecard_versions.id"))
    benchmark_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class CalibrationConversation(Base):
    __tablename__ = "calibration_conversations"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)


class CalibrationReviewer(Base):
    __tablename__ = "calibration_reviewers"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Dispute(Base):
    """An agent's dispute (申诉) of a review and its resolution; every step says who and when."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("scorecard_reviews.id", ondelete="CASCADE"), unique=True)
    opened_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")
    score_before: Mapped[float | None] = mapped_column(Float)
    score_after: Mapped[float | None] = mapped_column(Float)
    ratings_before: Mapped[str] = mapped_column(Text, default="{}")


# ---------------------------------------------------------------- alerts (qa/program/alerts.py)


class AlertRuleRecord(Base):
    """A manager's alert rule: a metric over a dimension, a threshold or week-on-week factor, a webhook."""

    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(30))
    dimension: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(String(200))
    threshold: Mapped[float] = mapped_column(Float)
    window_days: Mapped[int] = mapped_column(Integer, default=7)
    min_volume: Mapped[int] = mapped_column(Integer, default=30)
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AlertEvent(Base):
    """One firing of a rule for one subject and window; (rule, key) is unique so a firing is sent once."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("rule_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    current: Mapped[float | None] = mapped_column(Float)
    previous: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    fired_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivery_error: Mapped[str] = mapped_column(Text, default="")


# ---------------------------------------------------------------- tag tree and product reviews (qa/program/tags.py)


class TagTreeRecord(Base):
    """One saved version of the whole tag tree as JSON; the newest is the tree in use, older ones are its history."""

    __tablename__ = "tag_trees"
    id: Mapped[int] = mapped_column(primary_key=True)
    definition: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ProductReview(Base):
    """A buyer's product review (评价) from a marketplace export; linked to conversations by ``order_id``.

    ``content_hash`` is the review's identity (order, product, time, text), so importing it again adds nothing
    and a later export only fills in a follow-up or shop reply. Sentiment comes from the scoring run.
    """

    __tablename__ = "product_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[str | None] = mapped_column(String(100), index=True)
    product: Mapped[str | None] = mapped_column(String(300), index=True)
    sku: Mapped[str | None] = mapped_column(String(200))
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    shop_reply: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    sentiment_neg: Mapped[float | None] = mapped_column(Float)
    sentiment_version: Mapped[str | None] = mapped_column(String(100))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class TagAssignment(Base):
    """A tag on a product review, a conversation or one message: proposed by a keyword rule or the category
    model, or given by a reviewer; ``confirmed`` when a reviewer agreed, ``rejected`` when one took it off (kept,
    so the rules do not put it back)."""

    __tablename__ = "tag_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(Integer, index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("product_reviews.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(String(200))  # what proposed it: the keyword, or the category
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
