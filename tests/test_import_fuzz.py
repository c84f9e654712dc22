"""Random and mutated files of every registered format thrown at the importer (issue #12).

Whatever the bytes, an import ends in reports or in the project's clear ``ImportFormatError``, never another
exception, and a file refused as a whole leaves the database as it was. Examples are few and derandomised, so
the suite stays quick and repeatable; raise ``HUIFANG_FUZZ_EXAMPLES`` to search longer.
"""

from __future__ import annotations

import io
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from qa.access import SYSTEM
from qa.errors import ImportFormatError
from qa.ingest.detect import parse_file
from qa.ingest.formats import FORMATS
from qa.ingest.importer import import_stream
from qa.models import Conversation, ImportBatch, Message, Ticket
from tests.helpers import conv, jsonl

CHATLOGS = Path(__file__).parent / "fixtures" / "chatlogs"
EXAMPLES = int(os.environ.get("HUIFANG_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HOSTILE_TOKENS = [b'"', b"\n", b"\r", b",", b"\t", b"\x00", b"\\ud800", b"\\udfff", b"9999-12-31T23:59:59Z",
                  b"0001-01-01 00:00:00", b"Infinity", b"-Infinity", b"NaN", b"1e999", b"[" * 3000, b"{" * 3000,
                  b"\xff\xfe", b"\xef\xbb\xbf", "满意".encode("gbk"), b"\x80\x81", b"PK\x03\x04", b"\xed\xa0\x80",
                  "\u2028\u202e".encode(), b"=cmd|' /C calc'!A0", b"9" * 5000]


def _xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


MESSAGES = [["会话ID", "发送时间", "发送方", "客服昵称", "内容", "满意度"],
            ["a", "2026-11-11 10:00:00", "顾客", "", "这件有M码吗", ""],
            ["a", "2026-11-11 10:00:40", "客服", "小美", "亲，有的哦", "满意"],
            ["b", "2026-11-12 09:00:00", "顾客", "", "发货了吗", "3"]]
TICKETS = [["工单号", "创建时间", "关闭时间", "状态", "满意度", "订单号"],
           ["t1", "2026-11-11 10:00:00", "2026-11-12 10:00:00", "已完结", "5", "o1"],
           ["t2", "2026-11-11 11:00:00", "", "处理中", "", "o2"]]
PRODUCT_REVIEWS = [["订单号", "商品名称", "评分", "评价内容", "追评", "评价时间"],
                   ["o1", "加绒连帽卫衣", "1", "线头很多，物流也慢", "", "2026-11-12 10:00:00"],
                   ["o2", "加绒连帽卫衣", "5", "很暖和", "穿了一周没起球", "2026-11-13 11:00:00"]]
SESSIONS = [["咨询时间", "顾客", "客服", "首次响应时间", "平均响应时间(S)", "客户消息数", "满意度"],
            ["2026-10-07 10:00:00", "jd_user01", "小李", "12", "30.5", "3", "满意"]]


def _csv(rows: list[list[str]]) -> bytes:
    return "".join(",".join(row) + "\n" for row in rows).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _seeds() -> dict[str, tuple[str, bytes]]:
    """A valid file of every registered format (and a zip), by format code."""
    seeds = {
        "jsonl": ("s.jsonl", jsonl(conv("j1", ("customer", "在吗", "2026-11-11T10:00:00+08:00"),
                                        ("agent", "在的", "2026-11-11T10:00:20+08:00"), platform="天猫", csat=4))),
        "csv_messages": ("s.csv", _csv(MESSAGES)),
        "xlsx_messages": ("s.xlsx", _xlsx(MESSAGES)),  # type: ignore[arg-type]
        "csv_tickets": ("s.csv", _csv(TICKETS)),
        "xlsx_tickets": ("s.xlsx", _xlsx(TICKETS)),  # type: ignore[arg-type]
        "csv_jd_sessions": ("s.csv", _csv(SESSIONS)),
        "xlsx_jd_sessions": ("s.xlsx", _xlsx(SESSIONS)),  # type: ignore[arg-type]
        "csv_product_reviews": ("s.csv", _csv(PRODUCT_REVIEWS)),
        "xlsx_product_reviews": ("s.xlsx", _xlsx(PRODUCT_REVIEWS)),  # type: ignore[arg-type]
    }
    for path in sorted(CHATLOGS.glob("*.*")):
        if path.suffix in (".txt", ".log"):
            code = parse_file(path.name, io.BytesIO(path.read_bytes())).format
            seeds.setdefault(code, (path.name, path.read_bytes()))
    seeds["zip"] = ("s.zip", _zip({"a.jsonl": seeds["jsonl"][1], "b.csv": seeds["csv_messages"][1]}))
    return seeds


SEEDS = _seeds()


def test_every_registered_format_has_a_seed() -> None:
    assert {f.code for f in FORMATS} | {"zip"} == set(SEEDS)
    for code, (name, data) in SEEDS.items():
        if code != "zip":
            assert parse_file(name, io.BytesIO(data)).format == code


def _snapshot(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Conversation, Message, Ticket, ImportBatch))


def _check(engine: Engine, name: str, data: bytes) -> None:
    """The property: reports or ImportFormatError, and nothing stored from a file refused whole."""
    before = _snapshot(engine)
    try:
        reports = import_stream(engine, name, io.BytesIO(data), by=SYSTEM)
    except ImportFormatError:
        assert _snapshot(engine) == before
        return
    for report in reports:
        assert report.rejected >= len(report.rejections)
        if report.batch_id is None:  # a zip member that could not be read is reported, not raised
            assert report.rejections and report.rejections[0].reason


@st.composite
def _mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, inserted, deleted or replaced by hostile tokens, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "token", "truncate", "duplicate"]))
        if op == "flip" and at < len(out):
            out[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 16))]
        elif op == "token":
            out[at:at] = draw(st.sampled_from(HOSTILE_TOKENS))
        elif op == "truncate":
            del out[at:]
        elif op == "duplicate":
            out[at:at] = out[max(0, at - 64):at]
    return bytes(out)


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_a_mutated_file_is_imported_or_refused_clearly(engine: Engine, code: str) -> None:
    name, seed = SEEDS[code]

    @FUZZ
    @given(_mutated(seed))
    def run(data: bytes) -> None:
        _check(engine, name, data)

    run()


CELLS = st.one_of(
    st.text(max_size=30), st.sampled_from([t.decode("utf-8", "replace") for t in HOSTILE_TOKENS]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)), st.none())


@pytest.mark.parametrize("headers", [MESSAGES[0], TICKETS[0], SESSIONS[0]], ids=["messages", "tickets", "sessions"])
def test_a_workbook_of_hostile_cells_is_imported_or_refused_clearly(engine: Engine,
                                                                   headers: list[str]) -> None:
    @FUZZ
    @given(st.lists(st.lists(CELLS, min_size=1, max_size=len(headers) + 1), min_size=1, max_size=6))
    def run(rows: list[list[object]]) -> None:
        from openpyxl.utils.exceptions import IllegalCharacterError

        try:
            data = _xlsx([headers, *rows])  # type: ignore[list-item]
        except (IllegalCharacterError, ValueError):  # what openpyxl will not write is no test of the reader
            return
        _check(engine, "h.xlsx", data)

    run()


@pytest.mark.parametrize("suffix", sorted({ext for f in FORMATS for ext in f.extensions} | {".zip"}))
def test_random_bytes_are_imported_or_refused_clearly(engine: Engine, suffix: str) -> None:
    @FUZZ
    @given(st.binary(max_size=2000))
    def run(data: bytes) -> None:
        _check(engine, f"r{suffix}", data)

    run()
