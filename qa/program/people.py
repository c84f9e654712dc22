"""Who does a write: the one place a user name becomes a user id.

Writes take ``actor`` (a user name) for now; when sign-in lands, this is the seam where the signed-in principal
plugs in, and nothing else in ``qa.program`` changes.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from qa.access import require_user
from qa.errors import NotFoundError
from qa.models import User

__all__ = ["acting_id", "user_id", "user_names"]


def user_id(conn: Connection, actor: str) -> int:
    """The id of the user called ``actor``."""
    uid = conn.scalar(select(User.id).where(User.name == actor.strip()))
    if uid is None:
        raise NotFoundError(f"用户“{actor}”不存在：请先添加该用户")
    return uid


def acting_id(conn: Connection, actor: str, permission: str) -> int:
    """The id of ``actor``, who must hold ``permission`` (checked here, so a page that shows a button to the wrong
    role still cannot write)."""
    uid = user_id(conn, actor)
    require_user(conn, uid, permission)
    return uid


def user_names(conn: Connection) -> dict[int, str]:
    """Every user's name by id (users are few: reviewers, managers, team leads, agents who dispute)."""
    return {uid: name for uid, name in conn.execute(select(User.id, User.name))}
