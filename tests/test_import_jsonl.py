"""Canonical JSONL import, on SQLite and PostgreSQL."""

from datetime import datetime

from sqlalchemy import select

from qa.models import Agent, Conversation, Message, Platform
from tests.helpers import conv, counts, import_bytes, jsonl

GOOD = conv("c1", ("customer", "亲，这款有40码吗", "2026-11-11T10:00:00+08:00"),
            ("agent", "亲，有的哦", "2026-11-11T10:00:30+08:00"), platform="天猫", shop="某某官方旗舰店",
            category="产品/尺码咨询", csat=5)
GOOD["messages"][1]["agent"] = "小美"


def test_jsonl_import_stores_conversation_messages_and_dimensions(engine):
    report = import_bytes(engine, "a.jsonl", jsonl(GOOD))
    assert (report.counts.conversations_added, report.counts.messages_added, report.rejected) == (1, 2, 0)
    with engine.connect() as conn:
        c = conn.execute(select(Conversation)).one()
        assert (c.external_id, c.category, c.csat, c.message_count) == ("c1", "产品/尺码咨询", 5, 2)
        assert c.started_at == datetime(2026, 11, 11, 10, 0, 0)
        assert conn.scalar(select(Platform.name)) == "天猫"
        assert conn.scalar(select(Agent.name).where(Agent.id == c.agent_id)) == "小美"
        msgs = conn.execute(select(Message.seq, Message.role, Message.text).order_by(Message.seq)).all()
    assert [tuple(m) for m in msgs] == [(0, "customer", "亲，这款有40码吗"), (1, "agent", "亲，有的哦")]


def test_jsonl_timestamps_optional(engine):
    report = import_bytes(engine, "a.jsonl", jsonl(conv("c2", ("customer", "在吗", None), ("agent", "在的", None))))
    assert report.counts.conversations_added == 1
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.started_at)) is None


def test_jsonl_bad_lines_reported_with_line_and_field_good_kept(engine):
    data = b"\n".join([
        jsonl(GOOD).strip(),
        b"{not json",
        jsonl(conv("c3", ("boss", "hi", None))).strip(),
        jsonl(conv("c4", ("customer", "hi", "yesterday"))).strip(),
        jsonl({"conversation_id": "c5", "messages": []}).strip(),
        jsonl(conv("c6", ("customer", "hi", None), csat=9)).strip(),
        jsonl(conv("c7", ("customer", "还在吗", None))).strip(),
    ])
    report = import_bytes(engine, "mixed.jsonl", data)
    assert report.counts.conversations_added == 2
    got = [(r.row, r.field) for r in report.rejections]
    assert got == [(2, None), (3, "messages[0].role"), (4, "messages[0].ts"), (5, "messages"), (6, "csat")]
    assert "不是有效的 JSON" in report.rejections[0].reason
    assert str(report.rejections[1]).startswith("mixed.jsonl 第 3 行: [messages[0].role]")


def test_jsonl_of_wrong_types_is_reported_field_by_field_not_a_crash(engine):
    def one(**message: object) -> dict:
        return {"conversation_id": "x", "messages": [{"role": "agent", "text": "在的", **message}]}

    lines = [one(role=["agent"]), one(role={"r": 1}), one(text={"t": 1}), one(ts=[1]), one(ts=True), one(ts=1e300),
             one(ts=-5), one(agent=["小美"]), {"conversation_id": {"id": 1}, "messages": [{"role": "agent", "text": ""}]},
             {"conversation_id": "y", "messages": {"role": "agent"}}, {"conversation_id": "z", "messages": ["在吗"]},
             one(ts=10 ** 400), one(ts=1794362400)]
    report = import_bytes(engine, "types.jsonl", jsonl(*lines) + b'{"conversation_id": 1' + b"0" * 5000 + b"}\n")
    assert [(r.row, r.field) for r in report.rejections] == [
        (1, "messages[0].role"), (2, "messages[0].role"), (3, "messages[0].text"), (4, "messages[0].ts"),
        (5, "messages[0].ts"), (6, "messages[0].ts"), (7, "messages[0].ts"), (8, "messages[0].agent"),
        (9, "conversation_id"), (10, "messages"), (11, "messages[0]"), (12, "messages[0].ts"), (14, None)]
    assert report.counts.conversations_added == 1  # epoch seconds are a time
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.started_at)) == datetime(2026, 11, 11, 10, 0, 0)


def test_reimport_same_file_adds_nothing(engine):
    data = jsonl(GOOD, conv("c2", ("customer", "好的", None), ("customer", "好的", None)))
    import_bytes(engine, "a.jsonl", data)
    before = counts(engine)
    report = import_bytes(engine, "a.jsonl", data)
    assert counts(engine) == before
    assert (report.counts.conversations_added, report.counts.conversations_unchanged) == (0, 2)
    assert report.seen_before
    assert before["messages"] == 4  # the repeated "好的" is two messages, not one


