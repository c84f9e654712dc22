"""Plain-text chat logs from the seller workbenches, detected by layout and parsed in one linear pass.

Layouts (structures described in ../shared/EXPORT-FORMATS.md):

- ``jd``: JD 咚咚/京麦 log, ``/*…以下为一通会话…*/`` sessions, ``发送者 YYYY-MM-DD HH:MM:SS`` then body lines.
- ``qianniu_txt``: Qianniu/旺旺 message manager, ``发送者(YYYY-MM-DD HH:MM:SS): 正文``, dash lines between sessions.
- ``qianniu_txt2``: its variant ``YYYY-MM-DD HH:MM:SS 发送者: 正文`` with bare date lines between days.
- ``qianniu_copy``: chat window copied, ``昵称 YYYY-M-D H:MM:SS`` (or nick and time on two lines), 已读/未读,
  recalls and transfer notices.
- ``qianniu_web``: the web 聊天记录查询 page copied: time, content, sender last (or one tab-separated row each).
- ``generic``: any ``name time`` / ``time name`` header-then-body text, incl. Douyin/PDD copies with 今天/昨天.

Every non-blank line ends up in a message, is a known decoration, or is returned as a Rejection.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from functools import lru_cache
from itertools import islice

from qa.errors import ImportFormatError
from qa.ingest.formats.base import Format, Sample
from qa.ingest.formats.chatlog_assemble import assemble
from qa.ingest.formats.chatlog_collect import RELATIVE_DAYS, Collector, numbered_lines
from qa.ingest.normalize import clean_text
from qa.ingest.records import ConversationRecord, Rejection
from qa.ingest.rejections import unexpected

__all__ = ["FORMATS", "LAYOUTS", "SAMPLE_LINES", "detect_chatlog", "parse_chatlog"]

LAYOUTS = {"jd": "京东咚咚聊天记录", "qianniu_txt": "千牛消息管理器导出", "qianniu_txt2": "千牛消息管理器导出",
           "qianniu_copy": "千牛聊天窗口复制", "qianniu_web": "千牛网页聊天记录", "generic": "聊天记录文本"}
"""Each layout's code and what users call it."""
MAX_WHOLE_TEXT_BYTES = 512 * 1024 * 1024
SAMPLE_LINES = 300
_SAMPLE_CHARS = 256 * 1024
# A header is a name and a time: longer lines are body text and never reach the header regexes.
_MAX_HEADER = 120
_MAX_NICK = 80
_YEARS = (1990, 2100)

_YMD = r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
_HMS = r"(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})"
_STRICT = rf"(?P<stamp>{_YMD}\s+{_HMS})"
_LOOSE = (r"(?P<stamp>(?:(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?|(?P<rel>今天|昨天|前天))"
          r"[ T]?\s*(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?)")
_OPEN, _CLOSE = r"[(（\[【]?", r"[)）\]】]?"
_SENDER = r"(?P<sender>\S.{0,79}?)"

_JD_HEAD = re.compile(rf"{_SENDER}\s+{_STRICT}")
_COPY_HEAD = re.compile(rf"{_SENDER}\s*{_STRICT}")
_TXT_HEAD = re.compile(rf"(?P<sender>[^\s(（].{{0,79}}?)[(（]{_STRICT}[)）][:：]\s?")
_TXT2_HEAD = re.compile(rf"{_STRICT}\s+{_SENDER}[:：](?:\s+|$)")
_TXT2_HEAD_TIGHT = re.compile(rf"{_STRICT}\s+(?P<sender>[^\s:：][^:：]{{0,79}})[:：]")
_NAME_TIME = re.compile(rf"(?P<sender>\S.{{0,59}}?)\s*{_OPEN}{_LOOSE}{_CLOSE}[:：]?")
_TIME_NAME = re.compile(rf"{_OPEN}{_LOOSE}{_CLOSE}\s+(?P<sender>\S.{{0,59}}?)[:：]?")
_STRICT_STAMP = re.compile(_STRICT)
_LOOSE_STAMP = re.compile(_LOOSE)
_DATE_LINE = re.compile(r"(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?")
_WEB_TIME = re.compile(rf"(?:{_YMD}\s+)?{_HMS}")

