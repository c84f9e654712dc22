"""Large files are parsed in a worker process: same result as in-process, and failures still change nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from huifang_demo.generate import generate_demo
from qa.access import SYSTEM
from qa.db import init_db, make_engine
from qa.errors import ImportFormatError
from qa.ingest.importer import import_path, import_stream
from qa.ingest.staging import MessageColumns
from qa.models import Agent, Conversation, Message, Platform, Shop, Ticket
from tests.helpers import conv, counts, import_bytes, jsonl, write

FIXTURES = Path(__file__).parent / "fixtures" / "chatlogs"


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file, however small, goes through the parse worker."""
    monkeypatch.setattr("qa.ingest.parse_worker.PARALLEL_MIN_BYTES", 0)


def _children() -> set[int]:
    pid = os.getpid()
    return {int(c) for t in os.listdir(f"/proc/{pid}/task")
            for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()}


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Everything an import stores, without ids, in a stable order."""
    c, m = Conversation, Message
    with engine.connect() as conn:
        key = dict(conn.execute(select(c.id, c.source_key)).all())
        agent = dict(conn.execute(select(Agent.id, Agent.name)).all())
        return {
            "conversations": sorted(conn.execute(
                select(c.source_key, Platform.name, Shop.name, Agent.name, c.team, c.customer, c.started_at,
                       c.ended_at, c.order_id, c.category, c.csat, c.message_count, c.content_hash, Ticket.external_id)
                .outerjoin(Platform, Platform.id == c.platform_id).outerjoin(Shop, Shop.id == c.shop_id)
                .outerjoin(Agent, Agent.id == c.agent_id).outerjoin(Ticket, Ticket.id == c.ticket_id)).all()),
            "messages": sorted((key[r.conversation_id], r.seq, r.ts, r.role, agent.get(r.agent_id), r.sender, r.text)
                               for r in conn.execute(select(m.conversation_id, m.seq, m.ts, m.role, m.agent_id,
                                                            m.sender, m.text))),
            "tickets": sorted(conn.execute(select(Ticket.source_key, Ticket.status, Ticket.csat, Ticket.closed_at))),
            "agents": sorted(conn.execute(select(Agent.name, Agent.team)).all()),
        }


def _demo_files(tmp_path: Path) -> list[Path]:
    """A small demo archive in every layout it writes, plus its chats as a message-per-row CSV."""
    files = generate_demo(tmp_path / "demo", conversations=300, seed=3)
    table = tmp_path / "messages.csv"
    with open(files.conversations_jsonl, encoding="utf-8") as src, open(table, "w", newline="", encoding="gbk",
                                                                         errors="replace") as out:
        w = csv.writer(out)
        w.writerow(["会话编号", "平台", "店铺", "发送时间", "角色", "客服昵称", "消息内容"])
        for line in src:
            c = json.loads(line)
            for msg in c["messages"]:
                w.writerow([c["conversation_id"], c.get("platform", ""), c.get("shop", ""), msg.get("ts", ""),
                            msg["role"], msg.get("agent", ""), msg["text"]])
    return [*files.paths, table, *sorted(FIXTURES.glob("*.txt")), *sorted(FIXTURES.glob("*.log"))]


def _fresh(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    return engine


def test_worker_stores_exactly_what_in_process_parsing_stores(tmp_path, monkeypatch):
    files = _demo_files(tmp_path)
    here, there = _fresh(tmp_path / "here.db"), _fresh(tmp_path / "there.db")
    reports = {}
    for engine, threshold in ((here, 1 << 40), (there, 0)):
        monkeypatch.setattr("qa.ingest.parse_worker.PARALLEL_MIN_BYTES", threshold)
        reports[threshold] = [(r.format, r.counts, [str(x) for x in r.rejections])
                              for path in files for r in import_path(engine, path)]
    assert reports[0] == reports[1 << 40]
    assert snapshot(there) == snapshot(here)
    assert len(snapshot(here)["messages"]) > 3000


def test_worker_path_on_each_database(engine, tmp_path, in_worker):
    before = _children()
    data = jsonl(conv("w1", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的亲", "2026-11-11T10:00:09+08:00")),
                 {"conversation_id": "bad"}, conv("w2", ("customer", "[图片]", None)))
    (report,) = import_path(engine, write(tmp_path, "w.jsonl", data))
    assert (report.counts.conversations_added, report.counts.messages_added) == (2, 3)
    assert [(r.row, r.field) for r in report.rejections] == [(2, "messages")]
    assert _children() == before  # the worker has exited
    again = import_bytes(engine, "w.jsonl", data)
    assert (again.counts.conversations_unchanged, again.seen_before) == (2, True)
    assert counts(engine)["messages"] == 3


def test_an_upload_without_a_path_is_spooled_to_a_temporary_file_and_removed(sqlite_engine, in_worker, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its own directory: other tests spool uploads too
    made: list[str] = []
    mkstemp = tempfile.mkstemp

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        fd, name = mkstemp(*args, **kwargs)
        made.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", recording)
    report = import_bytes(sqlite_engine, "up.jsonl", jsonl(conv("u1", ("customer", "在吗", None))))
    assert report.counts.conversations_added == 1
    assert sorted(Path(m).name.split("-")[1] for m in made) == ["import", "spool"]  # the upload, the staged batches
    assert not list(tmp_path.glob("huifang-*"))


def test_unreadable_layout_in_worker_is_a_clear_error_and_changes_nothing(sqlite_engine, tmp_path, in_worker):
    import_bytes(sqlite_engine, "a.jsonl", jsonl(conv("keep", ("customer", "在吗", None))))
    before = counts(sqlite_engine)
    with pytest.raises(ImportFormatError, match="what.csv: 无法识别的表格"):
        import_path(sqlite_engine, write(tmp_path, "what.csv", b"a,b\n1,2\n"))
    with pytest.raises(ImportFormatError, match="无法解码"):
        lines = [json.dumps(conv(f"n{i}", ("customer", "你好", None)), ensure_ascii=False) for i in range(20_000)]
        import_path(sqlite_engine, write(tmp_path, "late.jsonl",
                                         ("\n".join(lines) + "\n").encode() + b"\xff\xfe\xfa broken tail\n"))
    assert counts(sqlite_engine) == before


def test_a_worker_that_dies_changes_nothing_and_says_so(sqlite_engine, tmp_path, in_worker, monkeypatch):
    dying = tmp_path / "python"
    dying.write_text("#!/bin/sh\nexit 3\n")
    dying.chmod(0o755)
    monkeypatch.setattr("qa.ingest.parse_worker.sys.executable", str(dying))
    with pytest.raises(ImportFormatError, match=r"d.jsonl: 解析进程意外退出（退出码 3）"):
        import_bytes(sqlite_engine, "d.jsonl", jsonl(conv("d1", ("customer", "在吗", None))))
    assert counts(sqlite_engine)["conversations"] == 0


def test_a_database_failure_stops_the_worker_and_rolls_back(sqlite_engine, tmp_path, in_worker, monkeypatch):
    import_bytes(sqlite_engine, "a.jsonl", jsonl(conv("keep", ("customer", "在吗", None))))
    before, children = counts(sqlite_engine), _children()

    def fail(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("qa.ingest.loader.Loader.add_conversations", fail)
    lines = [json.dumps(conv(f"n{i}", ("customer", "你好", None)), ensure_ascii=False) for i in range(10_000)]
    with pytest.raises(ImportFormatError, match="无法读取（RuntimeError: disk full）；整个文件未导入"):
        import_path(sqlite_engine, write(tmp_path, "big.jsonl", ("\n".join(lines) + "\n").encode()))
    assert counts(sqlite_engine) == before
    assert _children() == children


def test_message_columns_cross_processes_as_joined_strings_or_as_lists():
    plain = MessageColumns(["2026-11-11 10:00:00.000000", ""], ["customer", "agent"], ["在吗", ""], ["", "小美"],
                           ["tb_1", ""])
    nul = MessageColumns(["", ""], ["customer", "customer"], ["a\x00b", "c"], ["", ""], ["", ""])
    for cols in (plain, nul, MessageColumns()):
        assert pickle.loads(pickle.dumps(cols)) == cols
    assert isinstance(plain.__getstate__()[1][2], str) and isinstance(nul.__getstate__()[1][2], list)


def test_rows_of_a_conversation_far_apart_are_one_conversation(engine):
    rows = ["会话ID,发送方,客服昵称,内容,满意度", "a,顾客,,好的,", "a,顾客,,[图片],"]
    rows += [f"o{i},顾客,,你好," for i in range(10)]
    rows += ["a,顾客,,好的,", "a,客服,小美,[图片],5"]
    report = import_bytes(engine, "long.csv", ("\n".join(rows) + "\n").encode())
    c = report.counts
    assert (c.conversations_added, c.conversations_merged, c.messages_added) == (11, 0, 14)
    with engine.connect() as conn:
        a = conn.execute(select(Conversation.id, Conversation.csat, Agent.name).join(Agent)
                         .where(Conversation.external_id == "a")).one()
        texts = conn.scalars(select(Message.text).where(Message.conversation_id == a.id).order_by(Message.seq)).all()
    assert texts == ["好的", "[图片]", "好的", "[图片]"]  # identical messages on both sides are both kept
    assert (a.csat, a.name) == (5, "小美")


def test_a_conversation_is_passed_on_at_its_last_row_not_at_the_end_of_the_file():
    from qa.ingest.formats.spreadsheet import last_rows
    from qa.ingest.formats.table import map_columns, parse_message_rows

    headers = ["会话ID", "发送方", "内容"]
    table = [(2, ["a", "顾客", "在吗"]), (3, ["b", "顾客", "你好"]), (4, ["a", "客服", "在的"])]
    table += [(5 + i, ["b", "顾客", f"第{i}句"]) for i in range(1000)]
    cols = map_columns(headers)
    read: list[int] = []

    def rows():  # type: ignore[no-untyped-def]
        for row, cells in table:
            read.append(row)
            yield row, cells

    records = parse_message_rows(headers, rows(), cols, "t.csv", last_rows(headers, iter(table), cols))
    first = next(records)
    assert (first.record.external_id, len(first.texts), read[-1]) == ("a", 2, 4)
    assert [r.record.external_id for r in records] == ["b"]


def test_zip_member_goes_through_the_worker(sqlite_engine, in_worker):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.jsonl", jsonl(conv("z1", ("customer", "在吗", None))))
    (report,) = import_stream(sqlite_engine, "e.zip", io.BytesIO(buf.getvalue()), by=SYSTEM)
    assert (report.file, report.counts.conversations_added) == ("e.zip/a.jsonl", 1)


def test_an_orphaned_worker_exits_instead_of_blocking(tmp_path):
    """When the importing process goes away, the worker's writes fail; it must exit, not wait for ever."""
    import subprocess

    from qa.ingest.parse_worker import WorkerParse

    lines = [json.dumps(conv(f"n{i}", ("customer", "你好" * 50, None)), ensure_ascii=False) for i in range(30_000)]
    worker = WorkerParse(write(tmp_path, "big.jsonl", ("\n".join(lines) + "\n").encode()), "big.jsonl")
    assert worker.wait_format() == "jsonl"
    worker._proc.stdout.close()  # what the importer's death does to the pipe
    try:
        assert worker._proc.wait(timeout=60) != 0
    except subprocess.TimeoutExpired:
        worker._proc.kill()
        pytest.fail("the worker kept running with nobody reading")


def test_the_worker_is_started_with_the_folder_that_holds_the_package() -> None:
    from qa.ingest import parse_worker

    assert (Path(parse_worker._PACKAGE_ROOT) / "qa" / "ingest" / "parse_worker.py").is_file()
