"""The QA pages as a user drives them: queue, replay, coaching and data, on tests/seed.py's conversations."""

from __future__ import annotations

import re
import threading

import pytest
import streamlit as st
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import qa.jobs.scoring
import qa.jobs.status
import ui.cache
import ui.replay_chat
from qa.access import SYSTEM
from qa.analytics.filters import Filters
from qa.jobs.background import BackgroundScoring
from qa.jobs.scoring import ScoreRunReport
from qa.jobs.status import ScorerUnavailable, batch_rejections, past_imports
from qa.models import ConversationScore, Message, SignInSession
from qa.program.tag_store import current_tree, judge_tag, save_tree, tag_conversations, tags_of
from qa.program.tags import set_rules
from qa.review.annotations import MESSAGE_TAGS, list_annotations
from qa.review.coaching import coaching_lists, create_list, list_items
from qa.review.labels import my_feedback
from qa.review.replay import resolve_conversation
from qa.review.users import get_or_create_user, list_users, set_password
from tests.app_fixtures import sign_in_as, start_app
from tests.helpers import conv, jsonl, read


def _trainer(engine: Engine) -> int:
    return get_or_create_user(engine, "张培训", "trainer")


def _admin(engine: Engine) -> int:
    return get_or_create_user(engine, "演示管理员", "admin")


RANKED = ["tm-4", "tm-3", "dy-1", "jd-2", "jd-1", "tm-2", "tm-1", "dy-2"]


def _queue_ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["external_id"])


def _texts(elements) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in elements]


def _as(at: AppTest, name: str) -> AppTest:
    sign_in_as(at, name).run()
    return at


def _replay(at: AppTest, key: str, user: str | None = None) -> AppTest:
    """Open ``key`` on the replay page through its lookup box, signed in as ``user`` when given."""
    at.switch_page("pages/replay.py")
    at.run()
    if user:
        _as(at, user)
    at.text_input(key="replay_lookup").input(key).run()
    return at


# --- 质检队列 -------------------------------------------------------------------------------------------------

