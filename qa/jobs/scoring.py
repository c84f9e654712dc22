"""Score what is in the database, incrementally, on several cores.

Only conversations without a score, whose messages changed since (content hash), or scored by another model
version are scored again. Each chunk is written in its own transaction, so an interrupted run resumes where it
stopped. Each worker process loads the models once and reads, scores and writes its own chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Engine, Select, Table, delete, func, insert, or_, select

from qa.analytics.stats import rebuild_daily_stats
from qa.busy import retry_when_busy
from qa.db import make_engine
from qa.jobs.review_scoring import score_reviews, tag_scored_conversations
from qa.models import Conversation, ConversationScore, Message, MessageScore, Platform
from qa.program.alerts import run_alerts
from scoring.pipeline import Scorer
from scoring.schema import Conv, Msg, score_values
from scoring.schema import ConversationScore as ConvScore

__all__ = ["ScoreRunReport", "load_chunk", "pending_ids", "pending_count", "score_database"]

_c, _m, _p = Conversation.__table__, Message.__table__, Platform.__table__
_cs, _ms = cast(Table, ConversationScore.__table__), cast(Table, MessageScore.__table__)


@dataclass
class ScoreRunReport:
    """What a scoring run did."""

    model_version: str
    pending: int
    scored: int
    messages: int
    seconds: float
    alerts: int = 0  # new alert firings after the run (see qa.program.alerts)
    reviews: int = 0  # product reviews given a sentiment (see qa.jobs.review_scoring)


def _pending(query: Select, version: str) -> Select:
    return query.outerjoin(_cs, _cs.c.conversation_id == _c.c.id).where(
        or_(_cs.c.conversation_id.is_(None), _cs.c.model_version != version, _cs.c.content_hash != _c.c.content_hash))


def pending_ids(conn: Connection, version: str, rescore_all: bool = False) -> list[int]:
    """Ids of conversations whose stored scores are missing or stale, oldest first."""
    q = select(_c.c.id).order_by(_c.c.id)
    return list(conn.scalars(q if rescore_all else _pending(q, version)))


def pending_count(conn: Connection, version: str) -> int:
    """How many conversations ``pending_ids`` would return, counted in SQL."""
    return conn.scalar(_pending(select(func.count()).select_from(_c), version)) or 0


def load_chunk(conn: Connection, ids: Sequence[int]) -> tuple[list[Conv], dict[int, list[int]], dict[int, str]]:
    """Conversations ``ids`` as scoring input, with their message ids (by seq) and content hashes."""
    convs = conn.execute(select(_c.c.id, _c.c.category, _c.c.csat, _c.c.content_hash, _p.c.name)
                         .select_from(_c.outerjoin(_p, _p.c.id == _c.c.platform_id)).where(_c.c.id.in_(ids))).all()
    rows = conn.execute(select(_m.c.id, _m.c.conversation_id, _m.c.role, _m.c.text, _m.c.ts)
                        .where(_m.c.conversation_id.in_(ids)).order_by(_m.c.conversation_id, _m.c.seq)).all()
    msgs: dict[int, list[Msg]] = {cid: [] for cid in ids}
    msg_ids: dict[int, list[int]] = {cid: [] for cid in ids}
    for r in rows:
        msgs[r.conversation_id].append(Msg(role=r.role, text=r.text, ts=r.ts))
        msg_ids[r.conversation_id].append(r.id)
    out = [Conv(key=str(c.id), messages=msgs[c.id], platform=c.name, category=c.category, csat=c.csat)
           for c in convs]
    return out, msg_ids, {c.id: c.content_hash for c in convs}


def _write_chunk(conn: Connection, results: Sequence[ConvScore], msg_ids: dict[int, list[int]],
                 hashes: dict[int, str], version: str) -> int:
    ids = [int(r.key) for r in results]
    conn.execute(delete(_ms).where(_ms.c.conversation_id.in_(ids)))
    conn.execute(delete(_cs).where(_cs.c.conversation_id.in_(ids)))
    now = datetime.now().replace(microsecond=0)
    conv_rows: list[dict[str, object]] = []
    msg_rows: list[dict[str, object]] = []
    for r in results:
        cid = int(r.key)
        conv_rows.append({"conversation_id": cid, "model_version": version, "content_hash": hashes[cid],
                          "scored_at": now, **score_values(r)})
        msg_rows.extend({"message_id": msg_ids[cid][m.seq], "conversation_id": cid, "model_version": version,
                         **score_values(m)} for m in r.messages)
    if conv_rows:
        conn.execute(insert(_cs), conv_rows)
    if msg_rows:
        conn.execute(insert(_ms), msg_rows)
    return len(msg_rows)


_worker: tuple[Engine, Scorer] | None = None


def _init_worker(url: str, models_dir: Path | None) -> None:
    global _worker
    _worker = (make_engine(url), Scorer.load(models_dir))


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
    """Score every pending conversation and rebuild the daily statistics."""
    started = datetime.now()
    scorer = Scorer.load(models_dir)
    version = scorer.version
    with engine.connect() as conn:
        ids = pending_ids(conn, version, rescore_all)
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
    tag_scored_conversations(engine, ids)
    _rebuild_stats(engine)
    fired = run_alerts(engine).new
    return ScoreRunReport(version, len(ids), done, messages, (datetime.now() - started).total_seconds(),
                          alerts=fired, reviews=reviews)


@retry_when_busy
def _rebuild_stats(engine: Engine) -> None:
    with engine.begin() as conn:
        rebuild_daily_stats(conn)


@retry_when_busy
def _run_batch(engine: Engine, batch: list[int], version: str,
               score: Callable[[list[Conv]], list[ConvScore]]) -> int:
    with engine.connect() as conn:
        convs, msg_ids, hashes = load_chunk(conn, batch)
    results = score(convs)
    with engine.begin() as conn:
        return _write_chunk(conn, results, msg_ids, hashes, version)
