"""Spreadsheet exports (CSV, XLSX): one message per row, or one ticket per row.

Back offices name the same column a dozen ways, in Chinese or English; the alias table below is the single
place that knows them. Which kind of table a file is follows from its headers, never from the user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple, cast

from qa.errors import ImportFormatError
from qa.ingest.formats import arrow_csv
from qa.ingest.formats.base import Format, Sample
from qa.ingest.formats.spreadsheet import (
    ColumnBlock,
    Rows,
    last_rows,
    read_csv_header,
    read_csv_records,
    read_csv_rows,
)
from qa.ingest.identity import Claims, contradiction_rejection
from qa.ingest.normalize import (
    clean_cells,
    clean_text,
    parse_csat,
    parse_role,
    parse_stamp,
    parse_stamps,
    parse_time,
    stamps_at_once,
)
from qa.ingest.records import (
    ConversationColumns,
    ConversationRecord,
    MessageRecord,
    Rejection,
    TicketRecord,
)
from qa.ingest.rejections import unexpected

__all__ = ["FORMATS", "COLUMN_ALIASES", "map_columns", "table_kind", "parse_message_rows", "parse_message_blocks",
           "parse_ticket_rows", "require_message_columns", "unknown_table"]

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("会话id", "会话编号", "会话号", "会话", "对话id", "sessionid", "session_id", "conversation_id",
                        "conversationid", "chat_id"),
    "ts": ("时间", "发送时间", "消息时间", "timestamp", "ts", "time", "datetime", "created_at", "sent_at"),
    "role": ("发送方", "角色", "发送者角色", "身份", "role", "sender_role", "sender_type"),
    "sender": ("发送者", "发送人", "昵称", "sender", "from", "nick"),
    "agent": ("客服", "客服昵称", "客服名", "客服账号", "接待客服", "agent", "agent_name", "staff"),
    "text": ("内容", "消息内容", "聊天内容", "消息", "正文", "text", "content", "message", "body"),
    "platform": ("平台", "渠道", "platform", "channel"),
    "shop": ("店铺", "店铺名", "店铺名称", "shop", "store"),
    "order_id": ("订单号", "订单编号", "订单id", "order_id", "orderid", "order"),
    "csat": ("满意度", "评价", "满意度评价", "客户评价", "csat", "rating", "satisfaction"),
    "category": ("分类", "咨询类型", "问题类型", "工单类型", "类型", "category", "type", "topic"),
    "customer": ("顾客", "客户", "买家", "买家昵称", "客户昵称", "customer", "buyer"),
    "team": ("技能组", "组别", "团队", "team", "group"),
    "ticket_id": ("工单号", "工单id", "工单编号", "ticket_id", "ticketid", "ticket"),
    "status": ("状态", "工单状态", "status"),
    "created_at": ("创建时间", "提交时间", "申请时间", "opened_at", "created"),
    "closed_at": ("关闭时间", "完结时间", "结束时间", "closed_at", "closed", "resolved_at"),
    "outcome": ("处理结果", "退款状态", "售后结果", "结果", "outcome", "resolution"),
}
_LOOKUP = {alias: field for field, aliases in COLUMN_ALIASES.items() for alias in aliases}


def _norm_header(h: object) -> str:
    return clean_text(h).lower().replace(" ", "").replace("（", "(").split("(")[0]


def map_columns(headers: Sequence[object]) -> dict[str, str]:
    """Map canonical field names to the file's own header names (first match wins)."""
    found: dict[str, str] = {}
    for h in headers:
        field = _LOOKUP.get(_norm_header(h))
        if field and field not in found:
            found[field] = str(h)
    return found


def table_kind(cols: dict[str, str]) -> str | None:
    """'messages', 'tickets', or None when the headers fit neither."""
    if "text" in cols:
        return "messages"
    if "ticket_id" in cols:
        return "tickets"
    return None


_FILL_FIELDS = ("platform", "shop", "order_id", "category", "team", "customer", "ticket_id")
_MESSAGE_PARSERS: dict[str, Callable[[str], object]] = {"ts": parse_stamp, "csat": parse_csat}


