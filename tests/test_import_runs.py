"""Long imports vs reviewers' saves (issue #12, "Availability"): a file is stored in chunks of whole conversations,
each its own transaction; an import stopped between chunks is interrupted, and importing the file again completes
it as one clean import would."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from qa.db import init_db, make_engine
from qa.ingest.detect import parse_file
from qa.ingest.importer import import_path
from qa.ingest.runs import INTERRUPTED, state
from qa.ingest.spool import read_chunk, write_spool
from qa.ingest.staging import stage_batches
from qa.jobs.status import past_imports
from qa.models import Conversation, ImportBatch, Message
from qa.review.annotations import Review, my_review, save_review
from qa.review.users import get_or_create_user
from tests.helpers import conv, counts, read, write
from tests.seed import seed_small

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few hundred messages, so that a test file of a thousand conversations makes several."""
    monkeypatch.setattr("qa.ingest.staging.FIRST_CHUNK", 100)
    monkeypatch.setattr("qa.ingest.staging.CHUNK", 100)
    monkeypatch.setattr("qa.ingest.spool.CHUNK_ROWS", 300)
    monkeypatch.setattr("qa.ingest.importer.CHUNK_PAUSE_S", 0)


def _archive(n: int = 1000, far_at: int | None = None) -> bytes:
    """``n`` two-message conversations, and a conversation "far" whose first line comes first and whose second
    comes after ``far_at`` of them (at the end by default)."""
    far_at = n if far_at is None else far_at
    lines = [conv(f"r{i}", ("customer", f"问题{i}", "2026-11-11 10:00:00"),
                  ("agent", f"回答{i}", "2026-11-11 10:00:30"), platform="天猫") for i in range(n)]
    lines.insert(far_at, conv("far", ("agent", "在的", "2026-11-11 09:00:20"), platform="天猫"))
    lines.insert(0, conv("far", ("customer", "在吗", "2026-11-11 09:00:00"), platform="天猫"))
    return ("\n".join(json.dumps(c, ensure_ascii=False) for c in lines) + "\n").encode()


def _stored(engine: Engine) -> dict[str, int]:
    """Conversations and messages stored, and message keys stored more than once (duplicates)."""
    with engine.connect() as conn:
        dup = conn.scalar(select(func.count()).select_from(
            select(Message.conversation_id, Message.role, Message.text).group_by(
                Message.conversation_id, Message.role, Message.text).having(func.count() > 1).subquery()))
        halves = conn.scalar(select(func.count()).where(Conversation.message_count != 2))
    return {**counts(engine), "duplicates": dup or 0, "half-written": halves or 0}


def test_a_conversation_split_over_batches_is_never_split_over_chunks(small_chunks: None) -> None:
    parsed = parse_file("a.jsonl", io.BytesIO(_archive()))
    spool = io.BytesIO()
    index = write_spool(stage_batches(parsed.records, "a.jsonl"), parsed.late, spool)
    assert len(index.offsets) == 11  # "far" comes in the first batch and again in the last (alone)
    assert len(index.chunks) == 1  # so no chunk may end before the last batch
    parsed = parse_file("b.jsonl", io.BytesIO(_archive(far_at=250)))
    index = write_spool(stage_batches(parsed.records, "b.jsonl"), parsed.late, spool := io.BytesIO())
    assert [(c.start, c.stop) for c in index.chunks] == [(0, 3), (3, 5), (5, 7), (7, 9), (9, 11)]
    stored = [[c.external_id for b in read_chunk(spool, index, chunk) for c in b.conversations]
              for chunk in index.chunks]
    assert sum(map(len, stored)) == 1002 and stored[0].count("far") == 2  # its two parts, both in the first chunk


def test_a_reviewer_saves_while_a_large_import_is_between_chunks(engine: Engine, tmp_path: Path, small_chunks: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seed_small(engine)
    monkeypatch.setenv("HUIFANG_WRITE_WAIT", "0")  # a save that met the import's lock would fail, not wait it out
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).order_by(Conversation.id).limit(1))
        seeded = conn.scalar(select(func.count()).select_from(Conversation))
    wang = get_or_create_user(engine, "王质检")
    paused, go = threading.Event(), threading.Event()
    seen: list[tuple[int, int]] = []

    def between_chunks(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 1:
            paused.set()
            assert go.wait(60)

    path = write(tmp_path, "big.jsonl", _archive(3000, far_at=10))
    result: list[object] = []
    importer = threading.Thread(target=lambda: result.append(import_path(engine, path, between_chunks)))
    importer.start()
    try:
        assert paused.wait(120)
        with engine.connect() as conn:  # the import is half-way: its record says so
            assert conn.scalar(select(ImportBatch.status).order_by(ImportBatch.id.desc()).limit(1)) == "running"
            assert seeded < conn.scalar(select(func.count()).select_from(Conversation)) < seeded + 3001
        version = save_review(engine, cid, wang, Review({"态度礼貌": 4}, "合格"), base_version=0)
    finally:
        go.set()
        importer.join(120)
    assert version == 1 and read(engine, my_review, cid, wang).verdict == "合格"
    (report,) = result[0]  # type: ignore[misc]
    assert report.counts.conversations_added == 3001 and seen[-1][0] == seen[-1][1] > 1
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.status).where(ImportBatch.id == report.batch_id)).scalar_one() == \
            "complete"


