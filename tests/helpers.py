"""Small builders for test inputs and database counts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from qa.access import SYSTEM
from qa.ingest.importer import ImportReport, import_stream
from qa.ingest.records import (
    ConversationColumns,
    ConversationRecord,
    Rejection,
    as_record,
)
from qa.models import Annotation, Conversation, Message, Ticket

T = TypeVar("T")


def jsonl(*conversations: dict) -> bytes:
    """Canonical JSONL bytes for the given conversation dicts."""
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conversations).encode()


def conv(cid: str, *messages: tuple[str, str, str | None], **extra: object) -> dict:
    """A canonical conversation dict from (role, text, ts) triples."""
    msgs = [{"role": r, "text": t, **({"ts": ts} if ts else {})} for r, t, ts in messages]
    return {"conversation_id": cid, "messages": msgs, **extra}


def record_tuple(rec: ConversationRecord | ConversationColumns | Rejection) -> tuple:
    """Everything a parser's output says, comparable across its two readings (columns or records)."""
    if isinstance(rec, Rejection):
        return ("rejected", rec.row, rec.field, rec.reason)
    rec = as_record(rec)
    fields = (rec.external_id, rec.platform, rec.shop, rec.customer, rec.category, rec.csat, rec.ticket_id,
              rec.order_id, rec.team, rec.source_row)
    return fields, [(m.stamp, m.role, m.text, m.agent, (m.sender or "")[:200]) for m in rec.messages]


def import_bytes(engine: Engine, name: str, data: bytes) -> ImportReport:
    """Import one in-memory file and return its (single) report."""
    (report,) = import_stream(engine, name, io.BytesIO(data), by=SYSTEM)
    return report


def counts(engine: Engine) -> dict[str, int]:
    """Row counts of the tables an import writes."""
    with engine.connect() as conn:
        return {t.__tablename__: conn.scalar(select(func.count()).select_from(t))
                for t in (Conversation, Message, Ticket, Annotation)}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(engine: Engine, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` on a connection of ``engine``: how tests call qa's reads."""
    with engine.connect() as conn:
        return fn(conn, *args, **kwargs)


def agent_review_scores(engine: Engine, f: Any = None) -> list[list]:
    """[agent, scorecard reviews counted, mean final score] per agent with any, as the 坐席 page reads them."""
    from qa.analytics.filters import Filters
    from qa.review.scorecards import agents_in_scope, scorecard

    f = f or Filters()
    rows = []
    for agent in read(engine, agents_in_scope, f)["agent"]:
        card = read(engine, scorecard, f, agent)
        if card is not None and card.mine["card_n"] > 0:
            rows.append([agent, int(card.mine["card_n"]), card.mine["card_mean"]])
    return rows
