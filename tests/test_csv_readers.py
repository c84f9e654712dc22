"""A CSV message table gives the same records, rejections and row numbers whichever reader reads it.

``qa.ingest.formats.arrow_csv`` reads a file with pyarrow when a first reading finds nothing the csv module could read
differently; these tests hold that reading to the csv module's on files of both kinds (those it takes, those
it must hand back) and check that each kind really goes the way it should.
"""

from __future__ import annotations

import io

import pytest

from qa.ingest.detect import parse_file
from qa.ingest.formats import arrow_csv
from qa.ingest.normalize import clean_cells, clean_text
from tests.helpers import record_tuple

HEADER = "会话ID,时间,发送方,客服昵称,内容,满意度\n"
ROWS = [
    "a,2026-11-11 10:00:00,顾客,,在吗,",
    "a,2026-11-11 10:00:30,客服,小美,在的 亲,满意",
    "b,2026-11-11 11:00:00,顾客,,尺码怎么选,",
    "b,2026-11-11 11:00:10,客服,小王,看详情页尺码表,",
]

# files pyarrow reads: each must come out exactly as the csv module reads it
TAKEN = {
    "plain": HEADER + "\n".join(ROWS) + "\n",
    "CRLF, no final newline": (HEADER + "\n".join(ROWS)).replace("\n", "\r\n"),
    "multi-line cells": HEADER + 'a,2026-11-11 10:00:00,顾客,,"第一行\n第二行",\n'
                        + 'a,2026-11-11 10:00:01,客服,小美,"一\r\n二\r三",\n' + "\n".join(ROWS[2:]) + "\n",
    "blank lines between and after": HEADER + ROWS[0] + "\n\n" + ROWS[1] + "\n,,,,,\n" + ROWS[2] + "\n\n\n",
    "every cell quoted": '"会话ID","时间","发送方","客服昵称","内容","满意度"\n'
                         + "\n".join(",".join(f'"{c}"' for c in r.split(",")) for r in ROWS) + "\n",
    "interleaved conversations": HEADER + "\n".join([ROWS[0], ROWS[2], ROWS[1], ROWS[3]]) + "\n",
    "bad rows inside good CSV": HEADER + "a,昨天,顾客,,时间坏了,\na,2026-11-11 10:00:00,老板,,角色坏了,\n"
                                + "a,2026-11-11 10:00:01,顾客,,好的,9\n,2026-11-11 10:00:02,顾客,,没有会话,\n"
                                + "\u200b,,,,,\n" + " , , , , , \n" + "\n".join(ROWS[2:]) + "\n",
    "cells to clean": HEADER + "a\u200b,2026-11-11 10:00:00,顾客,,\u3000带\x07控制字符 ,nan\n"
                      + "a, 2026-11-11 10:00:05 ,客服, 小美 ,nan, 满意 \n" + " nan ,,顾客,,x,\n",
    "tab-separated": (HEADER + "\n".join(ROWS) + "\n").replace(",", "\t"),
    "some rows without a time": HEADER + "a,,系统,,会话开始,\n" + "\n".join(ROWS) + "\nb,,系统,,会话结束,\n",
    "no role column": "会话ID,发送者,客服,内容\nc,tb_buyer,,亲在吗\nc,某某旗舰店:小美,,在的\nc,店小蜜,,自动回复\n",
}

# files pyarrow must hand back to the csv module, which reads them its own way
HANDED_BACK = {
    "ragged rows": HEADER + ROWS[0] + "\na,2026-11-11 10:00:01,顾客\n" + ROWS[1] + ",多,出来\n",
    "a quote inside a cell": HEADER + 'a,2026-11-11 10:00:00,顾客,,"他说""好""",\n' + ROWS[1] + "\n",
    "stray quote": HEADER + 'a,2026-11-11 10:00:00,顾客,,5"屏幕,\n' + ROWS[1] + "\n",
    "quote in the header": '会话ID,内容,发送方,"备注""一"\na,x,顾客,\n',
    "NUL byte": HEADER + "a,2026-11-11 10:00:00,顾客,,在\x00吗,\n",
    "whitespace-only line": HEADER + ROWS[0] + "\n   \n" + ROWS[1] + "\n",
}


def _read(data: bytes, *, arrow: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple], list[tuple]]:
    with monkeypatch.context() as m:
        if not arrow:
            m.setattr(arrow_csv, "first_reading", lambda *a, **k: None)
        parsed = parse_file("t.csv", io.BytesIO(data))
        records = [record_tuple(r) for r in parsed.records]
    return records, [record_tuple(r) for r in parsed.late]


def _taken(data: bytes) -> bool:
    """Whether pyarrow takes the file (what ``parse_file`` asks of it)."""
    from qa.ingest.formats.spreadsheet import read_csv_header
    from qa.ingest.formats.table import map_columns
    from qa.ingest.normalize import open_text

    stream = io.BytesIO(data)
    text = open_text(stream, "t.csv")
    headers, delimiter = read_csv_header(text, "t.csv")
    return arrow_csv.first_reading(stream, text.encoding, delimiter, headers,
                                   headers.index(map_columns(headers)["conversation_id"])) is not None


