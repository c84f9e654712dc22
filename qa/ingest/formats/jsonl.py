"""Canonical conversation-per-line JSONL, Huifang's interchange format (documented in the README).

Each line is validated on its own: a bad line is reported with its number and the offending field, and the
other lines are still imported.

Two readings of a line give the same record. The fast one decodes it with msgspec straight into typed structs
(types checked in C, no dict per message) and makes the message columns in a few C-level passes; it takes
only lines of the canonical shape. Any line it does not take — a wrong type, a time in another layout, a
value to report — is read again the careful way, with ``json`` and a check per field, which accepts every
tolerated variant and names the offending field of a bad line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Literal

import msgspec

from qa.ingest.formats.base import Format
from qa.ingest.normalize import (
    clean_cells,
    clean_text,
    parse_csat,
    parse_stamp,
    parse_stamps,
)
from qa.ingest.records import (
    ROLES,
    ConversationColumns,
    ConversationRecord,
    MessageRecord,
    Rejection,
)
from qa.ingest.rejections import unexpected

__all__ = ["FORMATS", "parse_jsonl", "looks_like_jsonl"]

MAX_LINE_CHARS = 5_000_000
_ROLES = frozenset(ROLES)


def looks_like_jsonl(first_line: str) -> bool:
    """A file whose first non-empty line is a JSON object with a conversation_id."""
    s = first_line.strip()
    return s.startswith("{") and "conversation_id" in s


def parse_jsonl(lines: Iterable[str], file: str) -> Iterator[ConversationColumns | ConversationRecord | Rejection]:
    """Yield one record per valid line and one Rejection per invalid line, streaming."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield Rejection(file, lineno, None, f"该行超过 {MAX_LINE_CHARS:,} 个字符，已跳过")
            continue
        try:
            record = _line(line, lineno, file)
        except Exception as e:  # whatever one line raises is that line's rejection (issue #12)
            record = unexpected(file, lineno, e)
        yield record


def _line(line: str, lineno: int, file: str) -> ConversationColumns | ConversationRecord | Rejection:
    """One line read the fast way, else the careful way."""
    try:
        fast = _fast(_decode(line), lineno)
    except (msgspec.DecodeError, ValueError):  # ValidationError is a DecodeError; ValueError: a time or CSAT
        fast = None
    return _careful(line, lineno, file) if fast is None else fast


def _careful(line: str, lineno: int, file: str) -> ConversationRecord | Rejection:
    """The reading that takes every tolerated variant of a line and names the field of a bad one."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return Rejection(file, lineno, None, f"不是有效的 JSON（第 {e.colno} 列：{e.msg}）")
    except ValueError:  # Python refuses integers of over 4,300 digits
        return Rejection(file, lineno, None, "不是有效的 JSON（含有超长的数字）")
    try:
        return _conversation(obj, lineno)
    except _FieldError as e:
        return Rejection(file, lineno, e.field, e.reason, _conversation_id(obj))


def _conversation_id(obj: object) -> str | None:
    """The conversation a rejected line names, if it names one readably: the rest of that conversation (on other
    lines) is stored with a gap that is not the agent's (issue #13.4)."""
    try:
        return _opt_str(obj, "conversation_id") or None if isinstance(obj, dict) else None
    except _FieldError:
        return None


class _FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason


def _opt_str(obj: dict, key: str, message: int | None = None) -> str | None:
    """A text field of a conversation (or of its ``message``-th message), cleaned; None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise _FieldError(key if message is None else f"messages[{message}].{key}", "应为文本")
    return _text(value)


def _conversation(obj: object, lineno: int) -> ConversationRecord:
    if not isinstance(obj, dict):
        raise _FieldError("", "每行应是一个 JSON 对象")
    conv_id = _opt_str(obj, "conversation_id")
    if not conv_id:
        raise _FieldError("conversation_id", "缺少会话 ID")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _FieldError("messages", "缺少消息列表或列表为空")
    try:
        csat = parse_csat(obj.get("csat"))
    except ValueError as e:
        raise _FieldError("csat", str(e)) from None
    return ConversationRecord(
        external_id=conv_id,
        messages=[_message(m, i) for i, m in enumerate(messages)],
        platform=_opt_str(obj, "platform"),
        shop=_opt_str(obj, "shop"),
        customer=_opt_str(obj, "customer"),
        category=_opt_str(obj, "category"),
        csat=csat,
        ticket_id=_opt_str(obj, "ticket_id"),
        order_id=_opt_str(obj, "order_id"),
        team=_opt_str(obj, "team"),
        source_row=lineno,
    )


def _message(m: object, i: int) -> MessageRecord:
    # The per-message hot path of the largest imports: exact type checks and positional construction.
    if type(m) is not dict:
        raise _FieldError(f"messages[{i}]", "每条消息应是一个 JSON 对象")
    role = m.get("role")
    if type(role) is not str or role not in _ROLES:  # a list or object is not hashable: check the type first
        raise _FieldError(f"messages[{i}].role", f"角色“{str(role)[:20]}”无效，应为 {'/'.join(ROLES)}")
    text = m.get("text")
    if type(text) is not str:
        raise _FieldError(f"messages[{i}].text", "缺少消息文本")
    try:
        stamp = parse_stamp(m.get("ts"))
    except ValueError as e:
        raise _FieldError(f"messages[{i}].ts", str(e)) from None
    agent = m.get("agent")
    return MessageRecord(role, clean_text(text), None, None if agent is None else _opt_str(m, "agent", i), None, stamp)


class _Message(msgspec.Struct):
    role: Literal["customer", "agent", "bot", "system"]
    text: str
    ts: str | None = None
    agent: str | None = None


class _Conversation(msgspec.Struct):
    conversation_id: str
    messages: list[_Message]
    platform: str | None = None
    shop: str | None = None
    customer: str | None = None
    category: str | None = None
    csat: int | str | None = None
    ticket_id: str | None = None
    order_id: str | None = None
    team: str | None = None


_decode = msgspec.json.Decoder(_Conversation).decode


def _text(value: object) -> str | None:
    """A text field as stored: cleaned and cut to 200 characters; None when absent or blank."""
    return None if value is None else (clean_text(value)[:200] or None)


@lru_cache(maxsize=4096)
def _agent_name(name: str) -> str:
    """An agent's name cleaned: a file names a few dozen agents on a million messages."""
    return clean_text(name)[:200]


def _fast(c: _Conversation, lineno: int) -> ConversationColumns | None:
    """The line's record when it is of the canonical shape, else None (the careful reading decides)."""
    conv_id = _text(c.conversation_id)
    if not conv_id or not c.messages:
        return None
    msgs = c.messages
    record = ConversationRecord(
        external_id=conv_id, platform=_text(c.platform), shop=_text(c.shop), customer=_text(c.customer),
        category=_text(c.category), csat=parse_csat(c.csat), ticket_id=_text(c.ticket_id),
        order_id=_text(c.order_id), team=_text(c.team), source_row=lineno)
    return ConversationColumns(record, parse_stamps([m.ts for m in msgs]), [m.role for m in msgs],
                               clean_cells([m.text for m in msgs]),
                               [_agent_name(m.agent) if m.agent else "" for m in msgs], [""] * len(msgs))


FORMATS = (Format("jsonl", "JSONL 会话", (".jsonl",), detect=lambda sample: looks_like_jsonl(sample.first_line),
                  parse=lambda sample: parse_jsonl(sample.text, sample.name)),)
