"""People who use Huifang: reviewers, trainers and managers sign what they write."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, select

from qa.busy import retry_when_busy
from qa.models import User

__all__ = ["ROLES", "DEMO_USERS", "list_users", "get_or_create_user", "ensure_demo_users"]

ROLES = {"qa": "质检", "trainer": "培训", "manager": "管理"}
DEMO_USERS = [("王质检", "qa"), ("李质检", "qa"), ("张培训", "trainer"), ("陈经理", "manager")]


def list_users(conn: Connection) -> list[tuple[int, str, str]]:
    """(id, name, role) of every user, by name."""
    rows = conn.execute(select(User.id, User.name, User.role).order_by(User.name))
    return [(uid, name, role) for uid, name, role in rows]


@retry_when_busy
def get_or_create_user(engine: Engine, name: str, role: str = "qa") -> int:
    """The id of the user called ``name``, created on first use (names are how reviewers know each other)."""
    name = name.strip()[:100]
    if not name:
        raise ValueError("用户名不能为空")
    with engine.begin() as conn:
        uid = conn.scalar(select(User.id).where(User.name == name))
        if uid is None:
            uid = conn.execute(insert(User).values(name=name, role=role).returning(User.id)).scalar_one()
    return uid


def ensure_demo_users(engine: Engine) -> None:
    """Two QA reviewers, a trainer and a manager, so the demo can show agreement and coaching."""
    for name, role in DEMO_USERS:
        get_or_create_user(engine, name, role)
