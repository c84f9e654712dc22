"""Auto-QA on every conversation: the checks' results and the automatic score, stored apart from reviews.

The automatic score is the conversation's scorecard (chosen by the selection rules) computed on the criteria
auto-QA can fill, with the same formula as a review; criteria it cannot fill are left out, as unrated. The job is
incremental like scoring: a conversation is checked again only when its messages, its model scores (model
version), the checks (``CHECKS_VERSION``) or the scorecards and rules changed, all recorded as one ``basis``
string — so editing a scorecard or a rule re-checks every conversation on the next run. Each chunk is written in
its own transaction, so an interrupted run resumes where it stopped. Unscored conversations are checked too
(greeting, closing, 禁用语 and unanswered messages need only text), and again once scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import ColumnElement, Connection, Engine, String, cast, delete, func, insert, literal, or_, select

from qa.models import AutoQaCheck, AutoQaScore, Conversation, ConversationScore, Message, MessageScore
from qa.program.checks import (
    CheckResult,
    Line,
    evidence_from_json,
    evidence_to_json,
    propose,
    run_checks,
)
from qa.program.scorecard import Rating, Scorecard, score_review
from qa.program.selection import SelectionRule, choose
from qa.program.store import StoredScorecard, active_scorecards, facts_select, load_version, selection_rules
from qa.review.queue import platform_sla

__all__ = ["CHECKS_VERSION", "AutoQaReport", "AutoScore", "Proposal", "auto_results", "auto_score",
           "pending_auto_qa", "propose_all", "proposals", "run_auto_qa"]

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


@dataclass(frozen=True)
class AutoScore:
    """A conversation's stored automatic score (None when no scorecard applies or nothing could be filled)."""

    scorecard: StoredScorecard | None
    score: float | None
    fatal_failed: bool
    criteria: int  # how many criteria auto-QA filled


@dataclass(frozen=True)
class _Program:
    """The scorecards and rules in force for one run, and their fingerprint (part of the basis)."""

    rules: list[SelectionRule]
    cards: dict[str, StoredScorecard]
    fingerprint: str


def _program(conn: Connection) -> _Program:
    rules, cards = selection_rules(conn), active_scorecards(conn)
    state = json.dumps([[asdict(r) for r in rules], sorted(c.version_id for c in cards.values())])
    return _Program(rules, cards, hashlib.sha1(state.encode()).hexdigest()[:12])


def _basis(fingerprint: str) -> ColumnElement[str]:
    """content hash | model version ('' when unscored) | checks version | scorecards and rules, as SQL."""
    model = func.coalesce(ConversationScore.model_version, "")
    suffix = f"|{CHECKS_VERSION}|{fingerprint}"
    return Conversation.content_hash + "|" + model + cast(literal(suffix), String)


def pending_auto_qa(conn: Connection, everything: bool = False) -> list[int]:
    """Ids of conversations whose stored checks are missing or stale (all of them with ``everything``)."""
    return _pending(conn, _program(conn), everything)


def _pending(conn: Connection, program: _Program, everything: bool) -> list[int]:
    c, a = Conversation, AutoQaCheck
    stored = select(a.conversation_id, func.min(a.basis).label("basis")).group_by(a.conversation_id).subquery()
    query = (select(c.id).outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
             .outerjoin(stored, stored.c.conversation_id == c.id).order_by(c.id))
    if not everything:
        query = query.where(or_(stored.c.basis.is_(None), stored.c.basis != _basis(program.fingerprint)))
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


@dataclass(frozen=True)
class _Loaded:
    basis: str
    facts: tuple[str | None, str | None, str | None]  # team, category, platform
    lines: list[Line]
    rejected_rows: int = 0


