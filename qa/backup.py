"""Backup and restore of the whole archive: ``huifang backup PATH`` / ``huifang restore PATH``.

Both are safe while the app runs. SQLite is copied with its online backup API (``sqlite3.Connection.backup``): one
read transaction, so imports and reviewers go on writing (WAL) and the copy is the database as it was at one
moment; it is written beside PATH and renamed into place, so PATH never holds half a backup. PostgreSQL is dumped
by ``pg_dump`` in its custom format and restored by ``pg_restore`` in one transaction. Restore overwrites
everything, so it refuses a database that holds conversations, tickets, imports, reviews or coaching lists unless
forced; afterwards the schema is migrated to this version of Huifang.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL

from qa.db import init_db
from qa.errors import HuifangError
from qa.models import Annotation, CoachingList, Conversation, ImportBatch, Ticket

__all__ = ["BackupError", "BackupReport", "backup", "restore", "find_pg_tool", "archive_counts"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_MAGIC = b"PGDMP"
_COUNTED = {"会话": Conversation, "工单": Ticket, "导入记录": ImportBatch, "批注": Annotation, "培训清单": CoachingList}
"""What makes a database hold an archive (accounts do not: a fresh install creates its admin on first start)."""
_PG_TOOL_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin",
                 "/usr/local/opt/postgresql@*/bin")


class BackupError(HuifangError):
    """A backup or restore that cannot be done (nothing was changed)."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote or a restore brought back: the file, its size and the archive's counts."""

    path: Path
    bytes: int
    counts: dict[str, int]

    def summary(self) -> str:
        what = "，".join(f"{name} {n:,}" for name, n in self.counts.items())
        return f"{self.path}（{self.bytes / 2**20:,.1f} MB）：{what}"


def archive_counts(engine: Engine) -> dict[str, int]:
    """Rows of each table that makes up the archive, by its Chinese name."""
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(table)) or 0 for name, table in _COUNTED.items()}


def backup(engine: Engine, path: Path) -> BackupReport:
    """Write a backup of the whole database to ``path`` (replacing a file there only once the copy is whole)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"备份目录 {path.parent} 不存在")
    if _is_the_database(engine, path):
        raise BackupError(f"{path} 就是当前的数据库文件：请把备份写到别的文件")
    partial = path.with_name(f".{path.name}.partial")
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(engine, partial)
        else:
            _pg_dump(engine, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(path, path.stat().st_size, archive_counts(engine))


def restore(engine: Engine, path: Path, *, force: bool = False) -> BackupReport:
    """Replace the whole database with the backup at ``path``; refuses a database with an archive unless ``force``."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}")
    if _is_the_database(engine, path):
        raise BackupError(f"{path} 就是当前的数据库文件，不是备份")
    with open(path, "rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    kind = "sqlite" if head.startswith(_SQLITE_MAGIC) else "postgresql" if head.startswith(_PG_MAGIC) else None
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    if kind is None:
        raise BackupError(f"{path} 不是回放的备份文件（既不是 SQLite 数据库，也不是 pg_dump 自定义格式）")
    if kind != engine.dialect.name:
        raise BackupError(f"{path} 是 {names[kind]} 的备份，当前数据库是 {names.get(engine.dialect.name, engine.dialect.name)}："
                          "不支持跨数据库恢复。请在同一种数据库上恢复，或重新导入原始文件")
    init_db(engine)  # an empty new database has no tables to count yet
    held = {name: n for name, n in archive_counts(engine).items() if n}
    if held and not force:
        what = "、".join(f"{name} {n:,}" for name, n in held.items())
        raise BackupError(f"当前数据库不是空的（已有{what}），恢复会用备份覆盖全部现有数据。"
                          "确认要覆盖，请加 --force 重新运行（建议先用 huifang backup 备份当前数据）")
    if kind == "sqlite":
        _sqlite_restore(engine, path)
    else:
        _pg_restore(engine, path)
    engine.dispose()  # pooled connections may hold the old schema's state
    init_db(engine)  # a backup made by an older Huifang is brought up to this version
    return BackupReport(path, path.stat().st_size, archive_counts(engine))


def _is_the_database(engine: Engine, path: Path) -> bool:
    """Whether ``path`` is the SQLite file ``engine`` works on (a backup written there would replace it)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return database not in (None, "", ":memory:") and Path(str(database)).resolve() == path.resolve()


# -- SQLite ------------------------------------------------------------------------------------------------------
def _sqlite_backup(engine: Engine, target: Path) -> None:
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as dest:
            raw.driver_connection.backup(dest)  # type: ignore[union-attr]
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        raw.close()


def _sqlite_restore(engine: Engine, source: Path) -> None:
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
        try:
            check = src.execute("PRAGMA quick_check").fetchone()[0]
            version = src.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{source} 无法读取（{e}），未做任何改动") from None
        if check != "ok" or version is None:
            raise BackupError(f"{source} 已损坏或不是回放的数据库（{check}），未做任何改动")
        raw = engine.raw_connection()
        try:
            src.backup(raw.driver_connection)  # type: ignore[arg-type]
        except sqlite3.OperationalError as e:
            raise BackupError(f"无法写入当前数据库（{e}）；请确认没有正在进行的导入后重试，未做任何改动") from None
        finally:
            raw.close()


# -- PostgreSQL --------------------------------------------------------------------------------------------------
def find_pg_tool(name: str) -> str | None:
    """``pg_dump`` or ``pg_restore``: on PATH, else in the usual server install folders (newest version first),
    since Debian and RHEL put the versioned binaries off PATH."""
    on_path = shutil.which(name)
    if on_path:
        return on_path
    found = [p for pattern in _PG_TOOL_DIRS for p in glob.glob(os.path.join(pattern, name)) if os.access(p, os.X_OK)]
    return max(found, key=_version_key, default=None)


def _version_key(path: str) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in path)
    return tuple(int(n) for n in digits.split())


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The engine's URL as libpq takes it, with the password passed in the environment, not on a command line
    that every user of the machine can read."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run_pg_tool(name: str, engine: Engine, args: list[str]) -> None:
    tool = find_pg_tool(name)
    if tool is None:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian/Ubuntu: apt install postgresql-client）"
                          "后重试")
    dsn, env = _libpq(engine.url)
    done = subprocess.run([tool, *args, f"--dbname={dsn}"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(f"{name} 失败（退出码 {done.returncode}），未做任何改动：{done.stderr.strip()[-800:]}")


def _pg_dump(engine: Engine, target: Path) -> None:
    _run_pg_tool("pg_dump", engine, ["--format=custom", "--no-owner", f"--file={target}"])


def _pg_restore(engine: Engine, source: Path) -> None:
    # one transaction: a restore that fails half-way leaves the database as it was
    _run_pg_tool("pg_restore", engine, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)])
