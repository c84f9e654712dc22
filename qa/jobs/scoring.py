"""Score what is in the database, incrementally, on several cores.

Only conversations without a score, whose messages changed since (content hash), or scored by another model
version are scored again. Each chunk is written in its own transaction, so an interrupted run resumes where it
stopped. Each worker process loads the models once and reads, scores and writes its own chunks. Each chunk is
tagged and checked by auto-QA in the transaction that writes its scores, from the frames the worker already holds
(reading the messages back cost as much as scoring them); auto-QA then runs on whatever else is pending (a
conversation scored earlier whose scorecards changed), so every conversation has its proposals and automatic
score without anyone starting it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, Table, delete, exists, func, insert, or_, select

from qa.analytics.segments import Span, Turn, segment_rows, spans
from qa.analytics.stats import rebuild_daily_stats
from qa.bulk import insert_rows
from qa.busy import retry_when_busy
from qa.db import make_engine
from qa.jobs.review_scoring import score_reviews
from qa.models import AgentSegment, Conversation, ConversationScore, Message, MessageScore, Platform
from qa.program.alerts import run_alerts
from qa.program.autoqa import MESSAGE_COLUMNS, Head, auto_qa_rows, basis_of, load_program, run_auto_qa, store_auto_qa
from qa.program.store import facts_select
from qa.program.tag_store import conversation_proposals, current_tree, propose_tags
from scoring.pipeline import Scorer
from scoring.schema import Conv, Msg, rule_hits_text, score_fields, score_values
from scoring.schema import ConversationScore as ConvScore
from scoring.schema import MessageScore as MsgScore

__all__ = ["ScoreRunReport", "load_chunk", "pending_ids", "pending_count", "score_database"]

_c, _m, _p = Conversation.__table__, Message.__table__, Platform.__table__
_cs, _ms = cast(Table, ConversationScore.__table__), cast(Table, MessageScore.__table__)
_seg = cast(Table, AgentSegment.__table__)


@dataclass
class ScoreRunReport:
    """What a scoring run did."""

    model_version: str
    pending: int
    scored: int
    messages: int
    seconds: float
    auto_checked: int = 0  # conversations auto-QA checked after scoring
    alerts: int = 0  # new alert firings after the run (see qa.program.alerts)
    reviews: int = 0  # product reviews given a sentiment (see qa.jobs.review_scoring)


def _pending(query: Select, version: str) -> Select:
    # Every scored conversation has at least one agent segment: one scored before segments existed is stale.
    unsegmented = ~exists().where(_seg.c.conversation_id == _c.c.id)
    return query.outerjoin(_cs, _cs.c.conversation_id == _c.c.id).where(
        or_(_cs.c.conversation_id.is_(None), _cs.c.model_version != version, _cs.c.content_hash != _c.c.content_hash,
            unsegmented))


def pending_ids(conn: Connection, version: str, rescore_all: bool = False) -> list[int]:
    """Ids of conversations whose stored scores are missing or stale, oldest first."""
    q = select(_c.c.id).order_by(_c.c.id)
    return list(conn.scalars(q if rescore_all else _pending(q, version)))


def pending_count(conn: Connection, version: str) -> int:
    """How many conversations ``pending_ids`` would return, counted in SQL."""
    return conn.scalar(_pending(select(func.count()).select_from(_c), version)) or 0


def load_chunk(conn: Connection, ids: Sequence[int]) -> tuple[list[Conv], dict[int, list[int]], dict[int, str]]:
    """Conversations ``ids`` as scoring input, with their message ids (by seq) and content hashes."""
    convs, msg_ids, hashes, _agents = _load_chunk(conn, ids)
    return convs, msg_ids, hashes


Agents = dict[int, tuple[int | None, list[int | None]]]
"""Per conversation: its main agent and each message's agent (by seq), what attribution splits on."""


def _load_chunk(conn: Connection, ids: Sequence[int]
                ) -> tuple[list[Conv], dict[int, list[int]], dict[int, str], Agents]:
    """``load_chunk`` and the chunk's agents, from one reading of its messages."""
    convs = conn.execute(select(_c.c.id, _c.c.category, _c.c.csat, _c.c.content_hash, _p.c.name, _c.c.rejected_rows,
                                _c.c.agent_id)
                         .select_from(_c.outerjoin(_p, _p.c.id == _c.c.platform_id)).where(_c.c.id.in_(ids))).all()
    rows = conn.execute(select(_m.c.id, _m.c.conversation_id, _m.c.role, _m.c.text, _m.c.ts, _m.c.agent_id)
                        .where(_m.c.conversation_id.in_(ids)).order_by(_m.c.conversation_id, _m.c.seq)).all()
    msgs: dict[int, list[Msg]] = {cid: [] for cid in ids}
    msg_ids: dict[int, list[int]] = {cid: [] for cid in ids}
    agents: Agents = {cid: (None, []) for cid in ids}
    for mid, cid, role, text, ts, agent_id in rows:  # unpacked: a Row's attribute lookups cost more than the Msg
        msgs[cid].append(Msg(role, text, ts))
        msg_ids[cid].append(mid)
        agents[cid][1].append(agent_id)
    for c in convs:
        agents[c.id] = (c.agent_id, agents[c.id][1])
    out = [Conv(key=str(c.id), messages=msgs[c.id], platform=c.name, category=c.category, csat=c.csat,
                rejected_rows=c.rejected_rows) for c in convs]
    return out, msg_ids, {c.id: c.content_hash for c in convs}, agents


