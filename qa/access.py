"""Who may do what: roles, their permissions, and the check every write function makes.

The check lives here, in the domain, and the write functions in ``qa`` call it themselves, so a page that forgets
to hide a button still cannot write. Pages use the same table to decide what to show. The principal of a user id
is read from the database at each write (``principal_of``), so a role taken away takes effect at once.

Visibility: an agent sees only their own conversations (and the reviews on them); an executive sees aggregates
(dashboards, agent scorecards) but no single conversation; everyone else sees every conversation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import Connection, select

from qa.analytics.filters import Filters
from qa.errors import HuifangError
from qa.models import Agent, Conversation, User

__all__ = [
    "ROLES",
    "PERMISSIONS",
    "SYSTEM",
    "AccessDenied",
    "Principal",
    "allowed",
    "can_view_conversation",
    "principal_named",
    "principal_of",
    "require",
    "require_conversation",
    "require_user",
    "scope_filters",
]

ROLES: dict[str, str] = {
    "admin": "管理员",
    "qa_manager": "质检主管",
    "reviewer": "质检员",
    "trainer": "培训师",
    "agent": "坐席",
    "executive": "管理层",
}

PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    # permission: (roles holding it, what it lets one do — named in the refusal)
    "import": (frozenset({"admin"}), "导入数据"),
    "delete": (frozenset({"admin"}), "删除数据"),
    "train": (frozenset({"admin"}), "重新训练模型"),
    "score": (frozenset({"admin", "qa_manager"}), "运行评分"),
    "manage_users": (frozenset({"admin"}), "管理账号"),
    "audit": (frozenset({"admin"}), "查看审计记录"),
    "review": (frozenset({"admin", "qa_manager", "reviewer"}), "评审和批注会话"),
    "assign": (frozenset({"admin", "qa_manager", "reviewer"}), "分配质检任务"),
    "assign_others": (frozenset({"admin", "qa_manager"}), "给别人分配质检任务"),
    "coach": (frozenset({"admin", "qa_manager", "trainer"}), "编辑培训清单"),
    "manage_program": (frozenset({"admin", "qa_manager"}), "管理质检方案（评分表、校准、申诉处理、预警）"),
    "answer_review": (frozenset({"agent"}), "确认或申诉自己会话的评审"),
    "view_conversations": (frozenset({"admin", "qa_manager", "reviewer", "trainer", "agent"}), "查看单条会话"),
}


class AccessDenied(HuifangError):
    """The signed-in user's role does not allow this (or nobody is signed in)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in account (``agent_name`` set for an agent's account)."""

    user_id: int | None
    name: str
    role: str
    agent_name: str | None = None


SYSTEM = Principal(None, "命令行", "admin")
"""The command line and the demo set-up: whoever can run them can already read and write the database file."""


def allowed(principal: Principal | None, permission: str) -> bool:
    """Whether ``principal`` holds ``permission`` (for pages deciding what to show)."""
    roles, _what = PERMISSIONS[permission]
    return principal is not None and principal.role in roles


def require(principal: Principal | None, permission: str) -> None:
    """Raise AccessDenied, naming what was refused and which roles may do it, unless ``principal`` may."""
    if allowed(principal, permission):
        return
    roles, what = PERMISSIONS[permission]
    who = "、".join(ROLES[r] for r in ROLES if r in roles)
    if principal is None:
        raise AccessDenied(f"请先登录：{what}需要登录（{who}）")
    raise AccessDenied(f"{principal.name}（{ROLES.get(principal.role, principal.role)}）没有权限{what}：仅限{who}")


def principal_of(conn: Connection, user_id: int | None) -> Principal | None:
    """The active account ``user_id`` as a Principal, or None (no such account, or disabled)."""
    if user_id is None:
        return None
    row = conn.execute(select(User.id, User.name, User.role, User.agent_name)
                       .where(User.id == user_id, User.active.is_(True))).first()
    return None if row is None else Principal(row.id, row.name, row.role, row.agent_name)


def principal_named(conn: Connection, name: str) -> Principal | None:
    """The active account called ``name`` (single sign-on matches the provider's e-mail address to it), or None."""
    return principal_of(conn, conn.scalar(select(User.id).where(User.name == name)))


def require_user(conn: Connection, user_id: int | None, permission: str) -> Principal:
    """The write functions' check for the user id they sign with (read afresh inside their transaction)."""
    principal = principal_of(conn, user_id)
    require(principal, permission)
    assert principal is not None
    return principal


def can_view_conversation(conn: Connection, principal: Principal | None, conversation_id: int) -> bool:
    """Agents see their own conversations only; executives none singly; other roles all."""
    if not allowed(principal, "view_conversations"):
        return False
    assert principal is not None
    if principal.role != "agent":
        return True
    agent = conn.scalar(select(Agent.name).join(Conversation, Conversation.agent_id == Agent.id)
                        .where(Conversation.id == conversation_id))
    return agent is not None and agent == principal.agent_name


def require_conversation(conn: Connection, principal: Principal | None, conversation_id: int) -> None:
    """Raise AccessDenied unless ``principal`` may open this conversation."""
    if not can_view_conversation(conn, principal, conversation_id):
        require(principal, "view_conversations")  # explains a missing role first
        raise AccessDenied("坐席账号只能查看自己接待的会话")


def scope_filters(principal: Principal | None, f: Filters) -> Filters:
    """The filters narrowed to what ``principal`` may list: an agent's always name only their own agent."""
    if principal is not None and principal.role == "agent":
        return dataclasses.replace(f, agents=(principal.agent_name or "",))
    return f
