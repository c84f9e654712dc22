"""Hostile input is contained (issue #12): a bad line, row or member is reported by number and why, the rest of the
file and the files after it are imported, and nothing a rejected file held reaches the database."""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from qa.access import SYSTEM
from qa.cli import main
from qa.errors import ImportFormatError
from qa.ingest import importer
from qa.ingest.importer import import_stream
from qa.ingest.records import Rejection
from qa.ingest.rejections import RejectionLog
from qa.models import ImportBatch, ProductReview
from tests.helpers import conv, counts, import_bytes, jsonl, write

CSV_HEADER = "会话ID,发送时间,发送方,内容\n"


def _unclosed_quote_csv() -> bytes:
    """The issue's reproduction: row 2 opens a quote that nothing closes, 198 good rows follow."""
    rows = [f"u{i},2026-11-11 10:02:00,顾客,m{i}\n" for i in range(2, 200)]
    return (CSV_HEADER + 'u1,2026-11-11 10:01:00,顾客,"oops\n' + "".join(rows)).encode()


def test_an_unclosed_quote_is_its_row_rejected_and_the_rows_after_it_are_imported(engine: Engine) -> None:
    report = import_bytes(engine, "q.csv", _unclosed_quote_csv())
    assert report.counts.conversations_added == 198
    assert [(r.row, r.reason[:6]) for r in report.rejections] == [(2, "引号没有闭合")]
    assert counts(engine)["messages"] == 198