def require_message_columns(cols: dict[str, str], file: str) -> None:
    """Raise ImportFormatError when a message table has no conversation id, or nothing that tells the role."""
    missing = [f for f in ("conversation_id",) if f not in cols]
    if "role" not in cols and "sender" not in cols and "agent" not in cols:
        missing.append("role")
    if missing:
        names = {"conversation_id": "会话ID", "role": "发送方/角色（或 发送者/客服昵称）"}
        raise ImportFormatError(
            file, "缺少必需的列：" + "、".join(names[m] for m in missing)
            + f"。已识别的列：{', '.join(cols.values()) or '无'}")


_Parsed = ConversationColumns | ConversationRecord | Rejection


def parse_message_rows(headers: list[str], rows: Rows, cols: dict[str, str], file: str, last: dict[str, int] | None = None
                       ) -> Iterator[_Parsed]:
    """Group message rows into conversations; a bad row is reported and skipped.

    Given ``last`` (see ``last_rows``), a conversation is passed on at its last row, so only conversations still
    open are held; without it, all are passed on at the end of the file, in order of first appearance.
    A conversation's rows are held as read and parsed together when it is complete (``_conversation``).
    """
    require_message_columns(cols, file)
    fields = list(cols)
    pick = itemgetter(*(headers.index(cols[f]) for f in fields))
    id_at = headers.index(cols["conversation_id"])
    open_: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    ids: dict[str, str] = {}  # id cell → cleaned id; ids repeat on every row of their conversation
    for row, cells in rows:
        conv_id = ids.get(cells[id_at])
        if conv_id is None:
            if len(ids) > 100_000:  # bounded, for files of one-row conversations
                ids.clear()
            conv_id = ids[cells[id_at]] = clean_text(cells[id_at])[:200]
        if not conv_id:
            yield Rejection(file, row, cols["conversation_id"], "会话ID为空")
            continue
        group = open_.get(conv_id)
        if group is None:
            group = open_[conv_id] = []
        group.append((row, pick(cells)))  # fields: at least the id, the text and what tells the role
        if last is not None and last.get(conv_id) == row:
            yield from _contained(conv_id, *_by_column(open_.pop(conv_id)), fields, cols, file)
    for conv_id, group in open_.items():
        yield from _contained(conv_id, *_by_column(group), fields, cols, file)


def _by_column(group: list[tuple[int, tuple[str, ...]]]) -> tuple[Sequence[int], list[list[str]]]:
    """A conversation's (row, cells) pairs as its row numbers and one cleaned column per field."""
    rows, cells = zip(*group)
    return rows, list(map(clean_cells, zip(*cells)))


def parse_message_blocks(blocks: Iterable[ColumnBlock], cols: dict[str, str], file: str, last: dict[str, int]
                         ) -> Iterator[_Parsed]:
    """``parse_message_rows`` for a table read in column blocks: the same records, taken a run of rows with the
    same id cell at a time instead of a row at a time.

    Each column of a block is cleaned, and its roles and times parsed, in one pass over the block
    (``_parse_columns``); a conversation that lies within one run takes its slice of those. One that spans runs
    or blocks, or lies in a block where something is to report, is held and parsed on its own (``_conversation``).
    """
    require_message_columns(cols, file)
    fields = list(cols)
    id_at = fields.index("conversation_id")
    open_: dict[str, tuple[list[int], list[list[str]]]] = {}
    for block in blocks:
        rows, columns = block.rows, list(map(clean_cells, block.columns))
        col = dict(zip(fields, columns))
        parsed = _parse_columns(col, stamps_at_once)
        for start, stop in zip(block.runs, block.runs[1:]):
            conv_id = columns[id_at][start][:200]
            if not conv_id:
                yield from (Rejection(file, rows[i], cols["conversation_id"], "会话ID为空")
                            for i in range(start, stop) if "".join(block.record(i)).strip())
                continue
            complete = last[conv_id] <= rows[stop - 1]
            group = open_.get(conv_id)
            if group is None and complete and parsed is not None and not _contradictory(col, start, stop):
                try:
                    assembled: _Parsed = _assemble(conv_id, rows[start], col, parsed, start, stop)
                except Exception as e:  # one conversation's rows, not the file (issue #12)
                    assembled = unexpected(file, rows[start], e, f"会话 {conv_id[:40]}（{stop - start:,} 行）")
                yield assembled
                continue
            if group is None:
                group = open_[conv_id] = ([], [[] for _ in fields])
            group[0].extend(rows[start:stop])
            for held, column in zip(group[1], columns):
                held.extend(column[start:stop])
            if complete:
                yield from _contained(conv_id, *open_.pop(conv_id), fields, cols, file)
    for conv_id, (rows, columns) in open_.items():
        yield from _contained(conv_id, rows, columns, fields, cols, file)


