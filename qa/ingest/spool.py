"""A file's staged batches written to a scratch file, and the plan of the chunks they are stored in.

An import used to store a file in one transaction, holding SQLite's write lock until its last row was in: a
reviewer's save waited the whole import (issue #12, "Availability"). Now the whole file is parsed and staged
first, into a scratch file and not the database — so a file that cannot be read still changes nothing, and no
lock is held while parsing — and then stored in chunks of whole conversations, each its own short transaction
(``qa.ingest.importer``). Only whole conversations: a conversation whose rows lie far apart in a file reaches
the loader in two batches, and a chunk never ends between them, so an import stopped between chunks (even by
``kill -9``) leaves no conversation half-written.

The spool is a sequence of pickled batches, rejections taken out of them: those are counted here in full (and
by conversation, for ``conversations.rejected_rows``), with the first ones kept, so the index that describes a
spool is small whatever the file's size. This runs where the file is parsed: in a parse worker for a large file.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from qa.ingest.rejections import RejectionLog
from qa.ingest.staging import Batch

__all__ = ["CHUNK_ROWS", "Chunk", "SpoolIndex", "write_spool", "read_chunk"]

CHUNK_ROWS = 50_000
"""Messages (or tickets, reviews) per chunk, about a quarter of a second of SQLite's write lock on 2 cores: short
enough that a reviewer's save waiting for it does not notice, long enough that commits cost little."""


@dataclass(frozen=True)
class Chunk:
    """Batches ``[start, stop)`` of a spool, stored in one transaction; ``digest`` identifies their content, so
    that a re-run of an interrupted import knows which chunks it already stored."""

    start: int
    stop: int
    digest: str


@dataclass
class SpoolIndex:
    """Where each batch of a spool is, the chunks to store them in, and every rejection met while staging."""

    offsets: list[tuple[int, int]] = field(default_factory=list)  # (start, length) of each pickled batch
    chunks: list[Chunk] = field(default_factory=list)
    rejections: RejectionLog = field(default_factory=RejectionLog)


def _size(batch: Batch) -> int:
    return len(batch.messages.texts) + len(batch.tickets) + len(batch.reviews) + len(batch.sessions or ())


def write_spool(batches: Iterable[Batch], late: RejectionLog | None, out: BinaryIO,
                chunk_rows: int | None = None) -> SpoolIndex:
    """Write ``batches`` to ``out`` and plan their chunks; ``late`` (complete once the batches are) is added to
    the rejections.

    A chunk may end after a batch only if no conversation of that batch or an earlier one comes again later.
    """
    index = SpoolIndex()
    first: dict[str, int] = {}  # conversation key → the batch it first came in
    reach: list[int] = []  # reach[i]: the last batch that continues a conversation first met in batch i
    sizes: list[int] = []
    digests: list[bytes] = []
    offset = 0
    for batch in batches:
        index.rejections.extend(batch.rejections)
        batch.rejections = []
        if not (batch.conversations or batch.tickets or batch.reviews or batch.sessions is not None):
            continue
        n = len(index.offsets)
        reach.append(n)
        for c in batch.conversations:
            seen = first.setdefault(c.key, n)
            if seen != n:
                reach[seen] = max(reach[seen], n)
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(data)
        index.offsets.append((offset, len(data)))
        offset += len(data)
        sizes.append(_size(batch))
        digests.append(hashlib.sha1(data).digest())
    if late is not None:
        index.rejections.extend(late)
    index.chunks = list(_plan(reach, sizes, digests, chunk_rows or CHUNK_ROWS))
    return index


def _plan(reach: list[int], sizes: list[int], digests: list[bytes], chunk_rows: int) -> Iterator[Chunk]:
    """Chunks of about ``chunk_rows`` rows, each ending where no conversation continues past it."""
    start, rows, furthest = 0, 0, -1
    for i, (last, size) in enumerate(zip(reach, sizes)):
        furthest = max(furthest, last)
        rows += size
        if furthest == i and (rows >= chunk_rows or i == len(sizes) - 1):
            yield Chunk(start, i + 1, hashlib.sha1(b"".join(digests[start:i + 1])).hexdigest())
            start, rows = i + 1, 0


def read_chunk(spool: BinaryIO, index: SpoolIndex, chunk: Chunk) -> Iterator[Batch]:
    """The batches of ``chunk``, read back from the spool."""
    for start, length in index.offsets[chunk.start:chunk.stop]:
        spool.seek(start)
        yield pickle.loads(spool.read(length))
