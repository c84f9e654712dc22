"""Normalisation shared by every import format: decoding, times, roles, CSAT and text cleaning.

Kept in one place so that a JD log, a Qianniu copy-paste and a CSV agree on what 满意, ``2026-11-11 9:05`` or
``店铺:小美`` mean.
"""

from __future__ import annotations

import codecs
import io
import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import BinaryIO, TextIO, cast
from zoneinfo import ZoneInfo

from qa.errors import ImportFormatError

__all__ = [
    "SHANGHAI",
    "decode_bytes",
    "open_text",
    "clean_text",
    "clean_cells",
    "parse_time",
    "TimeOutOfRange",
    "out_of_range",
    "YEARS",
    "parse_stamp",
    "parse_stamps",
    "stamps_at_once",
    "time_stamp",
    "parse_role",
    "parse_csat",
    "canonical_platform",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CST_OFFSET = timedelta(hours=8)  # Shanghai has had no DST since 1991

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def decode_bytes(data: bytes, file: str) -> str:
    """Decode UTF-8 (with or without BOM) or GB18030, the encodings Chinese back offices and Excel write.

    Raises ImportFormatError when neither fits, naming the byte offset so the user can look at it.
    """
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFormatError(
                file,
                f"无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030，第 {utf8_error.start} 字节处出错）。"
                "请在 Excel 中另存为“CSV UTF-8”后重试。",
            ) from None


_NEEDS_CLEANING = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00a0\u3000\u200b\ufeff]")


_NULL_WORDS = frozenset(("nan", "NaN", "None"))  # what spreadsheet tools write for an empty cell


def clean_text(text: object) -> str:
    """Strip control characters, zero-width/BOM marks and non-breaking spaces; normalise newlines."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if s in _NULL_WORDS:
        return ""
    if not _NEEDS_CLEANING.search(s):  # the common case, and the import hot path
        return s.strip()
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u3000", " ")
    return _CONTROL.sub("", s).strip()


def clean_cells(cells: Sequence[str]) -> list[str]:
    """``clean_text`` of each cell of a table row or column, in C-level passes: every cell stripped, then only
    the cells that need more (found by one regular-expression scan of them all) cleaned one by one."""
    out = list(map(str.strip, cells)) if _NULL_WORDS.isdisjoint(cells) else \
        ["" if c in _NULL_WORDS else c.strip() for c in cells]
    joined = "".join(cells)
    first = _NEEDS_CLEANING.search(joined)
    if first is not None:
        ends = list(accumulate(map(len, cells)))
        for i in {bisect_right(ends, m.start()) for m in _NEEDS_CLEANING.finditer(joined, first.start())}:
            out[i] = clean_text(cells[i])
    return out


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_CN_TIME = re.compile(
    r"^(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})\s*[:：时点]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?$"
)


def parse_time(value: object) -> datetime | None:
    """Parse the common Chinese time formats into naive Asia/Shanghai time.

    Returns None for empty values; raises ValueError for text that is not a time, so callers can report the row.
    Aware times (ISO-8601 with offset, ``Z``) are converted to Shanghai; naive ones are taken as Shanghai.
    Excel serial numbers and pandas Timestamps are accepted as they come out of ``read_excel``.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"时间不能是 {value}（不是有限的数）")
        dt = _from_number(value)
    else:
        try:  # canonical JSONL is the hot path; "+08:00" is already Shanghai wall-clock time
            text = cast(str, value)  # if not, AttributeError or TypeError below: the slow path takes it
            dt = datetime.fromisoformat(text[:-6] if text.endswith("+08:00") else text)
        except (AttributeError, TypeError, ValueError):
            s = clean_text(value)
            if not s:
                return None
            dt = _parse_time_text(s)
    if not YEARS[0] - 1 <= dt.year <= YEARS[1] + 1:  # checked before converting: 9999-12-31Z + 8 h overflows
        raise out_of_range(value)
    if dt.tzinfo is not None:
        dt = (dt.replace(tzinfo=None) if dt.utcoffset() == _CST_OFFSET
              else dt.astimezone(SHANGHAI).replace(tzinfo=None))
    if not YEARS[0] <= dt.year <= YEARS[1]:
        raise out_of_range(value)
    return dt.replace(microsecond=0) if dt.microsecond else dt


YEARS = (2000, 2100)
"""The years a chat or ticket time may fall in. A stray year-9999 or year-1 time would move every user's default
date range there and break the charts (issue #12), so it is reported like any other bad time."""


class TimeOutOfRange(ValueError):
    """A time that was read but falls outside ``YEARS``: its message says so, where a caller would otherwise say
    the time could not be read."""


def out_of_range(value: object) -> TimeOutOfRange:
    return TimeOutOfRange(f"时间“{str(value)[:40]}”不在 {YEARS[0]}–{YEARS[1]} 年之间")