def _contained(conv_id: str, rows: Sequence[int], columns: list[list[str]], fields: list[str],
               cols: dict[str, str], file: str) -> list[_Parsed]:
    """``_conversation``, or the rejection of its rows when it raises what no check foresaw (issue #12)."""
    try:
        return list(_conversation(conv_id, rows, columns, fields, cols, file))
    except Exception as e:
        return [unexpected(file, rows[0], e, f"会话 {conv_id[:40]}（{len(rows):,} 行）")]


def _conversation(conv_id: str, rows: Sequence[int], columns: list[list[str]], fields: list[str],
                  cols: dict[str, str], file: str) -> Iterator[_Parsed]:
    """One conversation from its rows' cleaned cells (``clean_cells``), one list per field: column by column
    when every row is good, else row by row (``_row_by_row``), which gives the same record and says which row is
    bad (or contradicts an earlier row's platform, shop or CSAT) and why."""
    col = dict(zip(fields, columns))
    parsed = _parse_columns(col, parse_stamps)
    if parsed is None or _contradictory(col, 0, len(rows)):
        yield from _row_by_row(conv_id, rows, columns, fields, cols, file)
    else:
        yield _assemble(conv_id, rows[0], col, parsed, 0, len(rows))


def _contradictory(col: dict[str, list[str]], start: int, stop: int) -> bool:
    """Whether rows ``[start, stop)`` of one conversation give more than one platform, shop or CSAT (as written)."""
    return any(len(set(col[f][start:stop]) - {""}) > 1 for f in ("platform", "shop", "csat") if f in col)


class _Columns(NamedTuple):
    """What the rows of a message table say, parsed a column at a time: one value per row."""

    roles: list[str]
    stamps: list[str]
    agents: list[str]  # the agent a row names, "" where none
    csats: list[int | None] | None  # None: the table has no CSAT column


def _parse_columns(col: dict[str, list[str]], stamps_of: Callable[[list[str]], list[str] | None]) -> _Columns | None:
    """Roles, times, agents and CSATs of cleaned columns (a conversation's or a block's); None if a row is to report
    or ``stamps_of`` gives None."""
    blank = [""] * len(col["conversation_id"])
    senders, named = col.get("sender", blank), col.get("agent", blank)
    if "role" in col and all(col["role"]):
        roles = list(map(_role_word, col["role"]))
    else:
        roles = list(map(_row_role, col.get("role", repeat(None)), senders, named))
    if None in roles:
        return None
    try:
        stamps = stamps_of(col["ts"]) if "ts" in col else blank
        csats = [parse_csat(c) if c else None for c in col["csat"]] if "csat" in col else None
    except ValueError:
        return None
    if stamps is None:
        return None
    agents = [(a or (s.split(":", 1)[1] if ":" in s else "")) if r == "agent" else ""  # 店铺:客服 names the agent
              for r, a, s in zip(roles, named, senders)]
    return _Columns(roles, stamps, agents, csats)  # type: ignore[arg-type]


def _assemble(conv_id: str, first_row: int, col: dict[str, list[str]], parsed: _Columns, start: int, stop: int
              ) -> ConversationColumns:
    """The conversation held in rows ``[start, stop)`` of ``col`` and ``parsed``."""
    roles = parsed.roles[start:stop]
    senders = col["sender"][start:stop] if "sender" in col else [""] * (stop - start)
    csat = None if parsed.csats is None else next((c for c in reversed(parsed.csats[start:stop]) if c is not None),
                                                   None)
    record = ConversationRecord(external_id=conv_id, source_row=first_row, csat=csat)
    for f in _FILL_FIELDS:  # each the first value given, as _fill; the customer may be a customer's sender name
        if f in col and f != "customer":
            setattr(record, f, next(filter(None, col[f][start:stop]), "")[:200] or None)
    customers = col["customer"][start:stop] if "customer" in col else repeat("")
    record.customer = next(((c or s)[:200] for c, r, s in zip(customers, roles, senders)
                            if c or (r == "customer" and s)), None)
    return ConversationColumns(record, parsed.stamps[start:stop], roles, col["text"][start:stop],
                               parsed.agents[start:stop], senders)


