"""Cells out of spreadsheet files: CSV (any delimiter, ragged rows reported) and XLSX (streamed), by row number.

The readers only split files into rows of text cells; what the cells mean is ``table``'s business, so the
pyarrow reading (``arrow_csv``) and the csv module's share these helpers without depending on each other.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import BinaryIO, NamedTuple, TextIO

from qa.errors import ImportFormatError
from qa.ingest.normalize import clean_text
from qa.ingest.records import Rejection

__all__ = ["Rows", "CSV_FIELD_LIMIT", "ColumnBlock", "read_csv_header", "read_csv_records", "read_csv_rows",
           "read_excel_rows", "last_rows", "cleaned_last_rows"]

Rows = Iterator[tuple[int, list[str]]]

CSV_FIELD_LIMIT = csv.field_size_limit()
"""The longest cell the csv module reads (characters); a longer one is most often an unclosed quote."""


def read_csv_header(text: TextIO, file: str) -> tuple[list[str], str]:
    """The header cells and the delimiter (comma, tab, semicolon), sniffed from the header line as Excel and back
    offices vary."""
    header_line = text.readline()
    if not header_line.strip():
        raise ImportFormatError(file, "文件是空的，或第一行不是表头")
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    return next(csv.reader([header_line], delimiter=delimiter)), delimiter


def _records(text: TextIO, delimiter: str, file: str) -> Rows:
    """Every CSV record after the header with the spreadsheet row it starts on, blank and ragged ones too."""
    reader = csv.reader(text, delimiter=delimiter)
    row = 2
    try:
        for cells in reader:
            yield row, cells
            row = reader.line_num + 2  # a quoted cell may span lines: the next row starts after this one
    except csv.Error as e:  # the reader cannot go on past it: the file is not imported
        why = f"有超过 {CSV_FIELD_LIMIT:,} 个字符的单元格" if "field limit" in str(e) else f"无法按 CSV 读取（{e}）"
        raise ImportFormatError(file, f"从第 {row:,} 行起{why}，多半是某个单元格的引号没有闭合；整个文件未导入") from None


def read_csv_records(text: TextIO, file: str) -> tuple[list[str], Rows]:
    """Headers and every record unchecked, for a first reading that only looks at one column (``last_rows``)."""
    headers, delimiter = read_csv_header(text, file)
    return headers, _records(text, delimiter, file)


def read_csv_rows(text: TextIO, file: str) -> tuple[list[str], Rows, list[Rejection]]:
    """Headers and a lazy iterator of (spreadsheet row number, cells); ragged rows become rejections."""
    headers, delimiter = read_csv_header(text, file)
    rejections: list[Rejection] = []

    def rows() -> Rows:
        width = len(headers)
        for row, cells in _records(text, delimiter, file):
            if len(cells) != width:
                if len(cells) > width and "".join(cells[width:]).strip():
                    rejections.append(Rejection(file, row, None,
                                                f"该行有 {len(cells)} 列，表头只有 {width} 列（内容里有未加引号的分隔符？）"))
                    continue
                cells += [""] * (width - len(cells))
            if "".join(cells).strip():
                yield row, cells

    return headers, rows(), rejections


def read_excel_rows(source: BinaryIO, file: str) -> tuple[list[str], Rows, list[Rejection]]:
    """Headers and rows of the first sheet, streamed with openpyxl's read-only mode."""
    import openpyxl  # here, not at the top: it (and numpy) would add 0.3 s to every parse worker's start

    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise ImportFormatError(file, f"无法作为 Excel (.xlsx) 读取：{str(e)[:200]}。若是旧版 .xls，请另存为 .xlsx") from None
    sheet = wb.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    header = next(it, None)
    if header is None:
        raise ImportFormatError(file, "工作表是空的")
    headers = ["" if h is None else str(h) for h in header]

    def rows() -> Rows:
        for i, cells in enumerate(it, start=2):
            values = ["" if c is None else (c if isinstance(c, str) else _cell_text(c)) for c in cells]
            if any(v.strip() for v in values):
                yield i, values + [""] * (len(headers) - len(values))
        wb.close()

    return headers, rows(), []


def _cell_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)



def last_rows(headers: list[str], rows: Rows, cols: dict[str, str]) -> dict[str, int]:
    """The row number of each conversation's last row: a first reading of a file too large to hold at once.

    Takes every record (``read_csv_records``): a blank or rejected row named last only makes its conversation
    wait for the end of the file.
    """
    index = headers.index(cols["conversation_id"])
    raw: dict[str, int] = {}
    for row, cells in rows:
        if len(cells) > index:
            raw[cells[index]] = row
    return cleaned_last_rows(raw)


def cleaned_last_rows(raw: dict[str, int]) -> dict[str, int]:
    """``{id cell: last row}`` by cleaned id: ids are cleaned once per distinct cell, not once per row."""
    last: dict[str, int] = {}
    for value, row in raw.items():
        key = clean_text(value)[:200]
        if row > last.get(key, 0):
            last[key] = row
    return last



class ColumnBlock(NamedTuple):
    """Consecutive records of a message table already split into columns (``qa.ingest.formats.arrow_csv``).

    ``columns`` holds one list per field of ``cols``, in its order; ``runs`` the offsets where the id cell
    changes, with 0 first and the block's length last; ``record(i)`` all cells of record ``i``, wanted only to
    tell a blank record from one that lacks an id.
    """

    rows: Sequence[int]
    columns: list[list[str]]
    runs: list[int]
    record: Callable[[int], list[str]]


