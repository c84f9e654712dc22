"""Shared fixtures: fresh databases on SQLite and (when a server is configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from qa.db import init_db, make_engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("HUIFANG_TEST_PG_URL")
pytest_plugins = ["tests.app_fixtures"]  # seeded_app and the page-test helpers, for every test module


def _fresh_pg_url() -> Iterator[str]:
    name = f"huifang_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database — once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        init_db(eng)
        yield eng
        eng.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set HUIFANG_TEST_PG_URL (scripts/test.sh starts a server)")
    gen = _fresh_pg_url()
    url = next(gen)
    eng = make_engine(url)
    init_db(eng)
    yield eng
    eng.dispose()
    next(gen, None)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite database, for tests whose subject is not the database."""
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def shared_dir() -> Path:
    """../shared, or a skip where it is absent (as on a user's fresh clone)."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"real data not available: {SHARED / 'data'} is absent")
    return SHARED


@pytest.fixture
def seeded_engine(sqlite_engine: Engine) -> Engine:
    """SQLite with tests/seed.py's eight known conversations, scored with known values."""
    from tests.seed import seed_small

    seed_small(sqlite_engine)
    return sqlite_engine
