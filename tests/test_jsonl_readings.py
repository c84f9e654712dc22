"""The fast (msgspec, columns) and careful (json, field by field) readings of a JSONL line agree exactly.

The fast reading only takes lines of the canonical shape and hands every other line to the careful one; these
tests hold it to giving the very record the careful reading gives, on canonical lines, on every tolerated
variant, and on hostile lines, and check that the canonical ones really take the fast way.
"""

from __future__ import annotations

import json

import pytest

from huifang_demo.generate import generate_demo
from qa.ingest.formats.jsonl import _careful, parse_jsonl
from qa.ingest.normalize import parse_stamp, parse_stamps, stamps_at_once
from qa.ingest.records import ConversationColumns, Rejection
from tests.helpers import record_tuple


def _line(**conv: object) -> str:
    base: dict[str, object] = {"conversation_id": "c1", "messages": [
        {"role": "customer", "text": "亲，这款有40码吗", "ts": "2026-11-11T10:00:00+08:00"},
        {"role": "agent", "text": "亲，有的哦", "ts": "2026-11-11T10:00:30+08:00", "agent": "店铺:小美"}]}
    return json.dumps({**base, **conv}, ensure_ascii=False)


def _messages(*messages: dict) -> str:
    return _line(messages=list(messages))


CANONICAL = [
    _line(),
    _line(platform="天猫", shop="某某官方旗舰店", category="退货", csat=5, customer="tb_1", order_id="2026", team="售后",
          ticket_id="T1", extra={"ignored": [1, 2]}),
    _line(csat="非常满意"),
    _messages({"role": "bot", "text": "您好"}, {"role": "system", "text": "会话结束", "ts": None}),
    _messages({"role": "customer", "text": "  前后有空格  ", "ts": "2026-11-11 10:00:00"}),
    _messages({"role": "customer", "text": "nan"}, {"role": "agent", "text": "", "agent": ""}),
]

TOLERATED = [  # the careful reading takes these too, and the fast one must agree with it
    _line(conversation_id=12345),
    _line(platform=3),
    _line(csat=4.0),
    _line(csat="  "),
    _messages({"role": "customer", "text": "带\x07控制字符\u200b和\u3000全角空格\r\n换行"}),
    _messages({"role": "customer", "text": "x", "ts": "2026-11-11T02:00:00Z"}),
    _messages({"role": "customer", "text": "x", "ts": "2026/11/11 10:00"}),
    _messages({"role": "customer", "text": "x", "ts": 46337.5}),
    _messages({"role": "customer", "text": "x", "ts": 1762826400}),
    _messages({"role": "customer", "text": "x", "ts": "2026-11-11T10:00:00+08:00"}, {"role": "agent", "text": "y"}),
    _messages({"role": "customer", "text": "顾客也带了 agent 字段", "agent": "谁"}),
    _messages({"role": "agent", "text": "x", "agent": "  小美\u200b "}),
    _messages({"role": "agent", "text": "x", "agent": "长" * 300}),
    _line(shop="店" * 300),
    _line(conversation_id=" c1 "),
    '{"conversation_id": "c1", "conversation_id": "c2", "messages": [{"role": "agent", "text": "x"}]}',
    '{"conversation_id": "c1", "messages": [{"role": "agent", "text": "\\ud800孤立代理"}]}',
    '  {"conversation_id": "c1", "messages": [{"role": "agent", "text": "x"}]}  \n',
    '{"conversation_id": "c1", "messages": [{"role": "agent", "text": "x", "ts": NaN}]}',  # no time, as an empty cell
]

