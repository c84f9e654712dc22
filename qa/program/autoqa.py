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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, String, cast, delete, func, literal, or_, select

from qa.bulk import bound, insert_rows
from qa.models import AutoQaCheck, AutoQaScore, Conversation, ConversationScore, Message, MessageScore
from qa.program.checks import (
    CHECKS,
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

__all__ = ["CHECKS_VERSION", "MESSAGE_COLUMNS", "AutoQaReport", "AutoScore", "Head", "Proposal", "auto_qa_rows",
           "auto_results", "auto_score", "basis_of", "load_program", "pending_auto_qa", "propose_all", "proposals",
           "run_auto_qa", "store_auto_qa"]

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


def load_program(conn: Connection) -> _Program:
    """The scorecards and selection rules in force, for ``auto_qa_rows`` and ``basis_of``."""
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
    return _pending(conn, load_program(conn), everything)


def _pending(conn: Connection, program: _Program, everything: bool) -> list[int]:
    # Every check of a conversation is stored with the same basis, so one row per conversation (the first check,
    # found by its primary key) says whether it is current: a GROUP BY over all checks cost seconds per million.
    c, a = Conversation, AutoQaCheck
    query = (select(c.id).outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
             .outerjoin(a, (a.conversation_id == c.id) & (a.check_name == next(iter(CHECKS)))).order_by(c.id))
    if not everything:
        query = query.where(or_(a.basis.is_(None), a.basis != _basis(program.fingerprint)))
    return list(conn.scalars(query))


MESSAGE_COLUMNS = ("conversation_id", "message_id", "role", "text", "wait_s", "sla_breach", "tone_risk", "relevance",
                   "sentiment_neg")
"""The columns of the messages frame auto-QA checks (``auto_qa_rows``), in conversation and seq order."""


def _lines(messages: pd.DataFrame, slas: Mapping[int, tuple[float | None, float | None]]) -> dict[int, list[Line]]:
    """Each conversation's lines; an agent reply with a known wait is held to the first-reply SLA when it is the
    conversation's first such reply, else to the reply SLA (as the replay shows it)."""
    if messages.empty:
        return {}
    cids = messages["conversation_id"].to_numpy()
    timed = ((messages["role"] == "agent") & messages["wait_s"].notna()).to_numpy()
    first = timed & (pd.Series(timed).groupby(cids).cumsum().to_numpy() == 1)
    sla: list[float | None] = [None] * len(cids)
    for i in np.flatnonzero(timed):
        sla[i] = slas[cids[i]][0 if first[i] else 1]
    columns = [_values(messages[name]) for name in MESSAGE_COLUMNS[1:]]
    lines = list(map(Line, *columns[:4], sla, *columns[4:]))
    bounds = np.flatnonzero(_starts(cids)).tolist() + [len(cids)]
    ids = cids[bounds[:-1]].tolist()
    return {cid: lines[a:b] for cid, a, b in zip(ids, bounds, bounds[1:])}


def _starts(cids: np.ndarray) -> np.ndarray:
    """True where a conversation's run of rows begins."""
    out = np.ones(len(cids), dtype=bool)
    out[1:] = cids[1:] != cids[:-1]
    return out


def _values(column: pd.Series) -> list:
    """A column as Python values with None for missing ones (what the checks and the stored evidence expect)."""
    return column.astype(object).where(column.notna(), None).tolist()


def _card_score(card: Scorecard) -> Callable[[Mapping[str, CheckResult]], tuple[float | None, bool, int]]:
    """(score, fatal failed, criteria filled) of ``card`` for a conversation's results, memoised on what the
    ratings read (each check's passed and count): a run sees few distinct combinations."""
    memo: dict[tuple, tuple[float | None, bool, int]] = {}

    def score(results: Mapping[str, CheckResult]) -> tuple[float | None, bool, int]:
        key = tuple((r.passed, r.count) for r in results.values())
        if key not in memo:
            filled = propose_all(card, results)
            result = score_review(card, {k: p.rating for k, p in filled.items()})
            memo[key] = (result.score, result.fatal_failed, len(filled))
        return memo[key]

    return score


def propose_all(card: Scorecard, results: Mapping[str, CheckResult]) -> dict[str, Proposal]:
    """Auto-QA's proposal for each criterion of ``card`` that names a check with a result to propose."""
    out = {}
    for _s, c in card.criteria():
        result = results.get(c.auto_check) if c.auto_check else None
        rating = propose(c, result)
        if rating is not None and result is not None:
            out[c.key] = Proposal(rating, result)
    return out


@dataclass(frozen=True)
class Head:
    """What auto-QA needs of a conversation besides its messages: the facts the selection rules read, the basis
    its results are stored under (``basis_of``) and how many rows its import rejected."""

    id: int
    team: str | None
    category: str | None
    platform: str | None
    basis: str
    rejected_rows: int = 0


def basis_of(program: _Program, content_hash: str, model_version: str | None) -> str:
    """The basis of a conversation's results (the same text as the SQL of ``pending_auto_qa`` compares)."""
    return f"{content_hash}|{model_version or ''}|{CHECKS_VERSION}|{program.fingerprint}"


def auto_qa_rows(program: _Program, heads: Sequence[Head], messages: pd.DataFrame) -> tuple[list[tuple], list[tuple]]:
    """Every check's result (``_CHECK_COLUMNS`` but the time) and the automatic score (``_SCORE_COLUMNS``) of each
    conversation of ``heads``; pure, so the scoring job works it out before it takes the database's write lock.

    ``messages`` holds their messages (``MESSAGE_COLUMNS``, in conversation and seq order, scores None or NaN
    where not scored).
    """
    slas = {platform: platform_sla(platform) for platform in {h.platform for h in heads}}
    by_conv = _lines(messages, {h.id: slas[h.platform] for h in heads})
    cards = {name: _card_score(stored.card) for name, stored in program.cards.items()}
    chosen: dict[tuple[str | None, str | None, str | None], str | None] = {}
    checks: list[tuple] = []
    scores: list[tuple] = []
    for h in heads:
        results = run_checks(by_conv.get(h.id, ()), h.rejected_rows)
        checks += [(h.id, name, res.passed, res.count, _evidence(res), h.basis) for name, res in results.items()]
        facts = (h.team, h.category, h.platform)
        if facts not in chosen:
            chosen[facts] = choose(program.rules, *facts, available=program.cards)
        name = chosen[facts]
        if name is None:
            scores.append((h.id, None, None, False, 0))
        else:
            scores.append((h.id, program.cards[name].version_id, *cards[name](results)))
    return checks, scores


def store_auto_qa(conn: Connection, ids: Sequence[int], checks: Sequence[tuple], scores: Sequence[tuple],
                  now: datetime | None = None) -> None:
    """Replace the stored results and automatic scores of conversations ``ids`` by ``auto_qa_rows``' rows."""
    stamp = bound(conn, AutoQaCheck.__table__.c.checked_at, now or datetime.now())
    for table in (AutoQaCheck, AutoQaScore):
        conn.execute(delete(table).where(table.conversation_id.in_(ids)))
    insert_rows(conn, "auto_qa_checks", _CHECK_COLUMNS, ((*row, stamp) for row in checks))
    insert_rows(conn, "auto_qa_scores", _SCORE_COLUMNS, scores)


_CHECK_COLUMNS = ("conversation_id", "check_name", "passed", "count", "evidence", "basis", "checked_at")
_SCORE_COLUMNS = ("conversation_id", "version_id", "score", "fatal_failed", "criteria")


def _evidence(result: CheckResult) -> str:
    """The evidence as stored; most results have none, and encoding an empty list 10 times a conversation adds up."""
    if not result.evidence:
        return "[]"
    return _JSON.encode(evidence_to_json(result.evidence))


_JSON = json.JSONEncoder(ensure_ascii=False)
"""``json.dumps(…, ensure_ascii=False)`` builds an encoder on every call: a third of the cost of storing evidence."""


def _messages(conn: Connection, ids: Sequence[int]) -> pd.DataFrame:
    """The messages frame of conversations ``ids`` with their stored scores (for a run outside scoring)."""
    m, ms = Message, MessageScore
    rows = conn.execute(select(m.conversation_id, m.id, m.role, m.text, ms.wait_s, ms.sla_breach, ms.tone_risk,
                               ms.relevance, ms.sentiment_neg).outerjoin(ms, ms.message_id == m.id)
                        .where(m.conversation_id.in_(ids)).order_by(m.conversation_id, m.seq)).all()
    return pd.DataFrame.from_records(rows, columns=list(MESSAGE_COLUMNS))


def run_auto_qa(engine: Engine, everything: bool = False, chunk: int = 500,
                progress: Callable[[int, int], None] | None = None, now: datetime | None = None) -> AutoQaReport:
    """Check each pending conversation and store its results and automatic score (replacing stale ones)."""
    with engine.connect() as conn:
        program = load_program(conn)
        ids = _pending(conn, program, everything)
    done = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        with engine.begin() as conn:
            heads = [Head(*row) for row in conn.execute(facts_select().add_columns(
                _basis(program.fingerprint), Conversation.rejected_rows).where(Conversation.id.in_(part)))]
            store_auto_qa(conn, part, *auto_qa_rows(program, heads, _messages(conn, part)), now)
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
