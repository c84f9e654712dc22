"""Coaching lists: good and bad examples per agent or topic, and their export as shareable files.

Trainers collect conversations (optionally one message in them) with a note on what to learn, then hand the list
out as Markdown, a self-contained HTML page (the same chat bubbles as the replay page) or an Excel workbook with
the transcripts. Transcripts are hostile input: escaped in Markdown/HTML and written as plain text in Excel so a
message starting with "=" is never a formula.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Connection, Engine, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from qa.access import require_user
from qa.audit import record
from qa.busy import retry_when_busy
from qa.errors import HuifangError, NotFoundError
from qa.ingest.privacy import mask_text
from qa.models import (
    Agent,
    AgentSegment,
    CoachingItem,
    CoachingList,
    Conversation,
    ConversationScore,
    Message,
    Platform,
    Shop,
    User,
)
from qa.review.replay import ROLE_NAMES, Replay, chat_html, load_replay

__all__ = [
    "KINDS",
    "CoachingError",
    "add_item",
    "add_to_new_list",
    "coaching_lists",
    "create_list",
    "delete_list",
    "export_excel",
    "export_html",
    "export_markdown",
    "handled_by",
    "list_items",
    "remove_item",
    "update_list",
]

KINDS = {"good": "好例", "bad": "反例"}


class CoachingError(HuifangError):
    """A coaching list or item that cannot be created as asked (duplicate name, duplicate item, bad kind)."""


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _create_list(conn: Connection, name: str, note: str, topic: str, agent: str | None,
                 user_id: int | None) -> int:
    require_user(conn, user_id, "coach")
    name = name.strip()
    if not name:
        raise CoachingError("清单名称不能为空")
    if conn.scalar(select(CoachingList.id).where(CoachingList.name == name)) is not None:
        raise CoachingError(f"已有名为“{name}”的清单，请换一个名称或直接往那个清单里添加")
    agent_id = None
    if agent:
        agent_id = conn.scalar(select(Agent.id).where(Agent.name == agent))
        if agent_id is None:
            raise NotFoundError(f"找不到坐席“{agent}”")
    list_id = conn.execute(insert(CoachingList).values(
        name=name[:200], agent_id=agent_id, topic=topic.strip()[:200], note=note.strip(), created_by=user_id,
        created_at=_now()).returning(CoachingList.id)).scalar_one()
    record(conn, user_id, "create", "coaching_list", list_id, None, _list_view(conn, list_id))
    return list_id


def _list_view(conn: Connection, list_id: int) -> dict | None:
    cl = CoachingList
    row = conn.execute(select(cl.name, cl.agent_id, cl.topic, cl.note).where(cl.id == list_id)).mappings().first()
    return None if row is None else dict(row)


def _item_view(conn: Connection, item_id: int) -> dict | None:
    i = CoachingItem
    row = conn.execute(select(i.list_id, i.conversation_id, i.message_id, i.kind, i.note)
                       .where(i.id == item_id)).mappings().first()
    return None if row is None else dict(row)


@retry_when_busy
def create_list(engine: Engine, name: str, *, note: str = "", topic: str = "", agent: str | None = None,
                user_id: int | None = None) -> int:
    """A new named list, optionally for one agent; returns its id."""
    with engine.begin() as conn:
        return _create_list(conn, name, note, topic, agent, user_id)


@retry_when_busy
def update_list(engine: Engine, list_id: int, *, note: str, topic: str, user_id: int | None = None) -> None:
    """Change what a list is about and what to learn from it."""
    with engine.begin() as conn:
        require_user(conn, user_id, "coach")
        before = _list_view(conn, list_id)
        if before is None:
            raise NotFoundError(f"培训清单 {list_id} 不存在（可能已被删除）")
        conn.execute(update(CoachingList).where(CoachingList.id == list_id)
                     .values(note=note.strip(), topic=topic.strip()[:200]))
        record(conn, user_id, "update", "coaching_list", list_id, before, _list_view(conn, list_id))


@retry_when_busy
def delete_list(engine: Engine, list_id: int, *, user_id: int | None = None) -> None:
    """Delete a list and its items (the conversations themselves stay; the audit trail keeps what it held)."""
    with engine.begin() as conn:
        require_user(conn, user_id, "delete")
        before = _list_view(conn, list_id)
        if before is None:
            return
        i = CoachingItem
        items = conn.execute(select(i.conversation_id, i.message_id, i.kind, i.note).where(i.list_id == list_id))
        record(conn, user_id, "delete", "coaching_list", list_id, {**before, "items": [dict(r._mapping) for r in items]})
        conn.execute(delete(CoachingItem).where(CoachingItem.list_id == list_id))
        conn.execute(delete(CoachingList).where(CoachingList.id == list_id))


def coaching_lists(conn: Connection) -> pd.DataFrame:
    """Every list with its agent, topic, note, item counts and author, newest first."""
    i = CoachingItem
    counts = (select(i.list_id, func.count().label("items"),
                     func.sum(case((i.kind == "good", 1), else_=0)).label("good"),
                     func.sum(case((i.kind == "bad", 1), else_=0)).label("bad"))
              .group_by(i.list_id).subquery())
    cl = CoachingList
    rows = conn.execute(
        select(cl.id, cl.name, Agent.name.label("agent"), cl.topic, cl.note,
               func.coalesce(counts.c["items"], 0).label("items"), func.coalesce(counts.c.good, 0).label("good"),
               func.coalesce(counts.c.bad, 0).label("bad"), User.name.label("created_by"), cl.created_at)
        .outerjoin(counts, counts.c.list_id == cl.id).outerjoin(Agent, Agent.id == cl.agent_id)
        .outerjoin(User, User.id == cl.created_by).order_by(cl.created_at.desc(), cl.id.desc())).mappings().all()
    return pd.DataFrame(rows, columns=["id", "name", "agent", "topic", "note", "items", "good", "bad", "created_by",
                                       "created_at"])


def _add_item(conn: Connection, list_id: int, conversation_id: int, kind: str, note: str,
              message_id: int | None, user_id: int | None) -> int:
    require_user(conn, user_id, "coach")
    if kind not in KINDS:
        raise CoachingError(f"类型须是 {'、'.join(KINDS)}（{'、'.join(KINDS.values())}）")
    if conn.scalar(select(CoachingList.id).where(CoachingList.id == list_id)) is None:
        raise NotFoundError(f"培训清单 {list_id} 不存在（可能已被删除）")
    if conn.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在")
    if message_id is not None and conn.scalar(
            select(Message.conversation_id).where(Message.id == message_id)) != conversation_id:
        raise NotFoundError(f"消息 {message_id} 不属于会话 {conversation_id}")
    i = CoachingItem
    same = (i.list_id == list_id, i.conversation_id == conversation_id,
            i.message_id.is_(None) if message_id is None else i.message_id == message_id)
    if conn.scalar(select(i.id).where(*same)) is not None:
        raise CoachingError("这条会话（消息）已在该清单中")
    try:
        item_id = conn.execute(insert(i).values(
            list_id=list_id, conversation_id=conversation_id, message_id=message_id, kind=kind,
            note=note.strip(), added_by=user_id, added_at=_now()).returning(i.id)).scalar_one()
    except IntegrityError:  # a concurrent add of the same item
        raise CoachingError("这条会话（消息）已在该清单中") from None
    record(conn, user_id, "create", "coaching_item", item_id, None, _item_view(conn, item_id))
    return item_id


@retry_when_busy
def add_item(engine: Engine, list_id: int, conversation_id: int, *, kind: str, note: str = "",
             message_id: int | None = None, user_id: int | None = None) -> int:
    """Add a conversation (or one message of it) to a list as a good or bad example; returns the item id."""
    with engine.begin() as conn:
        return _add_item(conn, list_id, conversation_id, kind, note, message_id, user_id)


@retry_when_busy
def add_to_new_list(engine: Engine, name: str, conversation_id: int, *, kind: str, note: str = "",
                    message_id: int | None = None, agent: str | None = None, user_id: int | None = None) -> int:
    """Create a list and put its first item in, in one transaction (the replay page's "新建清单"); returns the list id."""
    with engine.begin() as conn:
        list_id = _create_list(conn, name, "", "", agent, user_id)
        _add_item(conn, list_id, conversation_id, kind, note, message_id, user_id)
        return list_id


@retry_when_busy
def remove_item(engine: Engine, item_id: int, *, user_id: int | None = None) -> None:
    """Take one item off its list."""
    with engine.begin() as conn:
        require_user(conn, user_id, "coach")
        before = _item_view(conn, item_id)
        if before is None:
            return
        record(conn, user_id, "delete", "coaching_item", item_id, before)
        conn.execute(delete(CoachingItem).where(CoachingItem.id == item_id))


def list_items(conn: Connection, list_id: int) -> pd.DataFrame:
    """A list's items with the conversation's dimensions and the chosen message, in the order they were added.

    ``agent`` is who the item is about: the sender of the chosen message, else the conversation's agents in the
    order they handled it ("小安→阿强" for a transferred chat, ``qa.analytics.segments``).
    """
    i, c, s = CoachingItem, Conversation, ConversationScore
    sender = aliased(Agent)
    rows = conn.execute(
        select(i.id, i.kind, i.conversation_id, c.external_id, Platform.name.label("platform"),
               Shop.name.label("shop"), func.coalesce(sender.name, Agent.name).label("agent"), c.started_at, c.csat,
               s.dissatisfaction_risk.label("risk"), i.message_id, Message.seq.label("seq"),
               Message.text.label("message_text"), i.note, User.name.label("added_by"), i.added_at)
        .join(c, c.id == i.conversation_id).outerjoin(s, s.conversation_id == c.id)
        .outerjoin(Platform, Platform.id == c.platform_id).outerjoin(Shop, Shop.id == c.shop_id)
        .outerjoin(Agent, Agent.id == c.agent_id).outerjoin(Message, Message.id == i.message_id)
        .outerjoin(sender, sender.id == Message.agent_id)
        .outerjoin(User, User.id == i.added_by)
        .where(i.list_id == list_id).order_by(i.added_at, i.id)).mappings().all()
    df = pd.DataFrame(rows, columns=["id", "kind", "conversation_id", "external_id", "platform", "shop", "agent",
                                     "started_at", "csat", "risk", "message_id", "seq", "message_text", "note",
                                     "added_by", "added_at"])
    handlers = handled_by(conn, list(df["conversation_id"]))
    whole = df["message_id"].isna()
    df.loc[whole, "agent"] = [handlers.get(cid) or agent
                              for cid, agent in zip(df.loc[whole, "conversation_id"], df.loc[whole, "agent"])]
    return df


def handled_by(conn: Connection, conversation_ids: list[int]) -> dict[int, str]:
    """"小安→阿强": each conversation's agents in the order they handled it, from its segments."""
    g = AgentSegment
    out: dict[int, list[str]] = {}
    for cid, name in conn.execute(select(g.conversation_id, Agent.name).join(Agent, Agent.id == g.agent_id)
                                  .where(g.conversation_id.in_(conversation_ids))
                                  .order_by(g.conversation_id, g.segment)):
        names = out.setdefault(cid, [])
        if not names or names[-1] != name:
            names.append(name)
    return {cid: "→".join(names) for cid, names in out.items()}


@dataclass(frozen=True)
class _Export:
    name: str
    agent: str | None
    topic: str
    note: str
    items: pd.DataFrame
    replays: dict[int, Replay]


def _export_data(conn: Connection, list_id: int) -> _Export:
    lists = coaching_lists(conn)
    row = lists[lists["id"] == list_id]
    if row.empty:
        raise NotFoundError(f"培训清单 {list_id} 不存在（可能已被删除）")
    info = row.iloc[0]
    items = _masked(list_items(conn, list_id), "message_text", "note")  # files leave the building: masked
    replays = {cid: load_replay(conn, cid) for cid in dict.fromkeys(items["conversation_id"])}
    replays = {cid: replace(rp, messages=_masked(rp.messages, "text")) for cid, rp in replays.items()}
    return _Export(info["name"], info["agent"], info["topic"], info["note"], items, replays)


def _masked(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with personal data in the text ``columns`` masked (``qa.ingest.privacy``)."""
    return frame.assign(**{c: [mask_text(v) if isinstance(v, str) else v for v in frame[c]] for c in columns})


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|>~])")


def _md(text: object) -> str:
    """Plain text made inert in Markdown: HTML escaped, Markdown punctuation backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text))).replace("\r", " ").replace("\n", " ")


