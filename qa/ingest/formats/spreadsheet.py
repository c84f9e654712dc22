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
from qa.ingest.rejections import RejectionLog

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


class _Lines:
    """The text's lines as the csv module reads them, remembering the current record's, so that a bad record that
    spans lines can be read again from its second line."""

    def __init__(self, text: TextIO) -> None:
        self.text = text
        self.taken: list[str] = []
        self.again: list[str] = []  # lines to read again, last first

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.again.pop() if self.again else next(self.text)
        self.taken.append(line)
        return line


def _records(text: TextIO, delimiter: str, file: str, width: int) -> Iterator[tuple[int, list[str]] | Rejection]:
    """Every non-blank CSV record after the header with the spreadsheet row it starts on, or a rejection naming
    that row.

    A record that is bad (a width other than the header's, a quote never closed, a cell past the field limit) and
    spans lines is most often one unclosed quote swallowing the rows after it (issue #12): its first line is
    rejected and the lines after it are read again as rows of their own, so nothing is lost without a report.
    """
    lines = _Lines(text)
    row = 2
    while True:
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            for cells in reader:
                taken, lines.taken = lines.taken, []
                problem = _problem(cells, width, taken, delimiter)
                if problem is None:
                    if any(map(str.strip, cells)):
                        yield row, cells[:width]
                    row += len(taken)
                    continue
                yield Rejection(file, row, None, problem)
                row += 1
                if len(taken) > 1:
                    lines.again = taken[:0:-1]
                    break  # a fresh reader from the record's second line
            else:
                return
        except csv.Error as e:  # the reader cannot go on past it: reject where the record starts, read on after it
            taken, lines.taken = lines.taken, []
            why = f"有超过 {CSV_FIELD_LIMIT:,} 个字符的单元格" if "field limit" in str(e) else f"无法按 CSV 读取（{e}）"
            yield Rejection(file, row, None, f"{why}，多半是这一行某个单元格的引号没有闭合；该行未导入，后面的行照常读取")
            row += 1
            lines.again = taken[:0:-1]


def _problem(cells: list[str], width: int, taken: list[str], delimiter: str) -> str | None:
    """Why a record cannot be a row of a table ``width`` cells wide, or None."""
    if len(taken) > 1:
        try:  # a quote open at the end of the file: the lenient reader hands what follows it over as one cell
            next(csv.reader(taken, delimiter=delimiter, strict=True))
        except csv.Error:
            return (f"引号没有闭合：从这一行起的 {len(taken):,} 行被读成了一个单元格；该行未导入，后面的行照常读取"
                    "（请检查这一行的引号）")
    if len(cells) > width and any(map(str.strip, cells[width:])):
        return f"该行有 {len(cells)} 列，表头只有 {width} 列（内容里有未加引号的分隔符？）；该行未导入"
    if len(cells) < width and any(map(str.strip, cells)):
        return f"该行只有 {len(cells)} 列，表头有 {width} 列（缺了单元格或分隔符？）；该行未导入"
    return None


def read_csv_records(text: TextIO, file: str) -> tuple[list[str], Rows]:
    """Headers and every good record, for a first reading that only looks at one column (``last_rows``); it reads
    the file exactly as ``read_csv_rows`` does, so both give each record the same row number."""
    headers, delimiter = read_csv_header(text, file)
    return headers, (r for r in _records(text, delimiter, file, len(headers)) if not isinstance(r, Rejection))


def read_csv_rows(text: TextIO, file: str) -> tuple[list[str], Rows, RejectionLog]:
    """Headers and a lazy iterator of (spreadsheet row number, cells); ragged rows and unclosed quotes become
    rejections, complete once the rows are read."""
    headers, delimiter = read_csv_header(text, file)
    rejections = RejectionLog()

    def rows() -> Rows:
        for record in _records(text, delimiter, file, len(headers)):
            if isinstance(record, Rejection):
                rejections.add(record)
            else:
                yield record

    return headers, rows(), rejections


def read_excel_rows(source: BinaryIO, file: str) -> tuple[list[str], Rows, RejectionLog]:
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
        i = 1
        try:
            for i, cells in enumerate(it, start=2):
                values = ["" if c is None else (c if isinstance(c, str) else _cell_text(c)) for c in cells]
                if any(v.strip() for v in values):
                    yield i, values + [""] * (len(headers) - len(values))
        except Exception as e:  # openpyxl cannot go on past a cell it cannot convert (a date past year 9999)
            raise ImportFormatError(file, f"第 {i + 1:,} 行附近无法读取（{type(e).__name__}: {str(e)[:200]}）；"
                                          "整个文件未导入") from None
        finally:
            wb.close()

    return headers, rows(), RejectionLog()


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


