"""Choosing a calibration session's conversations the way the review queue chooses them, so a manager never types
an id: by the queue's filters, then either picked from the filtered list or drawn at random with a seed (the
same seed and filters give the same conversations, so the draw can be stated and repeated)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from qa.analytics.filters import Filters
from qa.review.queue import QueueQuery, queue_page

__all__ = ["CANDIDATE_LIMIT", "DRAW_LIMIT", "candidate_label", "candidates", "draw", "draw_query"]

CANDIDATE_LIMIT = 200  # a picker longer than this is not read; narrow the filters instead
DRAW_LIMIT = 50
_COLUMNS = ["id", "external_id", "label"]


def candidate_label(external_id: str, agent: object, started_at: object, reasons: object) -> str:
    """One conversation as a picker shows it: "tm-3 · 阿杰 · 11-11 · 慢：首次响应 6 分 40 秒…". Agent and reasons
    come from a queue frame, where a conversation without a named agent or not yet scored has NaN, not None."""
    day = f"{pd.Timestamp(started_at):%m-%d}" if started_at is not None and not pd.isna(started_at) else "无时间"
    return " · ".join([external_id, agent if isinstance(agent, str) and agent else "无坐席", day,
                       reasons if isinstance(reasons, str) and reasons else "无入队原因"])


def _labelled(page: pd.DataFrame) -> pd.DataFrame:
    labels = [candidate_label(r.external_id, r.agent, r.started_at, r.reasons) for r in page.itertuples()]
    return page.assign(label=labels)[_COLUMNS].reset_index(drop=True)


def candidates(conn: Connection, filters: Filters, limit: int = CANDIDATE_LIMIT) -> pd.DataFrame:
    """The conversations matching ``filters`` in queue order (the first ``limit``): id, external_id, label."""
    return _labelled(queue_page(conn, QueueQuery(filters), 1, limit))


def draw_query(filters: Filters, n: int, seed: int) -> QueueQuery:
    """The queue sample behind ``draw``; its ``describe_sample()`` states the draw ("随机抽取 5 条 · 抽样编号 42")."""
    return QueueQuery(filters, "draw", quota=max(1, min(n, DRAW_LIMIT)), seed=seed)


def draw(conn: Connection, filters: Filters, n: int, seed: int) -> pd.DataFrame:
    """``n`` conversations matching ``filters`` drawn at random with ``seed`` (fewer when fewer match), in queue
    order: id, external_id, label."""
    q = draw_query(filters, n, seed)
    return _labelled(queue_page(conn, q, 1, q.quota))