def _turns(conv: Conv, agents: list[int | None], score: ConvScore) -> list[Turn]:
    return [Turn(role=m.role, agent_id=a, wait_s=ms.wait_s, sla_breach=ms.sla_breach, tone_risk=ms.tone_risk,
                 relevance=ms.relevance, rule_hits=len(ms.rule_hits))
            for m, a, ms in zip(conv.messages, agents, score.messages, strict=True)]


def _segment_risks(convs: Sequence[Conv], split: dict[str, list[Span]],
                   score: Callable[[list[Conv]], list[ConvScore]]) -> dict[str, list[float | None]]:
    """Each span's dissatisfaction risk, the span scored as a conversation of its own messages (only for
    conversations with more than one agent: one segment's risk is the conversation's)."""
    parts = [(conv.key, Conv(key=f"{conv.key}#{n}", messages=conv.messages[sp.start:sp.end], platform=conv.platform,
                            category=conv.category, rejected_rows=conv.rejected_rows))
             for conv in convs if len(split[conv.key]) > 1 for n, sp in enumerate(split[conv.key])]
    out: dict[str, list[float | None]] = {}
    if parts:
        for (key, _part), result in zip(parts, score([p for _k, p in parts]), strict=True):
            out.setdefault(key, []).append(result.dissatisfaction_risk)
    return out


def _segments(convs: Sequence[Conv], results: Sequence[ConvScore],
              agents: Agents,
              score: Callable[[list[Conv]], list[ConvScore]]) -> list[dict[str, object]]:
    """``agent_segments`` rows of a scored chunk (``qa.analytics.segments`` says who owns what)."""
    turns = {conv.key: _turns(conv, agents[int(conv.key)][1], r) for conv, r in zip(convs, results, strict=True)}
    split = {key: spans(t, agents[int(key)][0]) for key, t in turns.items()}
    risks = _segment_risks(convs, split, score)
    rows: list[dict[str, object]] = []
    for conv, r in zip(convs, results, strict=True):
        cid = int(conv.key)
        rows.extend(segment_rows(cid, turns[conv.key], conversation_agent=agents[cid][0], csat=conv.csat,
                                 first_response_s=r.first_response_s, unanswered_at_end=r.unanswered_at_end,
                                 risks=risks.get(conv.key, [r.dissatisfaction_risk])))
    return rows


def _write_chunk(conn: Connection, results: Sequence[ConvScore], msg_ids: dict[int, list[int]],
                 hashes: dict[int, str], version: str, segments: Sequence[dict[str, object]]) -> int:
    ids = [int(r.key) for r in results]
    conn.execute(delete(_ms).where(_ms.c.conversation_id.in_(ids)))
    conn.execute(delete(_cs).where(_cs.c.conversation_id.in_(ids)))
    conn.execute(delete(_seg).where(_seg.c.conversation_id.in_(ids)))
    now = datetime.now().replace(microsecond=0)
    conv_rows = [{"conversation_id": int(r.key), "model_version": version, "content_hash": hashes[int(r.key)],
                  "scored_at": now, **score_values(r)} for r in results]
    values = attrgetter(*_MSG_FIELDS)
    msg_rows = [(msg_ids[cid][m.seq], cid, version, *values(m), rule_hits_text(m.rule_hits))
                for r in results for cid in (int(r.key),) for m in r.messages]
    if conv_rows:
        conn.execute(insert(_cs), conv_rows)
    insert_rows(conn, "message_scores", ("message_id", "conversation_id", "model_version", *_MSG_FIELDS, "rule_hits"),
                msg_rows)
    if segments:
        conn.execute(insert(_seg), list(segments))
    return len(msg_rows)


_MSG_FIELDS = tuple(f.name for f in score_fields(MsgScore) if f.name != "rule_hits")
"""Per-message score columns bound as they are; ``rule_hits`` (a list) is stored joined, as ``score_values`` does."""


