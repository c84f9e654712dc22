"""Hostile, huge and packaged input: clear messages, valid rows kept, nothing stored lost or duplicated."""

import io
import json
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from qa.access import SYSTEM
from qa.errors import ImportFormatError
from qa.ingest.importer import import_stream
from qa.models import Annotation, Message
from qa.review.users import get_or_create_user
from tests.helpers import conv, counts, import_bytes, jsonl


def test_hostile_text_is_stored_verbatim_but_cleaned_of_control_chars(engine):
    nasty = "<script>alert(1)</script>'; DROP TABLE messages;--\x00\x1b[31m" + "啊" * 20_000
    report = import_bytes(engine, "h.jsonl", jsonl(conv("h1", ("customer", nasty, None))))
    assert report.rejected == 0
    with engine.connect() as conn:
        text = conn.scalar(select(Message.text))
    assert text.startswith("<script>alert(1)</script>'; DROP TABLE messages;--[31m")
    assert "\x00" not in text and "\x1b" not in text


def test_overlong_line_rejected_others_kept(engine, monkeypatch):
    monkeypatch.setattr("qa.ingest.formats.jsonl.MAX_LINE_CHARS", 1000)
    data = jsonl(conv("ok", ("customer", "在吗", None)), conv("big", ("customer", "长" * 2000, None)))
    report = import_bytes(engine, "big.jsonl", data)
    assert report.counts.conversations_added == 1
    assert [(r.row, r.reason[:6]) for r in report.rejections] == [(2, "该行超过 1")]


def test_zip_imports_each_member(engine):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.jsonl", jsonl(conv("z1", ("customer", "在吗", None))))
        z.writestr("b.csv", "会话ID,发送方,内容\nz2,顾客,发货了吗\n".encode("gbk"))
    reports = import_stream(engine, "export.zip", io.BytesIO(buf.getvalue()), by=SYSTEM)
    assert [(r.file, r.counts.conversations_added) for r in reports] == [("export.zip/a.jsonl", 1),
                                                                         ("export.zip/b.csv", 1)]


def test_bad_member_of_zip_is_reported_and_the_members_after_it_are_imported(engine):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.jsonl", jsonl(conv("z1", ("customer", "在吗", None))))
        z.writestr("b.csv", b"a,b\n1,2\n")
        z.writestr("c.jsonl", jsonl(conv("z3", ("customer", "发货了吗", None))))
    reports = import_stream(engine, "export.zip", io.BytesIO(buf.getvalue()), by=SYSTEM)
    assert [(r.file, r.counts.conversations_added, r.rejected) for r in reports] == [
        ("export.zip/a.jsonl", 1, 0), ("export.zip/b.csv", 0, 1), ("export.zip/c.jsonl", 1, 0)]
    assert reports[1].summary().startswith("export.zip/b.csv：未导入，无法识别的表格")
    assert counts(engine)["conversations"] == 2


def test_bad_zip_is_a_clear_error(engine):
    with pytest.raises(ImportFormatError, match="bad.zip: 不是有效的 zip"):
        import_stream(engine, "bad.zip", io.BytesIO(b"nope"), by=SYSTEM)


def test_merge_keeps_annotations_on_existing_messages(engine):
    first = conv("c1", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:09"))
    import_bytes(engine, "1.jsonl", jsonl(first))
    uid = get_or_create_user(engine, "王质检")
    with engine.begin() as conn:
        msg_id, conv_id = conn.execute(select(Message.id, Message.conversation_id).where(Message.seq == 1)).one()
        now = datetime(2026, 11, 20)
        conn.execute(insert(Annotation).values(conversation_id=conv_id, message_id=msg_id, reviewer_id=uid,
                                               comment="回复及时", created_at=now, updated_at=now))
    earlier = conv("c1", ("customer", "你好", "2026-11-11 09:59:00"), *first["messages"] and [
        ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:09")])
    import_bytes(engine, "2.jsonl", jsonl(earlier))
    with engine.connect() as conn:
        rows = conn.execute(select(Message.id, Message.seq, Message.text).order_by(Message.seq)).all()
        annotated = conn.scalar(select(Annotation.message_id))
    assert [(r.seq, r.text) for r in rows] == [(0, "你好"), (1, "在吗"), (2, "在的")]
    assert annotated == msg_id and rows[2].id == msg_id
    assert counts(engine)["annotations"] == 1


def test_failure_midway_rolls_back_whole_file(engine, monkeypatch):
    import_bytes(engine, "a.jsonl", jsonl(conv("keep", ("customer", "在吗", None))))
    before = counts(engine)
    lines = [json.dumps(conv(f"n{i}", ("customer", "你好", None)), ensure_ascii=False) for i in range(20_000)]  # past the 1 MB sniffed
    data = ("\n".join(lines) + "\n").encode() + b"\xff\xfe\xfa broken tail\n"
    with pytest.raises(ImportFormatError, match="无法解码"):
        import_bytes(engine, "late.jsonl", data)
    assert counts(engine) == before