@pytest.mark.parametrize("name", TAKEN)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_files_pyarrow_takes_read_as_the_csv_module_reads_them(name: str, encoding: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = TAKEN[name].encode(encoding)
    assert _taken(data)
    fast = _read(data, arrow=True, monkeypatch=monkeypatch)
    assert fast == _read(data, arrow=False, monkeypatch=monkeypatch)
    assert fast[0]  # something was read


@pytest.mark.parametrize("name", HANDED_BACK)
def test_files_pyarrow_could_misread_go_to_the_csv_module(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = HANDED_BACK[name].encode()
    assert not _taken(data)
    assert _read(data, arrow=True, monkeypatch=monkeypatch) == _read(data, arrow=False, monkeypatch=monkeypatch)


def test_bad_rows_keep_their_row_numbers_on_the_fast_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    records, late = _read(TAKEN["bad rows inside good CSV"].encode(), arrow=True, monkeypatch=monkeypatch)
    rejected = [(r[1], r[2]) for r in records if r[0] == "rejected"]
    assert rejected == [(2, "时间"), (3, "发送方"), (4, "满意度"), (5, "会话ID"), (6, "会话ID")]
    assert late == []


def test_row_numbers_count_the_lines_of_multi_line_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (HEADER + 'a,2026-11-11 10:00:00,顾客,,"一\n二\n三",\n' + 'b,昨天,顾客,,x,\n').encode()
    records, _late = _read(data, arrow=True, monkeypatch=monkeypatch)
    assert [(r[1], r[2]) for r in records if r[0] == "rejected"] == [(5, "时间")]


def test_conversations_across_blocks_and_out_of_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small blocks: conversations split between blocks, or met again later, are held until their last row."""
    lines = [f"c{i % 7},2026-11-11 10:{i // 60:02d}:{i % 60:02d},{'顾客' if i % 2 else '客服'},小美,第{i}句话,"
             for i in range(600)]
    data = (HEADER + "\n".join(lines) + "\n").encode()
    monkeypatch.setattr(arrow_csv, "BLOCK_BYTES", 1024)
    assert _taken(data)
    fast = _read(data, arrow=True, monkeypatch=monkeypatch)
    assert fast == _read(data, arrow=False, monkeypatch=monkeypatch)
    assert sorted(len(r[1]) for r in fast[0]) == [85, 85, 86, 86, 86, 86, 86]  # each passed on whole, once


def test_a_demo_archive_reads_the_same_both_ways(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated export of a few hundred conversations, as the benchmark and the demo write it."""
    import csv
    import json

    from huifang_demo.generate import generate_demo

    generate_demo(tmp_path, conversations=300, seed=3)
    out = io.StringIO()
    w = csv.writer(out)  # writes \r\n line ends, like Excel
    w.writerow(["会话ID", "平台", "店铺", "发送时间", "发送方", "客服昵称", "消息内容"])
    conversations = [json.loads(line) for line in (tmp_path / "conversations.jsonl").read_text("utf-8").splitlines()]
    for c in conversations:
        for msg in c["messages"]:
            w.writerow([c["conversation_id"], c.get("platform", ""), c.get("shop", ""), msg.get("ts", ""),
                        {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}[msg["role"]],
                        msg.get("agent", ""), msg["text"]])
    data = out.getvalue().encode()
    monkeypatch.setattr(arrow_csv, "BLOCK_BYTES", 64 * 1024)
    assert _taken(data)
    fast = _read(data, arrow=True, monkeypatch=monkeypatch)
    assert fast == _read(data, arrow=False, monkeypatch=monkeypatch)
    assert len(fast[0]) == len({c["conversation_id"] for c in conversations}) > 200


def test_an_overlong_cell_is_its_row_rejected_and_the_rows_after_it_are_read() -> None:
    """Most often an unclosed quote that swallows the rest of the file (issue #12): its row is reported, and the
    lines after it are read again as rows of their own."""
    data = (HEADER + ROWS[0] + '\na,2026-11-11 10:00:01,顾客,,"' + "长" * 200_000 + "\n" + ROWS[1] + "\n").encode()
    assert not _taken(data)
    parsed = parse_file("t.csv", io.BytesIO(data))
    records = list(parsed.records)
    assert [m.text for r in records for m in r.materialize().messages] == ["在吗", "在的 亲"]
    assert [(r.row, r.reason[:15]) for r in parsed.late] == [(3, "有超过 131,072 个字符")]


@pytest.mark.parametrize("cells", [
    ["a", " b ", "nan", " nan ", "", "\u200bc", "d\r\ne", "\u3000f\u3000", "g\x07h", "NaN", "None"],
    ["\x01"] * 3 + ["ok"], [], ["plain"] * 5,
])
def test_clean_cells_is_clean_text_of_each_cell(cells: list[str]) -> None:
    assert clean_cells(cells) == [clean_text(c) for c in cells]


@pytest.mark.parametrize("data", [b"a\r\nb\r\n", b"a\rb\rc", b"a\n\nb", b"a\r\n\r\n\rb\n", b"", b"x", b"\r\n"])
@pytest.mark.parametrize("block", [1, 2, 3, 1024])
def test_file_lines_count_as_universal_newlines_do(data: bytes, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the line ends and wherever a block boundary splits a \\r\\n."""
    monkeypatch.setattr(arrow_csv, "BLOCK_BYTES", block)
    assert arrow_csv._file_lines(io.BytesIO(data)) == len(io.TextIOWrapper(io.BytesIO(data), newline=None).readlines())
