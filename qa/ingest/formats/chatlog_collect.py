"""Line-level machinery shared by every chat-log layout: numbered lines, raw messages, blocks, rejections.

Layout drivers in ``chatlog.py`` decide what a line is; the Collector here only accumulates what they decide,
so that "every line is either placed or reported" is enforced in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from qa.ingest.normalize import YEARS, clean_text, out_of_range
from qa.ingest.records import Rejection

__all__ = ["RELATIVE_DAYS", "RawMessage", "Block", "Collector", "numbered_lines"]

_CELL_BLANKS = frozenset({"nan", "NaN", "None"})
RELATIVE_DAYS = {"今天": 0, "昨天": -1, "前天": -2}
_RELATIVE_WORDS = {offset: word for word, offset in RELATIVE_DAYS.items()}


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, cleaned line) lazily, counting CRLF, LF and lone CR as an editor does."""
    number = 0
    start, end_of_text = 0, len(text)
    while start < end_of_text:
        end = text.find("\n", start)
        if end < 0:
            end = end_of_text
        raw = text[start:end]
        start = end + 1
        if raw.endswith("\r"):
            raw = raw[:-1]
        for part in raw.split("\r") if "\r" in raw else (raw,):
            number += 1
            yield number, _clean_line(part)


def _clean_line(raw: str) -> str:
    """clean_text, except that a line reading "nan" or "None" is chat text here, not an empty spreadsheet cell."""
    cleaned = clean_text(raw)
    if not cleaned and raw.strip() in _CELL_BLANKS:
        return raw.strip()
    return cleaned


def _dropped(first: int, last: int) -> str:
    """The tail of a rejection that covers a whole message, so the user can find all of its lines."""
    span = f"第 {first} 行" if first == last else f"第 {first}–{last} 行"
    return f"该条消息（{span}）未导入"


@dataclass(slots=True)
class RawMessage:
    """A message as read, before roles are known; ``day_offset`` marks a 今天/昨天 time awaiting its date."""

    line: int
    sender: str | None
    ts: datetime | None
    parts: list[str] = field(default_factory=list)
    last: int = 0
    role: str | None = None
    day_offset: int | None = None

    @property
    def text(self) -> str:
        """The body lines joined once, at the end, to stay linear on long messages."""
        return "\n".join(self.parts)


@dataclass(slots=True)
class Block:
    """Messages between two session separators; ``marked`` when an explicit session-start line opened it."""

    line: int
    marked: bool
    messages: list[RawMessage] = field(default_factory=list)


@dataclass(slots=True)
class _Invalid:
    """A message whose header cannot be used; its body lines are swallowed and reported once, as a range."""

    line: int
    last: int
    reason: str


class Collector:
    """Accumulates blocks of raw messages and the rejections of one file, in a single pass."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.blocks: list[Block] = []
        self.rejections: list[Rejection] = []
        self.latest_date: date | None = None
        self.explicit_breaks = False
        self._block: Block | None = None
        self._msg: RawMessage | None = None
        self._invalid: _Invalid | None = None

    @property
    def in_block(self) -> bool:
        """True while a block is open (JD: between a session start and its end)."""
        return self._block is not None

    def reject(self, line: int, reason: str, field: str | None = None) -> None:
        """Report one line that cannot be placed."""
        self.rejections.append(Rejection(self.file, line, field, reason))

    def start(self, line: int, sender: str | None, ts: datetime | None, *, body: str = "",
              role: str | None = None, day_offset: int | None = None) -> None:
        """Open a new message (closing the previous one) with an optional first body line. A time outside the
        years every format accepts is reported as they report it (the layouts' own patterns read 1990 on)."""
        if ts is not None and day_offset is None and not YEARS[0] <= ts.year <= YEARS[1]:
            self.start_invalid(line, str(out_of_range(ts)))
            return
        self.close_message()
        msg = RawMessage(line, sender, ts, [body] if body else [], line, role, day_offset)
        if ts is not None and day_offset is None and (self.latest_date is None or ts.date() > self.latest_date):
            self.latest_date = ts.date()
        self._msg = msg
        self._current_block(line).messages.append(msg)

    def start_invalid(self, line: int, reason: str) -> None:
        """Open a message whose time is unusable: it is not imported, and its body lines are reported with it."""
        self.close_message()
        self._invalid = _Invalid(line, line, reason)

    def note(self, line: int, text: str, sender: str | None = None) -> None:
        """Add a one-line system message (recall, transfer) with no time of its own."""
        self.start(line, sender, None, body=text, role="system")
        self.close_message()

    def body(self, line: int, text: str) -> bool:
        """Append a body line to the open message; False when there is none, so the caller reports it."""
        if self._msg is not None:
            self._msg.parts.append(text)
            self._msg.last = line
            return True
        if self._invalid is not None:
            self._invalid.last = line
            return True
        return False

    def close_message(self) -> None:
        """Finish the open message; an invalid one becomes a single rejection naming its line range."""
        self._msg = None
        bad = self._invalid
        if bad is not None:
            self.reject(bad.line, f"{bad.reason}；{_dropped(bad.line, bad.last)}", "时间")
            self._invalid = None

    def open_block(self, line: int, marked: bool) -> None:
        """Start a new block at a separator line."""
        self.close_block()
        self._block = Block(line, marked)
        self.blocks.append(self._block)

    def close_block(self) -> None:
        """End the open block; an explicitly opened block without messages is reported."""
        self.close_message()
        block = self._block
        if block is not None and block.marked and not block.messages:
            self.reject(block.line, "这通会话中没有任何消息")
        self._block = None

    def finish(self) -> list[Block]:
        """Close everything, date the 今天/昨天 messages, and return the non-empty blocks."""
        self.close_block()
        self._resolve_relative_days()
        return [b for b in self.blocks if b.messages]

    def _current_block(self, line: int) -> Block:
        if self._block is None:
            self._block = Block(line, marked=False)
            self.blocks.append(self._block)
        return self._block

    def _resolve_relative_days(self) -> None:
        """Date 今天/昨天 as the earliest days after the file's latest absolute date that keep the order.

        Pages show absolute dates only for days before 昨天, so the copy was made at least one day after the
        latest absolute date (two when 昨天 appears): exact when the chat spans consecutive days.
        """
        offsets = [m.day_offset for b in self.blocks for m in b.messages if m.day_offset is not None]
        if not offsets:
            return
        today = None if self.latest_date is None else self.latest_date + timedelta(days=1 - min(offsets))
        for block in self.blocks:
            kept: list[RawMessage] = []
            for msg in block.messages:
                if msg.day_offset is None:
                    kept.append(msg)
                elif today is not None and msg.ts is not None:
                    msg.ts = datetime.combine(today + timedelta(days=msg.day_offset), msg.ts.time())
                    msg.day_offset = None
                    kept.append(msg)
                else:
                    word = _RELATIVE_WORDS[msg.day_offset]
                    self.reject(msg.line, f"相对日期“{word}”无法换算：文件中没有任何完整日期；"
                                          f"{_dropped(msg.line, msg.last)}", "时间")
            block.messages = kept
