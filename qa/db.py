"""Engine creation and schema set-up, done once per process.

SQLite is the embedded default (a file under data/); ``DATABASE_URL`` switches to PostgreSQL with no code
change. The schema is owned by Alembic migrations so that an archive created by an older Huifang upgrades in
place instead of being rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from qa.busy import report_busy

__all__ = ["DEFAULT_DB_PATH", "database_url", "make_engine", "get_engine", "init_db", "session_scope", "transaction"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB_PATH = ROOT / "data" / "huifang.db"


def database_url(url: str | None = None) -> str:
    """The URL in force: an explicit one, else ``DATABASE_URL``, else the embedded SQLite file."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_DB_PATH}"
    if url.startswith("postgres://"):  # Heroku-style URLs; SQLAlchemy wants the dialect name
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout, and a database
    busy for longer raises DatabaseBusyError (``qa.busy``)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    report_busy(engine)
    return engine


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url``, created and migrated on first use."""
    engine = make_engine(url)
    init_db(engine)
    return engine


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One Session per operation, committed on success and rolled back on any error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own on an engine; on a connection, the caller's: so a write function can also be one
    step of a larger write that must land whole or not at all (the replay's tag picker saves tags and notes)."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn
