"""Staying signed in across reloads and tabs: a session token signs its account in until it ends or expires,
and only its hash is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from qa.access import SYSTEM, Principal
from qa.models import SignInSession, User
from qa.review.sessions import SESSION_HOURS, end_session, resume_session, start_session
from qa.review.users import create_user, set_password

NOW = datetime(2026, 11, 12, 9, 0)


def test_a_token_signs_its_account_in_until_signed_out(engine: Engine) -> None:
    uid = create_user(engine, SYSTEM, "王质检", "reviewer", "long-enough-1")
    token = start_session(engine, uid, now=NOW)
    other = start_session(engine, uid, now=NOW)  # a second browser
    assert token != other and len(token) >= 40
    assert resume_session(engine, token, now=NOW + timedelta(hours=1)) == Principal(uid, "王质检", "reviewer", None)
    with engine.connect() as conn:
        stored = list(conn.scalars(select(SignInSession.token_hash)))
    assert token not in stored and all(len(h) == 64 for h in stored)  # only the hash is kept
    end_session(engine, token, now=NOW + timedelta(hours=2))
    assert resume_session(engine, token, now=NOW + timedelta(hours=2)) is None
    assert resume_session(engine, other, now=NOW + timedelta(hours=2)) is not None  # the other browser stays


def test_expired_unknown_and_disabled_sessions_sign_nobody_in(engine: Engine) -> None:
    uid = create_user(engine, SYSTEM, "张培训", "trainer", "long-enough-1")
    token = start_session(engine, uid, now=NOW)
    assert resume_session(engine, token, now=NOW + timedelta(hours=SESSION_HOURS, seconds=1)) is None
    for forged in ("", "x" * 43, "\ud800", "y" * 10_000):
        assert resume_session(engine, forged, now=NOW) is None
    fresh = start_session(engine, uid, now=NOW)
    with engine.begin() as conn:
        conn.execute(update(User).where(User.id == uid).values(active=False))
    assert resume_session(engine, fresh, now=NOW) is None


def test_setting_a_password_signs_every_browser_out(engine: Engine) -> None:
    uid = create_user(engine, SYSTEM, "陈经理", "qa_manager", "long-enough-1")
    tokens = [start_session(engine, uid) for _ in range(2)]
    set_password(engine, SYSTEM, "陈经理", "another-pass-2")
    assert [resume_session(engine, t) for t in tokens] == [None, None]
