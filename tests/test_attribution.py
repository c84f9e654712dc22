"""A transferred chat is split between its agents (issue #13.2): 小安 answers "说" after 14 minutes and transfers
to 阿强, who is quick and polite. 小安 owns the slow first response and the curt reply, 阿强 the rating; the
agents page, the queue's reasons, the agents' picks, coaching exports and ``huifang export`` all say so, and
untransferred conversations keep their figures."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from qa.analytics.filters import Filters
from qa.analytics.segments import Turn, segment_rows, spans
from qa.cli import main
from qa.db import get_engine, init_db, make_engine
from qa.jobs.scoring import score_database
from qa.models import Agent, AgentSegment, Conversation, ConversationScore, Message
from qa.review import scorecards as sc
from qa.review.coaching import add_item, create_list, export_markdown, list_items
from qa.review.queue import QueueQuery, queue_page
from qa.review.users import get_or_create_user
from tests.app_fixtures import point_app_to, start_app
from tests.helpers import import_bytes, jsonl

TRANSFERRED = {
    "conversation_id": "JD-T", "platform": "京东", "shop": "某某京东自营旗舰店", "csat": 4, "messages": [
        {"role": "customer", "text": "你好，我买的鞋子尺码小了，想换大一码", "ts": "2026-11-08 10:00:00"},
        {"role": "agent", "agent": "小安", "text": "说", "ts": "2026-11-08 10:14:00"},
        {"role": "customer", "text": "我说了啊，鞋子小了要换", "ts": "2026-11-08 10:14:30"},
        {"role": "agent", "agent": "小安", "text": "换货找售后", "ts": "2026-11-08 10:15:50"},
        {"role": "system", "text": "会话已转接至售后组", "ts": "2026-11-08 10:15:55"},
        {"role": "customer", "text": "好吧", "ts": "2026-11-08 10:16:00"},
        {"role": "agent", "agent": "阿强", "text": "您好，我是售后客服阿强，很抱歉让您久等了，换大一码我来帮您办理",
         "ts": "2026-11-08 10:16:15"},
        {"role": "customer", "text": "好的，要怎么操作", "ts": "2026-11-08 10:16:40"},
        {"role": "agent", "agent": "阿强", "text": "已为您登记换货，快递员明天上门取件，新鞋同时寄出，请留意物流哦",
         "ts": "2026-11-08 10:17:00"},
        {"role": "customer", "text": "谢谢", "ts": "2026-11-08 10:17:20"},
        {"role": "agent", "agent": "阿强", "text": "不客气，祝您生活愉快", "ts": "2026-11-08 10:17:30"},
    ]}
ALONE = {
    "conversation_id": "JD-A", "platform": "京东", "shop": "某某京东自营旗舰店", "csat": 2, "messages": [
        {"role": "customer", "text": "退货的运费谁出", "ts": "2026-11-08 11:00:00"},
        {"role": "agent", "agent": "阿强", "text": "不知道", "ts": "2026-11-08 11:05:00"},
        {"role": "customer", "text": "你们这什么态度", "ts": "2026-11-08 11:06:00"},
    ]}


@pytest.fixture
def scored(engine: Engine) -> Engine:
    import_bytes(engine, "t.jsonl", jsonl(TRANSFERRED, ALONE))
    score_database(engine, n_jobs=1)
    return engine


def _ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Conversation.external_id, Conversation.id)).all())


def _segments(engine: Engine, external_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(AgentSegment, Agent.name.label("agent")).join(Agent, Agent.id == AgentSegment.agent_id)
                            .join(Conversation, Conversation.id == AgentSegment.conversation_id)
                            .where(Conversation.external_id == external_id).order_by(AgentSegment.segment))
        return [dict(r._mapping) for r in rows]


def test_segments_split_on_the_agent_and_give_waits_to_who_answered() -> None:
    turns = [Turn("customer"), Turn("agent", 1), Turn("customer"), Turn("agent", 1), Turn("system"),
             Turn("customer"), Turn("agent", 2), Turn("agent", None), Turn("customer")]
    assert [(s.start, s.end, s.agent_id) for s in spans(turns)] == [(0, 4, 1), (4, 9, 2)]
    rows = segment_rows(7, turns, csat=5, first_response_s=840.0, unanswered_at_end=1, risks=[0.8, 0.1])
    assert [(r["agent_id"], r["replies"], r["first_response_s"], r["unanswered_at_end"], r["csat"], r["risk"])
            for r in rows] == [(1, 2, 840.0, 0, None, 0.8), (2, 1, None, 1, 5, 0.1)]
    # handed back: three segments, the first agent's two kept apart
    back = [Turn("customer"), Turn("agent", 1), Turn("system"), Turn("agent", 2), Turn("customer"), Turn("agent", 1)]
    assert [(s.start, s.end, s.agent_id) for s in spans(back)] == [(0, 2, 1), (2, 4, 2), (4, 6, 1)]
    # nobody answered at all: one segment, the conversation's agent
    assert [(s.start, s.end, s.agent_id) for s in spans([Turn("customer"), Turn("bot")], 3)] == [(0, 2, 3)]


def test_each_agent_owns_their_replies_waits_and_the_rating(scored: Engine) -> None:
    xiaoan, aqiang = _segments(scored, "JD-T")
    assert (xiaoan["agent"], xiaoan["first_response_s"], xiaoan["replies"], xiaoan["breaches"],
            xiaoan["max_wait_s"], xiaoan["csat"]) == ("小安", 840.0, 2, 1, 840.0, None)  # 京东: no SLA after the first
    assert (aqiang["agent"], aqiang["first_response_s"], aqiang["replies"], aqiang["breaches"],
            aqiang["csat"]) == ("阿强", None, 3, 0, 4)
    assert (xiaoan["first_seq"], xiaoan["last_seq"], aqiang["first_seq"], aqiang["last_seq"]) == (0, 3, 4, 10)
    assert xiaoan["risk"] > aqiang["risk"]  # the part that went wrong is 小安's


def test_an_untransferred_conversation_keeps_its_figures(scored: Engine) -> None:
    (alone,) = _segments(scored, "JD-A")
    with scored.connect() as conn:
        conv = conn.execute(select(ConversationScore.__table__).join(Conversation)
                            .where(Conversation.external_id == "JD-A")).one()
    assert (alone["agent"], alone["first_response_s"], alone["max_wait_s"], alone["replies"], alone["risk"],
            alone["unanswered_at_end"], alone["csat"]) == (
        "阿强", conv.first_response_s, conv.max_wait_s, conv.replies, conv.dissatisfaction_risk,
        conv.unanswered_at_end, 2)
    assert alone["replies_in_sla"] == conv.replies_in_sla


def test_queue_reasons_name_the_agent_who_owns_them(scored: Engine) -> None:
    with scored.connect() as conn:
        page = queue_page(conn, QueueQuery(), 1)
    reasons = dict(zip(page["external_id"], page["reasons"]))
    assert "慢（小安）：首次响应 14 分，超过 SLA 30 秒" in reasons["JD-T"]
    assert "慢（阿强）" not in reasons["JD-T"] and "禁用语（阿强）" not in reasons["JD-T"]
    assert reasons["JD-A"].startswith("慢：首次响应 5 分，超过 SLA 30 秒")  # one agent: said as before
    # the queue filtered to 小安 finds the chat 阿强 finished
    with scored.connect() as conn:
        mine = queue_page(conn, QueueQuery(filters=Filters(agents=("小安",))), 1)
    assert list(mine["external_id"]) == ["JD-T"] and list(mine["agent"]) == ["小安→阿强"]
    assert list(page.loc[page["external_id"] == "JD-A", "agent"]) == ["阿强"]


def test_an_agent_s_own_list_names_only_their_part_of_a_shared_chat(scored: Engine) -> None:
    """Each agent's own list says what they own, unnamed, and only that a colleague's part has reasons too,
    never spelling those out (an agent reads their own figures, not a colleague's): 小安 was slow, curt and
    off-topic, 阿强's reply scored off-topic as well."""
    from qa.review.queue import OTHERS_OWN, conversation_reasons

    with scored.connect() as conn:
        xiaoan = queue_page(conn, QueueQuery(filters=Filters(agents=("小安",)), for_agent="小安"), 1)
        aqiang = queue_page(conn, QueueQuery(filters=Filters(agents=("阿强",)), for_agent="阿强"), 1)
        cid = int(xiaoan["id"].iloc[0])
        replayed = conversation_reasons(conn, cid, "阿强")
    assert xiaoan["reasons"].tolist() == [
        f"慢：首次响应 14 分，超过 SLA 30 秒；语气：风险 0.57；答非所问：相关度 0.27；{OTHERS_OWN}"]
    theirs = dict(zip(aqiang["external_id"], aqiang["reasons"]))
    assert theirs["JD-T"] == f"答非所问：相关度 0.09；{OTHERS_OWN}"
    assert theirs["JD-A"].startswith("慢：首次响应 5 分，超过 SLA 30 秒")  # their own chat: said as before
    assert replayed == theirs["JD-T"]


def test_agents_picks_rank_by_their_own_part(scored: Engine) -> None:
    with scored.connect() as conn:
        _best, worst = sc.extreme_conversations(conn, Filters(), "阿强")
        _best2, xiaoan_worst = sc.extreme_conversations(conn, Filters(), "小安")
    assert list(worst["external_id"]) == ["JD-A", "JD-T"]  # the transferred chat is not 阿强's worst case
    t = worst[worst["external_id"] == "JD-T"].iloc[0]
    assert t["explanation"].startswith("转接会话，阿强负责的部分：")
    assert list(xiaoan_worst["external_id"]) == ["JD-T"]
    assert xiaoan_worst["explanation"].iloc[0].startswith("转接会话，小安负责的部分：首次响应 14 分")


def test_coaching_export_files_items_under_their_agent(scored: Engine) -> None:
    ids = _ids(scored)
    with scored.connect() as conn:
        curt = conn.scalar(select(Message.id).where(Message.conversation_id == ids["JD-T"], Message.text == "说"))
    trainer = get_or_create_user(scored, "张培训", "trainer")
    list_id = create_list(scored, "首响与话术", agent="小安", user_id=trainer)
    add_item(scored, list_id, ids["JD-T"], kind="bad", note="14 分钟才回一个字", message_id=curt, user_id=trainer)
    add_item(scored, list_id, ids["JD-T"], kind="bad", note="整通会话", user_id=trainer)
    with scored.connect() as conn:
        items = list_items(conn, list_id)
        md = export_markdown(conn, list_id)
    assert list(items["agent"]) == ["小安", "小安→阿强"]
    assert "京东 · 某某京东自营旗舰店 · 小安 · 2026-11-08 10:00:00" in md
    assert "京东 · 某某京东自营旗舰店 · 小安→阿强 · 2026-11-08 10:00:00" in md


def test_cli_exports_each_agents_part(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    engine = make_engine(db)
    init_db(engine)
    import_bytes(engine, "t.jsonl", jsonl(TRANSFERRED, ALONE))
    score_database(engine, n_jobs=1)
    out = tmp_path / "agents.csv"
    assert main(["--db", db, "export", "agents", "--out", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as f:
        rows = [(r["conversation_id"], r["segment"], r["agent"], r["first_response_s"], r["sla_breaches"], r["csat"])
                for r in csv.DictReader(f)]
    assert rows == [("JD-T", "1", "小安", "840.0", "1", ""), ("JD-T", "2", "阿强", "", "0", "4"),
                    ("JD-A", "1", "阿强", "300.0", "1", "2")]
    get_engine.cache_clear()


@pytest.fixture
def scored_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app pointed at a scored database holding the two chats."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = make_engine(url)
    init_db(engine)
    import_bytes(engine, "t.jsonl", jsonl(TRANSFERRED, ALONE))
    score_database(engine, n_jobs=1)
    point_app_to(monkeypatch, url)
    yield
    engine.dispose()
    get_engine.cache_clear()


def test_replay_header_names_every_agent_in_order(scored_app: None) -> None:
    at = start_app("pages/replay.py")
    at.text_input(key="replay_lookup").input("JD-T").run()
    assert not at.exception
    header = at.caption[0].value
    assert "坐席 小安 → 阿强（10:16 接手）" in header
    at.text_input(key="replay_lookup").input("JD-A").run()
    assert " · 坐席 阿强 · " in at.caption[0].value


def test_agents_page_splits_the_transferred_chat(scored_app: None) -> None:
    at = start_app("pages/agents.py")
    at.selectbox(key="ag_agent").select("小安").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["会话数"], shown["平均首次响应"], shown["SLA 内回复率"], shown["CSAT 评价"]) == (
        "1", "14 分", "50.0%", "0 条")  # "换货找售后": 京东 sets no later-reply SLA
    at.selectbox(key="ag_agent").select("阿强").run()
    shown = {m.label: m.value for m in at.metric}
    # 阿强's only first response is JD-A's 5 minutes; the transferred chat's rating (4) is his, with JD-A's 2
    assert (shown["会话数"], shown["平均首次响应"], shown["CSAT"], shown["CSAT 评价"]) == (
        "2", "5 分", "3.00", "2 条")
    team = at.dataframe[-1].value
    assert team.set_index("agent")["conversations"].to_dict() == {"小安": 1, "阿强": 2}


def test_scores_export_names_every_agent_in_order(scored: Engine) -> None:
    from qa.analytics.exports import iter_rows, scores_query

    header, *rows = list(iter_rows(scored, scores_query()))
    agents = {r[header.index("conversation_id")]: (r[header.index("agent")], r[header.index("agents")]) for r in rows}
    assert agents == {"JD-T": ("阿强", "小安→阿强"), "JD-A": ("阿强", "阿强")}