def test_overlapping_export_merges_new_messages_in_order(engine):
    first = conv("c1", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的亲", "2026-11-11 10:00:10"))
    second = conv("c1", ("agent", "在的亲", "2026-11-11 10:00:10"), ("customer", "发什么快递", "2026-11-11 10:01:00"),
                  ("agent", "顺丰哦", "2026-11-11 10:01:20"), csat=4)
    import_bytes(engine, "day1.jsonl", jsonl(first))
    report = import_bytes(engine, "day2.jsonl", jsonl(second))
    assert (report.counts.conversations_merged, report.counts.messages_added) == (1, 2)
    with engine.connect() as conn:
        texts = conn.scalars(select(Message.text).order_by(Message.seq)).all()
        c = conn.execute(select(Conversation)).one()
    assert texts == ["在吗", "在的亲", "发什么快递", "顺丰哦"]
    assert (c.message_count, c.csat, c.ended_at) == (4, 4, datetime(2026, 11, 11, 10, 1, 20))


def test_later_part_without_times_or_overlap_follows_the_stored_part(engine):
    import_bytes(engine, "1.jsonl", jsonl(conv("p", ("customer", "在吗", None), ("agent", "在的", None))))
    report = import_bytes(engine, "2.jsonl", jsonl(conv("p", ("customer", "发货了吗", None), ("agent", "今天发", None))))
    assert (report.counts.conversations_merged, report.counts.messages_added) == (1, 2)
    with engine.connect() as conn:
        assert conn.scalars(select(Message.text).order_by(Message.seq)).all() == ["在吗", "在的", "发货了吗", "今天发"]


def test_content_hash_is_the_same_whether_imported_whole_or_merged(engine):
    msgs = [("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的亲", "2026-11-11 10:00:10"),
            ("customer", "发什么快递", "2026-11-11 10:01:00")]
    import_bytes(engine, "whole.jsonl", jsonl(conv("w", *msgs)))
    import_bytes(engine, "part1.jsonl", jsonl(conv("p", *msgs[:2])))
    import_bytes(engine, "part2.jsonl", jsonl(conv("p", *msgs[1:])))
    with engine.connect() as conn:
        hashes = dict(conn.execute(select(Conversation.external_id, Conversation.content_hash)).all())
    assert hashes["w"] == hashes["p"]


def test_a_conversation_on_two_lines_of_one_file_counts_once(engine, monkeypatch):
    monkeypatch.setattr("qa.ingest.staging.FIRST_CHUNK", 1)
    monkeypatch.setattr("qa.ingest.staging.CHUNK", 1)  # the second line meets the first in the database, not in a batch
    data = jsonl(conv("d", ("customer", "在吗", "2026-11-11 10:00:00")), conv("x", ("customer", "你好", None)),
                 conv("d", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:20")))
    first = import_bytes(engine, "twice.jsonl", data)
    assert (first.counts.conversations_added, first.counts.conversations_merged, first.counts.messages_added) == (2, 0, 3)
    again = import_bytes(engine, "twice.jsonl", data)
    assert (again.counts.conversations_unchanged, again.counts.messages_added) == (2, 0)


def test_merged_agent_replies_make_their_agent_the_conversations_agent(engine):
    import_bytes(engine, "1.jsonl", jsonl(conv("m", ("customer", "在吗", "2026-11-11 10:00:00"))))
    later = conv("m", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:20"))
    later["messages"][1]["agent"] = "小美"
    import_bytes(engine, "2.jsonl", jsonl(later))
    with engine.connect() as conn:
        assert conn.scalar(select(Agent.name).join(Conversation, Conversation.agent_id == Agent.id)) == "小美"


def test_text_longer_than_its_column_is_cut_not_a_database_error(engine):
    long = conv("L", ("agent", "在的", None), category="类" * 60, team="组" * 150, order_id="9" * 150)
    long["messages"][0]["agent"] = "客" * 250
    report = import_bytes(engine, "long.jsonl", jsonl(long))
    table = import_bytes(engine, "long.csv", ("会话ID,发送方,客服昵称,内容\nT,客服," + "名" * 300 + ",好的\n").encode())
    tickets = import_bytes(engine, "t.csv", ("工单号,工单类型,状态,处理结果\nK," + "退" * 80 + "," + "态" * 80 + ","
                                             + "果" * 150 + "\n").encode())
    assert (report.rejected, table.rejected, tickets.counts.tickets_added) == (0, 0, 1)
    with engine.connect() as conn:
        c = conn.execute(select(Conversation).where(Conversation.external_id == "L")).one()
        assert (len(c.category), len(c.team), len(c.order_id)) == (50, 100, 100)
        assert sorted(len(n) for n in conn.scalars(select(Agent.name))) == [200, 200]
