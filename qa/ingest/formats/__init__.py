"""The import formats, one module each, and the one list that detection, reports and the upload dialog read.

Adding a format: write a module that exports ``FORMATS`` (a tuple of ``base.Format``) and add it to ``_MODULES``.
Detection asks each format in this order and takes the first that recognises the file, so specific layouts
come before general ones (a chat log before the generic CSV reading of a text file).
"""

from __future__ import annotations

from qa.errors import ImportFormatError
from qa.ingest.formats import chatlog, jsonl, reviews, session_sheet, table
from qa.ingest.formats.base import Format, Sample

__all__ = ["FORMATS", "Format", "Sample", "detect", "format_name", "upload_extensions"]

_MODULES = (jsonl, chatlog, reviews, table, session_sheet)
FORMATS: tuple[Format, ...] = tuple(f for module in _MODULES for f in module.FORMATS)


def detect(sample: Sample) -> Format:
    """The first format that recognises the file; ImportFormatError, saying what was expected, when none does."""
    if sample.name.lower().endswith(".xls"):
        raise ImportFormatError(sample.name, "不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV UTF-8 后重试")
    for fmt in FORMATS:
        if fmt.detect(sample):
            return fmt
    raise table.unknown_table(sample)


def format_name(code: str) -> str:
    """What users call a stored format code (e.g. csv_tickets → CSV 工单表); an unknown code as it is."""
    return next((f.name for f in FORMATS if f.code == code), code)


def upload_extensions() -> list[str]:
    """File types the upload dialog offers: every format's, plus zip (each member imported on its own)."""
    return sorted({ext.lstrip(".") for f in FORMATS for ext in f.extensions} | {"zip"})
