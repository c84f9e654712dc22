"""Staying signed in: a random token per signed-in browser, kept in a cookie, so a reload or a link opened in a
new tab (a case handed round in a chat tool) does not ask for the password again.

Only the token's SHA-256 is stored: a copy of the database or a backup signs nobody in. A session lasts
``SESSION_HOURS`` from signing in, ends when its browser signs out, and every session of an account ends when its
password is set again; an account disabled since is refused by ``principal_of`` as on every run. The cookie is
readable by the page's scripts (Streamlit cannot set an HttpOnly cookie from a running app), which is why imported
and typed text is never rendered as HTML (SECURITY.md).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from qa.access import Principal, principal_of
from qa.busy import retry_when_busy
from qa.models import SignInSession

__all__ = ["COOKIE", "SESSION_HOURS", "end_session", "end_sessions_of", "resume_session", "start_session"]

COOKIE = "huifang_session"
SESSION_HOURS = 12
"""A working day and its evening: a reviewer signs in once a day; a forgotten browser is not signed in for ever."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@retry_when_busy
def start_session(engine: Engine, user_id: int, now: datetime | None = None) -> str:
    """A new session for a signed-in account; returns the token for the browser's cookie (never stored)."""
    now = now or datetime.now()
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(insert(SignInSession).values(token_hash=_digest(token), user_id=user_id, created_at=now,
                                                  expires_at=now + timedelta(hours=SESSION_HOURS)))
    return token


def resume_session(engine: Engine, token: str, now: datetime | None = None) -> Principal | None:
    """The account a browser's token still signs in, or None (unknown, ended, expired, or the account disabled)."""
    if not token or len(token) > 200:
        return None
    s = SignInSession
    with engine.connect() as conn:
        uid = conn.scalar(select(s.user_id).where(s.token_hash == _digest(token), s.ended_at.is_(None),
                                                  s.expires_at > (now or datetime.now())))
        return principal_of(conn, uid) if uid is not None else None


@retry_when_busy
def end_session(engine: Engine, token: str, now: datetime | None = None) -> None:
    """Sign a browser out: its token no longer signs anyone in, even if the cookie is still there."""
    with engine.begin() as conn:
        conn.execute(update(SignInSession).where(SignInSession.token_hash == _digest(token),
                                                 SignInSession.ended_at.is_(None))
                     .values(ended_at=now or datetime.now()))


def end_sessions_of(conn: Connection, user_id: int, now: datetime | None = None) -> None:
    """End every session of an account (its password was set again: other browsers must sign in anew)."""
    conn.execute(update(SignInSession).where(SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
                 .values(ended_at=now or datetime.now()))
