"""Parse a large file in a second process while the importing process hashes it.

Parsing and staging need no database, and an import must not hold the database while it parses (see
``qa.ingest.spool``): the worker stages the whole file into a spool file that the importer names, then the
importer stores it chunk by chunk. The worker is a plain ``python -m qa.ingest.parse_worker`` subprocess rather
than a multiprocessing child, so that it works from any caller (a Streamlit server, a script without a
``__main__`` guard) without re-importing the caller. On its stdout it writes pickled messages: the layout, then
the spool's index (chunks and rejections) or an exception that the importer handles exactly as if parsing had
run in-process. Batches go to the spool, not the pipe, so memory stays flat however large the file.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import BinaryIO

from qa.errors import HuifangError, ImportFormatError
from qa.ingest.detect import parse_file
from qa.ingest.spool import SpoolIndex, write_spool
from qa.ingest.staging import stage_batches

__all__ = ["PARALLEL_MIN_BYTES", "WorkerParse"]

PARALLEL_MIN_BYTES = 8 * 2**20
"""Files from this size on are parsed in a worker; below it, starting one (~0.3 s) costs more than it saves."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the qa package


def _send_all(path: str, name: str, spool: str, out: BinaryIO) -> None:
    """Parse ``path`` into the spool file ``spool`` and write the layout, then its index, to ``out``."""
    def send(message: tuple[str, object]) -> None:
        try:
            out.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
            out.flush()
        except BaseException:  # the importer is gone (broken pipe) or the message cannot be sent: nothing left to do
            os._exit(1)

    try:
        with open(path, "rb") as f, open(spool, "wb") as sink:
            parsed = parse_file(name, f)
            send(("format", parsed.format))
            index = write_spool(stage_batches(parsed.records, name), parsed.late, sink)
        send(("done", index))
    except (HuifangError, UnicodeDecodeError) as e:  # a file that cannot be read, a masking setting that names no kind
        send(("error", e))
    except Exception as e:  # anything else: the file cannot be read (issue #12); its traceback goes to stderr
        traceback.print_exc()
        send(("error", ImportFormatError(name, f"无法读取（{type(e).__name__}: {str(e)[:200]}）；整个文件未导入")))


class WorkerParse:
    """A file being parsed in a worker: ``wait_format()``, then ``spooled()`` (the spool and its index).

    Use as a context manager so the worker is stopped when the import fails, and its spool removed.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self._finished = False
        fd, spool = tempfile.mkstemp(prefix="huifang-spool-")
        os.close(fd)
        self._spool = Path(spool)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "qa.ingest.parse_worker", str(path), name, spool],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)

    def wait_format(self) -> str:
        """The detected layout, once the worker has read the head of the file; raises what it raised."""
        kind, payload = self._get()
        if kind == "error":
            raise payload  # type: ignore[misc]
        return payload  # type: ignore[return-value]

    def spooled(self) -> tuple[BinaryIO, SpoolIndex]:
        """The spool, open for reading, and its index, once the worker has staged the whole file."""
        kind, payload = self._get()
        if kind != "done":
            raise payload  # type: ignore[misc]
        self._finished = True
        return open(self._spool, "rb"), payload  # type: ignore[return-value]

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
        self._spool.unlink(missing_ok=True)

    def __enter__(self) -> WorkerParse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    gc.disable()  # a short-lived process that makes millions of objects and no cycles (see importer._gc_paused)
    _send_all(sys.argv[1], sys.argv[2], sys.argv[3], sys.stdout.buffer)
