"""Rejections of one file counted in full, with only the first ones kept: what a report can afford to hold.

A file of 1.5 million bad lines once held 1.5 million rejection objects, about 90 times the file's size
(issue #12). A report names the first ``KEPT_REJECTIONS`` rows in full and says how many more there were.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator

from qa.ingest.records import Rejection

__all__ = ["KEPT_REJECTIONS", "RejectionLog"]

KEPT_REJECTIONS = 1000


def _order(r: Rejection) -> tuple[bool, int]:
    """Rows in file order; a rejection of a whole file or member (no row) after them."""
    return r.row is None, r.row or 0


class RejectionLog:
    """Every rejection counted; the ``keep`` first in file order kept (a bounded heap, whatever the arrival order)."""

    def __init__(self, keep: int = KEPT_REJECTIONS) -> None:
        self.keep = keep
        self.count = 0
        self.by_conversation: Counter[str] = Counter()  # every rejection that names its conversation, kept or not
        self._heap: list[tuple[tuple[bool, int], int, Rejection]] = []  # the negated order: the last kept on top
        self._seq = 0  # arrival order among rejections of one row: the earlier kept

    def add(self, r: Rejection) -> None:
        self.count += 1
        if r.conversation:
            self.by_conversation[r.conversation] += 1
        self._keep(r)

    def _keep(self, r: Rejection) -> None:
        self._seq += 1
        whole, row = _order(r)
        item = ((not whole, -row), -self._seq, r)
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def extend(self, rejections: Iterable[Rejection]) -> None:
        """Add each rejection; a log's uncounted rest (counted there, not kept) is counted too."""
        if isinstance(rejections, RejectionLog):
            for r in rejections:
                self._keep(r)
            self.count += rejections.count
            self.by_conversation.update(rejections.by_conversation)
            return
        for r in rejections:
            self.add(r)

    @property
    def kept(self) -> list[Rejection]:
        """The rejections kept, in file order."""
        return [r for *_, r in sorted(self._heap, reverse=True)]

    @property
    def left_out(self) -> int:
        """How many were counted but not kept."""
        return self.count - len(self._heap)

    def __iter__(self) -> Iterator[Rejection]:
        return iter(self.kept)

    def __len__(self) -> int:
        return len(self._heap)

    def replace(self, other: RejectionLog) -> None:
        """Hold what ``other`` holds (a later reading of the same file that reports the same rows again)."""
        self.count, self._heap, self._seq = other.count, list(other._heap), other._seq
        self.by_conversation = Counter(other.by_conversation)


def unexpected(file: str, row: int | None, error: Exception, what: str = "") -> Rejection:
    """The rejection of one line, row, conversation or member that raised something no check foresaw.

    Parsers catch every exception around one unit of a file and report it here instead of letting it abort the
    file and every file after it (issue #12: a lone surrogate, JSON nested 100,000 deep, year 9999 at +8 hours).
    """
    if isinstance(error, RecursionError):
        why = "嵌套层数过多"
    elif isinstance(error, UnicodeError):
        why = f"含有无法存储的字符（{str(error)[:120]}）"
    else:
        why = f"{type(error).__name__}: {str(error)[:200]}"
    return Rejection(file, row, None, f"{what}无法读取（{why}）；已跳过")
