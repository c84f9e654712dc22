"""The JD session sheet exported beside a 咚咚 chat log: one row per session, with category, CSAT and team.

The log has the words and the sheet has the verdicts; ``qa.ingest.session_match`` joins them by start time and
customer, since the sheet carries no session id that the log also has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from qa.errors import ImportFormatError
from qa.ingest.formats.base import Format, Sample
from qa.ingest.formats.table import map_columns, table_kind
from qa.ingest.normalize import TimeOutOfRange, clean_text, parse_csat, parse_time
from qa.ingest.records import Parsed, Rejection, SessionSheet
from qa.ingest.rejections import unexpected

if TYPE_CHECKING:  # pandas is imported where a sheet is read: a parse worker for a chat log should not pay for it
    import pandas as pd

__all__ = ["FORMATS", "SHEET_COLUMNS", "parse_session_sheet"]

# Keys of the returned rows -> the sheet's own column names.
SHEET_COLUMNS: dict[str, str] = {
    "start": "咨询时间",
    "customer": "顾客",
    "category": "咨询类型",
    "agent": "客服",
    "transfer_agent": "转接后客服",
    "team": "技能组",
    "sku": "商品编号",
    "product": "商品名称",
    "first_response": "首次响应时间",
    "avg_response_s": "平均响应时间(S)",
    "duration_min": "会话时长(M)",
    "customer_messages": "客户消息数",
    "agent_messages": "客服消息数",
    "csat": "满意度",
    "resolved": "是否解决",
}
_REQUIRED = ("start", "customer")
_TEXT = ("category", "agent", "transfer_agent", "team", "sku", "product")
_FLOAT = ("avg_response_s", "duration_min")
_INT = ("customer_messages", "agent_messages")
_RESOLVED = {"是": True, "已解决": True, "解决": True, "否": False, "未解决": False}

def _header_key(name: object) -> str:
    """Header spelling that survives Excel edits: no spaces, half-width brackets, upper-case units."""
    return clean_text(name).replace(" ", "").replace("（", "(").replace("）", ")").upper()


_BY_HEADER = {_header_key(header): key for key, header in SHEET_COLUMNS.items()}


def parse_session_sheet(df: pd.DataFrame, file: str) -> tuple[list[dict], list[Rejection]]:
    """Read session rows as dicts keyed like SHEET_COLUMNS, plus ``row`` (1-based, header on row 1).

    A row without a usable 咨询时间 or 顾客 is rejected whole; a bad value elsewhere is rejected on its own and
    left None, so the row still helps matching. Raises ImportFormatError when a required column is missing.
    """
    columns = {_BY_HEADER[k]: col for col in df.columns if (k := _header_key(col)) in _BY_HEADER}
    missing = [SHEET_COLUMNS[key] for key in _REQUIRED if key not in columns]
    if missing:
        found = "、".join(clean_text(c) for c in df.columns) or "无"
        raise ImportFormatError(file, f"会话表缺少必需的列：{'、'.join(missing)}（表中的列：{found}）。"
                                      "请导出京东咚咚的“会话记录”表后再试。")
    rows: list[dict] = []
    rejections: list[Rejection] = []
    for position, record in enumerate(df.to_dict("records")):
        row_no = position + 2
        try:
            row, problems = _row({key: _cell(record[col]) for key, col in columns.items()})
        except Exception as e:  # one row, not the file (issue #12)
            rejections.append(unexpected(file, row_no, e))
            continue
        rejections.extend(Rejection(file, row_no, column, reason) for column, reason in problems)
        if row is not None:
            rows.append({"row": row_no, **row})
    return rows, rejections


def _cell(value: object) -> object:
    """None for pandas' empty cells (NaN, NaT), a plain datetime for a Timestamp."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _row(values: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """One sheet row and its problems as (column, reason); None when it lacks a start time or customer."""
    problems: list[tuple[str, str]] = []
    try:
        start = parse_time(values["start"])
    except ValueError as e:
        shown = clean_text(values["start"])[:40]
        why = str(e) if isinstance(e, TimeOutOfRange) else f"无法识别的咨询时间“{shown}”（应为 2026-10-07 10:00:00 这类格式）"
        return None, [(SHEET_COLUMNS["start"], f"{why}；该行未导入")]
    customer = _text(values["customer"])
    if start is None or customer is None:
        empty = SHEET_COLUMNS["start"] if start is None else SHEET_COLUMNS["customer"]
        return None, [(empty, f"{empty}为空；该行未导入")]

    def convert(key: str, converter: Callable[[str], object]) -> object:
        value = values.get(key)
        if key == "first_response" and isinstance(value, datetime):
            return value
        text = _text(value)
        if text is None or text in ("-", "—"):
            return None
        try:
            return converter(text)
        except ValueError as e:
            problems.append((SHEET_COLUMNS[key], f"{e}，已留空"))
            return None

    row: dict = {"start": start, "customer": customer}
    row.update({key: _text(values.get(key)) for key in _TEXT})
    row.update({key: convert(key, _float) for key in _FLOAT})
    row.update({key: convert(key, _int) for key in _INT})
    row.update(first_response=convert("first_response", _response), csat=convert("csat", parse_csat),
               resolved=convert("resolved", _resolved))
    return row, problems


def _text(value: object) -> str | None:
    """Cell text; whole floats (product numbers read by Excel as numbers) lose their ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value) or None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"“{text[:20]}”不是数字") from None
    if not math.isfinite(value):
        raise ValueError(f"“{text[:20]}”不是有限的数")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"“{text[:20]}”不是整数") from None


def _response(text: str) -> float | datetime | None:
    """Seconds when the sheet gives a number, the time itself when it gives a time."""
    try:
        return _float(text)
    except ValueError:
        return parse_time(text)


def _resolved(text: str) -> bool:
    if text not in _RESOLVED:
        raise ValueError(f"无法识别的“是否解决”值“{text[:20]}”（应为 是/否）")
    return _RESOLVED[text]


def _is_session_sheet(sample: Sample) -> bool:
    headers = sample.table.headers
    return table_kind(map_columns(headers)) is None and {"咨询时间", "顾客"} <= {h.strip() for h in headers}


def _parse(sample: Sample) -> Iterator[Parsed]:
    import pandas as pd

    table = sample.table
    sessions, rejections = parse_session_sheet(pd.DataFrame([cells for _row, cells in table.rows],
                                                            columns=table.headers), sample.name)
    yield from rejections
    yield SessionSheet(sessions)


def _is_sheet_of(kind: str) -> Callable[[Sample], bool]:
    """A session sheet in this kind of file: a workbook is recorded as xlsx, a text file as csv."""
    return lambda sample: sample.excel == (kind == "xlsx") and _is_session_sheet(sample)


FORMATS = tuple(Format(f"{kind}_jd_sessions", "京东会话明细表", extensions, _is_sheet_of(kind), _parse)
                for kind, extensions in (("csv", (".csv",)), ("xlsx", (".xlsx", ".xlsm"))))
