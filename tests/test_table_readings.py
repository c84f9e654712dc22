"""A message table's conversations parsed column by column give what parsing them row by row gives.

``parse_message_rows`` parses a complete conversation's columns in one go and falls back to row by row when a
row has something to report; these tests hold the column-wise record to the row-by-row one on every header
layout the parser infers roles from, and check that a bad row still costs only itself.
"""

from __future__ import annotations

import pytest

from qa.ingest.formats.spreadsheet import last_rows
from qa.ingest.formats.table import (
    _by_column,
    _conversation,
    _row_by_row,
    map_columns,
    parse_message_rows,
)
from qa.ingest.records import ConversationColumns, Rejection
from tests.helpers import record_tuple

TABLES = {
    "roles as words": (["会话ID", "时间", "发送方", "客服昵称", "内容", "满意度", "店铺", "顾客"], [
        ["a", "2026-11-11 10:00:00", "顾客", "", " 在吗 ", "", "某某旗舰店", ""],
        ["a", "2026-11-11 10:00:30", "客服", "小美", "在的", "非常满意", "", "tb_1"],
        ["a", "2026-11-11 10:01:00", "顾客", "", "nan", "非常满意", "", "tb_2"],
    ]),
    "taobao sub-accounts": (["会话ID", "发送时间", "发送者", "消息内容"], [
        ["b", "2026-11-11T10:00:00+08:00", "tb_buyer", "亲在吗"],
        ["b", "2026-11-11T10:00:05+08:00", "某某旗舰店:小美", "在的亲"],
        ["b", "2026-11-11T10:00:06+08:00", "店小蜜", "自动回复"],
    ]),
    "agent column only": (["会话ID", "客服", "内容", "发送者"], [
        ["c", "", "你好", "买家甲"], ["c", "小王", "您好", "小王"], ["c", "小王", "请稍等", ""],
    ]),
    "mixed times and blanks": (["会话ID", "时间", "角色", "内容", "客户"], [
        ["d", "2026/11/11 10:00", "customer", "hi", ""], ["d", "", "agent", "hello", "顾客乙"],
        ["d", "2026-11-11 10:02:00", "", "系统消息", ""],
    ]),
    "control characters": (["会话ID", "角色", "内容"], [
        ["e", "顾客", "带\x07控制\u200b字符\r\n"], ["e", "客服", "\u3000全角空格\u3000"],
    ]),
    "customer sender before customer column": (["会话ID", "发送方", "发送者", "内容", "买家昵称"], [
        ["f", "顾客", "张三", "在吗", ""], ["f", "客服", "店:小李", "在", "李四"],
    ]),
    "bad rows": (["会话ID", "时间", "发送方", "内容", "满意度"], [
        ["g", "昨天", "顾客", "时间坏了", ""], ["g", "2026-11-11 10:00:00", "老板", "角色坏了", ""],
        ["g", "2026-11-11 10:00:01", "顾客", "好的一行", "9"], ["g", "2026-11-11 10:00:02", "客服", "也是好的", "满意"],
        ["g", "2026-02-30 10:00:00", "客服", "日期不存在", ""],
    ]),
    "all rows bad": (["会话ID", "发送方", "内容"], [["h", "老板", "x"], ["h", "", "y"]]),
}


def _group(headers: list[str], table: list[list[str]]) -> tuple[list[str], tuple]:
    """The fields, and the conversation's row numbers and cleaned columns as ``_conversation`` takes them."""
    cols = map_columns(headers)
    index = [headers.index(cols[f]) for f in cols]
    return list(cols), _by_column([(row, tuple(cells[j] for j in index)) for row, cells in enumerate(table, start=2)])


@pytest.mark.parametrize("name", TABLES)
def test_column_wise_parse_gives_the_row_by_row_record(name: str) -> None:
    headers, table = TABLES[name]
    cols = map_columns(headers)
    fields, group = _group(headers, table)
    conv_id = table[0][0]
    assert ([record_tuple(r) for r in _conversation(conv_id, *group, fields, cols, "t.csv")]
            == [record_tuple(r) for r in _row_by_row(conv_id, *group, fields, cols, "t.csv")])


def test_good_conversations_take_the_column_wise_way() -> None:
    headers, table = TABLES["roles as words"]
    fields, group = _group(headers, table)
    (rec,) = _conversation("a", *group, fields, map_columns(headers), "t.csv")
    assert isinstance(rec, ConversationColumns)
    assert (rec.record.customer, rec.record.csat, rec.agents) == ("tb_1", 5, ["", "小美", ""])


def test_a_bad_row_costs_only_itself_and_is_named() -> None:
    headers, table = TABLES["bad rows"]
    rows = [(i, cells) for i, cells in enumerate(table, start=2)]
    cols = map_columns(headers)
    out = list(parse_message_rows(headers, iter(rows), cols, "t.csv", last_rows(headers, iter(rows), cols)))
    rejected = [(r.row, r.field) for r in out if isinstance(r, Rejection)]
    assert rejected == [(2, "时间"), (3, "发送方"), (4, "满意度"), (6, "时间")]
    (conv,) = [r for r in out if not isinstance(r, Rejection)]
    assert [m.text for m in conv.messages] == ["也是好的"] and conv.source_row == 5 and conv.csat == 4


def test_last_rows_names_each_conversations_last_row_by_its_cleaned_id() -> None:
    rows = [(2, ["a", "x"]), (3, [" a\u200b", "y"]), (4, []), (5, ["b", "z"]), (6, ["a ", "w"])]
    assert last_rows(["会话ID", "内容"], iter(rows), {"conversation_id": "会话ID", "text": "内容"}) == \
        {"a": 6, "b": 5}