def _load(conn: Connection, ids: Sequence[int], fingerprint: str) -> dict[int, _Loaded]:
    """Facts, basis and message lines of a chunk of conversations."""
    m, ms = Message, MessageScore
    heads = conn.execute(facts_select().add_columns(_basis(fingerprint).label("basis"), Conversation.rejected_rows)
                         .where(Conversation.id.in_(ids))).all()
    rows = conn.execute(select(m.conversation_id, m.id, m.role, m.text, ms.wait_s, ms.sla_breach, ms.tone_risk,
                               ms.relevance, ms.sentiment_neg).outerjoin(ms, ms.message_id == m.id)
                        .where(m.conversation_id.in_(ids)).order_by(m.conversation_id, m.seq)).all()
    by_conv = {cid: list(group) for cid, group in groupby(rows, key=lambda r: r.conversation_id)}
    slas = {platform: platform_sla(platform) for platform in {h.platform for h in heads}}
    return {h.id: _Loaded(h.basis, (h.team, h.category, h.platform),
                          _lines(by_conv.get(h.id, ()), *slas[h.platform]), h.rejected_rows) for h in heads}


def propose_all(card: Scorecard, results: Mapping[str, CheckResult]) -> dict[str, Proposal]:
    """Auto-QA's proposal for each criterion of ``card`` that names a check with a result to propose."""
    out = {}
    for _s, c in card.criteria():
        result = results.get(c.auto_check) if c.auto_check else None
        rating = propose(c, result)
        if rating is not None and result is not None:
            out[c.key] = Proposal(rating, result)
    return out


def _score_row(program: _Program, cid: int, loaded: _Loaded, results: Mapping[str, CheckResult]) -> dict:
    name = choose(program.rules, *loaded.facts, available=program.cards)
    if name is None:
        return {"conversation_id": cid, "version_id": None, "score": None, "fatal_failed": False, "criteria": 0}
    stored = program.cards[name]
    filled = propose_all(stored.card, results)
    result = score_review(stored.card, {k: p.rating for k, p in filled.items()})
    return {"conversation_id": cid, "version_id": stored.version_id, "score": result.score,
            "fatal_failed": result.fatal_failed, "criteria": len(filled)}


def run_auto_qa(engine: Engine, everything: bool = False, chunk: int = 500,
                progress: Callable[[int, int], None] | None = None, now: datetime | None = None) -> AutoQaReport:
    """Check each pending conversation and store its results and automatic score (replacing stale ones)."""
    with engine.connect() as conn:
        program = _program(conn)
        ids = _pending(conn, program, everything)
    done = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        stamp = now or datetime.now()
        checks, scores = [], []
        with engine.begin() as conn:
            for cid, loaded in _load(conn, part, program.fingerprint).items():
                results = run_checks(loaded.lines, loaded.rejected_rows)
                checks += [{"conversation_id": cid, "check_name": name, "passed": res.passed, "count": res.count,
                            "evidence": json.dumps(evidence_to_json(res.evidence), ensure_ascii=False),
                            "basis": loaded.basis, "checked_at": stamp} for name, res in results.items()]
                scores.append(_score_row(program, cid, loaded, results))
            for table in (AutoQaCheck, AutoQaScore):
                conn.execute(delete(table).where(table.conversation_id.in_(part)))
            if checks:
                conn.execute(insert(AutoQaCheck), checks)
                conn.execute(insert(AutoQaScore), scores)
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
    """Auto-QA's proposals for ``card``'s criteria on one conversation, from the stored results."""
    return propose_all(card, auto_results(conn, conversation_id))


def auto_score(conn: Connection, conversation_id: int) -> AutoScore | None:
    """The stored automatic score of one conversation, with the scorecard version it used; None before the job."""
    row = conn.execute(select(AutoQaScore).where(AutoQaScore.conversation_id == conversation_id)).mappings().first()
    if row is None:
        return None
    stored = load_version(conn, row["version_id"]) if row["version_id"] is not None else None
    return AutoScore(stored, row["score"], bool(row["fatal_failed"]), row["criteria"])