def time_stamp(ts: datetime | None) -> str:
    """A time as the text SQLite stores ("YYYY-MM-DD HH:MM:SS.ffffff", what SQLAlchemy's DateTime writes), or "".

    Keys and content hashes use the same text everywhere; every stamp has the same width, so comparing stamps
    as text orders them in time.
    """
    return ts.isoformat(" ", "microseconds") if ts else ""


def parse_stamp(value: object) -> str:
    """``parse_time`` as a stamp; the two layouts of nearly every real time column are sliced, not formatted.

    ``2026-11-11T10:00:00+08:00`` (canonical JSONL) and ``2026-11-11 10:00:00`` (spreadsheets) make up the bulk
    of large imports, and slicing them is several times cheaper than formatting the parsed datetime.
    """
    if type(value) is str and (len(value) == 19 or (len(value) == 25 and value.endswith("+08:00"))) \
            and value[10] in "T " and value[4] == value[7] == "-" and value[13] == value[16] == ":" \
            and (value[:2] == "20" or value[:4] == "2100"):
        try:
            datetime.fromisoformat(value[:19])  # validates; with the separators checked, the digits are canonical
        except ValueError:
            pass  # parse_time reports it (or reads it some other way)
        else:
            return f"{value[:10]} {value[11:19]}.000000"
    return time_stamp(parse_time(value))


_DAY_TIME = r"(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
_STAMP_RUNS = ((re.compile(rf"(?:(?:{_DAY_TIME}\+08:00)?\n)+"), "+08:00\n"), (re.compile(rf"(?:(?:{_DAY_TIME})?\n)+"), "\n"))
"""A run of values in one of the two layouts, each on its line; an empty line is a message with no time."""


def parse_stamps(values: Sequence[str | None]) -> list[str]:
    """``parse_stamp`` of each value, with one scan of them all when they share one of the two common layouts
    (``stamps_at_once``); else value by value through ``parse_stamp``, which raises ValueError for a value that
    is no time."""
    stamps = stamps_at_once(values)
    return [parse_stamp(v) for v in values] if stamps is None else stamps


def stamps_at_once(values: Sequence[str | None]) -> list[str] | None:
    """``parse_stamp`` of each value when all share one of the two common layouts, else None.

    A conversation's times are nearly always all ``2026-11-11T10:00:00+08:00`` (canonical JSONL) or all
    ``2026-11-11 10:00:00`` (spreadsheets), some perhaps empty: one regular expression checks the layout of the
    lot, ``fromisoformat`` (C) checks that each date and time exists, and replacements make the stamps, with no
    Python step per message (but for spreadsheet times among empty cells).
    """
    if values and {str}.issuperset(map(type, values)):
        joined = "\n".join(values) + "\n"  # type: ignore[arg-type]
        for run, end in _STAMP_RUNS:
            if run.fullmatch(joined):
                try:
                    all(map(datetime.fromisoformat, filter(None, values)))
                except ValueError:
                    return None  # parse_stamp says which
                if end == "\n" and "" in values:  # the replacement below would give the empty ones a fraction
                    return [f"{v[:10]} {v[11:]}.000000" if v else "" for v in values]
                stamps = joined.replace("T", " ").replace(end, ".000000\n").split("\n")[:-1]
                if len(stamps) == len(values):  # belt and braces: a value holding a newline fails fromisoformat
                    return stamps
    return None


_EPOCH_RANGE = (datetime(2000, 1, 1, tzinfo=UTC).timestamp(),
                datetime(2100, 1, 1, tzinfo=UTC).timestamp())


def _from_number(value: float) -> datetime:
    """An Excel serial day number, or Unix seconds or milliseconds within 2000–2099; any other number is no time."""
    if 20000 < value < 80000:
        return datetime(1899, 12, 30) + timedelta(days=float(value))
    seconds = value / 1000 if 1e11 < value < 1e14 else value  # compared before dividing: an int may exceed a float
    if _EPOCH_RANGE[0] <= seconds < _EPOCH_RANGE[1]:
        return datetime.fromtimestamp(seconds, tz=UTC)
    raise ValueError(f"无法识别的时间“{str(value)[:40]}”（数字应为 Excel 日期或 2000–2099 年的 Unix 时间戳）")


def _parse_time_text(s: str) -> datetime:
    iso = s.replace("Z", "+00:00") if s.endswith("Z") else s
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    m = _CN_TIME.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
        try:
            return datetime(y, mo, d, h, mi, sec)
        except ValueError:
            raise ValueError(f"无法识别的时间“{s[:40]}”（日期或时刻不存在）") from None
    if s.isdigit() and len(s) in (10, 13):
        return _from_number(int(s))
    raise ValueError(f"无法识别的时间“{s[:40]}”（应为 2026-11-11 10:00:00 这类格式）")


_ROLE_WORDS = {
    "customer": "customer", "buyer": "customer", "user": "customer", "client": "customer",
    "顾客": "customer", "客户": "customer", "买家": "customer", "用户": "customer", "消费者": "customer",
    "agent": "agent", "staff": "agent", "seller": "agent", "helpdesk": "agent", "service": "agent",
    "客服": "agent", "卖家": "agent", "商家": "agent", "人工": "agent", "人工客服": "agent", "坐席": "agent",
    "bot": "bot", "robot": "bot", "机器人": "bot", "自动回复": "bot", "智能客服": "bot", "jimi": "bot",
    "system": "system", "系统": "system", "系统消息": "system", "系统提示": "system", "系统提醒": "system",
}