def _row_by_row(conv_id: str, rows: Sequence[int], columns: list[list[str]], fields: list[str],
                cols: dict[str, str], file: str) -> Iterator[ConversationRecord | Rejection]:
    """One conversation parsed a row at a time: each bad row reported and skipped, the good ones kept."""
    conv: ConversationRecord | None = None
    claims = Claims()
    fill = [f for f in _FILL_FIELDS if f in cols]
    for row, cells in zip(rows, zip(*columns)):
        get = dict(zip(fields, cells))
        sender = get.get("sender", "")
        agent = get.get("agent", "")
        role = _row_role(get.get("role"), sender, agent)
        if role is None:
            value = get.get("role", sender)
            yield Rejection(file, row, cols.get("role", cols.get("sender")),
                            f"无法判断发送方“{value[:20]}”（应为 客服/顾客/机器人/系统 或 店铺名:客服名）", conv_id)
            continue
        (stamp, csat), problem = _parse_fields(get, cols, _MESSAGE_PARSERS, file, row)
        if problem:
            yield replace(problem, conversation=conv_id)  # the row's conversation keeps a gap (issue #13.4)
            continue
        claims, contradicted = claims.said(row, get.get("platform", "")[:200] or None,
                                           get.get("shop", "")[:200] or None, cast("int | None", csat))
        if contradicted:  # a row of the conversation that says it is another platform's, shop's or CSAT
            yield contradiction_rejection(file, row, conv_id, contradicted)
            continue
        if role == "agent" and not agent and ":" in sender:
            agent = sender.split(":", 1)[1]
        if conv is None:
            conv = ConversationRecord(external_id=conv_id, source_row=row)
        _fill(conv, get, fill)
        if csat is not None:
            conv.csat = cast(int, csat)
        if role == "customer" and not conv.customer and sender:
            conv.customer = sender[:200]
        conv.messages.append(MessageRecord(role, get["text"], None, (agent or None) if role == "agent" else None,
                                           sender or None, cast("str | None", stamp) or ""))
    if conv is not None:
        yield conv


