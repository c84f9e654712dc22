"""Auto-QA on every conversation: the checks' results stored apart from reviews, and proposals for a scorecard.

The job is incremental like scoring: a conversation is checked again only when its messages, its model scores
(model version) or the checks themselves (``CHECKS_VERSION``) changed, recorded as one ``basis`` string. Each
chunk is written in its own transaction, so an interrupted run resumes where it stopped. Unscored conversations
are checked too (greeting, closing, 禁用语 and unanswered messages need only text), and again once scored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import ColumnElement, Connection, Engine, String, cast, delete, func, insert, literal, or_, select

from qa.models import AutoQaCheck, Conversation, ConversationScore, Message, MessageScore, Platform
from qa.program.checks import (
    CheckResult,
    Line,
    evidence_from_json,
    evidence_to_json,
    propose,
    run_checks,
)
from qa.program.scorecard import Rating, Scorecard
from qa.review.queue import platform_sla

__all__ = ["CHECKS_VERSION", "AutoQaReport", "Proposal", "auto_results", "pending_auto_qa", "proposals",
           "run_auto_qa"]

CHECKS_VERSION = "1"
"""Raise when a check's logic changes, so the next run checks every conversation again."""


@dataclass(frozen=True)
class AutoQaReport:
    """What a run did: conversations checked out of those pending."""

    pending: int
    checked: int


@dataclass(frozen=True)
class Proposal:
    """What auto-QA proposes for one criterion of a review form, and why."""

    rating: Rating
    result: CheckResult


def _basis() -> ColumnElement[str]:
    """content hash | model version ('' when unscored) | checks version, as one SQL string expression."""
    model = func.coalesce(ConversationScore.model_version, "")
    return Conversation.content_hash + "|" + model + "|" + cast(literal(CHECKS_VERSION), String)


def pending_auto_qa(conn: Connection, everything: bool = False) -> list[int]:
    """Ids of conversations whose stored checks are missing or stale (all of them with ``everything``)."""
    c, a = Conversation, AutoQaCheck
    stored = select(a.conversation_id, func.min(a.basis).label("basis")).group_by(a.conversation_id).subquery()
    query = (select(c.id).outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
             .outerjoin(stored, stored.c.conversation_id == c.id).order_by(c.id))
    if not everything:
        query = query.where(or_(stored.c.basis.is_(None), stored.c.basis != _basis()))
    return list(conn.scalars(query))


def _lines(rows: Iterable, first_sla: float | None, reply_sla: float | None) -> list[Line]:
    lines, timed = [], 0
    for r in rows:
        sla = None
        if r.role == "agent" and r.wait_s is not None:
            sla = first_sla if timed == 0 else reply_sla
            timed += 1
        lines.append(Line(r.id, r.role, r.text, r.wait_s, sla, r.sla_breach, r.tone_risk, r.relevance,
                          r.sentiment_neg))
    return lines


def _load(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, list[Line]]]:
    """{conversation id: (basis, lines)} for a chunk of conversations."""
    c, m, ms = Conversation, Message, MessageScore
    heads = conn.execute(select(c.id, Platform.name, _basis().label("basis"))
                         .outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
                         .outerjoin(Platform, Platform.id == c.platform_id).where(c.id.in_(ids))).all()
    rows = conn.execute(select(m.conversation_id, m.id, m.role, m.text, ms.wait_s, ms.sla_breach, ms.tone_risk,
                               ms.relevance, ms.sentiment_neg).outerjoin(ms, ms.message_id == m.id)
                        .where(m.conversation_id.in_(ids)).order_by(m.conversation_id, m.seq)).all()
    by_conv = {cid: list(group) for cid, group in groupby(rows, key=lambda r: r.conversation_id)}
    return {cid: (basis, _lines(by_conv.get(cid, ()), *platform_sla(platform))) for cid, platform, basis in heads}


def run_auto_qa(engine: Engine, everything: bool = False, chunk: int = 500,
                progress: Callable[[int, int], None] | None = None, now: datetime | None = None) -> AutoQaReport:
    """Run every check on each pending conversation and store the results (replacing stale ones)."""
    with engine.connect() as conn:
        ids = pending_auto_qa(conn, everything)
    done = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        stamp = now or datetime.now()
        with engine.begin() as conn:
            loaded = _load(conn, part)
            rows = [{"conversation_id": cid, "check_name": name, "passed": res.passed, "count": res.count,
                     "evidence": json.dumps(evidence_to_json(res.evidence), ensure_ascii=False), "basis": basis,
                     "checked_at": stamp}
                    for cid, (basis, lines) in loaded.items() for name, res in run_checks(lines).items()]
            conn.execute(delete(AutoQaCheck).where(AutoQaCheck.conversation_id.in_(part)))
            if rows:
                conn.execute(insert(AutoQaCheck), rows)
        done += len(part)
        if progress:
            progress(done, len(ids))
    return AutoQaReport(len(ids), done)


def auto_results(conn: Connection, conversation_id: int) -> dict[str, CheckResult]:
    """The stored check results of one conversation (empty until the job has run on it)."""
    a = AutoQaCheck
    rows = conn.execute(select(a.check_name, a.passed, a.count, a.evidence).where(a.conversation_id == conversation_id))
    return {name: CheckResult(name, passed, count, evidence_from_json(json.loads(evidence)))
            for name, passed, count, evidence in rows}


def proposals(conn: Connection, conversation_id: int, card: Scorecard) -> dict[str, Proposal]:
    """Auto-QA's proposal for each criterion of ``card`` that names a check and has a result to propose."""
    results = auto_results(conn, conversation_id)
    out = {}
    for _s, c in card.criteria():
        result = results.get(c.auto_check) if c.auto_check else None
        rating = propose(c, result)
        if rating is not None and result is not None:
            out[c.key] = Proposal(rating, result)
    return out