_DASHES = re.compile(r"-{3,}")
_EQUALS = re.compile(r"={3,}")
_PREAMBLE = re.compile(r"消息记录|聊天记录|单聊|群聊|即时消息|消息分组|消息对象|对话对象|联系人|导出时间|日期范围")
_RECALL = re.compile(r"(?P<sender>.{1,80}?)\s*撤回了一条消息")
_STATUS = frozenset({"已读", "未读"})

_NO_HEADER = "这一行前面没有“发送者 + 时间”的消息头，无法归入任何消息"

_Head = tuple[str, re.Match[str], str]


def _is_name(sender: str) -> bool:
    """A field label such as 交易时间: or 下单时间 before a time is order-card text, not a sender."""
    return not sender.endswith((":", "：")) and not sender.rstrip().endswith(("时间", "日期"))


def _whole_line_head(line: str, *patterns: re.Pattern[str]) -> _Head | None:
    """A header that is the whole (short) line: a name and a time, in either order."""
    if len(line) > _MAX_HEADER:
        return None
    for pattern in patterns:
        m = pattern.fullmatch(line)
        if m and _is_name(m["sender"]):
            return m["sender"].strip(), m, ""
    return None


def _leading_head(line: str, *patterns: re.Pattern[str]) -> _Head | None:
    """A header at the start of a line, followed by the message text on the same line."""
    for pattern in patterns:
        m = pattern.match(line)
        if m and _is_name(m["sender"]):
            return m["sender"].strip(), m, line[m.end():].strip()
    return None


@dataclass(frozen=True, slots=True)
class _Headed:
    """How one header-then-body layout reads: its header, and which kinds of decoration lines it has."""

    head: Callable[[str], _Head | None]
    bare_stamp: re.Pattern[str] | None = None  # a time alone on a line: the line before it is the sender
    jd_markers: bool = False
    rules: bool = False  # dash lines end a session; '=' lines frame the header block
    window_noise: bool = False  # 已读/未读, recalls and transfer notices of the chat window
    date_lines: bool = False
    preamble: bool = False


_HEADED: dict[str, _Headed] = {
    "jd": _Headed(lambda s: _whole_line_head(s, _JD_HEAD), jd_markers=True),
    "qianniu_txt": _Headed(lambda s: _leading_head(s, _TXT_HEAD), rules=True, preamble=True),
    "qianniu_txt2": _Headed(lambda s: _leading_head(s, _TXT2_HEAD, _TXT2_HEAD_TIGHT), rules=True,
                            date_lines=True, preamble=True),
    "qianniu_copy": _Headed(lambda s: _whole_line_head(s, _COPY_HEAD), bare_stamp=_STRICT_STAMP,
                            window_noise=True, date_lines=True),
    "generic": _Headed(lambda s: _whole_line_head(s, _NAME_TIME, _TIME_NAME), bare_stamp=_LOOSE_STAMP,
                       window_noise=True, date_lines=True),
}


