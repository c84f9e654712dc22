"""Import files of any supported layout: detect, parse, store — one file, one transaction, one report.

Used by the CLI and the Data page alike. A file that cannot be read at all raises ImportFormatError and changes
nothing; a readable file keeps its valid rows and reports every rejected one with row and reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from qa.errors import ImportFormatError
from qa.formats.chatlog import detect_chatlog, parse_chatlog
from qa.formats.jsonl import looks_like_jsonl, parse_jsonl
from qa.formats.session_sheet import parse_session_sheet
from qa.formats.table import (map_columns, parse_message_rows, parse_ticket_rows, read_csv_rows,
                              read_excel_rows, table_kind)
from qa.loader import LoadCounts, Loader, link_tickets
from qa.models import ImportBatch
from qa.normalize import open_text
from qa.records import ConversationRecord, Rejection, TicketRecord
from qa.stats import rebuild_daily_stats

__all__ = ["ImportReport", "format_name", "import_path", "import_stream", "MAX_STORED_REJECTIONS"]

CHUNK = 2000
MAX_STORED_REJECTIONS = 10_000
MAX_WHOLE_TEXT_BYTES = 512 * 1024 * 1024


@dataclass
class SessionSheet:
    """The rows of a JD session sheet, attached to stored conversations in one go."""

    sessions: list[dict]


Parsed = ConversationRecord | TicketRecord | Rejection | SessionSheet


@dataclass
class ImportReport:
    """What happened to one file; ``summary()`` is what users read."""

    file: str
    format: str
    batch_id: int | None
    counts: LoadCounts
    rejections: list[Rejection] = field(default_factory=list)
    rejected: int = 0
    seen_before: bool = False

    def summary(self) -> str:
        c = self.counts
        parts = [f"{self.file}（{format_name(self.format)}）："]
        if c.conversations_added or c.conversations_merged or c.conversations_unchanged:
            parts.append(f"新增会话 {c.conversations_added:,}，合并 {c.conversations_merged:,}，"
                         f"已存在未变 {c.conversations_unchanged:,}，新增消息 {c.messages_added:,}")
        if c.tickets_added or c.tickets_updated:
            parts.append(f"新增工单 {c.tickets_added:,}，更新工单 {c.tickets_updated:,}")
        parts.append(f"拒绝 {self.rejected:,} 行")
        if self.seen_before:
            parts.append("（此文件之前已导入过，重复内容未再写入）")
        return " ".join(parts)


_FORMAT_NAMES = {"jsonl": "JSONL 会话", "csv_messages": "CSV 消息表", "xlsx_messages": "Excel 消息表",
                 "csv_tickets": "CSV 工单表", "xlsx_tickets": "Excel 工单表",
                 "chatlog_jd": "京东咚咚聊天记录", "chatlog_qianniu_txt": "千牛消息管理器导出",
                 "chatlog_qianniu_txt2": "千牛消息管理器导出", "chatlog_qianniu_copy": "千牛聊天窗口复制",
                 "chatlog_qianniu_web": "千牛网页聊天记录", "chatlog_generic": "聊天记录文本",
                 "csv_jd_sessions": "京东会话明细表", "xlsx_jd_sessions": "京东会话明细表"}


def format_name(code: str) -> str:
    """What users call a detected layout (e.g. csv_tickets → CSV 工单表)."""
    return _FORMAT_NAMES.get(code, code)


def import_path(engine: Engine, path: Path) -> list[ImportReport]:
    """Import a file from disk (a .zip imports each file inside it)."""
    with open(path, "rb") as f:
        return import_stream(engine, path.name, f)


def import_stream(engine: Engine, name: str, stream: BinaryIO) -> list[ImportReport]:
    """Import an open binary stream named ``name``; returns one report per file (zips hold several)."""
    if name.lower().endswith(".zip"):
        return list(_import_zip(engine, name, stream))
    return [_import_one(engine, name, stream)]


def _import_zip(engine: Engine, name: str, stream: BinaryIO) -> Iterator[ImportReport]:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise ImportFormatError(name, "不是有效的 zip 压缩包") from None
    members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
    if not members:
        raise ImportFormatError(name, "压缩包里没有文件")
    for done, m in enumerate(members):
        member = f"{name}/{m.filename}"
        with archive.open(m) as inner:
            try:
                yield _import_one(engine, member, io.BytesIO(inner.read()))
            except ImportFormatError as e:  # each member is its own transaction: say what is already stored
                stored = "、".join(x.filename for x in members[:done])
                raise ImportFormatError(
                    member, e.reason + (f"。压缩包中在它之前的文件已导入：{stored}" if stored else "")) from None


def _hash(stream: BinaryIO) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        h.update(block)
    stream.seek(0)
    return h.hexdigest()


def _import_one(engine: Engine, name: str, stream: BinaryIO) -> ImportReport:
    digest = _hash(stream)
    fmt, records, late_rejections = _parse(name, stream)
    with engine.begin() as conn:
        seen = conn.scalar(select(ImportBatch.id).where(ImportBatch.content_hash == digest).limit(1)) is not None
        batch_id = conn.execute(insert(ImportBatch).values(
            file_name=name[:500], content_hash=digest, format=fmt, imported_at=datetime.now(),
        ).returning(ImportBatch.id)).scalar_one()
        loader = Loader(conn, batch_id)
        rejections: list[Rejection] = []
        try:
            _load(loader, name, records, rejections)
        except UnicodeDecodeError as e:
            raise ImportFormatError(
                name, f"文件中途出现无法解码的字节（第 {e.start:,} 字节附近），可能混用了编码；整个文件未导入") from None
        rejections.extend(late_rejections)
        rejections.sort(key=lambda r: (r.row is None, r.row or 0))
        link_tickets(conn)
        rebuild_daily_stats(conn)
        conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
            **asdict(loader.counts), rejected=len(rejections),
            rejections=json.dumps([asdict(r) for r in rejections[:MAX_STORED_REJECTIONS]], ensure_ascii=False),
        ))
    return ImportReport(name, fmt, batch_id, loader.counts, rejections, len(rejections), seen)


def _load(loader: Loader, name: str, records: Iterable[Parsed], rejections: list[Rejection]) -> None:
    convs: list[ConversationRecord] = []
    tickets: list[TicketRecord] = []
    for rec in records:
        if isinstance(rec, Rejection):
            rejections.append(rec)
        elif isinstance(rec, SessionSheet):
            rejections.extend(loader.attach_session_sheet(rec.sessions, name))
        elif isinstance(rec, ConversationRecord):
            if not rec.messages:
                rejections.append(Rejection(name, rec.source_row, None, "会话没有任何消息"))
                continue
            convs.append(rec)
            if len(convs) >= CHUNK:
                loader.add_conversations(convs)
                convs = []
        else:
            tickets.append(rec)
            if len(tickets) >= CHUNK:
                loader.add_tickets(tickets)
                tickets = []
    if convs:
        loader.add_conversations(convs)
    if tickets:
        loader.add_tickets(tickets)


def _parse(name: str, stream: BinaryIO) -> tuple[str, Iterable[Parsed], list[Rejection]]:
    """Detect the layout from the name and the first lines; return a lazy record stream.

    Late rejections (ragged CSV rows) are only known after the stream is consumed, hence the list.
    """
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
        return "jsonl", parse_jsonl(text, name), []
    layout = detect_chatlog(head)
    if layout is not None:
        whole = _read_whole(text, name, stream)
        convs, rejections = parse_chatlog(whole, name)
        return f"chatlog_{layout}", [*convs, *rejections], []
    headers, rows, late = read_csv_rows(text, name)
    return _table(name, "csv", headers, rows, late)


def _read_whole(text, name: str, stream: BinaryIO) -> str:  # type: ignore[no-untyped-def]
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_WHOLE_TEXT_BYTES:
        raise ImportFormatError(name, f"聊天记录文件过大（{size / 2**20:,.0f} MB），请按日期拆分为 512 MB 以内的文件")
    try:
        return text.read()
    except UnicodeDecodeError as e:
        raise ImportFormatError(name, f"文件中途出现无法解码的字节（第 {e.start:,} 字节附近）；整个文件未导入") from None


def _table(name: str, ext: str, headers: list[str], rows, late: list[Rejection]
           ) -> tuple[str, Iterable[Parsed], list[Rejection]]:  # type: ignore[no-untyped-def]
    cols = map_columns(headers)
    kind = table_kind(cols)
    if kind == "messages":
        return f"{ext}_messages", parse_message_rows(headers, rows, cols, name), late
    if kind == "tickets":
        return f"{ext}_tickets", parse_ticket_rows(headers, rows, cols, name), late
    if {"咨询时间", "顾客"} <= {h.strip() for h in headers}:
        sessions, rejections = parse_session_sheet(pd.DataFrame([cells for _row, cells in rows], columns=headers), name)
        return f"{ext}_jd_sessions", [*rejections, SessionSheet(sessions)], late
    shown = "、".join(h for h in headers[:12] if h) or "（无）"
    raise ImportFormatError(
        name, f"无法识别的表格：需要“内容/消息内容”列（消息表）或“工单号”列（工单表）。文件的表头是：{shown}")
