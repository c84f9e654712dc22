"""Bulk inserts through the DB-API cursor, for the tables written a row per message or per check.

SQLAlchemy's per-row parameter processing (``insert(table)`` with a list of dicts) cost about half of the import
and a third of auto-QA's time; binding ready tuples to the driver's ``executemany`` skips it. Values must already
be what the driver stores: numbers, text, booleans and None pass as they are; a time goes through ``bound`` (on
SQLite, SQLAlchemy stores times as text in its own layout, which its queries compare).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import ColumnElement, Connection

__all__ = ["bound", "insert_rows", "placeholder"]


def placeholder(conn: Connection) -> str:
    """The DB-API placeholder of the connection's driver (sqlite3: ?, psycopg: %s)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def bound(conn: Connection, column: ColumnElement[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy would bind it for ``column`` (once per run for a constant, not per row)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(value) if process is not None and value is not None else value


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                empty_is_null: Sequence[str] = ()) -> None:
    """Insert tuples of ``columns`` into ``table``; in the ``empty_is_null`` columns "" is stored as NULL."""
    mark = placeholder(conn)
    values = ", ".join(f"NULLIF({mark}, '')" if c in empty_is_null else mark for c in columns)
    with closing(conn.connection.cursor()) as cursor:
        # SQLAlchemy's DB-API stub asks for a Sequence; sqlite3 and psycopg take any iterable (rows stay lazy)
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})",
                           rows)  # type: ignore[arg-type]