HOSTILE = [
    _line(conversation_id="  "),
    _line(conversation_id=None),
    _line(messages=[]),
    _line(messages={"role": "agent"}),
    _line(csat=9),
    _line(csat=True),
    _line(csat="很好"),
    _line(platform={"p": 1}),
    _messages({"role": "boss", "text": "x"}),
    _messages({"role": ["agent"], "text": "x"}),
    _messages({"role": "agent"}),
    _messages({"role": "agent", "text": 5}),
    _messages({"role": "agent", "text": "x", "ts": "yesterday"}),
    _messages({"role": "agent", "text": "x", "ts": "2026-02-30T10:00:00+08:00"}),
    _messages({"role": "agent", "text": "x", "ts": "2026-11-11T24:00:00+08:00"}),
    _messages({"role": "agent", "text": "x", "ts": "٢٠٢٦-11-11T10:00:00+08:00"}),
    _messages({"role": "agent", "text": "x", "ts": True}),
    _messages({"role": "agent", "text": "x", "ts": -5}),
    _messages({"role": "agent", "text": "x", "agent": ["小美"]}),
    _messages("在吗"),
    '{"conversation_id": "c1", "messages": [{"role": "agent", "text": "x", "ts": 1' + "0" * 5000 + "}]}",
    "[1, 2]",
    '"just a string"',
    "{not json",
]


@pytest.mark.parametrize("line", CANONICAL)
def test_canonical_lines_take_the_fast_reading_and_give_the_careful_record(line: str) -> None:
    fast = next(parse_jsonl([line], "f.jsonl"))
    assert isinstance(fast, ConversationColumns)
    assert record_tuple(fast) == record_tuple(_careful(line, 1, "f.jsonl"))


@pytest.mark.parametrize("line", TOLERATED + HOSTILE)
def test_every_other_line_gives_what_the_careful_reading_gives(line: str) -> None:
    assert record_tuple(next(parse_jsonl([line], "f.jsonl"))) == record_tuple(_careful(line, 1, "f.jsonl"))


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_lines_are_rejected_with_a_reason(line: str) -> None:
    rec = next(parse_jsonl([line], "f.jsonl"))
    assert isinstance(rec, Rejection) and rec.row == 1 and rec.reason


def test_a_whole_demo_file_reads_the_same_both_ways(tmp_path) -> None:
    demo = generate_demo(tmp_path, conversations=600)
    lines = demo.conversations_jsonl.read_text(encoding="utf-8").splitlines()
    fast = [record_tuple(r) for r in parse_jsonl(lines, "f.jsonl")]
    assert fast == [record_tuple(_careful(line, i, "f.jsonl")) for i, line in enumerate(lines, start=1)]
    assert len(fast) == demo.jsonl_conversations


@pytest.mark.parametrize("values", [
    ["2026-11-11T10:00:00+08:00", "2026-11-11T23:59:59+08:00"],
    ["2026-11-11 10:00:00", "2026-11-12 00:00:01"],
    ["2026-11-11T10:00:00+08:00", None, "2026-11-11 10:00:00"],
    ["2026-11-11T10:00:00+08:00", "2026-11-11T10:00:00.5+08:00"],
    [None],
    ["2026-11-11 10:00:00", "", "2026-11-11T10:00:05", ""],
    ["", "2026-11-11T10:00:00+08:00", ""],
    ["", ""],
])
def test_parse_stamps_is_parse_stamp_of_each(values: list) -> None:
    assert parse_stamps(values) == [parse_stamp(v) for v in values]


@pytest.mark.parametrize("values", [
    ["2026-11-11 10:00:00", "", "2026-11-11T10:00:05"], ["", "2026-11-11T10:00:00+08:00"], [""],
])
def test_times_among_empty_cells_are_still_read_in_one_scan(values: list) -> None:
    assert stamps_at_once(values) == [parse_stamp(v) for v in values]


def test_parse_stamps_raises_for_a_value_that_is_no_time() -> None:
    with pytest.raises(ValueError, match="2026-02-30"):
        parse_stamps(["2026-11-11T10:00:00+08:00", "2026-02-30T10:00:00+08:00"])
    with pytest.raises(ValueError):  # two stamps in one value must not pass for two values
        parse_stamps(["2026-11-11T10:00:00+08:00\n2026-11-11T10:00:01+08:00"])
