"""Writes that wait for a busy database, then fail with a message instead of a traceback.

SQLite lets one transaction write at a time: while an import holds the write lock, a reviewer's save waits
SQLite's busy timeout (10 s) and then failed with a raw ``database is locked`` (issue #12.7). Two things fix that:
every engine turns "the database is busy" — SQLite's locked/busy, PostgreSQL's deadlock, serialization failure
and lock timeout — into ``DatabaseBusyError``, a user error the pages and the CLI show as such; and the app's write
functions, decorated with ``retry_when_busy``, run again with growing pauses (tenacity) until they succeed or a
bounded wait (``HUIFANG_WRITE_WAIT`` seconds, 120 by default) is spent. A write function is one transaction (or a
few independent ones), rolled back when it fails, so running it again is safe.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from qa.errors import DatabaseBusyError

__all__ = ["WAIT_SETTING", "DEFAULT_WAIT_S", "write_wait_seconds", "is_busy", "report_busy", "retry_when_busy"]

WAIT_SETTING = "HUIFANG_WRITE_WAIT"
DEFAULT_WAIT_S = 120.0
"""How long a write waits for a busy database in all: longer than a large import holds SQLite's lock."""

_SQLITE_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
_PG_BUSY = frozenset({"40001", "40P01", "55P03"})  # serialization failure, deadlock detected, lock not available

P = ParamSpec("P")
R = TypeVar("R")


def write_wait_seconds() -> float:
    """The bounded wait of a write, from ``HUIFANG_WRITE_WAIT`` (seconds)."""
    value = os.environ.get(WAIT_SETTING, "").strip()
    try:
        return max(0.0, float(value)) if value else DEFAULT_WAIT_S
    except ValueError:
        return DEFAULT_WAIT_S


def is_busy(error: BaseException) -> bool:
    """Whether a DB-API error means "another transaction holds what this one needs; later it may succeed"."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_BUSY
    if getattr(error, "sqlstate", None) in _PG_BUSY:
        return True
    return "database is locked" in str(error)  # sqlite3 before Python 3.11 carries no code


def _busy_as_user_error(context: ExceptionContext) -> None:
    if is_busy(context.original_exception):
        raise DatabaseBusyError(
            "数据库正忙（可能正在导入数据），这次写入没有完成，请稍后再试") from context.sqlalchemy_exception


def report_busy(engine: Engine) -> None:
    """Make ``engine`` raise DatabaseBusyError, not a driver error, when the database is busy."""
    event.listen(engine, "handle_error", _busy_as_user_error)


def retry_when_busy(write: Callable[P, R]) -> Callable[P, R]:
    """Run ``write`` again while the database is busy, after random pauses of growing length (up to 0.1 s, 0.2 s,
    0.4 s … 5 s: writers that met the same lock do not all come back at once), for at most ``write_wait_seconds()``
    in all; then raise DatabaseBusyError saying how long it waited. Called on a connection (one step of the
    caller's transaction, see ``qa.db.transaction``) it runs once: the caller's transaction is what runs again."""

    @functools.wraps(write)
    def waiting(*args: P.args, **kwargs: P.kwargs) -> R:
        if args and isinstance(args[0], Connection):
            return write(*args, **kwargs)
        wait_s, started = write_wait_seconds(), time.monotonic()
        retrying = Retrying(retry=retry_if_exception_type(DatabaseBusyError), stop=stop_after_delay(wait_s),
                            wait=wait_random_exponential(multiplier=0.1, max=5), reraise=True)
        try:
            return retrying(write, *args, **kwargs)
        except DatabaseBusyError:
            raise DatabaseBusyError(f"数据库正忙（可能正在导入数据），已等待 {time.monotonic() - started:.0f} 秒仍无法写入；"
                                    "这次的修改没有保存，请稍后再试") from None

    return waiting
