"""What every import format is (``Format``) and what it is shown to decide whether a file is its (``Sample``).

A format module exports its ``Format`` objects; ``qa.ingest.formats`` lists them, and detection, the import
report's names and the upload dialog's file types all come from that one list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import BinaryIO, TextIO

from qa.errors import ImportFormatError
from qa.ingest.formats.spreadsheet import Rows, read_csv_rows, read_excel_rows
from qa.ingest.normalize import open_text
from qa.ingest.records import Parsed
from qa.ingest.rejections import RejectionLog

__all__ = ["Format", "Sample", "Table", "EXCEL_EXTENSIONS", "HEAD_CHARS"]

EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
HEAD_CHARS = 64 * 1024


@dataclass(frozen=True)
class Table:
    """A spreadsheet's header row and its remaining rows (lazy, read once)."""

    headers: list[str]
    rows: Rows


class Sample:
    """A file being imported, read only as far as detection needs: its text head, or its table header.

    Properties are computed on first use and kept, so ten formats asking for the head decode it once; a
    format's ``parse`` continues from the same stream. ``late`` collects rejections that a reading finds only
    as it goes (ragged CSV rows), complete once the parsed records are.
    """

    def __init__(self, name: str, stream: BinaryIO) -> None:
        self.name = name
        self.stream = stream
        self.late = RejectionLog()

    @cached_property
    def excel(self) -> bool:
        """An Excel workbook: binary, read by openpyxl, never decoded as text."""
        return self.name.lower().endswith(EXCEL_EXTENSIONS)

    @cached_property
    def text(self) -> TextIO:
        """The file decoded (UTF-8, UTF-8 with BOM or GB18030, sniffed), positioned at its start."""
        return open_text(self.stream, self.name)

    @cached_property
    def head(self) -> str:
        """The first 64 K characters; empty for a workbook."""
        if self.excel:
            return ""
        try:
            head = self.text.read(HEAD_CHARS)
        except UnicodeDecodeError:
            raise ImportFormatError(self.name, "文件开头就无法解码，既不是 UTF-8 也不是 GBK") from None
        if not head.strip():
            raise ImportFormatError(self.name, "文件是空的")
        self.text.seek(0)
        return head

    @cached_property
    def first_line(self) -> str:
        """The first non-empty line of the head."""
        return next((line for line in self.head.splitlines() if line.strip()), "")

    @cached_property
    def table(self) -> Table:
        """The file read as a table: the workbook's first sheet, or CSV with a sniffed delimiter."""
        if self.excel:
            headers, rows, late = read_excel_rows(self.stream, self.name)
        else:
            self.text.seek(0)
            headers, rows, late = read_csv_rows(self.text, self.name)
        self.late = late
        return Table(headers, rows)


@dataclass(frozen=True)
class Format:
    """One import layout.

    ``code`` is stored with each import batch (so it never changes), ``name`` is what users call the layout,
    ``extensions`` are offered by the upload dialog, ``detect`` tells from a ``Sample`` whether the file is in this
    layout, and ``parse`` turns it into records and rejections, touching no database.
    """

    code: str
    name: str
    extensions: tuple[str, ...]
    detect: Callable[[Sample], bool]
    parse: Callable[[Sample], Iterable[Parsed]] = field(repr=False)