def _frames(convs: Sequence[Conv], results: Sequence[ConvScore], msg_ids: dict[int, list[int]]
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scored chunk as the frames auto-QA and tagging read (``auto_qa_rows``, ``conversation_proposals``):
    conversations (id, scored category) and messages (``MESSAGE_COLUMNS``), so neither reads them back."""
    cids = [int(c.key) for c in convs]
    msgs = [m for c in convs for m in c.messages]
    scores = [m for r in results for m in r.messages]
    conversations = pd.DataFrame({"conversation_id": cids, "category": [r.category for r in results]})
    messages = pd.DataFrame({
        "conversation_id": np.repeat(np.array(cids, dtype=np.int64), [len(c.messages) for c in convs]),
        "message_id": np.array([i for cid in cids for i in msg_ids[cid]], dtype=np.int64),
        "role": [m.role for m in msgs], "text": [m.text for m in msgs],
        **{name: np.array([getattr(m, name) for m in scores], dtype=float) for name in _FLOAT_SCORES},
        "sla_breach": [m.sla_breach for m in scores],
    })
    return conversations, messages[list(MESSAGE_COLUMNS)]


_FLOAT_SCORES = ("wait_s", "tone_risk", "relevance", "sentiment_neg")


_worker: tuple[Engine, Scorer] | None = None


def _init_worker(url: str, models_dir: Path | None) -> None:
    global _worker
    _worker = (make_engine(url), Scorer.load(models_dir))
    # The models live as long as the worker, and scoring allocates millions of short-lived acyclic objects
    # (scores, strings, token lists): with the default thresholds the cycle collector ran over the models and the
    # growing memos again and again: a sixth of the path's CPU time on a million messages (bench/RESULTS.md).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _score_in_worker(batch: list[int]) -> tuple[int, int]:
    """Read, score and write one chunk inside a worker: only ids and counts cross the process boundary.

    Shipping conversations and scores between processes (pickling) cost a quarter of the scoring time.
    """
    assert _worker is not None
    engine, scorer = _worker
    return len(batch), _run_batch(engine, batch, scorer.version, scorer.score)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def score_database(engine: Engine, *, models_dir: Path | None = None, n_jobs: int | None = None,
                   rescore_all: bool = False, chunk: int = 2000,
                   progress: Callable[[int, int], None] | None = None) -> ScoreRunReport:
    """Score every pending conversation, rebuild the daily statistics, then run auto-QA on what is pending."""
    started = datetime.now()
    scorer = Scorer.load(models_dir)
    version = scorer.version
    ids = _start(engine, version, rescore_all)
    n_jobs = max(1, min(n_jobs or os.cpu_count() or 1, 8))
    done = messages = 0
    batches = list(_chunks(ids, chunk))
    if n_jobs == 1 or len(batches) <= 1:
        results: Iterator[tuple[int, int]] = (
            (len(batch), _run_batch(engine, batch, version, scorer.score)) for batch in batches)
        pool = None
    else:
        url = engine.url.render_as_string(hide_password=False)
        pool = ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(url, models_dir))
        results = pool.map(_score_in_worker, batches)
    try:
        for n_convs, n_msgs in results:
            done += n_convs
            messages += n_msgs
            if progress:
                progress(done, len(ids))
    finally:
        if pool is not None:
            pool.shutdown()
    reviews = score_reviews(engine, scorer)
    _rebuild_stats(engine)
    checked = done + run_auto_qa(engine).checked  # the scored chunks were checked as they were written
    fired = run_alerts(engine).new  # after auto-QA: rules read what this run produced
    return ScoreRunReport(version, len(ids), done, messages, (datetime.now() - started).total_seconds(), checked,
                          alerts=fired, reviews=reviews)


@retry_when_busy
def _start(engine: Engine, version: str, rescore_all: bool) -> list[int]:
    """The conversations to score; the tag tree seeded here, before the workers tag (each would seed its own)."""
    with engine.begin() as conn:
        ids = pending_ids(conn, version, rescore_all)
        current_tree(conn, seed=True)
    return ids


@retry_when_busy
def _rebuild_stats(engine: Engine) -> None:
    with engine.begin() as conn:
        rebuild_daily_stats(conn)


@retry_when_busy
def _run_batch(engine: Engine, batch: list[int], version: str,
               score: Callable[[list[Conv]], list[ConvScore]]) -> int:
    with engine.connect() as conn:
        convs, msg_ids, hashes, agents = _load_chunk(conn, batch)
        teams = {row.id: row.team for row in conn.execute(facts_select().where(_c.c.id.in_(batch)))}
        program, tree = load_program(conn), current_tree(conn)
    results = score(convs)
    segments = _segments(convs, results, agents, score)
    conversations, messages = _frames(convs, results, msg_ids)
    # worked out before the write transaction: on SQLite it holds the one write lock the workers share
    heads = [Head(int(c.key), teams[int(c.key)], c.category if c.category is not None else r.category, c.platform,
                  basis_of(program, hashes[int(c.key)], version), c.rejected_rows) for c, r in zip(convs, results)]
    checks, auto_scores = auto_qa_rows(program, heads, messages)
    on_conversations, on_messages = conversation_proposals(tree, conversations, messages)
    with engine.begin() as conn:
        written = _write_chunk(conn, results, msg_ids, hashes, version, segments)
        propose_tags(conn, "conversation", on_conversations)
        propose_tags(conn, "message", on_messages)
        store_auto_qa(conn, [h.id for h in heads], checks, auto_scores)
    return written
