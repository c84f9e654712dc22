"""CSV message tables read by pyarrow's C++ CSV reader, for the files it reads exactly as the csv module does.

The csv module tokenises a few hundred thousand records a second and the grouping loop above it costs as much
again; pyarrow reads the same file in blocks of columns several times faster, and a block's rows can be
grouped a run of equal ids at a time. The two readers agree on well-formed quoting (tests hold them to it),
but not on everything a hostile file can hold, so a file takes this way only when a first reading of all of
it finds nothing they could read differently:

- every record has the header's width (the csv module pads short records and reports long ones by row);
- no cell holds an ASCII quote (where malformed quoting is read differently), and no cell is longer than
  the csv module's field limit (past which it stops);
- no header cell holds a quote or a line break, and the file holds no NUL byte;
- the records' line counts add up to the file's lines, so every row number is the one the csv module gives.

Otherwise ``first_reading`` returns None and the file is read by the csv module, which names each bad row.
pyarrow is imported only here: streamlit depends on it, so it is installed wherever Huifang is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pcsv

from qa.ingest.formats.spreadsheet import (
    CSV_FIELD_LIMIT,
    ColumnBlock,
    cleaned_last_rows,
)

__all__ = ["BLOCK_BYTES", "first_reading", "blocks"]

BLOCK_BYTES = 1 << 20
"""The size of one block of the file: the reader's memory grows with it (~20 MB a MB), its speed does not.
Also the longest record pyarrow reads; a longer one sends the file to the csv module."""

_LONE_CR = re.compile(rb"\r(?!\n)")
_ENCODINGS = {"utf-8-sig": "utf8", "utf-8": "utf8", "gb18030": "gb18030"}  # open_text's choices pyarrow reads here


def _reader(stream: BinaryIO, encoding: str, delimiter: str, width: int) -> pcsv.CSVStreamingReader:
    """A block reader of the file after its header; one thread, as a Python file object serialises the reads."""
    stream.seek(0)
    names = [f"c{i}" for i in range(width)]
    return pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(skip_rows=1, column_names=names, block_size=BLOCK_BYTES, use_threads=False,
                                      encoding=_ENCODINGS[encoding]),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))


def _cell_bytes(column: pa.StringArray) -> bytes:
    """All cells of ``column`` end to end, as stored: one bytes search over them beats a compute kernel per cell."""
    if not len(column):
        return b""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)
    first, last = offsets[column.offset], offsets[column.offset + len(column)]
    data = column.buffers()[2]
    return data[first:last].to_pybytes() if data is not None else b""


def _line_breaks(column: pa.StringArray, data: bytes) -> pa.Array:
    """How many line breaks each cell holds, counted as the csv module's line numbers count them (\\r\\n once)."""
    breaks = pc.count_substring(column, "\n")
    if b"\r" not in data:
        return breaks
    return pc.subtract(pc.add(breaks, pc.count_substring(column, "\r")), pc.count_substring(column, "\r\n"))


def _rows(batch: pa.RecordBatch, first: int, breaks: pa.Array | None) -> range | list[int]:
    """The row number each record of ``batch`` starts on, the first being ``first``."""
    if breaks is None:
        return range(first, first + batch.num_rows)
    spans = np.asarray(breaks, dtype=np.int64) + 1
    return (first + np.concatenate(([0], np.cumsum(spans[:-1])))).tolist()


def _breaks(batch: pa.RecordBatch, cells: list[bytes]) -> pa.Array | None:
    """Line breaks per record, or None when the batch has none (the common case)."""
    total = None
    for column, data in zip(batch.columns, cells):
        if b"\n" in data or b"\r" in data:
            breaks = _line_breaks(column, data)
            total = breaks if total is None else pc.add(total, breaks)
    return total


def _suspect(batch: pa.RecordBatch, cells: list[bytes]) -> bool:
    """Whether a cell of ``batch`` holds what the two readers could read differently (see the module)."""
    return any(b'"' in data or (pc.max(pc.binary_length(column)).as_py() > CSV_FIELD_LIMIT  # bytes ≥ characters
                                and pc.max(pc.utf8_length(column)).as_py() > CSV_FIELD_LIMIT)
               for column, data in zip(batch.columns, cells))