def _clean(tmp_path: Path, path: Path) -> tuple[object, dict[str, int]]:
    """The report and the stored counts of one uninterrupted import of ``path`` into a new database."""
    clean = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    init_db(clean)
    (report,) = import_path(clean, path)
    try:
        return report, _stored(clean)
    finally:
        clean.dispose()


def test_an_import_stopped_between_chunks_is_interrupted_and_a_rerun_completes_it(
        engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    data = _archive(1000, far_at=10)
    data += b'not json\n' + json.dumps(conv("bad", ("robot", "x", None))).encode() + b"\n"
    path = write(tmp_path, "a.jsonl", data)
    expected_report, expected = _clean(tmp_path, path)

    def stop(done: int, _total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt  # what Ctrl+C between two chunks does

    with pytest.raises(KeyboardInterrupt):
        import_path(engine, path, stop)
    with engine.connect() as conn:
        run = conn.execute(select(ImportBatch.status, ImportBatch.conversations_added)).one()
    assert run.status == INTERRUPTED and 0 < run.conversations_added < 1001
    assert 0 < _stored(engine)["conversations"] < expected["conversations"]
    assert read(engine, past_imports)["status"].tolist() == ["已中断（重新导入同一文件即可补全）"]

    (report,) = import_path(engine, path)
    assert _stored(engine) == expected and expected["duplicates"] == 0
    assert (report.counts, report.rejected, report.rejections, report.seen_before) == (
        expected_report.counts, expected_report.rejected, expected_report.rejections, False)  # type: ignore[attr-defined]
    done, total = report.resumed
    assert done == 2 and total > done and expected_report.resumed is None  # type: ignore[attr-defined]
    assert f"补全了上次中断的导入：中断前已存入 2/{total} 批，本次存入其余 {total - 2} 批" in report.summary()
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.id, ImportBatch.status, ImportBatch.progress)).all() == [
            (report.batch_id, "complete", None)]
    (again,) = import_path(engine, path)  # and a third time: nothing new, seen before
    assert (again.counts.conversations_unchanged, again.counts.messages_added, again.seen_before) == (1001, 0, True)
    assert again.resumed is None and "中断" not in again.summary()


def test_an_import_killed_mid_way_leaves_whole_conversations_and_a_rerun_completes_it(
        sqlite_engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    """``kill -9`` between chunks, in a real process: no half-written conversation, the run reads interrupted."""
    path = write(tmp_path, "k.jsonl", _archive(1000, far_at=150))
    expected_report, expected = _clean(tmp_path, path)
    child = (
        "import os, signal, sys\n"
        "import qa.ingest.spool, qa.ingest.importer\n"
        "qa.ingest.spool.CHUNK_ROWS = 300\n"
        "qa.ingest.staging.FIRST_CHUNK = qa.ingest.staging.CHUNK = 100\n"
        "from pathlib import Path\n"
        "from qa.db import make_engine\n"
        "def kill(done, total):\n"
        "    if done == 2: os.kill(os.getpid(), signal.SIGKILL)\n"
        "qa.ingest.importer.import_path(make_engine(sys.argv[1]), Path(sys.argv[2]), kill)\n"
    )
    run = subprocess.run([sys.executable, "-c", child, str(sqlite_engine.url), str(path)], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    with sqlite_engine.connect() as conn:
        status, progress = conn.execute(select(ImportBatch.status, ImportBatch.progress)).one()
    assert status == "running" and state(status, progress) == INTERRUPTED
    partial = _stored(sqlite_engine)
    assert 0 < partial["conversations"] < expected["conversations"]
    assert partial["half-written"] == partial["duplicates"] == 0  # "far", in two parts of the file, is whole
    (report,) = import_path(sqlite_engine, path)
    assert _stored(sqlite_engine) == expected and report.counts == expected_report.counts  # type: ignore[attr-defined]


def test_huifang_import_names_an_interrupted_import(sqlite_engine: Engine, tmp_path: Path, small_chunks: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from qa.cli import main

    def stop(done: int, _total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_path(sqlite_engine, write(tmp_path, "big.jsonl", _archive(1000, far_at=10)), stop)
    other = write(tmp_path, "small.jsonl", _archive(1, far_at=0).replace(b'"far"', b'"x"'))
    assert main(["--db", str(sqlite_engine.url), "import", str(other)]) == 0
    err = capsys.readouterr().err
    assert "未完成：批次 1 · big.jsonl 导入中断，已存入 200 个新会话（都是完整的）；重新导入同一文件即可补全" in err
