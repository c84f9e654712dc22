"""Parse a large file in a second process while the importing process stores what is already parsed.

An import is one database transaction, so one process must do all the writing; parsing and staging are the
other half of the work and need no database. Running them in a worker overlaps the two halves on two cores.
The worker is a plain ``python -m qa.ingest.parse_worker`` subprocess rather than a multiprocessing child, so that
it works from any caller (a Streamlit server, a script without a ``__main__`` guard) without re-importing the
caller. It writes pickled messages to its stdout: the layout, staged batches, then the late rejections, or an
exception that the importer handles exactly as if parsing had run in-process. The pipe bounds how far the
worker runs ahead, so memory stays flat however large the file.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from qa.errors import HuifangError, ImportFormatError
from qa.ingest.detect import parse_file
from qa.ingest.rejections import RejectionLog
from qa.ingest.staging import Batch, stage_batches

__all__ = ["PARALLEL_MIN_BYTES", "WorkerParse"]

PARALLEL_MIN_BYTES = 8 * 2**20
"""Files from this size on are parsed in a worker; below it, starting one (~0.3 s) costs more than it saves."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the qa package


def _send_all(path: str, name: str, out: BinaryIO) -> None:
    """Parse ``path`` and write every message to ``out``; a thread pickles and writes while parsing goes on."""
    pending: queue.Queue[tuple[str, object] | None] = queue.Queue(maxsize=2)

    def write() -> None:
        try:
            while (message := pending.get()) is not None:
                data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)  # whole: the reader never waits on it
                out.write(data)
                out.flush()
        except BaseException:  # the importer is gone (broken pipe) or a batch cannot be sent: nothing left to do
            os._exit(1)  # at once: the parsing thread would otherwise block on the full queue for ever

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        with open(path, "rb") as f:
            parsed = parse_file(name, f)
            pending.put(("format", parsed.format))
            for batch in stage_batches(parsed.records, name):
                pending.put(("batch", batch))
            pending.put(("done", parsed.late))
    except (HuifangError, UnicodeDecodeError) as e:  # a file that cannot be read, a masking setting that names no kind
        pending.put(("error", e))
    except Exception as e:  # anything else: the file cannot be read (issue #12); its traceback goes to stderr
        traceback.print_exc()
        pending.put(("error", ImportFormatError(name, f"无法读取（{type(e).__name__}: {str(e)[:200]}）；整个文件未导入")))
    pending.put(None)
    writer.join()


class WorkerParse:
    """A file being parsed in a worker: ``wait_format()``, then ``batches()``, then ``late`` rejections.

    Use as a context manager so the worker is stopped when the import fails on the database side.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self.late = RejectionLog()
        self._finished = False
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "qa.ingest.parse_worker", str(path), name],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)

    def wait_format(self) -> str:
        """The detected layout, once the worker has read the head of the file; raises what it raised."""
        kind, payload = self._get()
        if kind == "error":
            raise payload  # type: ignore[misc]
        return payload  # type: ignore[return-value]

    def batches(self) -> Iterator[Batch]:
        while True:
            kind, payload = self._get()
            if kind == "batch":
                yield payload  # type: ignore[misc]
            elif kind == "done":
                self.late = payload  # type: ignore[assignment]
                self._finished = True
                return
            else:
                raise payload  # type: ignore[misc]

    def _get(self) -> tuple[str, object]:
        try:
            return pickle.load(self._proc.stdout)  # type: ignore[arg-type]
        except (EOFError, pickle.UnpicklingError):
            self._proc.kill()  # if it is still running, what it writes can no longer be read
            code = self._proc.wait()
            raise ImportFormatError(self.name, f"解析进程意外退出（退出码 {code}）；整个文件未导入") from None

    def close(self) -> None:
        try:  # a finished worker is only exiting; one that is not is stopped (the import failed elsewhere)
            self._proc.wait(timeout=5 if self._finished else 0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()  # type: ignore[union-attr]

    def __enter__(self) -> WorkerParse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    gc.disable()  # a short-lived process that makes millions of objects and no cycles (see importer._gc_paused)
    _send_all(sys.argv[1], sys.argv[2], sys.stdout.buffer)
