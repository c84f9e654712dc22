"""huifang backup / restore: a round trip gives back the archive, on SQLite and PostgreSQL; restore never
overwrites an archive unless forced."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from qa.backup import BackupError, archive_counts, backup, find_pg_tool, restore
from qa.cli import main
from qa.db import init_db, make_engine
from qa.models import Annotation, Conversation, Message
from qa.review.annotations import Review, save_review
from qa.review.users import get_or_create_user
from tests.conftest import PG_URL, _fresh_pg_url
from tests.helpers import conv, import_bytes, jsonl, write

FIRST = [conv("c1", ("customer", "这款有40码吗", "2026-11-11T10:00:00+08:00"),
              ("agent", "亲，有的哦", "2026-11-11T10:00:30+08:00"), platform="天猫", csat=5),
         conv("c2", ("customer", "什么时候发货", None), ("agent", "今天就发", None), platform="京东")]
LATER = [conv("c3", ("customer", "还没收到", "2026-11-12T09:00:00+08:00"), platform="抖音")]


@pytest.fixture
def needs_pg_tools(engine: Engine) -> None:
    if engine.dialect.name == "postgresql" and not (find_pg_tool("pg_dump") and find_pg_tool("pg_restore")):
        pytest.skip("pg_dump/pg_restore not installed: PostgreSQL backups cannot be tested here")


def _archive(engine: Engine) -> dict[str, object]:
    """What a user would check after a restore: conversations, messages and reviews."""
    with engine.connect() as conn:
        return {
            "conversations": conn.execute(select(Conversation.external_id, Conversation.csat)
                                          .order_by(Conversation.external_id)).all(),
            "messages": conn.execute(select(Message.text).order_by(Message.conversation_id, Message.seq)).all(),
            "reviews": conn.execute(select(Annotation.rubric_item, Annotation.score, Annotation.verdict)
                                    .order_by(Annotation.id)).all(),
        }


def _reviewed(engine: Engine) -> dict[str, object]:
    import_bytes(engine, "a.jsonl", jsonl(*FIRST))
    uid = get_or_create_user(engine, "王质检")
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == "c1"))
    save_review(engine, cid, uid, Review({"态度礼貌": 5}, "合格", "回复及时"), base_version=0)
    return _archive(engine)


@pytest.fixture
def other_db(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind."""
    if engine.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        yield other
        other.dispose()
        return
    assert PG_URL
    urls = _fresh_pg_url()
    other = make_engine(next(urls))
    init_db(other)
    yield other
    other.dispose()
    next(urls, None)


def test_round_trip_into_an_empty_database(engine: Engine, other_db: Engine, tmp_path: Path,
                                           needs_pg_tools: None) -> None:
    saved = _reviewed(engine)
    report = backup(engine, tmp_path / "huifang.backup")
    assert report.counts == {"会话": 2, "工单": 0, "导入记录": 1, "批注": 2, "培训清单": 0} and report.bytes > 0
    restored = restore(other_db, tmp_path / "huifang.backup")
    assert restored.counts == report.counts
    assert _archive(other_db) == saved


def test_restore_refuses_an_archive_unless_forced_then_brings_the_backup_back(engine: Engine, tmp_path: Path,
                                                                              needs_pg_tools: None) -> None:
    saved = _reviewed(engine)
    backup(engine, tmp_path / "huifang.backup")
    import_bytes(engine, "later.jsonl", jsonl(*LATER))
    changed = _archive(engine)
    with pytest.raises(BackupError, match=r"当前数据库不是空的（已有会话 3、导入记录 2、批注 2），恢复会用备份覆盖全部现有数据。"
                                          r"确认要覆盖，请加 --force 重新运行"):
        restore(engine, tmp_path / "huifang.backup")
    assert _archive(engine) == changed
    restore(engine, tmp_path / "huifang.backup", force=True)
    assert _archive(engine) == saved
    import_bytes(engine, "later.jsonl", jsonl(*LATER))  # the restored database takes new imports
    assert archive_counts(engine)["会话"] == 3


def test_backup_while_a_write_is_in_progress_holds_what_was_committed(sqlite_engine: Engine, tmp_path: Path) -> None:
    """The app keeps running: an import's open transaction neither blocks the backup nor gets into it."""
    engine = sqlite_engine
    saved = _reviewed(engine)
    importing = sqlite3.connect(engine.url.database, isolation_level=None)
    importing.execute("BEGIN IMMEDIATE")
    importing.execute("DELETE FROM messages")
    backup(engine, tmp_path / "b.db")
    importing.execute("ROLLBACK")
    importing.close()
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    restore(other, tmp_path / "b.db")
    assert _archive(other) == saved
    with sqlite3.connect(tmp_path / "b.db") as copy:  # one self-contained file
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert not list(tmp_path.glob(".b.db.partial"))


def test_cli_backup_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, copy = f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "copy.db"
    assert main(["--db", db, "import", str(write(tmp_path, "a.jsonl", jsonl(*FIRST)))]) == 0
    assert main(["--db", db, "backup", str(copy)]) == 0
    assert f"已备份 {copy}" in capsys.readouterr().out
    assert main(["--db", db, "restore", str(copy)]) == 1
    assert "错误：当前数据库不是空的（已有会话 2、导入记录 1）" in capsys.readouterr().err
    assert main(["--db", db, "restore", str(copy), "--force"]) == 0
    assert "会话 2" in capsys.readouterr().out


def test_what_is_not_a_backup_changes_nothing(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_bytes(sqlite_engine, "a.jsonl", jsonl(*FIRST))
    before = _archive(sqlite_engine)
    (tmp_path / "notes.txt").write_text("不是备份")
    with pytest.raises(BackupError, match="不是回放的备份文件"):
        restore(sqlite_engine, tmp_path / "notes.txt", force=True)
    (tmp_path / "dump").write_bytes(b"PGDMP\x01\x0e\x00")
    with pytest.raises(BackupError, match="是 PostgreSQL 的备份，当前数据库是 SQLite：不支持跨数据库恢复"):
        restore(sqlite_engine, tmp_path / "dump", force=True)
    with sqlite3.connect(tmp_path / "foreign.db") as foreign:
        foreign.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="不是回放的数据库|无法读取"):
        restore(sqlite_engine, tmp_path / "foreign.db", force=True)
    with pytest.raises(BackupError, match="找不到备份文件"):
        restore(sqlite_engine, tmp_path / "missing.db")
    live = Path(str(sqlite_engine.url.database))
    with pytest.raises(BackupError, match="就是当前的数据库文件：请把备份写到别的文件"):
        backup(sqlite_engine, live)
    with pytest.raises(BackupError, match="就是当前的数据库文件，不是备份"):
        restore(sqlite_engine, live, force=True)
    assert _archive(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM conversations")) == 2


def test_pg_tools_are_found_off_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian keeps the versioned binaries in /usr/lib/postgresql/N/bin, not on PATH."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")):
        pytest.skip("no PostgreSQL server install under /usr/lib/postgresql")
    monkeypatch.setenv("PATH", "/nonexistent")
    found = find_pg_tool("pg_dump")
    assert found is not None and found.startswith("/usr/lib/postgresql/") and found.endswith("/bin/pg_dump")