def _when(ts: object) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if isinstance(ts, datetime) else ""


def _item_title(n: int, item: pd.Series) -> str:
    return f"{n}. {KINDS.get(item.kind, item.kind)} · 会话 {item.external_id}"


def _item_facts(item: pd.Series) -> str:
    facts = [item.platform, item.shop, item.agent, _when(item.started_at)]
    if pd.notna(item.csat):
        facts.append(f"CSAT {item.csat:.0f}")
    if pd.notna(item.risk):
        facts.append(f"不满风险 {item.risk:.2f}")
    return " · ".join(str(f) for f in facts if f is not None and not (isinstance(f, float) and pd.isna(f)))


def export_markdown(conn: Connection, list_id: int) -> str:
    """The list as Markdown: what to learn, then each item with its note and escaped transcript."""
    ex = _export_data(conn, list_id)
    out = [f"# 培训清单：{_md(ex.name)}", ""]
    if ex.agent:
        out.append(f"- 坐席：{_md(ex.agent)}")
    if ex.topic:
        out.append(f"- 主题：{_md(ex.topic)}")
    good, bad = (ex.items["kind"] == "good").sum(), (ex.items["kind"] == "bad").sum()
    out += [f"- 条目：{len(ex.items)}（好例 {good}，反例 {bad}）", ""]
    if ex.note:
        out += ["## 学习要点", "", *(f"- {_md(line)}" for line in ex.note.splitlines() if line.strip()), ""]
    for n, (_i, item) in enumerate(ex.items.iterrows(), 1):
        out += [f"## {_md(_item_title(n, item))}", "", _md(_item_facts(item)), ""]
        if item.note:
            out += [f"**点评**：{_md(item.note)}", ""]
        if pd.notna(item.seq):
            out += [f"**重点消息 #{item.seq + 1:.0f}**：{_md(item.message_text)}", ""]
        for _j, m in ex.replays[item.conversation_id].messages.iterrows():
            who = m.agent if m.role == "agent" and isinstance(m.agent, str) else ROLE_NAMES.get(m.role, m.role)
            mark = " ⬅" if m.id == item.message_id else ""
            ts = m.ts.strftime("%H:%M:%S") if pd.notna(m.ts) else ""
            out.append(f"> **#{m.seq + 1} {_md(who)}** {ts}：{_md(m.text)}{mark}  ")
        out.append("")
    return "\n".join(out)


