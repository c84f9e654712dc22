"""The audit trail: who changed what, when, with the record before and after.

Written by the write functions themselves, inside their own transaction, so a change and its entry are stored
together or not at all. There is no function to edit or delete an entry, and the table refuses UPDATE and DELETE
(triggers, migration 0010): the trail is the account of what happened, also for the people who made it happen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, insert, select

from qa.access import ROLES, Principal, require
from qa.models import AuditEntry, User

__all__ = ["ACTIONS", "ENTITIES", "record", "audit_trail", "audit_table", "describe_change"]

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


ENTITIES = {"user": "账号", "account": "账号", "coaching_list": "培训清单", "coaching_item": "培训案例", "review": "复核", "note": "批注",
            "scorecard_review": "评分表复核", "import_batch": "导入批次", "conversation": "会话",
            "alert_rule": "预警规则"}
# What the views written by record() call their fields, as an admin reads them; a field not named here is shown
# under its own name rather than dropped.
_FIELDS = {
    "file": "文件", "format": "格式", "conversations_added": "新增会话", "conversations_merged": "合并会话",
    "conversations_unchanged": "未变会话", "messages_added": "新增消息", "tickets_added": "新增工单",
    "tickets_updated": "更新工单", "reviews_added": "新增商品评价", "reviews_updated": "补充商品评价",
    "rejected": "拒绝行", "name": "名称", "role": "角色", "agent_name": "坐席", "agent_id": "坐席编号",
    "password": "密码", "first_start": "首次启动创建", "topic": "主题", "note": "备注", "kind": "类型",
    "list_id": "清单编号", "conversation_id": "会话编号", "message_id": "消息编号", "reviewer_id": "复核人编号",
    "rubric_item": "评分项", "score": "得分", "verdict": "结论", "tags": "标签", "comment": "评语",
    "fatal_failed": "致命项不合格", "version": "版本", "version_id": "评分表版本", "ratings": "各项评分",
    "dispute": "申诉编号", "items": "案例", "source_key": "来源键", "started_at": "开始时间",
    "metric": "指标", "dimension": "维度", "value": "维度取值", "threshold": "阈值", "window_days": "天数", "min_volume": "最少会话数",
    "webhook_url": "推送地址", "enabled": "启用",
}
_VALUES = {"changed": "已修改", "good": "好例", "bad": "坏例", **ROLES}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:,.1f}".removesuffix(".0")
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (dict, list)):
        return f"{len(v)} 项"
    text = " ".join(str(v).split())
    text = _VALUES.get(text, text)
    return f"“{text[:30]}…”" if len(text) > 30 else text


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == 0 or v == {} or v == []


def describe_change(action: str, before: object, after: object) -> str:
    """An entry's before and after (JSON text) as one line an admin reads: what was set for a new or imported
    record and what a deletion removed, and for a change only the fields that changed ("得分 85.7 → 100")."""
    old = json.loads(before) if isinstance(before, str) and before else {}  # None, or NaN from a pandas column
    new = json.loads(after) if isinstance(after, str) and after else {}
    if action == "update" and old and new:
        parts = []
        for key in _in_order([*old, *new]):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                changed = sum(a.get(k) != b.get(k) for k in {*a, *b})
                parts.append(f"{_FIELDS.get(key, key)}改了 {changed} 项")
            else:
                parts.append(f"{_FIELDS.get(key, key)} {'空' if _empty(a) else _value(a)} → {'空' if _empty(b) else _value(b)}")
        return "；".join(parts) or "无变化"
    shown = new or old
    return "；".join(f"{_FIELDS.get(k, k)} {_value(shown[k])}" for k in _in_order(shown) if not _empty(shown[k]))


def _in_order(keys: Iterable[str]) -> list[str]:
    """Keys in the order of _FIELDS (the file before its counts), unknown ones last: the JSON is stored sorted."""
    rank = {k: i for i, k in enumerate(_FIELDS)}
    return sorted(dict.fromkeys(keys), key=lambda k: rank.get(k, len(rank)))


def audit_table(trail: pd.DataFrame) -> pd.DataFrame:
    """``audit_trail``'s entries with Chinese columns and the change said in words instead of JSON."""
    return pd.DataFrame({
        "时间": trail["at"], "操作人": trail["user_name"].replace("", "系统"), "操作": trail["action"].map(ACTIONS),
        "对象": trail["entity"].map(ENTITIES).fillna(trail["entity"]), "编号": trail["entity_id"],
        "内容": [describe_change(a, b, c) for a, b, c in zip(trail["action"], trail["before"], trail["after"],
                                                            strict=True)]})
