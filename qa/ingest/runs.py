"""Import runs: whether an import is running, complete or was interrupted, and what a re-run resumes from.

An import stores a file chunk by chunk (``qa.ingest.spool``), so one stopped part-way — an error, a closed
terminal, ``kill -9`` — leaves its first chunks stored and the rest not. Its record (``import_batches``) says so:
``status`` is "running" from the first chunk until the last is stored, and ``progress`` holds, committed with each
chunk, the digests of the chunks stored, the counts so far and the rejections the database side found. Importing
the same file again resumes that record: it stages the file again, skips the chunks whose digests match and
stores the rest, so the database and the report end as after one clean import. A run whose process has died is
told from a live one by its host and process id (a run on another host counts as running until it is resumed).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, select

from qa.models import ImportBatch

__all__ = ["RUNNING", "COMPLETE", "INTERRUPTED", "Progress", "state", "resumable", "interrupted_runs",
           "interrupted_text", "rejection_row"]

RUNNING, COMPLETE, INTERRUPTED = "running", "complete", "interrupted"


def rejection_row(r: object) -> dict:
    """A rejection as the import record stores it (file, row, field, reason), the same as before runs existed."""
    return {k: getattr(r, k) for k in ("file", "row", "field", "reason")}


@dataclass
class Progress:
    """What an unfinished run has stored: its chunks' digests, counts and the database side's rejections."""

    chunks: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)
    rejected: int = 0  # rejections found while storing (ambiguous identities, unmatched session rows)
    rejections: list[dict] = field(default_factory=list)  # the first of those, as ``rejection_row``
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str | None) -> Progress:
        return cls(**json.loads(text)) if text else cls(host="", pid=0)

    def alive(self) -> bool:
        """Whether the process that wrote this is still running (on this host; elsewhere it cannot be told)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process with that id
            return True
        return True


def state(status: str, progress: str | None) -> str:
    """RUNNING, COMPLETE or INTERRUPTED: a run left "running" by a process that is gone was interrupted."""
    if status == RUNNING and not Progress.loads(progress).alive():
        return INTERRUPTED
    return status


def resumable(conn: Connection, content_hash: str) -> tuple[int, Progress] | None:
    """The newest interrupted run of a file with this content, and its progress; None when there is none."""
    rows = conn.execute(select(ImportBatch.id, ImportBatch.status, ImportBatch.progress)
                        .where(ImportBatch.content_hash == content_hash, ImportBatch.status != COMPLETE)
                        .order_by(ImportBatch.id.desc())).all()
    for row in rows:
        if state(row.status, row.progress) == INTERRUPTED:
            return row.id, Progress.loads(row.progress)
    return None


def interrupted_runs(conn: Connection) -> list[tuple[int, str, int]]:
    """(id, file, conversations added so far) of every interrupted run, oldest first: what users must re-import."""
    rows = conn.execute(select(ImportBatch.id, ImportBatch.file_name, ImportBatch.conversations_added,
                               ImportBatch.status, ImportBatch.progress)
                        .where(ImportBatch.status != COMPLETE).order_by(ImportBatch.id)).all()
    return [(r.id, r.file_name, r.conversations_added) for r in rows if state(r.status, r.progress) == INTERRUPTED]


def interrupted_text(run_id: int, file: str, added: int) -> str:
    """The sentence the Data page and ``huifang import`` say about an interrupted run."""
    return (f"批次 {run_id} · {file} 导入中断，已存入 {added:,} 个新会话（都是完整的）；"
            "重新导入同一文件即可补全，已存入的不会重复。")