def test_queue_ranks_with_reasons(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    assert not at.exception
    assert "**共 8 条会话** · 按优先级 · 筛选：2026-11-10 至 2026-11-13" in _texts(at.markdown)
    assert _queue_ids(at) == RANKED
    df = at.dataframe[0].value
    assert df["reasons"].iloc[3] == "慢：首次响应 45 秒，超过 SLA 30 秒；预测不满 0.60"
    assert list(df["priority"][:3]) == [2.6, 2.5, 1.6]


def test_sidebar_filters_and_clear(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    at.multiselect(key="flt_platform").set_value(["京东"]).run()
    assert _queue_ids(at) == ["jd-2", "jd-1"]
    at.selectbox(key="flt_csat").set_value("≤ 2").run()
    assert "**共 0 条会话** · 按优先级 · 筛选：2026-11-10 至 2026-11-13 · 平台：京东 · CSAT ≤ 2" in _texts(at.markdown)
    assert "没有符合条件的会话：放宽侧边栏的筛选，或换一种抽样方式。" in _texts(at.info)
    at.button(key="flt_clear").click().run()
    assert not at.exception
    assert _queue_ids(at) == RANKED
    assert at.multiselect(key="flt_platform").value == [] and at.selectbox(key="flt_csat").value == "不限"


def test_the_queue_lists_the_conversations_of_a_tag(seeded_app: Engine) -> None:
    broken = _tag_ids(seeded_app)["物流 › 破损"]
    judge_tag(seeded_app, "conversation", read(seeded_app, resolve_conversation, "jd-2"), broken, True, "王质检")
    at = start_app("pages/queue.py")
    at.multiselect(key="flt_tags").set_value(["物流 › 破损"]).run()
    assert not at.exception
    assert _queue_ids(at) == ["jd-2"]
    assert "当前筛选：2026-11-10 至 2026-11-13 · 标签：物流 › 破损" in _texts(at.sidebar.caption)
    at.multiselect(key="flt_tags").set_value(["售后"]).run()  # nothing tagged 售后 or under it
    assert "没有符合条件的会话：放宽侧边栏的筛选，或换一种抽样方式。" in _texts(at.info)
    at.button(key="flt_clear").click().run()
    assert _queue_ids(at) == RANKED and at.multiselect(key="flt_tags").value == []


def test_drill_down_filters_show_in_the_sidebar(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    at.session_state["filters"] = Filters(platforms=("抖音",), min_risk=0.5)  # as the overview's open_queue sets
    at.run()
    assert _queue_ids(at) == ["dy-1"]
    assert at.multiselect(key="flt_platform").value == ["抖音"]
    assert at.slider(key="flt_risk").value == (0.5, 1.0)
    assert "当前筛选：2026-11-10 至 2026-11-13 · 平台：抖音 · 不满风险 ≥ 0.50" in _texts(at.sidebar.caption)
    at.button(key="flt_clear").click().run()
    assert _queue_ids(at) == RANKED


def test_sampling_modes_show_their_seed(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    seed = at.number_input(key="queue_seed")
    assert (seed.label, seed.disabled) == ("抽样编号", True)  # ranking draws nothing at random
    at.selectbox(key="queue_mode").set_value("random").run()
    assert not at.number_input(key="queue_seed").disabled
    at.slider(key="queue_rate").set_value(50)
    at.number_input(key="queue_seed").set_value(7).run()
    assert "**共 5 条会话** · 随机 50% · 抽样编号 7 · 筛选：2026-11-10 至 2026-11-13" in _texts(at.markdown)
    assert _queue_ids(at) == ["tm-4", "dy-1", "jd-2", "tm-2", "dy-2"]
    at.selectbox(key="queue_mode").set_value("quota").run()
    at.number_input(key="queue_quota").set_value(1).run()
    assert _queue_ids(at) == ["tm-4", "jd-2", "tm-2", "dy-2"]


def test_back_from_replay_the_queue_is_as_it_was_left(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    seed = at.number_input(key="queue_seed")
    assert (seed.label, seed.disabled) == ("抽样编号", True)  # ranking draws nothing at random
    at.selectbox(key="queue_mode").set_value("random").run()
    assert not at.number_input(key="queue_seed").disabled
    at.slider(key="queue_rate").set_value(50)
    at.number_input(key="queue_seed").set_value(7).run()
    at.button(key="queue_open_first").click().run()
    at.switch_page("pages/replay.py")
    at.run()
    assert "队列第 1 / 5 条" in _texts(at.caption)
    at.switch_page("pages/queue.py")
    at.run()
    assert (at.selectbox(key="queue_mode").value, at.slider(key="queue_rate").value,
            at.number_input(key="queue_seed").value) == ("random", 50, 7)
    assert _queue_ids(at) == ["tm-4", "dy-1", "jd-2", "tm-2", "dy-2"]


def test_assign_then_my_queue(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    at.selectbox(key="assign_reviewer").set_value("王质检")
    at.number_input(key="assign_limit").set_value(3)
    at.button(key="assign_go").click().run()
    assert not at.exception
    assert "已分配 3 条新会话给 王质检（按优先级）；已分配过的未重复分配。" in _texts(at.success)
    assert list(at.dataframe[0].value["assigned"][:4]) == ["王质检·待审"] * 3 + [""]
    _as(at, "王质检")
    at.button_group(key="queue_view").set_value("我的队列").run()
    assert _queue_ids(at) == ["tm-4", "tm-3", "dy-1"]
    at.radio(key="queue_status").set_value("已完成").run()
    assert "**共 0 条会话** · 按优先级 · 筛选：2026-11-10 至 2026-11-13" in _texts(at.markdown)


# --- 会话回放 -------------------------------------------------------------------------------------------------

def test_open_from_queue_and_step_previous_next(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    at.button(key="queue_open_first").click().run()
    at.switch_page("pages/replay.py")  # AppTest stays on the page it was told; the app already switched
    at.run()
    assert not at.exception
    assert _texts(at.subheader) == ["会话 tm-4"]
    assert "队列第 1 / 8 条" in _texts(at.caption)
    assert at.button(key="replay_prev").disabled
    at.button(key="replay_next").click().run()
    assert _texts(at.subheader) == ["会话 tm-3"] and "队列第 2 / 8 条" in _texts(at.caption)
    at.button(key="replay_prev").click().run()
    assert _texts(at.subheader) == ["会话 tm-4"]
    assert at.query_params["c"] == "tm-4"


def _chat(at: AppTest) -> list[str]:
    """The chat's messages as drawn, one HTML block each, in order."""
    return [t for t in _texts(at.markdown) if re.search(r"#\d+ · ", t) and "<div" in t]


def test_replay_header_and_chat(seeded_app: Engine) -> None:
    at = start_app("pages/replay.py")
    assert [t.value for t in at.title] == ["会话回放"] and "从“质检队列”点选一条会话，或在上面输入会话号。" in _texts(at.info)
    at = _replay(at, "tm-3")
    assert not at.exception
    assert not at.title  # the chat comes first, above the fold
    assert "天猫 · 某某官方旗舰店 · 坐席 阿杰 · 售后 · 退货 · 2026-11-11 10:00 – 10:08 · 4 条消息" in _texts(at.caption)
    assert (":red-badge[CSAT 1] :red-badge[不满风险 0.80] :red-badge[语气风险 0.70] :red-badge[首次响应 6 分 40 秒] "
            ":red-badge[SLA 内回复 1/2]") in _texts(at.markdown)
    chat = _chat(at)
    assert len(chat) == 4 and "#1 · 顾客" in chat[0] and "#4 · 阿杰" in chat[3]
    assert "等待 6 分 40 秒（SLA 3 分，超时）" in chat[1]
    at.slider(key="replay_step").set_value(2).run()
    chat = _chat(at)
    assert len(chat) == 2 and "#2 · 阿杰" in chat[1]
    at.button(key="replay_fwd").click().run()
    assert at.slider(key="replay_step").value == 3 and len(_chat(at)) == 3


def test_replay_says_why_it_is_in_the_queue_and_what_drives_the_risk(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-4")
    captions = _texts(at.caption)
    assert "入队原因：慢：首次响应 10 分，超过 SLA 3 分；禁用语：“不知道”；客户情绪：最负面 0.90；差评：CSAT 2；预测不满 0.90" in captions
    assert ("评分说明：风险主要来自：首次响应 10 分（超出 SLA 3 分）；坐席回复语气生硬（“亲，在的，请问有什么可以…”）"
            "（另有 1 项较轻）") in captions
    calm = _replay(start_app(), "dy-2")
    assert not any(c.startswith("入队原因") for c in _texts(calm.caption))
    assert "评分说明：不满风险 0.05：没有哪一项超出阈值，分数来自模型对整段对话文字的判断" in _texts(calm.caption)


def test_playback_advances_in_a_fragment_at_the_chosen_speed(seeded_app: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(ui.replay_chat, "_clock", lambda: now[0])
    ticks: list[object] = []
    fragment = st.fragment
    monkeypatch.setattr(st, "fragment", lambda *a, **kw: ticks.append(kw.get("run_every")) or fragment(*a, **kw))
    at = _replay(start_app(), "tm-3", "王质检")
    at.selectbox(key="replay_speed").set_value("×60").run()
    at.button(key="replay_play").click().run()  # the whole chat was shown: play from the first message
    assert not at.exception
    assert len(_chat(at)) == 1 and at.slider(key="replay_step").disabled
    assert ticks[-1] == ui.replay_chat.TICK_S  # the chat redraws itself; nothing waits in the script
    assert at.button(key="FormSubmitter:review_form-保存评审")  # the rest of the page is drawn and usable
    now[0] += 1.9  # tm-3's first reply came 400 s later: 6.7 s at ×60, cut to the 2 s longest pause
    at.run()
    assert len(_chat(at)) == 1
    now[0] += 0.1
    at.run()
    assert len(_chat(at)) == 2 and at.slider(key="replay_step").value == 2
    now[0] += 1.4  # then 60 s and 20 s: 1 s and 1/3 s
    at.run()
    assert len(_chat(at)) == 4 and at.slider(key="replay_step").value == 4
    assert ticks[-1] is None and not at.slider(key="replay_step").disabled  # done: the ticking stops
    assert any(b.key == "replay_play" for b in at.button)


def test_playback_can_be_paused(seeded_app: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(ui.replay_chat, "_clock", lambda: now[0])
    at = _replay(start_app(), "tm-1")
    at.slider(key="replay_step").set_value(2).run()
    at.selectbox(key="replay_speed").set_value("×600").run()
    at.button(key="replay_play").click().run()  # from the message shown
    assert len(_chat(at)) == 2
    at.button(key="replay_pause").click().run()
    now[0] += 60
    at.run()
    assert len(_chat(at)) == 2 and not at.slider(key="replay_step").disabled


def test_replay_from_a_shared_link(seeded_app: Engine) -> None:
    at = start_app()
    at.query_params["c"] = "dy-1"
    at.switch_page("pages/replay.py")
    at.run()
    assert _texts(at.subheader) == ["会话 dy-1"]
    at = start_app()
    at.query_params["c"] = "zz"
    at.switch_page("pages/replay.py")
    at.run()
    assert "找不到会话“zz”：请检查会话号，或先在“数据”页导入它" in _texts(at.error)


def test_review_is_saved_and_shown_to_the_next_viewer(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-3", "王质检")
    for i, score in enumerate([2, 1, 3, 1]):
        at.segmented_control(key=f"rubric_{i}").set_value(score)
    at.segmented_control(key="review_verdict").set_value("不合格")
    at.text_area(key="review_comment").input("首响超时且说了禁用语")
    at.button(key="FormSubmitter:review_form-保存评审").click().run()
    assert not at.exception
    assert "已保存 王质检 的评审（结论：不合格）" in _texts(at.success)
    stored = read(seeded_app, list_annotations, read(seeded_app, resolve_conversation, "tm-3"))
    assert sorted(stored["score"].dropna()) == [1, 1, 2, 3] and list(stored["verdict"].dropna()) == ["不合格"]
    assert "**已有批注（5）**" in _texts(at.markdown)
    assert at.segmented_control(key="review_verdict").value == "不合格"  # the form now edits this review

    at.switch_page("pages/queue.py")
    at.run()
    at.switch_page("pages/replay.py")  # back again: the whole conversation and the saved review are shown
    at.run()
    assert at.slider(key="replay_step").value == 4
    assert at.segmented_control(key="review_verdict").value == "不合格"
    assert at.segmented_control(key="rubric_2").value == 3

    other = _replay(start_app(), "tm-3", "李质检")
    assert "**已有批注（5）**" in _texts(other.markdown)
    assert other.segmented_control(key="review_verdict").value is None  # 李质检's own form starts empty
    shown = other.dataframe[0].value
    assert list(shown["reviewer"].unique()) == ["王质检"] and "首响超时且说了禁用语" in list(shown["comment"])


def _message_ids(engine: Engine, key: str) -> list[int]:
    cid = read(engine, resolve_conversation, key)
    with engine.connect() as conn:
        return list(conn.scalars(select(Message.id).where(Message.conversation_id == cid).order_by(Message.seq)))


def test_note_on_a_message_in_the_chat_then_edit_and_delete(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-4", "王质检")
    second = _message_ids(seeded_app, "tm-4")[1]
    assert not any(e.key == f"note_text_{second}" for e in at.text_area)  # a closed 批注 draws nothing
    at.session_state[f"note_pop_{second}"] = True  # the reviewer opens 批注 beside message #2
    at.run()
    at.multiselect(key=f"note_tags_{second}").set_value(["note:超时"])
    hostile = "首响 10 分钟 <img src=x onerror=alert(1)> [点我](http://evil.example) 这句话很长很长，不能被截断"
    at.text_area(key=f"note_text_{second}").input(hostile)
    at.button(key=f"FormSubmitter:note_form_{second}-保存").click().run()
    assert not at.exception
    assert "已保存 #2 客服 的批注和标签" in _texts(at.success)
    assert at.session_state[f"note_pop_{second}"] is False  # the form closes; the note is in the chat
    note = read(seeded_app, list_annotations, read(seeded_app, resolve_conversation, "tm-4")).iloc[0]
    assert (note["target"], note["tags"], note["comment"]) == ("消息 #2", "超时", hostile)
    chat = _chat(at)
    assert "批注 · 王质检" in chat[1] and "[超时]" in chat[1]
    assert ("首响 10 分钟 &lt;img src=x onerror=alert(1)&gt; [点我](http://evil.example) 这句话很长很长，不能被截断"
            in chat[1]) and "<img" not in chat[1]
    assert not any("批注 · " in c for i, c in enumerate(chat) if i != 1)

    at.session_state[f"note_pop_{second}"] = True
    at.run()
    at.text_area(key=f"note_edit_text_{note['id']}").input("首响 10 分钟，远超 SLA")
    at.button(key=f"note_update_{note['id']}").click().run()
    assert "批注已更新" in _texts(at.success) and "首响 10 分钟，远超 SLA" in _chat(at)[1]
    at.session_state[f"note_pop_{second}"] = True
    at.run()
    at.button(key=f"note_delete_{note['id']}").click().run()
    assert "批注已删除" in _texts(at.success) and not any("批注 · " in c for c in _chat(at))


def _tag_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {path: tag_id for tag_id, path in current_tree(conn).paths().items()}


def _conversation_tags(engine: Engine, key: str) -> list[tuple[str, str, bool]]:
    cid = read(engine, resolve_conversation, key)
    with engine.connect() as conn:
        tree = current_tree(conn)
        return [(tree.path(t.tag_id), t.source, t.confirmed) for t in tags_of(conn, "conversation", [cid], tree)[cid]]


def test_a_reviewer_confirms_removes_and_adds_conversation_tags_in_the_replay(seeded_app: Engine) -> None:
    with seeded_app.begin() as conn:  # what scoring does: tm-3's category 退货 maps to 售后 › 退款
        tag_conversations(conn, current_tree(conn, seed=True), [read(seeded_app, resolve_conversation, "tm-3")])
    at = _replay(start_app(), "tm-3", "王质检")
    assert not at.exception
    assert "标签（1）" in [e.label for e in at.expander]
    assert "售后 › 退款 · 分类模型 · 待确认" in _texts(at.markdown) and "分类“退货”" in _texts(at.caption)
    ids = _tag_ids(seeded_app)
    at.button(key=f"ctag_ok_{ids['售后 › 退款']}").click().run()
    assert "已确认标签“售后 › 退款”" in _texts(at.success)
    at.selectbox(key="ctag_pick").set_value(ids["物流 › 时效"])
    at.button(key="ctag_add").click().run()
    assert not at.exception and "已添加标签“物流 › 时效”" in _texts(at.success)
    assert "物流 › 时效 · 质检员 · 已确认" in _texts(at.markdown)
    assert _conversation_tags(seeded_app, "tm-3") == [("售后 › 退款", "model", True), ("物流 › 时效", "reviewer", True)]
    at.button(key=f"ctag_rm_{ids['售后 › 退款']}").click().run()
    assert "已移除标签“售后 › 退款”（规则不会再打上）" in _texts(at.success)
    assert _conversation_tags(seeded_app, "tm-3") == [("物流 › 时效", "reviewer", True)]
    assert "标签（1）" in [e.label for e in at.expander]


def test_one_tag_picker_tags_a_message_from_the_tree_and_with_note_tags(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-4", "王质检")
    third = _message_ids(seeded_app, "tm-4")[2]  # the customer's 什么时候发货
    cid = read(seeded_app, resolve_conversation, "tm-4")
    at.session_state[f"note_pop_{third}"] = True
    at.run()
    picker = [m for m in at.multiselect if m.key.endswith(f"_{third}")]
    assert [m.key for m in picker] == [f"note_tags_{third}"]  # one picker in the popover, not two
    speed = _tag_ids(seeded_app)["物流 › 时效"]
    options = picker[0].options
    assert options[:len(MESSAGE_TAGS)] == [f"质检 › {t}" for t in MESSAGE_TAGS] and "物流 › 时效" in options
    picker[0].set_value([f"tree:{speed}", "note:推诿"])
    at.button(key=f"FormSubmitter:note_form_{third}-保存").click().run()
    assert not at.exception and "已保存 #3 顾客 的批注和标签" in _texts(at.success)
    with seeded_app.connect() as conn:  # each kind where it always was: the tree's on the message, the note's on a note
        assert [(t.tag_id, t.source) for t in tags_of(conn, "message", [third])[third]] == [(speed, "reviewer")]
    notes = read(seeded_app, list_annotations, cid)
    assert notes[["target", "tags", "comment"]].values.tolist() == [["消息 #3", "推诿", ""]]
    assert "[物流 › 时效 · 质检员 · 已确认]" in _chat(at)[2] and "[推诿]" in _chat(at)[2]
    # opened again, the picker holds both; taking the note tag off deletes the note it alone made
    at.session_state[f"note_pop_{third}"] = True
    at.run()
    assert at.multiselect(key=f"note_tags_{third}").value == ["note:推诿", f"tree:{speed}"]
    at.multiselect(key=f"note_tags_{third}").set_value([f"tree:{speed}"])
    at.button(key=f"FormSubmitter:note_form_{third}-保存").click().run()
    assert read(seeded_app, list_annotations, cid).empty
    with seeded_app.connect() as conn:
        assert [t.tag_id for t in tags_of(conn, "message", [third])[third]] == [speed]


def test_keyword_rules_tag_the_customer_message_and_a_reviewer_confirms_or_removes_it(seeded_app: Engine) -> None:
    with seeded_app.begin() as conn:
        tree = current_tree(conn, seed=True)
    speed = _tag_ids(seeded_app)["物流 › 时效"]
    save_tree(seeded_app, set_rules(tree, speed, ["发货"]))  # tm-4's customer asks 什么时候发货
    cid = read(seeded_app, resolve_conversation, "tm-4")
    with seeded_app.begin() as conn:  # what scoring does
        tag_conversations(conn, current_tree(conn), [cid])
    third = _message_ids(seeded_app, "tm-4")[2]
    at = _replay(start_app(), "tm-4", "王质检")
    assert not at.exception
    assert "标签（3）" in [e.label for e in at.expander]  # 时效 and 退款 (its category) on it, 时效 on its message
    assert "\\#3 顾客 · 物流 › 时效 · 规则 · 待确认" in _texts(at.markdown)  # escaped: not a heading
    assert _texts(at.caption).count("关键词“发货”：什么时候发货") == 2
    assert "[物流 › 时效 · 规则 · 待确认]" in _chat(at)[2]  # shown on that message in the chat
    at.button(key=f"mtag_{third}_ok_{speed}").click().run()
    assert "已确认#3 顾客 · 标签“物流 › 时效”" in _texts(at.success)
    assert "[物流 › 时效 · 规则 · 已确认]" in _chat(at)[2]
    at.button(key=f"mtag_{third}_rm_{speed}").click().run()
    assert not at.exception and "[物流 › 时效" not in _chat(at)[2]
    with seeded_app.begin() as conn:
        assert tag_conversations(conn, current_tree(conn), [cid]) == 0  # not put back by the rules
        assert tags_of(conn, "message", [third])[third] == []
        assert speed in [t.tag_id for t in tags_of(conn, "conversation", [cid])[cid]]  # the conversation's stays


def test_an_agent_sees_the_tags_but_cannot_change_them(seeded_app: Engine) -> None:
    with seeded_app.begin() as conn:
        tag_conversations(conn, current_tree(conn, seed=True), [read(seeded_app, resolve_conversation, "tm-1")])
    at = _replay(start_app(), "tm-1", "小美")  # 小美's own conversation
    assert not at.exception
    assert "产品质量 › 尺码 · 分类模型 · 待确认" in _texts(at.markdown)
    keys = {b.key for b in at.button}
    assert not any(k.startswith("ctag_") for k in keys) and not any(s.key == "ctag_pick" for s in at.selectbox)


def test_the_review_panel_stays_open_after_saving(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-3", "王质检")
    at.session_state["replay_flags_open"] = True  # the reviewer also opened the models' flags
    at.run()
    at.segmented_control(key="review_verdict").set_value("合格")
    at.button(key="FormSubmitter:review_form-保存评审").click().run()
    assert "已保存 王质检 的评审（结论：合格）" in _texts(at.success)
    open_ = {e.label: e.proto.expanded for e in at.expander}
    # a reviewer edits no coaching lists
    assert open_ == {"标签（0）": True, "整体评审（王质检）": True, "模型预警复核（4）": True}
    assert at.session_state["replay_review_open"] is True and at.session_state["replay_flags_open"] is True


def test_the_signed_in_reviewer_follows_across_pages(seeded_app: Engine) -> None:
    at = start_app(user="李质检")
    assert "已登录：李质检（质检员）" in _texts(at.sidebar.caption)
    for page in ("pages/queue.py", "pages/overview.py", "pages/replay.py"):
        at.switch_page(page)
        at.run()
    at.text_input(key="replay_lookup").input("dy-2").run()
    assert "整体评审（李质检）" in [e.label for e in at.expander]


def test_a_visitor_sees_only_the_sign_in_form(seeded_app: Engine) -> None:
    at = start_app(user=None)
    assert not at.exception
    assert [t.value for t in at.title] == ["登录回放"] and not at.dataframe


def test_add_to_a_new_coaching_list_from_replay(seeded_app: Engine) -> None:
    at = _replay(start_app(), "tm-4", "张培训")
    at.selectbox(key="coach_list_pick").set_value("＋ 新建清单…").run()
    at.text_input(key="coach_new_name").input("阿杰 · 反例")
    at.radio(key="coach_kind").set_value("bad")
    at.text_input(key="coach_note").input("说了禁用语")
    at.button(key="coach_add").click().run()
    assert "已作为反例加入培训清单“阿杰 · 反例”" in _texts(at.success)
    lists = read(seeded_app, coaching_lists)
    assert list(lists[["name", "agent", "items", "bad", "created_by"]].iloc[0]) == ["阿杰 · 反例", "阿杰", 1, 1, "张培训"]
    at.button(key="coach_add").click().run()  # a second time into the same (now selected) list is refused
    assert "这条会话（消息）已在该清单中" in _texts(at.error)


# --- 培训 -----------------------------------------------------------------------------------------------------

def test_coaching_page_create_add_remove_export(seeded_app: Engine) -> None:
    at = start_app("pages/coaching.py")
    assert "还没有培训清单：新建一个，或在“会话回放”页点“加入培训清单”。" in _texts(at.info)
    at.text_input(key="new_list_name").input("小美 · 好例")
    at.selectbox(key="new_list_agent").set_value("小美")
    at.text_area(key="new_list_note").input("开场及时、称呼亲切")
    at.button(key="FormSubmitter:new_list-创建").click().run()
    assert "已创建清单“小美 · 好例”" in _texts(at.success)
    at.text_input(key="coach_add_key").input("tm-1")
    at.radio(key="coach_add_kind").set_value("good")
    at.text_input(key="coach_add_note").input("20 秒首响")
    at.button(key="coach_add_go").click().run()
    assert "已添加会话 tm-1（好例）" in _texts(at.success)
    lid = int(read(seeded_app, coaching_lists)["id"].iloc[0])
    assert list(read(seeded_app, list_items, lid)[["external_id", "kind", "note"]].iloc[0]) == ["tm-1", "good", "20 秒首响"]
    assert list(at.dataframe[1].value["external_id"]) == ["tm-1"]
    assert {"coach_dl_md", "coach_dl_html", "coach_dl_xlsx"} <= {b.key for b in at.download_button}
    at.text_input(key="coach_add_key").input("nope")
    at.button(key="coach_add_go").click().run()
    assert "找不到会话“nope”：请检查会话号，或先在“数据”页导入它" in _texts(at.error)
    at.button(key="coach_remove").click().run()
    assert read(seeded_app, list_items, lid).empty
    at.checkbox(key="coach_delete_sure").check().run()
    at.button(key="coach_delete").click().run()
    assert read(seeded_app, coaching_lists).empty


def test_coaching_page_opens_an_item_in_replay(seeded_app: Engine) -> None:
    lid = create_list(seeded_app, "售后", user_id=_trainer(seeded_app))
    from qa.review.coaching import add_item
    add_item(seeded_app, lid, read(seeded_app, resolve_conversation, "jd-2"), kind="bad", user_id=_trainer(seeded_app))
    at = start_app("pages/coaching.py")
    at.button(key="coach_replay").click().run()
    at.switch_page("pages/replay.py")
    at.run()
    assert _texts(at.subheader) == ["会话 jd-2"]


# --- 数据 -----------------------------------------------------------------------------------------------------

NEW = jsonl(conv("new-1", ("customer", "在吗", "2026-11-14T10:00:00"), ("agent", "在的", "2026-11-14T10:00:30"),
                 platform="天猫")) + b'{"conversation_id": "broken"\n'


def test_data_page_imports_and_reports_rejections(seeded_app: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qa.jobs.status, "scorer_version", lambda: "test")
    idle = BackgroundScoring(lambda engine, *, n_jobs, progress: ScoreRunReport("test", 0, 0, 0, 0.0))
    monkeypatch.setattr(ui.cache, "background_scoring", lambda: idle)  # the counters below are the import's
    at = start_app("pages/data.py")
    assert [(m.label, m.value) for m in at.metric] == [("会话总数", "8"), ("未评分", "0"), ("评分已过期", "0"),
                                                      ("已是最新", "8")]
    # the unreadable file first: the files after it in the same upload are still imported (issue #12 case 4)
    at.file_uploader(key="import_files").set_value([("bad.csv", "名字,年龄\n张三,3\n".encode(), "text/csv"),
                                                    ("new.jsonl", NEW, "application/json")])
    at.button(key="FormSubmitter:import_form-导入").click().run()
    assert not at.exception
    assert any(t.startswith("bad.csv: 无法识别的表格") for t in _texts(at.error))
    assert ["new.jsonl（JSONL 会话）： 新增会话 1，合并 0，已存在未变 0，新增消息 2 拒绝 1 行"] == _texts(at.warning)
    rejected = at.dataframe[0].value
    assert list(rejected["file"]) == ["new.jsonl"] and list(rejected["row"]) == [2]
    assert [(m.label, m.value) for m in at.metric][:2] == [("会话总数", "9"), ("未评分", "1")]
    batches = read(seeded_app, past_imports)
    assert list(batches["file_name"][:2]) == ["new.jsonl", "seed.jsonl"]
    assert list(batches["format"][:2]) == ["JSONL 会话", "JSONL 会话"]
    assert list(batches["rejected"][:1]) == [1]
    assert list(read(seeded_app, batch_rejections, int(batches["id"].iloc[0]))["row"]) == [2]
    assert any(e.label == f"批次 {batches['id'].iloc[0]} · new.jsonl：拒绝 1 行" for e in at.expander)


def test_data_page_names_an_interrupted_import(seeded_app: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from sqlalchemy import insert

    from qa.models import ImportBatch

    monkeypatch.setattr(qa.jobs.status, "scorer_version", lambda: "test")
    with seeded_app.begin() as conn:
        run = conn.execute(insert(ImportBatch).values(
            file_name="big.jsonl", content_hash="x", format="jsonl", imported_at=datetime(2026, 12, 1),
            status="interrupted", conversations_added=1200).returning(ImportBatch.id)).scalar_one()
    at = start_app("pages/data.py")
    assert not at.exception
    assert f"批次 {run} · big.jsonl 导入中断，已存入 1,200 个新会话（都是完整的）；重新导入同一文件即可补全，已存入的不会重复。" in \
        _texts(at.warning)
    batches = read(seeded_app, past_imports)
    assert batches["status"].tolist()[:2] == ["已中断（重新导入同一文件即可补全）", "完成"]


def test_data_page_rescores_in_the_background_and_refreshes_its_counters(seeded_app: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qa.jobs.status, "scorer_version", lambda: "v2")
    release = threading.Event()

    def fake_score(engine: Engine, *, n_jobs: int, progress) -> ScoreRunReport:  # type: ignore[no-untyped-def]
        progress(3, 8)
        release.wait(10)
        progress(8, 8)
        return ScoreRunReport("v2", 8, 8, 32, 0.5)

    job = BackgroundScoring(fake_score)
    monkeypatch.setattr(ui.cache, "background_scoring", lambda: job)
    at = start_app("pages/data.py")
    assert [(m.label, m.value) for m in at.metric] == [("会话总数", "8"), ("未评分", "0"), ("评分已过期", "8"),
                                                      ("已是最新", "0")]
    at.button(key="score_now").click().run()
    assert not at.exception and job.progress().running
    assert "后台评分中：已评分 3 / 8 条会话" in [p.text for p in at.get("progress")]  # the page is not blocked
    assert not job.start(seeded_app, by=SYSTEM)  # one run at a time
    release.set()
    job.wait(10)
    at.run()
    assert "上次评分：已评分 8 条会话、32 条消息，用时 0.5 秒" in _texts(at.success)


def test_an_import_starts_scoring_by_itself(seeded_app: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qa.jobs.status, "scorer_version", lambda: "test")
    job = BackgroundScoring()
    monkeypatch.setattr(ui.cache, "background_scoring", lambda: job)
    at = start_app("pages/data.py")
    at.file_uploader(key="import_files").set_value([("new.jsonl", NEW, "application/json")])
    at.button(key="FormSubmitter:import_form-导入").click().run()
    assert "已开始在后台为新导入的会话评分：可以离开本页，评分完成后各页自动更新。" in _texts(at.info)
    job.wait(60)
    at.run()  # the page reruns when scoring ends: the import's report stays on it
    assert any(t.startswith("new.jsonl（JSONL 会话）") for t in _texts(at.warning))
    report = job.progress().report
    assert report is not None and report.scored == 9  # the seed's scores are another version's: all rescored
    with seeded_app.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ConversationScore)) == 9


def test_data_page_without_models(seeded_app: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> str:
        raise ScorerUnavailable("评分模型不可用（FileNotFoundError: sentiment.json）")

    monkeypatch.setattr(qa.jobs.status, "scorer_version", unavailable)
    at = start_app("pages/data.py")
    assert not at.exception
    assert "评分模型不可用（FileNotFoundError: sentiment.json）" in _texts(at.warning)


def test_signing_in_with_a_password(seeded_app: Engine) -> None:
    set_password(seeded_app, SYSTEM, "王质检", "correct-horse")
    at = start_app(user=None)
    at.text_input(key="sign_in_name").input("王质检")
    at.text_input(key="sign_in_password").input("wrong-horse")
    at.button[0].click().run()
    assert "用户名或密码不正确" in _texts(at.error)
    at.text_input(key="sign_in_password").input("correct-horse")
    at.button[0].click().run()
    assert not at.exception and "已登录：王质检（质检员）" in _texts(at.sidebar.caption)
    # a session for the browser's cookie: a reload stays signed in, 退出登录 ends it (tests/e2e/test_user_paths.py)
    with seeded_app.connect() as conn:
        assert conn.execute(select(SignInSession.user_id, SignInSession.ended_at)).all() == [
            (at.session_state["signed_in_user_id"], None)]


def test_a_reviewer_confirms_or_contradicts_the_models_flags_in_the_replay(seeded_app: Engine) -> None:
    # tm-4: both replies carry a tone flag (0.85), the customer's lines a negative-sentiment one (0.90)
    at = _replay(start_app(), "tm-4", "王质检")
    cid = read(seeded_app, resolve_conversation, "tm-4")
    with seeded_app.connect() as conn:
        first_reply = conn.scalar(select(Message.id).where(Message.conversation_id == cid, Message.seq == 1))
    assert any(e.label == "模型预警复核（4）" for e in at.expander)
    at.button(key=f"flag_{first_reply}_tone_risk_0").click().run()
    assert "已记录：#2 语气风险 误报" in _texts(at.success)
    assert at.button(key=f"flag_{first_reply}_tone_risk_0").disabled
    assert any("#2 语气风险 0.85（已标为误报）" in text for text in _texts(at.markdown))
    with seeded_app.connect() as conn:
        assert my_feedback(conn, cid, dict((n, i) for i, n, _r in list_users(conn))["王质检"]) == {
            (first_reply, "tone_risk"): False}
    models = start_app("pages/models.py")
    assert not models.exception, models.exception
    table = models.dataframe[-1].value  # the last table of the agreement tab (AppTest finds no dataframe by key)
    assert table[["模型", "来源", "标注", "纠正"]].values.tolist() == [["语气风险", "确认/误报", 1, 1]]


def test_queue_offers_exports_of_the_current_filters(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py")
    assert not at.exception
    buttons = [b.proto.label for b in at.get("download_button")]
    assert buttons == ["会话报表（CSV）", "会话报表（Excel）", "复核明细（CSV）", "复核明细（Excel）"]
    assert any("按侧边栏的筛选（2026-11-10 至 2026-11-13）导出" in c.value for c in at.caption)