@lru_cache(maxsize=4)  # each layout's Format asks about the same head
def detect_chatlog(text: str) -> str | None:
    """Name the chat-log layout of ``text`` from its first lines, or None when it is not a chat log."""
    sample = [line for _, line in islice(numbered_lines(text[:_SAMPLE_CHARS]), SAMPLE_LINES) if line]
    if not sample:
        return None
    if any(line.startswith("/*") and "以下为一通会话" in line for line in sample):
        return "jd"
    need = 1 if len(sample) < 6 else max(2, len(sample) // 20)
    web = _web_hits(sample)
    if web >= need:
        return "qianniu_web"
    if _is_structured(sample):
        return None
    for name in ("qianniu_txt", "qianniu_txt2"):
        if _count(_HEADED[name].head, sample) >= need:
            return name
    copy, generic = _headed_hits(_HEADED["qianniu_copy"], sample), _headed_hits(_HEADED["generic"], sample)
    if copy >= need and copy * 10 >= generic * 9:
        return "qianniu_copy"
    return "generic" if generic >= need else None


def _count(head: Callable[[str], _Head | None], sample: list[str]) -> int:
    return sum(head(line) is not None for line in sample)


def _headed_hits(spec: _Headed, sample: list[str]) -> int:
    """Headers on one line, plus nick-then-time pairs on two."""
    hits, previous_is_text = 0, False
    for line in sample:
        if spec.head(line) is not None:
            hits, previous_is_text = hits + 1, False
        elif spec.bare_stamp is not None and spec.bare_stamp.fullmatch(line):
            hits, previous_is_text = hits + previous_is_text, False
        else:
            previous_is_text = len(line) <= _MAX_NICK
    return hits


def _web_hits(sample: list[str]) -> int:
    """Time-only lines and tab rows; full timestamps count only when the page starts with one (not a nick)."""
    first = next((line for line in sample if not _DATE_LINE.fullmatch(line)), "")
    starts_with_time = _WEB_TIME.fullmatch(first) is not None
    hits = 0
    for line in sample:
        m = _WEB_TIME.fullmatch(line)
        if m is not None:
            hits += m["y"] is None or starts_with_time
        elif "\t" in line:
            hits += _web_row(line) is not None
    return hits


def _is_structured(sample: list[str]) -> bool:
    """JSON lines or a delimited table: other importers read those, a chat log never looks like them. A table's
    ragged rows are the table reader's to report, but in a file of a few lines one of them is a large share: there
    half the lines as wide as the header will do (a short "id,time" row otherwise read as a chat header)."""
    if sum(line[0] in "{[" for line in sample) * 2 >= len(sample):
        return True
    share = (1, 2) if len(sample) < 6 else (4, 5)
    for sep in (",", "\t", ";"):
        width = sample[0].count(sep)
        if width >= 2 and sum(line.count(sep) == width for line in sample) * share[1] >= len(sample) * share[0]:
            return True
    return False


def parse_chatlog(text: str, file: str, *, platform: str | None = None,
                  shop: str | None = None) -> tuple[list[ConversationRecord], list[Rejection]]:
    """Parse a decoded chat log into conversations, and every line that could not be placed into rejections.

    Raises ImportFormatError when the text is not a chat log of any known layout.
    """
    layout = detect_chatlog(text)
    if layout is None:
        raise ImportFormatError(
            file, f"前 {SAMPLE_LINES} 行里没有找到“发送者 时间”形式的消息头，不像聊天记录。支持京东咚咚/京麦聊天记录、"
                  "千牛/旺旺消息记录导出、聊天窗口或网页聊天记录的复制文本；表格请用 CSV/Excel 导入。")
    collector = Collector(file)
    lines = numbered_lines(text)
    if layout == "qianniu_web":
        _parse_web(lines, collector)
    else:
        _parse_headed(lines, collector, _HEADED[layout])
    blocks = collector.finish()
    starts = [b.line for b in collector.blocks]  # before ``finish`` dropped the empty ones: every boundary
    convs = assemble(blocks, layout, platform=platform, shop=clean_text(shop) or None,
                     split_by_gap=layout != "jd" and not collector.explicit_breaks)
    return convs, _placed(sorted(collector.rejections, key=lambda r: r.row or 0), convs, starts)


def _placed(rejections: list[Rejection], convs: list[ConversationRecord], block_starts: list[int]) -> list[Rejection]:
    """Each rejected line given the conversation in progress where it lies: the last one begun before it in the
    same session block. A log names no conversation on a line, so its position is what ties it (issue #13.4: a
    malformed last reply must not make the chat "unanswered")."""
    begun = sorted((c.source_row, c.external_id) for c in convs if c.source_row is not None)
    lines = [line for line, _ in begun]
    out = []
    for r in rejections:
        k = bisect_right(lines, r.row) - 1 if r.row is not None else -1
        block = bisect_right(block_starts, r.row) - 1 if r.row is not None else -1
        same_block = k >= 0 and block >= 0 and lines[k] >= block_starts[block]
        out.append(replace(r, conversation=begun[k][1]) if same_block else r)
    return out


def _stamp(m: re.Match[str], day: date | None = None) -> tuple[datetime | None, int | None]:
    """(time, day offset for 今天/昨天) from a matched stamp, dating a bare clock on ``day``; None if impossible."""
    g = m.groupdict()
    try:
        clock = time(int(g["h"]), int(g["mi"]), int(g["s"] or 0))
        if g.get("rel"):
            return datetime.combine(date(1900, 1, 1), clock), RELATIVE_DAYS[g["rel"]]
        if g["y"] is not None:
            day = date(int(g["y"]), int(g["mo"]), int(g["d"]))
    except ValueError:
        return None, None
    if day is None or not _YEARS[0] <= day.year <= _YEARS[1]:
        return None, None
    return datetime.combine(day, clock), None


def _invalid_time(m: re.Match[str], stamp: str) -> str:
    """Why a matched time was refused: a real date outside the years a chat can have, or no date at all."""
    year = m.groupdict().get("y")
    if year is not None and not _YEARS[0] <= int(year) <= _YEARS[1]:
        return f"时间“{stamp}”的年份 {int(year)} 不在 {_YEARS[0]}–{_YEARS[1]} 年之间（导出的时间可能有误）"
    return f"时间“{stamp}”不是有效的日期时间"


def _start(c: Collector, line: int, sender: str, m: re.Match[str], body: str = "") -> None:
    ts, offset = _stamp(m)
    if ts is None:
        c.start_invalid(line, _invalid_time(m, m["stamp"]))
    else:
        c.start(line, sender, ts, body=body, day_offset=offset)


def _parse_headed(lines: Iterable[tuple[int, str]], c: Collector, spec: _Headed) -> None:
    """Drive the Collector over a header-then-body layout."""
    pending: tuple[int, str] | None = None  # a short line that may be a nick whose time is on the next line
    for no, line in lines:
        if not line:
            continue
        try:
            pending = _headed_line(c, spec, no, line, pending)
        except Exception as e:  # one line, not the file (issue #12)
            c.reject(no, unexpected(c.file, no, e).reason)
            pending = None
    if pending is not None:
        _place_body(c, spec, *pending)


def _headed_line(c: Collector, spec: _Headed, no: int, line: str, pending: tuple[int, str] | None
                 ) -> tuple[int, str] | None:
    """Place one non-empty line; returns the line when it may be a nick whose time is on the next line."""
    if pending is not None:
        m = spec.bare_stamp.fullmatch(line) if spec.bare_stamp else None
        if m is not None:
            _start(c, pending[0], pending[1], m)
            return None
        _place_body(c, spec, *pending)
    if _decoration(c, spec, no, line):
        return None
    head = spec.head(line)
    if head is not None:
        _start(c, no, head[0], head[1], head[2])
    elif spec.date_lines and (line in RELATIVE_DAYS or _DATE_LINE.fullmatch(line)):
        pass
    elif spec.bare_stamp is not None and len(line) <= _MAX_NICK and _is_name(line):
        return no, line
    else:
        _place_body(c, spec, no, line)
    return None


def _decoration(c: Collector, spec: _Headed, no: int, line: str) -> bool:
    """Handle session markers, rules and chat-window notices; True when the line was one of them."""
    if spec.jd_markers and line.startswith("/*"):
        if "以下为一通会话" in line:
            c.open_block(no, marked=True)
            c.explicit_breaks = True
            return True
        if "会话结束" in line:
            if c.in_block:
                c.close_block()
            else:
                c.reject(no, "会话结束标记前没有对应的“以下为一通会话”开始标记")
            return True
    if spec.rules and (_DASHES.fullmatch(line) or _EQUALS.fullmatch(line)):
        c.close_block()
        c.explicit_breaks = c.explicit_breaks or line[0] == "-"
        return True
    if spec.window_noise:
        if line in _STATUS:
            return True
        recall = _RECALL.fullmatch(line) if len(line) <= _MAX_HEADER else None
        if recall is not None:
            c.note(no, line, recall["sender"].strip())
            return True
        if (line.startswith("由") and "转交给" in line[:_MAX_HEADER]) or line.startswith(("原因：", "原因:")):
            c.note(no, line)
            return True
    return False


def _place_body(c: Collector, spec: _Headed, no: int, line: str) -> None:
    """A body line goes to the open message; before any header it is preamble or a rejection."""
    if c.body(no, line):
        return
    if spec.preamble and _PREAMBLE.match(line):
        return
    c.reject(no, _NO_HEADER)


def _web_row(line: str) -> tuple[re.Match[str], str, str] | None:
    """A tab-separated row copied from the web page: time, content…, sender."""
    cells = [cell.strip() for cell in line.split("\t")]
    if len(cells) < 3:
        return None
    m = _WEB_TIME.fullmatch(cells[0])
    if m is None or not cells[-1]:
        return None
    return m, " ".join(cell for cell in cells[1:-1] if cell), cells[-1]


def _parse_web(lines: Iterable[tuple[int, str]], c: Collector) -> None:
    """Drive the Collector over the web query page: a time line, content lines, then the sender line."""
    day: date | None = None
    head: tuple[int, re.Match[str]] | None = None
    buffer: list[tuple[int, str]] = []

    def flush() -> None:
        nonlocal head
        if head is None:
            return
        no, m = head
        head = None
        if not buffer:
            c.reject(no, "时间后面没有消息内容和发送者")
            return
        *content, (_, sender) = buffer
        valid = _start_web(c, no, m, sender, day)
        for body_no, text in content if valid else buffer:
            c.body(body_no, text)
        c.close_message()
        buffer.clear()

    for no, line in lines:
        if not line:
            continue
        try:
            row = _web_row(line) if "\t" in line else None
            date_line = _DATE_LINE.fullmatch(line)
            time_line = _WEB_TIME.fullmatch(line) if row is None else None
            if row is None and date_line is None and time_line is None:
                if head is None:
                    c.reject(no, _NO_HEADER)
                else:
                    buffer.append((no, line))
                continue
            flush()
            if date_line is not None:
                day = _date_of(date_line)
                if day is None:
                    c.reject(no, f"日期“{line}”无效", "时间")
            elif time_line is not None:
                head = (no, time_line)
            else:
                assert row is not None  # neither a date nor a time line
                m, content, sender = row
                _start_web(c, no, m, sender, day, content)
                c.close_message()
        except Exception as e:  # one line, not the file (issue #12)
            c.reject(no, unexpected(c.file, no, e).reason)
    flush()


def _start_web(c: Collector, no: int, m: re.Match[str], sender: str, day: date | None, body: str = "") -> bool:
    """Open a web-page message; False when its time cannot be dated (the message is then reported)."""
    ts, _ = _stamp(m, day)
    if ts is not None:
        c.start(no, sender, ts, body=body)
    elif m["y"] is None and day is None:
        c.start_invalid(no, f"时刻“{m.group(0)}”前面没有有效的日期行，无法确定日期")
    else:
        c.start_invalid(no, _invalid_time(m, m.group(0)))
    return ts is not None


def _date_of(m: re.Match[str]) -> date | None:
    try:
        day = date(int(m["y"]), int(m["mo"]), int(m["d"]))
    except ValueError:
        return None
    return day if _YEARS[0] <= day.year <= _YEARS[1] else None


def _read_whole(sample: Sample) -> str:
    """The whole decoded file: a chat log's conversations are only known once every line is read."""
    size = sample.stream.seek(0, io.SEEK_END)
    sample.stream.seek(0)
    if size > MAX_WHOLE_TEXT_BYTES:
        raise ImportFormatError(sample.name,
                                f"聊天记录文件过大（{size / 2**20:,.0f} MB），请按日期拆分为 512 MB 以内的文件")
    try:
        return sample.text.read()
    except UnicodeDecodeError as e:
        raise ImportFormatError(sample.name,
                                f"文件中途出现无法解码的字节（第 {e.start:,} 字节附近）；整个文件未导入") from None


def _parse(sample: Sample) -> Iterator[ConversationRecord | Rejection]:
    convs, rejections = parse_chatlog(_read_whole(sample), sample.name)
    yield from convs
    yield from rejections


def _layout_format(code: str, name: str) -> Format:
    return Format(f"chatlog_{code}", name, (".txt", ".log"),
                  detect=lambda sample: detect_chatlog(sample.head) == code, parse=_parse)


FORMATS = tuple(_layout_format(code, name) for code, name in LAYOUTS.items())
