"""The audit trail: who changed what, when, with the record before and after.

Written by the write functions themselves, inside their own transaction, so a change and its entry are stored
together or not at all. There is no function to edit or delete an entry, and the table refuses UPDATE and DELETE
(triggers, migration 0010): the trail is the account of what happened, also for the people who made it happen.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, insert, select

from qa.access import Principal, require
from qa.models import AuditEntry, User

__all__ = ["ACTIONS", "record", "audit_trail"]

ACTIONS = {"create": "新建", "update": "修改", "delete": "删除", "import": "导入", "sign_in": "登录",
           "sign_in_failed": "登录失败"}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True,
                      default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v))


def record(conn: Connection, user_id: int | None, action: str, entity: str, entity_id: object,
           before: Any = None, after: Any = None) -> None:
    """Append one entry inside the caller's transaction; the user's name is copied so the entry still reads
    after the account is renamed or removed."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    name = conn.scalar(select(User.name).where(User.id == user_id)) if user_id is not None else None
    conn.execute(insert(AuditEntry).values(
        at=datetime.now(), user_id=user_id, user_name=name or "", action=action, entity=entity,
        entity_id="" if entity_id is None else str(entity_id), before=_json(before), after=_json(after)))


def audit_trail(conn: Connection, by: Principal | None, *, entity: str | None = None, entity_id: object = None,
                limit: int = 500) -> pd.DataFrame:
    """The newest entries first (optionally of one entity), for admins: id, at, user_name, action, entity,
    entity_id, before, after (JSON text)."""
    require(by, "audit")
    a = AuditEntry
    query = select(a.id, a.at, a.user_name, a.action, a.entity, a.entity_id, a.before, a.after)
    if entity is not None:
        query = query.where(a.entity == entity)
    if entity_id is not None:
        query = query.where(a.entity_id == str(entity_id))
    rows = conn.execute(query.order_by(a.id.desc()).limit(limit)).mappings().all()
    return pd.DataFrame(rows, columns=["id", "at", "user_name", "action", "entity", "entity_id", "before", "after"])