_PAGE_STYLE = ("body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;max-width:920px;"
               "margin:2em auto;padding:0 1em;color:#222}h2{border-top:1px solid #ddd;padding-top:1em}"
               ".facts{color:#666;font-size:.9em}.good{color:#2ca02c}.bad{color:#d62728}"
               ".note{background:#fffbe6;border-left:4px solid #f0c36d;padding:.5em 1em}")


def export_html(conn: Connection, list_id: int) -> str:
    """The list as one self-contained HTML page with the replay page's chat bubbles (all text escaped)."""
    ex = _export_data(conn, list_id)
    e = html.escape
    facts = [f"坐席：{ex.agent}" if ex.agent else "", f"主题：{ex.topic}" if ex.topic else "", f"条目 {len(ex.items)}"]
    parts = [(f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>培训清单：{e(ex.name)}</title>"
              f"<style>{_PAGE_STYLE}</style></head><body><h1>培训清单：{e(ex.name)}</h1>"),
             f"<p class='facts'>{' · '.join(e(x) for x in facts if x)}</p>"]
    if ex.note:
        parts.append(f"<div class='note'><b>学习要点</b><br>{e(ex.note).replace(chr(10), '<br>')}</div>")
    for n, (_i, item) in enumerate(ex.items.iterrows(), 1):
        parts.append(f"<h2 class='{e(item.kind)}'>{e(_item_title(n, item))}</h2>"
                     f"<p class='facts'>{e(_item_facts(item))}</p>")
        if item.note:
            parts.append(f"<div class='note'><b>点评</b>：{e(item.note)}</div>")
        if pd.notna(item.seq):
            parts.append(f"<p><b>重点消息 #{item.seq + 1:.0f}</b>：{e(item.message_text)}</p>")
        parts.append(chat_html(ex.replays[item.conversation_id].messages))
    parts.append("</body></html>")
    return "".join(parts)