def test_the_cli_imports_the_reproduction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "q.csv", _unclosed_quote_csv())
    assert main(["--db", f"sqlite:///{tmp_path / 'h.db'}", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "新增会话 198" in out and "拒绝：q.csv 第 2 行: 引号没有闭合" in out


@pytest.mark.parametrize(("row", "reason"), [
    ("b,2026-11-11 10:00:01,顾客\n", "该行只有 3 列，表头有 4 列"),
    ("b,2026-11-11 10:00:01,顾客,多,出来\n", "该行有 5 列，表头只有 4 列"),
])
def test_a_row_of_another_width_is_rejected_by_row_not_stored_empty(engine: Engine, row: str, reason: str) -> None:
    data = (CSV_HEADER + "a,2026-11-11 10:00:00,顾客,在吗\n" + row + "c,2026-11-11 10:00:02,顾客,好的\n").encode()
    report = import_bytes(engine, "r.csv", data)
    assert [(r.row, r.reason[:len(reason)]) for r in report.rejections] == [(3, reason)]
    assert report.counts.conversations_added == 2 and counts(engine)["messages"] == 2


@pytest.mark.parametrize(("name", "data"), [
    ("m.csv", CSV_HEADER + "u1,2026-11-11 10:01:00\nu2,2026-11-11 10:01:00,顾客,在吗\n"),
    ("t.csv", "工单号,创建时间,关闭时间,状态,满意度,订单号\nt1,2026-11-11 10:00:00\nt2,2026-11-11 10:00:00,,已完结,5,o2\n"),
])
def test_a_short_row_in_a_small_table_is_rejected_not_read_as_a_chat_log(engine: Engine, name: str, data: str) -> None:
    # "u1,2026-11-11 10:01:00" looks like a chat header; in a file of three lines it outvoted the table
    report = import_bytes(engine, name, data.encode())
    assert report.format.startswith("csv_")
    assert [(r.row, r.reason[:6]) for r in report.rejections] == [(2, "该行只有 2")]
    assert counts(engine)["conversations"] + counts(engine)["tickets"] == 1


def _line(**fields: object) -> str:
    return json.dumps({"conversation_id": "x", "messages": [{"role": "customer", "text": "在吗"}], **fields})


GOOD = jsonl(conv("ok", ("customer", "在吗", None))).decode()


@pytest.mark.parametrize(("line", "field", "reason"), [
    ('{"conversation_id": "s", "messages": [{"role": "customer", "text": "\\ud800"}]}', None, "会话 s 无法读取（含有无法存储的字符"),
    ('{"conversation_id": "s", "shop": "\\udfff", "messages": [{"role": "customer", "text": "a"}]}', None,
     "会话 s 无法读取（含有无法存储的字符"),
    ("[" * 100_000 + "]" * 100_000, None, "无法读取（嵌套层数过多）"),
    ('{"conversation_id": "s", "messages": ' + "[" * 100_000 + "]" * 100_000 + "}", None, "无法读取（嵌套层数过多）"),
    (_line(messages=[{"role": "customer", "text": "a", "ts": "9999-12-31T23:59:59Z"}]), "messages[0].ts",
     "时间“9999-12-31T23:59:59Z”不在 2000–2100 年之间"),
    (_line(messages=[{"role": "customer", "text": "a", "ts": "0001-01-01T00:00:00"}]), "messages[0].ts",
     "时间“0001-01-01T00:00:00”不在 2000–2100 年之间"),
    (_line(messages=[{"role": "customer", "text": "a", "ts": "2101-01-01 00:00:00"}]), "messages[0].ts",
     "时间“2101-01-01 00:00:00”不在 2000–2100 年之间"),
    (_line(messages=[{"role": "customer", "text": "a", "ts": 1e300}]), "messages[0].ts", "无法识别的时间"),
    (_line(csat=float("inf")), "csat", "满意度不能是 inf（不是有限的数）"),
    (_line(csat=float("nan")), "csat", "满意度不能是 nan（不是有限的数）"),
    (_line(messages=[{"role": "customer", "text": "a", "ts": float("-inf")}]), "messages[0].ts", "时间不能是 -inf"),
])
def test_a_bad_json_line_is_rejected_by_field_and_the_file_goes_on(engine: Engine, line: str, field: str | None,
                                                                   reason: str) -> None:
    report = import_bytes(engine, "h.jsonl", (GOOD + line + "\n" + GOOD.replace('"ok"', '"ok2"')).encode())
    assert [(r.row, r.field) for r in report.rejections] == [(2, field)]
    assert report.rejections[0].reason.startswith(reason)
    assert report.counts.conversations_added == 2


@pytest.mark.parametrize(("cell", "column", "reason"), [
    ("9999-12-31 23:59:59", "发送时间", "时间“9999-12-31 23:59:59”不在 2000–2100 年之间"),
    ("1999-12-31 23:59:59", "发送时间", "时间“1999-12-31 23:59:59”不在 2000–2100 年之间"),
])
def test_a_table_time_out_of_range_is_rejected_by_field(engine: Engine, cell: str, column: str, reason: str) -> None:
    data = (CSV_HEADER + "a,2026-11-11 10:00:00,顾客,在吗\n" + f"a,{cell},顾客,还在吗\n").encode()
    report = import_bytes(engine, "t.csv", data)
    assert [(r.row, r.field, r.reason) for r in report.rejections] == [(3, column, reason)]
    assert counts(engine)["messages"] == 1


@pytest.mark.parametrize("year", ["1990", "1999"])  # read as times by the chat layouts, and were stored
def test_a_chat_log_time_out_of_range_is_rejected_like_in_every_other_format(engine: Engine, year: str) -> None:
    log = (f"/*****以下为一通会话*****/\njd_user01 {year}-10-07 10:00:00\n在吗\n"
           "jd_user01 2026-10-07 10:01:00\n还在吗\n").encode()
    report = import_bytes(engine, "a.log", log)
    assert [(r.row, r.reason) for r in report.rejections] == [
        (2, f"时间“{year}-10-07 10:00:00”不在 2000–2100 年之间；该条消息（第 2–3 行）未导入")]
    assert counts(engine)["messages"] == 1


@pytest.mark.parametrize("csat", ["inf", "-Infinity", "nan(1)"])
def test_a_table_csat_that_is_no_finite_number_is_rejected(engine: Engine, csat: str) -> None:
    data = ("会话ID,发送方,内容,满意度\na,顾客,在吗,5\n" + f"b,顾客,在吗,{csat}\n").encode()
    report = import_bytes(engine, "t.csv", data)
    assert [(r.row, r.field) for r in report.rejections] == [(3, "满意度")]
    assert report.counts.conversations_added == 1


def test_a_ticket_time_out_of_range_is_rejected_by_field(engine: Engine) -> None:
    data = "工单号,创建时间,状态\nt1,2026-11-11 10:00:00,已完结\nt2,9999-01-01 00:00:00,已完结\n".encode()
    report = import_bytes(engine, "t.csv", data)
    assert [(r.row, r.field) for r in report.rejections] == [(3, "创建时间")]
    assert counts(engine)["tickets"] == 1


def test_an_unforeseen_exception_in_one_file_leaves_it_out_and_the_next_file_is_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A file whose parsing raises what no check foresaw changes nothing; the command goes on with the next."""
    def explode(*args: object, **kwargs: object) -> object:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("qa.ingest.formats.chatlog.parse_chatlog", explode)
    log = write(tmp_path, "a.txt", "/*****以下为一通会话*****/\njd_user01 2026-10-07 10:00:00\n在吗\n".encode())
    good = write(tmp_path, "b.jsonl", jsonl(conv("b1", ("customer", "在吗", None))))
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert main(["--db", db, "import", str(log), str(good)]) == 1
    captured = capsys.readouterr()
    assert "a.txt: 无法读取（OverflowError: date value out of range）；整个文件未导入" in captured.err
    assert "b.jsonl（JSONL 会话）： 新增会话 1" in captured.out


def test_a_file_that_fails_in_the_database_changes_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr("qa.ingest.loader.Loader.add_conversations", explode)
    with pytest.raises(ImportFormatError, match="h.jsonl: 无法读取（UnicodeEncodeError"):
        import_bytes(engine, "h.jsonl", jsonl(conv("h1", ("customer", "在吗", None))))
    assert counts(engine)["conversations"] == 0
    with engine.connect() as conn:
        assert conn.scalar(select(ImportBatch.id)) is None


def test_a_file_that_fails_after_its_chunks_are_stored_is_interrupted_and_a_rerun_completes_it(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    data = jsonl(conv("h1", ("customer", "在吗", None)))
    with monkeypatch.context() as m:
        m.setattr("qa.ingest.importer.link_tickets", explode)
        with pytest.raises(ImportFormatError, match=r"h.jsonl: 导入中断（UnicodeEncodeError.*已存入 1/1 批.*重新导入同一文件即可补全"):
            import_bytes(engine, "h.jsonl", data)
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.status, ImportBatch.conversations_added)).one() == ("interrupted", 1)
    report = import_bytes(engine, "h.jsonl", data)
    assert (report.counts.conversations_added, report.counts.messages_added, report.seen_before) == (1, 1, False)
    assert counts(engine)["conversations"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.id, ImportBatch.status)).all() == [(report.batch_id, "complete")]


def _zip(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _patched(data: bytes, local_at: int, central_at: int, value: int, members: int = 1) -> bytes:
    """The zip with a two-byte field of its first ``members`` members' local and central headers set to
    ``value``: the flags (6, 8) or the compression method (8, 10)."""
    out = bytearray(data)
    for signature, at in ((b"PK\x03\x04", local_at), (b"PK\x01\x02", central_at)):
        start = 0
        for _ in range(members):
            start = out.find(signature, start)
            out[start + at:start + at + 2] = value.to_bytes(2, "little")
            start += 4
    return bytes(out)


def _reports(engine: Engine, data: bytes) -> list[tuple[str, int, str]]:
    return [(r.file, r.counts.conversations_added, r.rejections[0].reason if r.rejections else "")
            for r in import_stream(engine, "z.zip", io.BytesIO(data), by=SYSTEM)]


A_MEMBER = jsonl(conv("z1", ("customer", "在吗", None)))


def test_an_encrypted_member_is_rejected_and_the_others_imported(engine: Engine) -> None:
    data = _zip(("locked.jsonl", A_MEMBER), ("b.jsonl", jsonl(conv("z2", ("customer", "好", None)))))
    reports = _reports(engine, _patched(data, 6, 8, 0x1))  # the first member's "encrypted" flag
    assert reports == [("z.zip/locked.jsonl", 0, "文件已加密，无法读取；请解压后直接上传"), ("z.zip/b.jsonl", 1, "")]


def test_a_member_in_an_unsupported_compression_is_rejected(engine: Engine) -> None:
    data = _patched(_zip(("a.jsonl", A_MEMBER)), 8, 10, 9)
    ((name, added, reason),) = _reports(engine, data)
    assert (name, added) == ("z.zip/a.jsonl", 0) and reason.startswith("压缩方式（编号 9，如 Deflate64）不受支持")


def test_a_member_with_a_bad_crc_is_rejected_and_the_others_imported(engine: Engine) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("bad.jsonl", A_MEMBER)
        z.writestr("good.jsonl", jsonl(conv("z2", ("customer", "好", None))))
    data = bytearray(buf.getvalue())
    data[data.find("在吗".encode())] ^= 0x01  # the stored bytes no longer match the CRC
    reports = _reports(engine, bytes(data))
    assert reports[0][:2] == ("z.zip/bad.jsonl", 0) and "Bad CRC-32" in reports[0][2]
    assert reports[1] == ("z.zip/good.jsonl", 1, "")
    assert counts(engine)["conversations"] == 1


def test_a_member_past_the_size_limit_is_rejected_before_it_is_read(engine: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "ZIP_MEMBER_MAX_BYTES", 100)
    reports = _reports(engine, _zip(("big.jsonl", A_MEMBER * 10), ("small.jsonl", A_MEMBER)))
    assert reports == [("z.zip/big.jsonl", 0, "解压后超过 0 MB，未读取；请拆分后再压缩上传"), ("z.zip/small.jsonl", 1, "")]


def test_a_member_whose_header_understates_its_size_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A header that understates the size lets no more than it states be read, and the member is rejected."""
    archive = zipfile.ZipFile(io.BytesIO(_zip(("big.jsonl", A_MEMBER * 100))))
    info = archive.infolist()[0]
    info.file_size = 10  # what a hostile header claims
    with pytest.raises(ImportFormatError, match="无法解压（BadZipFile: Bad CRC-32"):
        with importer._extracted(archive, info, "z.zip/big.jsonl"):
            pass


def test_a_zip_bomb_is_stopped_by_its_ratio(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "_RATIO_FROM", 1 << 10)
    bomb = b'{"conversation_id": "z", "messages": []}' + b" " * (4 << 20) + b"\n"
    reports = _reports(engine, _zip(("bomb.jsonl", bomb), ("a.jsonl", A_MEMBER)))
    assert reports == [("z.zip/bomb.jsonl", 0, "压缩比超过 200 倍（疑似压缩炸弹），未读取"), ("z.zip/a.jsonl", 1, "")]


def test_a_large_member_leaves_no_temporary_file(engine: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(spool))
    monkeypatch.setattr("qa.ingest.parse_worker.PARALLEL_MIN_BYTES", 1 << 10)
    member = jsonl(*(conv(f"c{i}", ("customer", f"第 {i} 个问题", None)) for i in range(200)))
    (report,) = import_stream(engine, "z.zip", io.BytesIO(_zip(("big.jsonl", member))), by=SYSTEM)
    assert report.counts.conversations_added == 200
    assert not list(spool.iterdir())


def test_rejections_are_counted_in_full_and_the_first_thousand_kept(engine: Engine) -> None:
    data = GOOD + "".join(f"not json {i}\n" for i in range(1200))
    report = import_bytes(engine, "many.jsonl", data.encode())
    assert report.rejected == 1200 and len(report.rejections) == 1000
    assert [r.row for r in report.rejections[:2]] == [2, 3] and report.rejections[-1].row == 1001
    assert "另有 200 条被拒绝未列出" in report.summary()
    with engine.connect() as conn:
        stored = conn.execute(select(ImportBatch.rejected, ImportBatch.rejections)).one()
    assert stored.rejected == 1200 and len(json.loads(stored.rejections)) == 1000


def test_a_rejection_log_keeps_the_first_rows_whatever_the_order_they_come_in() -> None:
    log = RejectionLog(keep=3)
    log.extend(Rejection("f", row, None, "x") for row in (9, None, 4, 2, 7, 3))
    assert [r.row for r in log.kept] == [2, 3, 4] and (log.count, log.left_out) == (6, 3)
    total = RejectionLog(keep=5)
    total.extend(log)
    assert total.count == 6 and len(total) == 3


def test_a_session_sheet_number_that_is_not_finite_is_rejected_by_field(engine: Engine) -> None:
    data = ("咨询时间,顾客,客服,平均响应时间(S),满意度\n2026-10-07 10:00:00,jd_user01,小李,inf,满意\n"
            "9999-10-07 10:00:00,jd_user02,小李,12,满意\n").encode()
    report = import_bytes(engine, "s.csv", data)
    found = [(r.row, r.field, r.reason) for r in report.rejections]
    assert (2, "平均响应时间(S)", "“inf”不是有限的数，已留空") in found
    assert (3, "咨询时间", "时间“9999-10-07 10:00:00”不在 2000–2100 年之间；该行未导入") in found


def test_the_cli_says_how_many_rejections_it_did_not_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "many.jsonl", (GOOD + "".join(f"not json {i}\n" for i in range(25))).encode())
    assert main(["--db", f"sqlite:///{tmp_path / 'h.db'}", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("  拒绝：many.jsonl 第") == 20
    assert "  ……另有 5 条被拒绝未列出（前 1,000 条见“数据”页或 --show-rejections）" in out


TICKETS = "工单号,创建时间,关闭时间,状态,满意度,订单号\n" + "".join(
    f"{t},2026-11-11 10:00:00,,已完结,5,o{n}\n" for n, t in enumerate(["a", "boom", "c"]))
PRODUCT_REVIEWS = "订单号,商品名称,评分,评价内容,评价时间\n" + "".join(
    f"o{n},卫衣,{n},线头多,2026-11-12 10:00:00\n" for n in range(1, 4))


@pytest.mark.parametrize(("name", "data", "target", "is_boom", "what"), [
    ("m.csv", CSV_HEADER + "".join(f"{c},2026-11-11 10:00:00,顾客,在吗\n" for c in ["a", "boom", "c"]),
     "qa.ingest.formats.table._assemble", lambda conv_id, *_: conv_id == "boom", "会话 boom（1 行）"),
    ("t.csv", TICKETS, "qa.ingest.formats.table._ticket", lambda get, *_: get["ticket_id"] == "boom", ""),
    ("r.csv", PRODUCT_REVIEWS, "qa.ingest.formats.reviews.parse_rating", lambda rating: rating == "2", ""),
], ids=["messages", "tickets", "product-reviews"])
def test_a_table_row_that_raises_is_its_rejection_and_the_other_rows_are_imported(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, name: str, data: str, target: str,
        is_boom: Callable[..., bool], what: str) -> None:
    module, attr = target.rsplit(".", 1)
    original = getattr(importlib.import_module(module), attr)

    def fragile(*args: object) -> object:
        if is_boom(*args):
            raise OverflowError("date value out of range")
        return original(*args)

    monkeypatch.setattr(target, fragile)
    report = import_bytes(engine, name, data.encode())
    assert [(r.row, r.reason) for r in report.rejections] == [
        (3, f"{what}无法读取（OverflowError: date value out of range）；已跳过")]
    with engine.connect() as conn:
        reviews = conn.scalar(select(func.count()).select_from(ProductReview))
    assert counts(engine)["conversations"] + counts(engine)["tickets"] + reviews == 2


def test_a_chat_log_line_that_raises_is_its_rejection(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.ingest.formats import chatlog

    place = chatlog._place_body

    def fragile(c: object, spec: object, no: int, line: str) -> None:
        if line == "炸":
            raise OverflowError("date value out of range")
        place(c, spec, no, line)  # type: ignore[arg-type]

    monkeypatch.setattr(chatlog, "_place_body", fragile)
    log = (Path(__file__).parent / "fixtures" / "chatlogs" / "jd.log").read_text(encoding="utf-8")
    expected = import_bytes(engine, "a.log", log.encode()).counts.conversations_added
    lines = log.split("\n")
    lines.insert(3, "炸")  # after the first message's body, as line 4
    report = import_bytes(engine, "b.log", "\n".join(lines).encode())
    assert [(r.row, r.reason) for r in report.rejections] == [
        (4, "无法读取（OverflowError: date value out of range）；已跳过")]
    assert report.counts.conversations_unchanged == expected
