"""Writes while another transaction holds the database (an import, issue #12.7): they wait and retry, and fail
with a clear message — never a ``database is locked`` traceback — when the database stays busy."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext

from qa.busy import WAIT_SETTING, _busy_as_user_error, is_busy, report_busy, retry_when_busy
from qa.cli import main
from qa.db import _sqlite_pragmas, init_db, make_engine
from qa.errors import DatabaseBusyError
from qa.review.annotations import Review, my_review, save_review
from qa.review.users import get_or_create_user
from tests.helpers import conv, import_bytes, jsonl, read

LONG = 60.0  # seconds a test thread waits for the other side: a bound for a broken test, not a timing assertion


@pytest.fixture
def impatient(engine: Engine) -> Engine:
    """The engine with a lock wait of a few milliseconds per attempt (SQLite's busy timeout, PostgreSQL's
    lock_timeout), so that a held lock is met, and retried, at once."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA busy_timeout=20"))
    else:
        def lock_timeout(dbapi, _record) -> None:
            dbapi.execute("SET lock_timeout = '20ms'")
            dbapi.commit()  # SET is transactional in PostgreSQL

        event.listen(engine, "connect", lock_timeout)
    engine.dispose()
    return engine


def _busy_seen(engine: Engine) -> threading.Event:
    """Set once the engine has met the database busy."""
    seen = threading.Event()

    def note(context: ExceptionContext) -> None:
        if is_busy(context.original_exception):
            seen.set()

    # before the listener that raises DatabaseBusyError (handle_error takes no insert=True)
    event.remove(engine, "handle_error", _busy_as_user_error)
    event.listen(engine, "handle_error", note)
    report_busy(engine)
    return seen


@contextmanager
def _write_lock_held(engine: Engine, release: threading.Event) -> Iterator[None]:
    """Another connection holds the write lock (as an import's transaction does) until ``release`` is set."""
    taken, failed = threading.Event(), []

    def hold() -> None:
        try:
            if engine.dialect.name == "sqlite":
                conn = sqlite3.connect(engine.url.database, isolation_level=None)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO platforms (name) VALUES ('导入中')")
                taken.set()
                release.wait(LONG)
                conn.execute("COMMIT")
                conn.close()
            else:
                other = make_engine(engine.url.render_as_string(hide_password=False))
                with other.begin() as conn:
                    conn.execute(text("LOCK TABLE annotations, review_assignments IN EXCLUSIVE MODE"))
                    taken.set()
                    release.wait(LONG)
                other.dispose()
        except BaseException as e:  # pragma: no cover - shown by the assertion below
            failed.append(e)
            taken.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(LONG) and not failed, failed
    try:
        yield
    finally:
        release.set()
        holder.join(LONG)
    assert not failed, failed


def _conversation(engine: Engine) -> tuple[int, int]:
    import_bytes(engine, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None), ("agent", "在的", None))))
    uid = get_or_create_user(engine, "王质检")
    with engine.connect() as conn:
        cid = conn.scalar(text("SELECT id FROM conversations"))
    return cid, uid


def test_a_save_waits_for_the_lock_and_succeeds_once_it_is_released(impatient: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    engine = impatient
    cid, uid = _conversation(engine)
    monkeypatch.setenv(WAIT_SETTING, str(LONG))
    busy, release = _busy_seen(engine), threading.Event()
    # the lock goes once the save has met it at least once: the save must have waited and tried again
    threading.Thread(target=lambda: busy.wait(LONG) and release.set(), daemon=True).start()
    with _write_lock_held(engine, release):
        save_review(engine, cid, uid, Review({"态度礼貌": 4}, "合格", "回复及时"), base_version=0)
    assert busy.is_set()
    saved = read(engine, my_review, cid, uid)
    assert (saved.scores, saved.verdict, saved.comment, saved.version) == ({"态度礼貌": 4}, "合格", "回复及时", 1)


def test_a_save_that_cannot_get_the_lock_fails_with_a_clear_message(impatient: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = impatient
    cid, uid = _conversation(engine)
    monkeypatch.setenv(WAIT_SETTING, "0.3")
    with _write_lock_held(engine, threading.Event()):
        with pytest.raises(DatabaseBusyError, match=r"数据库正忙（可能正在导入数据），已等待 \d+ 秒仍无法写入；这次的修改没有保存"):
            save_review(engine, cid, uid, Review({"态度礼貌": 4}, "合格", ""), base_version=0)
    assert read(engine, my_review, cid, uid) is None


def test_any_write_meeting_a_busy_database_raises_the_user_error(impatient: Engine) -> None:
    """Writes not wrapped in a retry (a second import at once) still fail with the message, not the driver's error."""
    engine = impatient
    with _write_lock_held(engine, threading.Event()):
        with pytest.raises(DatabaseBusyError, match="数据库正忙"), engine.begin() as conn:
            conn.execute(text("INSERT INTO annotations (conversation_id, reviewer_id, tags, comment, created_at, "
                              "updated_at) VALUES (1, 1, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def test_huifang_score_on_a_busy_database_prints_the_message(tmp_path, capsys, monkeypatch) -> None:
    db = f"sqlite:///{tmp_path / 'busy.db'}"
    engine = make_engine(db)
    init_db(engine)
    import_bytes(engine, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", "2026-11-11T10:00:00+08:00"),
                                               ("agent", "在的", "2026-11-11T10:00:20+08:00"))))
    monkeypatch.setenv(WAIT_SETTING, "0")
    monkeypatch.setattr("qa.db._sqlite_pragmas", _with_busy_timeout(_sqlite_pragmas, 20))  # for the CLI's engine
    with _write_lock_held(engine, threading.Event()):
        assert main(["--db", db, "score", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"^错误：数据库正忙（可能正在导入数据），已等待 \d+ 秒仍无法写入；这次的修改没有保存", err, re.M)
    assert "Traceback" not in err
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM conversation_scores")) == 0


def _with_busy_timeout(pragmas: Callable[..., None], ms: int) -> Callable[..., None]:
    def set_up(dbapi: Any, record: Any) -> None:
        pragmas(dbapi, record)
        dbapi.execute(f"PRAGMA busy_timeout={ms}")
    return set_up


@pytest.mark.parametrize("error, busy", [
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("no such table: x"), False),
])
def test_what_counts_as_busy(error: BaseException, busy: bool) -> None:
    assert is_busy(error) is busy



def test_a_write_inside_the_callers_transaction_is_not_retried_alone(tmp_path, monkeypatch) -> None:
    """On a connection a write is one step of a larger transaction (``qa.db.transaction``): running that step again
    inside a transaction the database refused would be wrong, so only the caller's whole write is retried."""
    monkeypatch.setenv(WAIT_SETTING, "1")
    calls: list[object] = []

    @retry_when_busy
    def step(bind: object) -> None:
        calls.append(bind)
        raise DatabaseBusyError("忙")

    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as conn, pytest.raises(DatabaseBusyError, match="^忙$"):
        step(conn)
    assert calls == [conn]
    with pytest.raises(DatabaseBusyError, match="已等待"):
        step(engine)
    assert len(calls) > 2  # on an engine it waits and tries again
