"""Accounts: people who use Huifang, their roles, and signing in with a password.

Passwords are stored only as salted argon2 hashes (pwdlib); a wrong name and a wrong password get the same
answer, and verifying runs the hash even for an unknown name so the two take about as long. Every sign-in and
failed attempt goes into the audit trail, and after ``SIGN_IN_LIMIT`` failures for one name within
``SIGN_IN_WINDOW`` that name is refused without checking the password until the window has passed: guessing a
password by trying is slowed to a handful of tries per quarter hour. The first start of an empty installation
creates one admin with a random password (``ensure_admin``), printed once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import Connection, Engine, func, insert, select, update

from qa.access import PERMISSIONS, ROLES, Principal, principal_of, require
from qa.audit import record
from qa.busy import retry_when_busy
from qa.errors import HuifangError
from qa.models import AuditEntry, User
from qa.review.sessions import end_sessions_of

__all__ = [
    "ROLES",
    "DEMO_USERS",
    "MIN_PASSWORD",
    "SIGN_IN_LIMIT",
    "SIGN_IN_WINDOW",
    "AccountError",
    "authenticate",
    "create_user",
    "ensure_admin",
    "ensure_demo_users",
    "get_or_create_user",
    "list_users",
    "users_who_may",
    "set_password",
]

MIN_PASSWORD = 8
SIGN_IN_LIMIT = 5
SIGN_IN_WINDOW = timedelta(minutes=15)
DEMO_USERS: list[tuple[str, str, str | None, str]] = [
    # (name, role, agent, password) — the demo's accounts, documented in the README; never for real data
    ("王质检", "reviewer", None, "demo-reviewer"),
    ("李质检", "reviewer", None, "demo-reviewer2"),
    ("张培训", "trainer", None, "demo-trainer"),
    ("陈经理", "qa_manager", None, "demo-manager"),
    ("演示管理员", "admin", None, "demo-admin"),
    ("刘总", "executive", None, "demo-executive"),
    ("小美", "agent", "小美", "demo-agent"),
]


class AccountError(HuifangError):
    """An account that cannot be created or changed as asked, or a sign-in that failed."""


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")


def _check_role(role: str, agent_name: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"未知的角色“{role}”，可选：{'、'.join(ROLES)}")
    if role == "agent" and not agent_name:
        raise AccountError("坐席账号须指定对应的坐席名（--agent），它只能看到这个坐席的会话")


def list_users(conn: Connection) -> list[tuple[int, str, str]]:
    """(id, name, role) of every user, by name."""
    rows = conn.execute(select(User.id, User.name, User.role).order_by(User.name))
    return [(uid, name, role) for uid, name, role in rows]


def users_who_may(conn: Connection, permission: str) -> list[str]:
    """Names of the accounts whose role holds ``permission`` (e.g. "review"), by name: pickers offer only
    people who could act, so a choice is never refused later."""
    roles, _what = PERMISSIONS[permission]
    return list(conn.scalars(select(User.name).where(User.role.in_(sorted(roles))).order_by(User.name)))


@retry_when_busy
def get_or_create_user(engine: Engine, name: str, role: str = "reviewer") -> int:
    """The id of the user called ``name``, created without a password on first use (data set-up and tests; such
    an account cannot sign in until ``set_password``)."""
    name = name.strip()[:100]
    if not name:
        raise AccountError("用户名不能为空")
    with engine.begin() as conn:
        uid = conn.scalar(select(User.id).where(User.name == name))
        if uid is None:
            uid = conn.execute(insert(User).values(name=name, role=role, agent_name=name if role == "agent" else None,
                                                   active=True).returning(User.id)).scalar_one()
    return uid


@retry_when_busy
def create_user(engine: Engine, by: Principal, name: str, role: str, password: str,
                agent_name: str | None = None) -> int:
    """A new account with a password (admins only); returns its id."""
    require(by, "manage_users")
    name = name.strip()[:100]
    if not name:
        raise AccountError("用户名不能为空")
    _check_role(role, agent_name)
    _check_password(password)
    with engine.begin() as conn:
        if conn.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountError(f"已有名为“{name}”的账号；要改密码请用 huifang user passwd")
        uid = conn.execute(insert(User).values(
            name=name, role=role, agent_name=agent_name, active=True, password_hash=_hasher().hash(password))
            .returning(User.id)).scalar_one()
        record(conn, by.user_id, "create", "user", uid, None, {"name": name, "role": role, "agent_name": agent_name})
    return uid


@retry_when_busy
def set_password(engine: Engine, by: Principal, name: str, password: str) -> None:
    """Set an account's password (admins for anyone, everyone for themselves); every browser signed in to it
    is signed out."""
    if by.name != name.strip():
        require(by, "manage_users")
    _check_password(password)
    with engine.begin() as conn:
        uid = conn.scalar(select(User.id).where(User.name == name.strip()))
        if uid is None:
            raise AccountError(f"没有名为“{name}”的账号")
        conn.execute(update(User).where(User.id == uid).values(password_hash=_hasher().hash(password)))
        end_sessions_of(conn, uid)
        record(conn, by.user_id, "update", "user", uid, None, {"password": "changed"})


@retry_when_busy
def authenticate(engine: Engine, name: str, password: str) -> Principal:
    """The account for a name and password, or AccountError with one message for every way of failing (a name
    with too many recent failures gets its own, which says when to try again)."""
    name = name.strip()[:100]
    with engine.begin() as conn:
        failures = _recent_failures(conn, name)
        if failures >= SIGN_IN_LIMIT:
            minutes = int(SIGN_IN_WINDOW.total_seconds() // 60)
            raise AccountError(f"“{name}”最近 {minutes} 分钟内登录失败 {failures} 次，已暂停登录：请 {minutes} 分钟后"
                               "再试，或请管理员重设密码")
        row = conn.execute(select(User.id, User.password_hash).where(User.name == name, User.active.is_(True))
                           ).first()
        stored = row.password_hash if row is not None else None
        # verify against a dummy hash when there is none, so an unknown name costs as long as a wrong password
        ok = _hasher().verify(password, stored or _dummy_hash())
        principal = principal_of(conn, row.id) if ok and row is not None and stored else None
        record(conn, row.id if row is not None else None, "sign_in" if principal else "sign_in_failed", "account",
               name)
    if principal is None:
        raise AccountError("用户名或密码不正确")
    return principal


def _recent_failures(conn: Connection, name: str) -> int:
    """Failed attempts for ``name`` within the window and since its last successful sign-in."""
    a = AuditEntry
    since = datetime.now() - SIGN_IN_WINDOW
    last_ok = conn.scalar(select(func.max(a.at)).where(a.entity == "account", a.entity_id == name,
                                                        a.action == "sign_in"))
    if last_ok is not None and last_ok > since:
        since = last_ok
    return int(conn.scalar(select(func.count()).where(a.entity == "account", a.entity_id == name,
                                                      a.action == "sign_in_failed", a.at > since)) or 0)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


@retry_when_busy
def ensure_admin(engine: Engine, name: str = "admin") -> str | None:
    """On an installation where no admin can sign in, create (or re-key) ``name`` as admin with a random
    password and return that password (shown once); None when an admin with a password exists."""
    with engine.begin() as conn:
        if conn.scalar(select(User.id).where(User.role == "admin", User.active.is_(True),
                                             User.password_hash.is_not(None)).limit(1)) is not None:
            return None
        password = secrets.token_urlsafe(12)
        digest = _hasher().hash(password)
        uid = conn.scalar(select(User.id).where(User.name == name))
        if uid is None:
            uid = conn.execute(insert(User).values(name=name, role="admin", active=True, password_hash=digest)
                               .returning(User.id)).scalar_one()
        else:
            conn.execute(update(User).where(User.id == uid).values(role="admin", active=True, password_hash=digest))
        record(conn, None, "create", "user", uid, None, {"name": name, "role": "admin", "first_start": True})
    return password


@retry_when_busy
def ensure_demo_users(engine: Engine, *, passwords: bool = True) -> None:
    """One account per role with the documented demo passwords, so the demo can be tried as each of them
    (``passwords=False``: the accounts only, for test data that never signs in with a password)."""
    with engine.begin() as conn:
        for name, role, agent, password in DEMO_USERS:
            uid = conn.scalar(select(User.id).where(User.name == name))
            values = {"role": role, "agent_name": agent, "active": True}
            digest = {"password_hash": _hasher().hash(password)} if passwords else {}
            if uid is None:
                conn.execute(insert(User).values(name=name, **values, **digest))
            else:
                conn.execute(update(User).where(User.id == uid, User.password_hash.is_(None))
                             .values(**values, **digest))
