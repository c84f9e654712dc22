"""Which format a file is, and its records as a lazy stream: everything an import does before the database.

Kept apart from the importer so that the same code runs in the importing process for small files and in a
parse worker for large ones (``qa.ingest.parse_worker``), and so that the worker need not import the database
layer. The formats themselves, and the order they are tried in, are in ``qa.ingest.formats``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from qa.ingest.formats import Sample, detect
from qa.ingest.records import Parsed
from qa.ingest.rejections import RejectionLog

__all__ = ["ParsedFile", "parse_file"]


@dataclass
class ParsedFile:
    """A detected format's code and its records; ``late`` rejections (ragged CSV rows) are complete once
    ``records`` is."""

    format: str
    records: Iterable[Parsed]
    late: RejectionLog = field(default_factory=RejectionLog)


def parse_file(name: str, stream: BinaryIO) -> ParsedFile:
    """Detect the format from the name and the first lines; raise ImportFormatError when it fits none."""
    sample = Sample(name, stream)
    fmt = detect(sample)
    records = fmt.parse(sample)
    return ParsedFile(fmt.code, records, sample.late)