def _write_sheet(ws: Worksheet, header: list[str], rows: list[list[object]], widths: list[int]) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for values in rows:
        ws.append([None if (isinstance(v, float) and pd.isna(v)) else v for v in values])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":  # text such as "=HYPERLINK(...)" from a transcript stays text
                cell.data_type = "s"
            if isinstance(cell.value, str) and len(cell.value) > 40:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCDEFGHIJKLMNOP", widths, strict=False):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"


def export_excel(conn: Connection, list_id: int) -> bytes:
    """The list as an .xlsx workbook: a sheet of items and a sheet of transcripts."""
    ex = _export_data(conn, list_id)
    wb = Workbook()
    items = wb.active
    items.title = "条目"
    _write_sheet(items, ["序号", "类型", "会话号", "平台", "店铺", "坐席", "开始时间", "CSAT", "不满风险", "重点消息",
                         "消息内容", "点评", "添加人", "添加时间"],
                 [[n, KINDS.get(it.kind, it.kind), it.external_id, it.platform, it.shop, it.agent, it.started_at,
                   it.csat, it.risk, None if pd.isna(it.seq) else int(it.seq) + 1, it.message_text, it.note,
                   it.added_by, it.added_at] for n, (_i, it) in enumerate(ex.items.iterrows(), 1)],
                 [6, 8, 18, 8, 22, 10, 20, 7, 10, 9, 40, 40, 10, 20])
    transcripts = wb.create_sheet("对话")
    rows = []
    for rp in ex.replays.values():
        for _j, m in rp.messages.iterrows():
            rows.append([rp.header.external_id, int(m.seq) + 1, m.ts, ROLE_NAMES.get(m.role, m.role),
                         m.agent if isinstance(m.agent, str) else m.sender, m.text, m.wait_s,
                         None if pd.isna(m.sla_breach) else ("是" if m.sla_breach else "否"), "；".join(m.rule_hits)])
    _write_sheet(transcripts, ["会话号", "序号", "时间", "角色", "发送者", "内容", "等待(秒)", "超 SLA", "规则命中"],
                 rows, [18, 6, 20, 8, 12, 60, 9, 7, 16])
    info = wb.create_sheet("说明")
    _write_sheet(info, ["项目", "内容"], [["清单", ex.name], ["坐席", ex.agent], ["主题", ex.topic],
                                       ["学习要点", ex.note], ["导出时间", _now()]], [12, 80])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