def _scan(batch: pa.RecordBatch, first: int, cells: list[bytes]) -> tuple[range | list[int], int] | None:
    """The row numbers of ``batch``'s records and the row after them, or None if the batch is ``_suspect``;
    ``cells`` are its columns' ``_cell_bytes``."""
    if _suspect(batch, cells):
        return None
    breaks = _breaks(batch, cells)
    return _rows(batch, first, breaks), first + batch.num_rows + (pc.sum(breaks).as_py() if breaks is not None else 0)


def _file_lines(stream: BinaryIO) -> int | None:
    """The file's line count as the csv module's universal newlines see it, or None if it holds a NUL byte."""
    stream.seek(0)
    lines, last = 0, b""
    for chunk in iter(lambda: stream.read(BLOCK_BYTES), b""):
        if b"\x00" in chunk:
            return None
        lone_cr = len(_LONE_CR.findall(chunk)) if b"\r" in chunk else 0  # \r ends a line too, \r\n one line
        lines += chunk.count(b"\n") + lone_cr - (last == b"\r" and chunk[:1] == b"\n")  # a \r\n split in two
        last = chunk[-1:]
    return lines + (last not in (b"\n", b"\r", b""))


def first_reading(stream: BinaryIO, encoding: str, delimiter: str, headers: list[str], id_at: int
                  ) -> dict[str, int] | None:
    """Each conversation's last row (as ``last_rows``), or None when the file must be read by the csv module."""
    if encoding not in _ENCODINGS or any('"' in h or "\n" in h or "\r" in h for h in headers):
        return None
    lines = _file_lines(stream)
    if lines is None:
        return None
    raw: dict[str, int] = {}
    row = 2
    try:
        with _reader(stream, encoding, delimiter, len(headers)) as reader:  # closed before any return
            for batch in reader:
                scanned = _scan(batch, row, [_cell_bytes(column) for column in batch.columns])
                if scanned is None:
                    return None
                rows, row = scanned
                lasts = [i - 1 for i in _runs(batch.column(id_at))[1:]]  # a run's last row is all that counts
                raw.update(zip(batch.column(id_at).take(lasts).to_pylist(), (rows[i] for i in lasts)))
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a ragged record, a bad byte: the csv module says where
        return None
    if row - 1 != lines:  # a record the two count differently (blank lines, odd line ends): its rows would differ
        return None
    return cleaned_last_rows(raw)


def blocks(stream: BinaryIO, encoding: str, delimiter: str, width: int, index: list[int], id_at: int
           ) -> Iterator[ColumnBlock]:
    """The second reading, after ``first_reading`` accepted the file: the ``index`` columns block by block."""
    row = 2
    with _reader(stream, encoding, delimiter, width) as reader:
        for batch in reader:
            n = batch.num_rows
            if not n:
                continue
            cells = [_cell_bytes(column) for column in batch.columns]
            rows, row = _scan(batch, row, cells)  # type: ignore[misc]  # not None: the first reading took every batch
            runs = _runs(batch.column(id_at))

            def record(i: int, batch: pa.RecordBatch = batch) -> list[str]:
                return [column[i].as_py() for column in batch.columns]

            yield ColumnBlock(rows, [_strings(batch.column(j), cells[j]) for j in index], runs, record)


def _runs(ids: pa.StringArray) -> list[int]:
    """0, each offset where the id cell differs from the one before, and the length: runs of one id."""
    n = len(ids)
    if not n:
        return [0]
    changes = pc.indices_nonzero(pc.not_equal(ids.slice(1), ids.slice(0, n - 1))).to_pylist()
    return [0, *(i + 1 for i in changes), n]


def _strings(column: pa.StringArray, data: bytes) -> list[str]:
    """The cells as Python strings. Decoding Chinese text into strings is the dear part, so a column that is not
    all ASCII is decoded once per distinct value, shared by its cells: platform, shop, role and agent hold a
    handful of values, and texts repeat too ("好的", "在的亲")."""
    if data.isascii():  # data: the column's _cell_bytes
        return column.to_pylist()
    encoded = pc.dictionary_encode(column)
    values = np.array(encoded.dictionary.to_pylist(), dtype=object)
    return values[encoded.indices.to_numpy(zero_copy_only=False)].tolist()
