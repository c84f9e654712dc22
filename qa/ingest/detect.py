"""Which layout a file is, and its records as a lazy stream: everything an import does before the database.

Kept apart from the importer so that the same code runs in the importing process for small files and in a
parse worker for large ones (``qa.ingest.parse_worker``), and so that the worker need not import the database layer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from qa.errors import ImportFormatError
from qa.ingest.formats.chatlog import detect_chatlog, parse_chatlog
from qa.ingest.formats.jsonl import looks_like_jsonl, parse_jsonl
from qa.ingest.formats import arrow_csv
from qa.ingest.formats.table import (Rows, last_rows, map_columns, parse_message_blocks, parse_message_rows,
                              parse_ticket_rows, read_csv_header, read_csv_records, read_csv_rows, read_excel_rows,
                              require_message_columns, table_kind)
from qa.ingest.normalize import open_text
from qa.ingest.records import ConversationColumns, ConversationRecord, Rejection, TicketRecord

__all__ = ["ParsedFile", "SessionSheet", "Parsed", "parse_file", "MAX_WHOLE_TEXT_BYTES"]

MAX_WHOLE_TEXT_BYTES = 512 * 1024 * 1024


@dataclass
class SessionSheet:
    """The rows of a JD session sheet, attached to stored conversations in one go."""

    sessions: list[dict]


Parsed = ConversationRecord | ConversationColumns | TicketRecord | Rejection | SessionSheet


@dataclass
class ParsedFile:
    """A detected layout and its records; ``late`` rejections (ragged CSV rows) are complete once ``records`` is."""

    format: str
    records: Iterable[Parsed]
    late: list[Rejection] = field(default_factory=list)


def parse_file(name: str, stream: BinaryIO) -> ParsedFile:
    """Detect the layout from the name and the first lines; raise ImportFormatError when it fits none."""
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        headers, rows, late = read_excel_rows(stream, name)
        return _table(name, "xlsx", headers, rows, late)
    if lower.endswith(".xls"):
        raise ImportFormatError(name, "不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV UTF-8 后重试")
    text = open_text(stream, name)
    try:
        head = text.read(64 * 1024)
    except UnicodeDecodeError:
        raise ImportFormatError(name, "文件开头就无法解码，既不是 UTF-8 也不是 GBK") from None
    if not head.strip():
        raise ImportFormatError(name, "文件是空的")
    text.seek(0)
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    if looks_like_jsonl(first_line):
        return ParsedFile("jsonl", parse_jsonl(text, name))
    layout = detect_chatlog(head)
    if layout is not None:
        return ParsedFile(f"chatlog_{layout}", _chatlog(_read_whole(text, name, stream), name))
    headers, rows, late = read_csv_rows(text, name)
    cols = map_columns(headers)
    if table_kind(cols) == "messages":
        return ParsedFile("csv_messages", _csv_messages(stream, text, name, headers, cols, late), late)
    return _table(name, "csv", headers, rows, late)


def _csv_messages(stream: BinaryIO, text: TextIO, name: str, headers: list[str], cols: dict[str, str],
                  late: list[Rejection]) -> Iterator[Parsed]:
    """A CSV message table read twice: first where each conversation ends, then the conversations themselves.

    Rows of one conversation may be anywhere in an export; knowing its last row, the second reading passes each
    conversation on when it is complete, so memory stays flat however large the file (at one more CSV scan).
    Both readings are pyarrow's where the first finds the file fit for it (``qa.ingest.formats.arrow_csv``), else the
    csv module's.
    """
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
    late[:] = again  # ragged rows are reported by the second reading


def _chatlog(whole: str, name: str) -> Iterator[Parsed]:
    convs, rejections = parse_chatlog(whole, name)
    yield from convs
    yield from rejections


def _read_whole(text: TextIO, name: str, stream: BinaryIO) -> str:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_WHOLE_TEXT_BYTES:
        raise ImportFormatError(name, f"聊天记录文件过大（{size / 2**20:,.0f} MB），请按日期拆分为 512 MB 以内的文件")
    try:
        return text.read()
    except UnicodeDecodeError as e:
        raise ImportFormatError(name, f"文件中途出现无法解码的字节（第 {e.start:,} 字节附近）；整个文件未导入") from None


def _table(name: str, ext: str, headers: list[str], rows: Rows, late: list[Rejection]) -> ParsedFile:
    cols = map_columns(headers)
    kind = table_kind(cols)
    if kind == "messages":
        return ParsedFile(f"{ext}_messages", parse_message_rows(headers, rows, cols, name), late)
    if kind == "tickets":
        return ParsedFile(f"{ext}_tickets", parse_ticket_rows(headers, rows, cols, name), late)
    if {"咨询时间", "顾客"} <= {h.strip() for h in headers}:
        return ParsedFile(f"{ext}_jd_sessions", _session_sheet(name, headers, rows), late)
    shown = "、".join(h for h in headers[:12] if h) or "（无）"
    raise ImportFormatError(
        name, f"无法识别的表格：需要“内容/消息内容”列（消息表）或“工单号”列（工单表）。文件的表头是：{shown}")


def _session_sheet(name: str, headers: list[str], rows: Rows) -> Iterator[Parsed]:
    # pandas is imported only here: a parse worker for a large chat file should not pay for it
    import pandas as pd

    from qa.ingest.formats.session_sheet import parse_session_sheet

    sessions, rejections = parse_session_sheet(pd.DataFrame([cells for _row, cells in rows], columns=headers), name)
    yield from rejections
    yield SessionSheet(sessions)
