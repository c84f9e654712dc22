"""What the Data page shows: past imports with their rejected rows, and how much of the archive needs scoring.

Imports themselves go through ``qa.ingest.importer.import_stream``, the same code as the CLI; this module only reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from qa.errors import USER_ERRORS, HuifangError
from qa.ingest.formats import format_name
from qa.ingest.importer import ImportReport
from qa.ingest.runs import COMPLETE, INTERRUPTED, RUNNING, state
from qa.jobs.scoring import pending_count
from qa.models import Conversation, ConversationScore, ImportBatch
from scoring.pipeline import models_version

__all__ = [
    "REJECTION_COLUMNS",
    "RUN_STATES",
    "ScorerUnavailable",
    "ScoringStatus",
    "batch_rejections",
    "past_imports",
    "rejections_frame",
    "scorer_version",
    "scoring_status",
]

REJECTION_COLUMNS = ["file", "row", "field", "reason"]
RUN_STATES = {COMPLETE: "完成", RUNNING: "导入中", INTERRUPTED: "已中断（重新导入同一文件即可补全）"}
"""An import run's state (``qa.ingest.runs``) as the Data page says it."""


class ScorerUnavailable(HuifangError):
    """The scoring models cannot be loaded (not trained yet, or files missing)."""


def past_imports(conn: Connection, limit: int = 200) -> pd.DataFrame:
    """The most recent imported files with what each added, merged and rejected, newest first."""
    b = ImportBatch
    rows = conn.execute(select(b.id, b.file_name, b.format, b.imported_at, b.status, b.conversations_added,
                               b.conversations_merged, b.conversations_unchanged, b.messages_added,
                               b.tickets_added, b.tickets_updated, b.reviews_added, b.rejected, b.progress)
                        .order_by(b.id.desc()).limit(limit)).all()
    df = pd.DataFrame([(*r[:-1],) for r in rows],
                      columns=["id", "file_name", "format", "imported_at", "status", "conversations_added",
                               "conversations_merged", "conversations_unchanged", "messages_added",
                               "tickets_added", "tickets_updated", "reviews_added", "rejected"])
    df["format"] = df["format"].map(format_name)
    df["status"] = [RUN_STATES[state(r.status, r.progress)] for r in rows]
    return df


def batch_rejections(conn: Connection, batch_id: int) -> pd.DataFrame:
    """The rejected rows stored with one import (file, row, field, reason)."""
    stored = conn.scalar(select(ImportBatch.rejections).where(ImportBatch.id == batch_id))
    return _rejections(json.loads(stored or "[]"))


def rejections_frame(reports: Sequence[ImportReport]) -> pd.DataFrame:
    """Every rejected row of some import reports as one table."""
    return _rejections([asdict(r) for rep in reports for r in rep.rejections])


def _rejections(rows: list[dict]) -> pd.DataFrame:
    # a rejection about a whole row or file names no field: blank, not "None", in the table users read
    return pd.DataFrame(rows, columns=REJECTION_COLUMNS).fillna({"field": ""})


def scorer_version() -> str:
    """The version of the models on disk, which stored scores are compared with to tell them stale."""
    try:
        return models_version()
    except USER_ERRORS + (OSError,) as e:
        raise ScorerUnavailable(f"评分模型不可用（{type(e).__name__}: {e}）；请先在“模型”页或用 huifang train 训练模型") from e


@dataclass(frozen=True)
class ScoringStatus:
    """How many conversations are scored with the current models, never scored, or scored by older models."""

    total: int
    unscored: int
    stale: int

    @property
    def pending(self) -> int:
        return self.unscored + self.stale


def scoring_status(conn: Connection, version: str) -> ScoringStatus:
    """Counts of conversations needing (re)scoring with models of ``version``, as the scoring job would see them."""
    total = conn.scalar(select(func.count()).select_from(Conversation)) or 0
    scored = conn.scalar(select(func.count()).select_from(ConversationScore)) or 0
    pending = pending_count(conn, version)
    unscored = total - scored
    return ScoringStatus(total, unscored, pending - unscored)