def _by_field(headers: list[str], rows: Rows, cols: dict[str, str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row as {canonical field: cleaned cell} (``clean_text``), with its spreadsheet row number."""
    fields = list(cols)
    index = [headers.index(cols[f]) for f in fields]
    for row, cells in rows:
        yield row, dict(zip(fields, clean_cells([cells[j] for j in index])))


def _parse_fields(get: dict[str, str], cols: dict[str, str], parsers: dict[str, Callable[[str], object]],
                  file: str, row: int) -> tuple[list[object], Rejection | None]:
    """Each field parsed (None where the file has no such column), or the first cell that fails, as a rejection."""
    values: list[object] = []
    for field, parse in parsers.items():
        try:
            values.append(parse(get[field]) if field in get else None)
        except ValueError as e:
            return [None] * len(parsers), Rejection(file, row, cols[field], str(e))
    return values, None


def _row_role(word: str | None, sender: str, agent: str) -> str | None:
    """The role column's ``word`` when there is one; else infer from the sender name and whether an agent is named."""
    if word is not None:
        return _role_word(word) if word else parse_role(None, sender)
    role = parse_role(None, sender)
    if role is None and agent and (not sender or sender == agent or sender.endswith(agent)):
        role = "agent"
    if role is None and sender:
        role = "customer"  # workbench exports: the seller side is 店铺:客服 or the shop; a bare nick is the buyer
    return role


@lru_cache(maxsize=1024)
def _role_word(word: str) -> str | None:
    """The role a role-column word names (a file has a handful of distinct ones), or None."""
    return parse_role(word)


def _fill(conv: ConversationRecord, get: dict[str, str], fields: list[str]) -> None:
    """Fill the conversation's empty fields from this row (the file's first non-empty value wins)."""
    for field in fields:
        if getattr(conv, field) is None:
            value = get[field][:200]
            if value:
                setattr(conv, field, value)


def parse_ticket_rows(headers: list[str], rows: Rows, cols: dict[str, str], file: str
                      ) -> Iterator[TicketRecord | Rejection]:
    """One TicketRecord per valid row; a row without an id, or with an unreadable time or CSAT, is reported."""
    for row, get in _by_field(headers, rows, cols):
        try:
            ticket = _ticket(get, cols, file, row)
        except Exception as e:  # one row, not the file (issue #12)
            ticket = unexpected(file, row, e)
        yield ticket


def _ticket(get: dict[str, str], cols: dict[str, str], file: str, row: int) -> TicketRecord | Rejection:
    """One ticket row as a record, or the rejection of the row."""
    ticket_id = get["ticket_id"][:200]
    if not ticket_id:
        return Rejection(file, row, cols["ticket_id"], "工单号为空")
    (created, closed, csat), problem = _parse_fields(
        get, cols, {"created_at": parse_time, "closed_at": parse_time, "csat": parse_csat}, file, row)
    if problem:
        return problem

    def text(field: str) -> str | None:
        return (get[field][:200] or None) if field in get else None

    return TicketRecord(
        external_id=ticket_id, category=text("category"), status=text("status"),
        created_at=cast("datetime | None", created), closed_at=cast("datetime | None", closed),
        order_id=text("order_id"), conversation_id=text("conversation_id"), outcome=text("outcome"),
        csat=cast("int | None", csat), platform=text("platform"), shop=text("shop"), source_row=row,
    )


def _columns(sample: Sample) -> dict[str, str]:
    return map_columns(sample.table.headers)


def _csv_messages(sample: Sample) -> Iterator[_Parsed]:
    """A CSV message table read twice: first where each conversation ends, then the conversations themselves.

    Rows of one conversation may be anywhere in an export; knowing its last row, the second reading passes each
    conversation on when it is complete, so memory stays flat however large the file (at one more CSV scan).
    Both readings are pyarrow's where the first finds the file fit for it (``arrow_csv``), else the csv module's.
    """
    name, stream, text, headers = sample.name, sample.stream, sample.text, sample.table.headers
    cols = map_columns(headers)
    require_message_columns(cols, name)  # before a first reading of a file that could not be imported anyway
    text.seek(0)
    _headers, delimiter = read_csv_header(text, name)
    id_at = headers.index(cols["conversation_id"])
    last = arrow_csv.first_reading(stream, text.encoding, delimiter, headers, id_at)
    if last is not None:
        index = [headers.index(cols[f]) for f in cols]
        yield from parse_message_blocks(arrow_csv.blocks(stream, text.encoding, delimiter, len(headers), index, id_at),
                                        cols, name, last)
        return
    text.seek(0)
    _headers, records = read_csv_records(text, name)
    last = last_rows(headers, records, cols)
    text.seek(0)
    _headers, rows, again = read_csv_rows(text, name)
    yield from parse_message_rows(headers, rows, cols, name, last)
    sample.late.replace(again)  # ragged rows are reported by the second reading


def _kind_is(kind: str, excel: bool) -> Callable[[Sample], bool]:
    return lambda sample: sample.excel == excel and table_kind(_columns(sample)) == kind


def _message_rows(sample: Sample) -> Iterator[_Parsed]:
    return parse_message_rows(sample.table.headers, sample.table.rows, _columns(sample), sample.name)


def _ticket_rows(sample: Sample) -> Iterator[TicketRecord | Rejection]:
    return parse_ticket_rows(sample.table.headers, sample.table.rows, _columns(sample), sample.name)


def unknown_table(sample: Sample) -> ImportFormatError:
    """The error for a table whose headers fit no format: which columns were expected, which were found."""
    shown = "、".join(h for h in sample.table.headers[:12] if h) or "（无）"
    return ImportFormatError(
        sample.name, f"无法识别的表格：需要“内容/消息内容”列（消息表）或“工单号”列（工单表）。文件的表头是：{shown}")


FORMATS = (
    Format("csv_messages", "CSV 消息表", (".csv",), _kind_is("messages", excel=False), _csv_messages),
    Format("xlsx_messages", "Excel 消息表", (".xlsx", ".xlsm"), _kind_is("messages", excel=True), _message_rows),
    Format("csv_tickets", "CSV 工单表", (".csv",), _kind_is("tickets", excel=False), _ticket_rows),
    Format("xlsx_tickets", "Excel 工单表", (".xlsx", ".xlsm"), _kind_is("tickets", excel=True), _ticket_rows),
)