_BOT_NAMES = frozenset({"服务助手", "小蜜", "店小蜜", "阿里小蜜", "智能助手", "智能客服", "京小智", "飞鸽助手"})


def parse_role(value: object, sender: str | None = None) -> str | None:
    """Map a role word (客服/顾客/买家/机器人/系统, agent/customer…) to a canonical role.

    When the word is missing, infer from a Taobao-style sender: ``店铺名:客服名`` is an agent, a ``jimi_`` sender
    a bot. Returns None when the role cannot be told, so the caller reports the row instead of guessing.
    """
    word = clean_text(value).lower()
    if word in _ROLE_WORDS:
        return _ROLE_WORDS[word]
    if word:
        return None
    if sender:
        s = clean_text(sender)
        low = s.lower()
        name = s.rsplit(":", 1)[-1]  # Taobao sub-accounts: 店铺:客服名 — bots are sub-accounts too
        if low.startswith("jimi") or "机器人" in s or "自动回复" in s or name in _BOT_NAMES:
            return "bot"
        if s.startswith("系统"):
            return "system"
        if ":" in s or "客服" in s or "自营" in s or "旗舰店" in s or "专卖店" in s:
            return "agent"
    return None


_CSAT_WORDS = {
    "非常满意": 5, "很满意": 5, "满意": 4, "比较满意": 4, "一般": 3, "基本满意": 3,
    "不满意": 2, "非常不满意": 1, "很不满意": 1, "差评": 1, "好评": 5, "中评": 3,
}


def parse_csat(value: object) -> int | None:
    """Parse CSAT given as 1–5 or as 非常满意/满意/一般/不满意/非常不满意; None when empty.

    Raises ValueError for anything else so that the row is reported, not silently given no CSAT.
    """
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"满意度不能是 {value}（不是有限的数）")
    s = clean_text(value)
    if not s or s in ("-", "—", "未评价", "无"):
        return None
    if s in _CSAT_WORDS:
        return _CSAT_WORDS[s]
    try:
        n = float(s)
    except ValueError:
        raise ValueError(f"无法识别的满意度“{s[:20]}”（应为 1–5 或 非常满意/满意/一般/不满意/非常不满意）") from None
    if not math.isfinite(n):
        raise ValueError(f"满意度不能是 {s[:20]}（不是有限的数）")
    if n != int(n) or not 1 <= n <= 5:
        raise ValueError(f"满意度 {s} 超出 1–5")
    return int(n)


def open_text(stream: BinaryIO, file: str, sniff_bytes: int = 1 << 20) -> TextIO:
    """Wrap a binary stream in a text stream of the detected encoding, without reading the whole file.

    The encoding is chosen from the first megabyte (UTF-8/UTF-8-SIG, else GB18030); a decoding error further
    in surfaces as UnicodeDecodeError while reading, which the importer turns into a file-level error.
    """
    head = stream.read(sniff_bytes)
    stream.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            decoder.decode(head, final=len(head) < sniff_bytes)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            try:
                codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < sniff_bytes)
                encoding = "gb18030"
            except UnicodeDecodeError:
                decode_bytes(head, file)  # raises the user-facing error
                raise
    return io.TextIOWrapper(stream, encoding=encoding, newline=None)


_PLATFORMS = {
    "天猫": "天猫", "tmall": "天猫", "天猫商城": "天猫",
    "淘宝": "淘宝", "taobao": "淘宝", "tb": "淘宝", "千牛": "淘宝", "旺旺": "淘宝",
    "京东": "京东", "jd": "京东", "jingdong": "京东", "京东商城": "京东", "京麦": "京东", "咚咚": "京东",
    "抖音": "抖音", "douyin": "抖音", "抖店": "抖音", "飞鸽": "抖音", "tiktok": "抖音",
    "拼多多": "拼多多", "pdd": "拼多多", "pinduoduo": "拼多多",
    "快手": "快手", "kuaishou": "快手",
    "官网": "自营商城", "自营商城": "自营商城", "小程序": "自营商城", "own": "自营商城",
}
_TMALL_SHOP = ("旗舰店", "专卖店", "专营店")


def canonical_platform(name: str | None, shop: str | None = None) -> str | None:
    """One name per marketplace, whatever the export called it (jd, 京东商城 → 京东).

    Taobao-family exports cannot tell Tmall from Taobao; Tmall shops are the 旗舰店/专卖店/专营店 kinds.
    """
    if not name:
        return None
    key = clean_text(name).lower()
    platform = _PLATFORMS.get(key, clean_text(name)[:50])
    if platform == "淘宝" and shop and shop.endswith(_TMALL_SHOP):
        return "天猫"
    return platform
