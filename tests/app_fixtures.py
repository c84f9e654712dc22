"""Shared set-up for page tests: the whole app (app.py) run by AppTest against a temporary database.

Registered as a pytest plugin by conftest, so ``seeded_app`` is a fixture everywhere; ``seeded_app`` points the app at
a SQLite file holding tests/seed.py's eight conversations and yields an engine on the same file. ``add_reviews``
adds two reviewers' known verdicts and rubric scores (REVIEWS) through the real save path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from qa.db import get_engine, init_db, make_engine
from qa.models import Conversation, User
from qa.review.annotations import Review, save_review
from qa.review.users import get_or_create_user
from ui.user import SIGNED_IN_KEY

APP = Path(__file__).resolve().parents[1] / "app.py"
ADMIN = "演示管理员"  # tests/seed.py's demo accounts: one per role (qa.review.users.DEMO_USERS)


# (conversation, reviewer, verdict, rubric scores): 王质检 and 李质检 both reviewed tm-1, tm-3, tm-4 and jd-2
REVIEWS = [
    ("tm-1", "王质检", "合格", {"态度礼貌": 5}),
    ("tm-1", "李质检", "合格", {"态度礼貌": 5}),
    ("tm-3", "王质检", "不合格", {"态度礼貌": 1}),
    ("tm-3", "李质检", "不合格", {"态度礼貌": 1}),
    ("tm-4", "王质检", "不合格", {"态度礼貌": 1}),
    ("tm-4", "李质检", "需改进", {"态度礼貌": 5}),
    ("jd-2", "王质检", "合格", {}),
    ("jd-2", "李质检", "不合格", {}),
    ("dy-1", "王质检", "需改进", {}),
]


def add_reviews(engine: Engine, reviews: list[tuple[str, str, str, dict[str, int]]] = REVIEWS) -> None:
    """Save reviews on the seeded conversations (by external id) as the named demo users."""
    with engine.connect() as conn:
        conversations = dict(conn.execute(select(Conversation.external_id, Conversation.id)).all())
        users = dict(conn.execute(select(User.name, User.id)).all())
    for external_id, reviewer, verdict, scores in reviews:
        save_review(engine, conversations[external_id], users[reviewer], Review(scores=scores, verdict=verdict),
                    base_version=0)


def point_app_to(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Make the app's cached engine and query results start afresh on ``url``."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_engine.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def sign_in_as(at: AppTest, user: str | None) -> AppTest:
    """Sign ``at``'s session in as the account called ``user`` (None: nobody), as the sign-in form would."""
    if user is None:
        at.session_state[SIGNED_IN_KEY] = None
        return at
    with get_engine().connect() as conn:
        uid = conn.scalar(select(User.id).where(User.name == user))
    if uid is None and user == ADMIN:  # an archive without the seed's accounts (an empty one)
        uid = get_or_create_user(get_engine(), ADMIN, "admin")
    assert uid is not None, f"no account called {user}"
    at.session_state[SIGNED_IN_KEY] = uid
    return at


def start_app(page: str | None = None, user: str | None = ADMIN) -> AppTest:
    """Run app.py once signed in as ``user`` (an admin by default; None: signed out) and, when ``page`` is given
    (e.g. "pages/agents.py"), switch to it and run again."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    sign_in_as(at, user)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


@pytest.fixture
def seeded_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The app on a fresh SQLite file with tests/seed.py's data; yields an engine for extra set-up."""
    from tests.seed import seed_small

    url = f"sqlite:///{tmp_path / 'app.db'}"
    eng = make_engine(url)
    init_db(eng)
    seed_small(eng)
    point_app_to(monkeypatch, url)
    yield eng
    eng.dispose()
    get_engine.cache_clear()
