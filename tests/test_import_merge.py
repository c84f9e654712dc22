"""Overlapping exports and conversation identity (issue #12, case 2), on SQLite and PostgreSQL.

The same chat arrives again at another time precision, under 天猫 for 淘宝, without a platform, or with lines that
contradict each other in one file: nothing is stored twice, and what cannot be told apart is reported.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select

from qa.db import _alembic_config, init_db
from qa.models import Conversation, Message, Platform, Shop, Ticket
from tests.helpers import conv, counts, import_bytes, jsonl

SECONDS = conv("c1", ("customer", "这款有40码吗", "2026-11-11 10:01:23"), ("agent", "亲，有的哦", "2026-11-11 10:01:47"),
               platform="天猫", shop="某某官方旗舰店")


def _texts(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Conversation.external_id, Message.text).join(Message).order_by(Conversation.id, Message.seq))]


def _platforms(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Conversation.external_id, Platform.name).outerjoin(Platform).order_by(Conversation.id))]


def _again(base: dict, times: list[str | None], **fields: object) -> dict:
    """``base`` exported again: the same messages at ``times``, with ``fields`` replaced (None drops one)."""
    out = {**base, **fields}
    out["messages"] = [{k: v for k, v in {**m, "ts": t}.items() if v is not None}
                       for m, t in zip(base["messages"], times)]
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize("times", [
    pytest.param(["2026-11-11T10:01:23+08:00", "2026-11-11T10:01:47+08:00"], id="seconds-other-layout"),
    pytest.param(["2026-11-11 10:01", "2026-11-11 10:01"], id="minutes"),
    pytest.param([None, None], id="no-times"),
])
def test_the_same_conversation_exported_again_adds_no_message(engine, times):
    import_bytes(engine, "day1.jsonl", jsonl(SECONDS))
    report = import_bytes(engine, "again.jsonl", jsonl(_again(SECONDS, times)))
    assert counts(engine)["messages"] == 2
    assert (report.counts.conversations_unchanged, report.counts.messages_added, report.rejected) == (1, 0, 0)


@pytest.mark.parametrize("first_times", [[None, None], ["2026-11-11 10:01", "2026-11-11 10:01"]],
                         ids=["no-times-first", "minutes-first"])
def test_a_precise_export_after_a_coarse_one_adds_no_message(engine, first_times):
    import_bytes(engine, "coarse.jsonl", jsonl(_again(SECONDS, first_times)))
    report = import_bytes(engine, "precise.jsonl", jsonl(SECONDS))
    assert (counts(engine)["messages"], report.counts.messages_added) == (2, 0)


def test_a_minute_export_adds_only_its_new_message_in_order(engine):
    import_bytes(engine, "day1.jsonl", jsonl(SECONDS))
    later = conv("c1", ("customer", "这款有40码吗", "2026-11-11 10:01"), ("agent", "亲，有的哦", "2026-11-11 10:01"),
                 ("customer", "那拍40码", "2026-11-11 10:03"), platform="天猫")
    report = import_bytes(engine, "later.jsonl", jsonl(later))
    assert (report.counts.conversations_merged, report.counts.messages_added) == (1, 1)
    assert [t for _c, t in _texts(engine)] == ["这款有40码吗", "亲，有的哦", "那拍40码"]
    with engine.connect() as conn:
        c = conn.execute(select(Conversation)).one()
    assert (c.message_count, c.started_at, c.ended_at) == (3, datetime(2026, 11, 11, 10, 1, 23),
                                                           datetime(2026, 11, 11, 10, 3))


def test_identical_messages_match_as_a_multiset_not_a_set(engine):
    twice = conv("ok", ("agent", "好的", "2026-11-11 10:01:10"), ("agent", "好的", "2026-11-11 10:01:40"))
    import_bytes(engine, "seconds.jsonl", jsonl(twice))
    assert counts(engine)["messages"] == 2  # two genuine "好的" at different seconds are both kept
    minutes = conv("ok", ("agent", "好的", "2026-11-11 10:01"), ("agent", "好的", "2026-11-11 10:01"))
    assert import_bytes(engine, "minutes.jsonl", jsonl(minutes)).counts.messages_added == 0
    untimed = conv("ok", ("agent", "好的", None), ("agent", "好的", None), ("agent", "好的", None))
    assert import_bytes(engine, "untimed.jsonl", jsonl(untimed)).counts.messages_added == 1  # a third one is new
    assert counts(engine)["messages"] == 3


@pytest.mark.parametrize("name", ["same.jsonl", "same.csv"])
def test_reimporting_the_same_file_adds_nothing(engine, name):
    if name.endswith(".csv"):
        data = ("会话ID,发送时间,发送方,内容,平台\n"
                "s1,2026-11-11 10:01,顾客,在吗,淘宝\ns1,2026-11-11 10:01,客服,在的,淘宝\n"
                "s2,,顾客,好的,\ns2,,顾客,好的,\n").encode()
    else:
        data = jsonl(_again(SECONDS, ["2026-11-11 10:01", "2026-11-11 10:01"]), conv("s2", ("customer", "好的", None),
                                                                                       ("customer", "好的", None)))
    import_bytes(engine, name, data)
    before = counts(engine)
    report = import_bytes(engine, name, data)
    assert counts(engine) == before == {**before, "conversations": 2, "messages": 4}
    assert (report.counts.conversations_added, report.counts.messages_added, report.rejected) == (0, 0, 0)


@pytest.mark.parametrize("platform, shop", [("淘宝", None), ("taobao", "某某官方旗舰店"), ("天猫", None)])
def test_tmall_and_taobao_are_one_conversation(engine, platform, shop):
    import_bytes(engine, "tmall.jsonl", jsonl(SECONDS))
    report = import_bytes(engine, "taobao.jsonl", jsonl(_again(SECONDS, ["2026-11-11 10:01:23", "2026-11-11 10:01:47"],
                                                               platform=platform, shop=shop)))
    assert (counts(engine)["conversations"], counts(engine)["messages"], report.rejected) == (1, 2, 0)
    assert _platforms(engine) == [("c1", "天猫")]


def test_no_platform_is_the_one_stored_conversation_of_that_id(engine):
    import_bytes(engine, "tmall.jsonl", jsonl(SECONDS))
    bare = _again(SECONDS, ["2026-11-11 10:01", "2026-11-11 10:01"], platform=None, shop=None, csat=4)
    bare["messages"].append({"role": "customer", "text": "好的谢谢", "ts": "2026-11-11 10:02"})
    report = import_bytes(engine, "bare.jsonl", jsonl(bare))
    assert (report.counts.conversations_merged, report.counts.messages_added, report.rejected) == (1, 1, 0)
    assert _platforms(engine) == [("c1", "天猫")]
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.csat)) == 4


def test_no_platform_with_two_stored_platforms_is_reported_not_guessed(engine):
    jd = _again(SECONDS, ["2026-11-11 10:01:23", "2026-11-11 10:01:47"], platform="京东", shop=None)
    import_bytes(engine, "tmall.jsonl", jsonl(SECONDS))
    import_bytes(engine, "jd.jsonl", jsonl(jd))
    before = counts(engine)
    bare = _again(SECONDS, [None, None], platform=None, shop=None)
    report = import_bytes(engine, "bare.jsonl", jsonl(conv("other", ("customer", "在吗", None)), bare))
    assert counts(engine) == {**before, "conversations": 3, "messages": 5}  # only the other conversation is added
    (rejection,) = report.rejections
    assert (rejection.row, rejection.field) == (2, "平台")
    assert "c1" in rejection.reason and "京东" in rejection.reason and "淘宝/天猫" in rejection.reason


def test_an_export_with_a_platform_names_the_one_stored_without(engine):
    import_bytes(engine, "bare.jsonl", jsonl(_again(SECONDS, [None, None], platform=None, shop=None)))
    report = import_bytes(engine, "tmall.jsonl", jsonl(SECONDS))
    assert (report.counts.conversations_merged + report.counts.conversations_unchanged, report.counts.messages_added,
            counts(engine)["conversations"]) == (1, 0, 1)
    assert _platforms(engine) == [("c1", "天猫")]
    with engine.connect() as conn:
        assert conn.scalar(select(Shop.name).join(Conversation, Conversation.shop_id == Shop.id)) == "某某官方旗舰店"
    assert import_bytes(engine, "bare-again.jsonl", jsonl(_again(SECONDS, [None, None], platform=None))).rejected == 0
    assert counts(engine)["messages"] == 2


@pytest.mark.parametrize("chunk", [1000, 1], ids=["one-batch", "line-by-line"])
@pytest.mark.parametrize("field, other, label", [
    ("platform", "京东", "平台"), ("shop", "另一家店", "店铺"), ("csat", 2, "满意度")])
def test_jsonl_lines_contradicting_an_earlier_line_are_reported(engine, monkeypatch, chunk, field, other, label):
    monkeypatch.setattr("qa.ingest.staging.FIRST_CHUNK", chunk)
    monkeypatch.setattr("qa.ingest.staging.CHUNK", chunk)  # the second line meets the first in the database
    first = {**SECONDS, "csat": 5}
    second = {**first, field: other, "messages": [{"role": "customer", "text": "还有别的颜色吗", "ts": "2026-11-11 10:05"}]}
    same = conv("c1", ("agent", "只有黑色", "2026-11-11 10:06:00"), platform="淘宝")  # agrees: merged
    report = import_bytes(engine, "mixed.jsonl", jsonl(first, second, same))
    assert [(r.row, r.field) for r in report.rejections] == [(2, label)]
    assert "第 1 行" in report.rejections[0].reason and str(other) in report.rejections[0].reason
    assert _texts(engine) == [("c1", "这款有40码吗"), ("c1", "亲，有的哦"), ("c1", "只有黑色")]
    assert _platforms(engine) == [("c1", "天猫")]


def test_jsonl_line_without_a_platform_joins_the_earlier_line_of_its_id(engine, monkeypatch):
    monkeypatch.setattr("qa.ingest.staging.FIRST_CHUNK", 1)
    monkeypatch.setattr("qa.ingest.staging.CHUNK", 1)
    later = conv("c1", ("customer", "好的", "2026-11-11 10:05:00"))
    report = import_bytes(engine, "parts.jsonl", jsonl(SECONDS, later))
    assert (report.rejected, counts(engine)["conversations"], counts(engine)["messages"]) == (0, 1, 3)


@pytest.mark.parametrize("order", ["together", "apart"])
def test_csv_rows_contradicting_their_conversation_are_reported_by_row(engine, order):
    header = "会话ID,发送时间,发送方,内容,平台,店铺,满意度\n"
    rows = ["k1,2026-11-11 10:00:00,顾客,在吗,天猫,甲店,5",
            "k1,2026-11-11 10:00:10,客服,在的,京东,甲店,5",
            "k1,2026-11-11 10:00:20,顾客,有货吗,淘宝,乙店,3",
            "k1,2026-11-11 10:00:30,客服,有的,,,"]
    other = "k2,2026-11-11 11:00:00,顾客,你好,京东,丙店,4"
    lines = [rows[0], rows[1], rows[2], rows[3], other] if order == "together" else \
        [rows[0], other, rows[1], rows[2], rows[3]]
    report = import_bytes(engine, "c.csv", (header + "\n".join(lines) + "\n").encode())
    bad = [lines.index(rows[1]) + 2, lines.index(rows[2]) + 2]
    assert [(r.row, r.field) for r in report.rejections] == [(bad[0], "平台"), (bad[1], "店铺、满意度")]
    assert f"第 {lines.index(rows[0]) + 2} 行" in report.rejections[1].reason
    assert sorted(_texts(engine), key=lambda r: r[0]) == [("k1", "在吗"), ("k1", "有的"), ("k2", "你好")]
    with engine.connect() as conn:
        assert conn.execute(select(Conversation.external_id, Conversation.csat).order_by(Conversation.external_id)).all() == [
            ("k1", 5), ("k2", 4)]


def test_migration_0009_rekeys_stored_tmall_conversations_to_their_family(engine):
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    with engine.begin() as conn:
        tmall, taobao = (conn.execute(insert(Platform).values(name=n).returning(Platform.id)).scalar_one()
                         for n in ("天猫", "淘宝"))
        conn.execute(insert(Conversation), [
            {"source_key": key, "external_id": key[3:], "platform_id": pid, "content_hash": "", "message_count": 0}
            for key, pid in (("天猫|a", tmall), ("天猫|b", tmall), ("淘宝|b", taobao))])
        conn.execute(insert(Ticket).values(source_key="天猫|t", external_id="t", platform_id=tmall))

    def keys() -> list[str]:
        with engine.connect() as conn:
            return sorted(conn.scalars(select(Conversation.source_key).union_all(select(Ticket.source_key))))

    init_db(engine)
    assert keys() == ["天猫|b", "淘宝|a", "淘宝|b", "淘宝|t"]  # b's pair cannot be told apart: it stays as it was
    import_bytes(engine, "a.jsonl", jsonl(conv("a", ("customer", "在吗", None), platform="淘宝")))
    assert counts(engine)["conversations"] == 3
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    assert keys() == ["天猫|a", "天猫|b", "天猫|t", "淘宝|b"]


def test_a_message_merged_from_a_minute_export_is_not_added_again_by_a_precise_one(engine):
    import_bytes(engine, "day1.jsonl", jsonl(SECONDS))
    minutes = conv("c1", ("agent", "亲，有的哦", "2026-11-11 10:01"), ("customer", "那拍40码", "2026-11-11 10:03"),
                   platform="天猫")
    assert import_bytes(engine, "minutes.jsonl", jsonl(minutes)).counts.messages_added == 1
    precise = {**SECONDS, "messages": [*SECONDS["messages"], {"role": "customer", "text": "那拍40码",
                                                                "ts": "2026-11-11 10:03:12"},
                                        {"role": "customer", "text": "那拍40码", "ts": "2026-11-11 10:03:40"}]}
    report = import_bytes(engine, "precise.jsonl", jsonl(precise))
    assert report.counts.messages_added == 1  # the second "那拍40码" of 10:03 is a new one
    assert [t for _c, t in _texts(engine)] == ["这款有40码吗", "亲，有的哦", "那拍40码", "那拍40码"]
