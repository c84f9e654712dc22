"""Coaching lists: create, add good/bad items, remove, and export to Markdown, HTML and Excel safely."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from qa.errors import NotFoundError
from qa.review.coaching import (
    CoachingError,
    add_item,
    add_to_new_list,
    coaching_lists,
    create_list,
    delete_list,
    export_excel,
    export_html,
    export_markdown,
    list_items,
    remove_item,
    update_list,
)
from qa.review.replay import load_replay, resolve_conversation
from qa.review.users import get_or_create_user
from tests.helpers import conv, import_bytes, jsonl, read
from tests.seed import seed_small


def _trainer(engine: Engine) -> int:
    return get_or_create_user(engine, "张培训", "trainer")


def _admin(engine: Engine) -> int:
    return get_or_create_user(engine, "演示管理员", "admin")


HOSTILE = '<script>alert("x")</script> **粗体** =HYPERLINK("http://evil")'


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    import_bytes(engine, "hostile.jsonl", jsonl(conv(
        "evil-1", ("customer", HOSTILE, "2026-11-12T09:00:00"), ("agent", "# 标题 | 表格", "2026-11-12T09:00:30"),
        platform="天猫", shop="某某官方旗舰店")))
    return engine


def test_lists_and_items(seeded: Engine) -> None:
    trainer = get_or_create_user(seeded, "张培训")
    lid = create_list(seeded, " 阿杰 · 售后语气 ", note="先道歉再解释", topic="退货", agent="阿杰", user_id=trainer)
    with pytest.raises(CoachingError, match="已有名为“阿杰 · 售后语气”的清单"):
        create_list(seeded, "阿杰 · 售后语气", user_id=_trainer(seeded))
    with pytest.raises(NotFoundError, match="找不到坐席“无名”"):
        create_list(seeded, "另一个", agent="无名", user_id=_trainer(seeded))
    tm3, tm1 = read(seeded, resolve_conversation, "tm-3"), read(seeded, resolve_conversation, "tm-1")
    second = int(read(seeded, load_replay, tm3).messages["id"].iloc[1])
    add_item(seeded, lid, tm3, kind="bad", note="首响慢", message_id=second, user_id=trainer)
    add_item(seeded, lid, tm3, kind="bad", note="整段", user_id=_trainer(seeded))  # the whole conversation is a different item
    add_item(seeded, lid, tm1, kind="good", note="及时礼貌", user_id=_trainer(seeded))
    with pytest.raises(CoachingError, match="已在该清单中"):
        add_item(seeded, lid, tm1, kind="good", user_id=_trainer(seeded))
    with pytest.raises(CoachingError, match="类型须是"):
        add_item(seeded, lid, tm1, kind="ok", user_id=_trainer(seeded))
    with pytest.raises(NotFoundError, match="不属于会话"):
        add_item(seeded, lid, tm1, kind="bad", message_id=second, user_id=_trainer(seeded))
    lists = read(seeded, coaching_lists)
    assert list(lists.iloc[0][["name", "agent", "topic", "note", "items", "good", "bad", "created_by"]]) == [
        "阿杰 · 售后语气", "阿杰", "退货", "先道歉再解释", 3, 1, 2, "张培训"]
    items = read(seeded, list_items, lid)
    assert list(items["external_id"]) == ["tm-3", "tm-3", "tm-1"]
    assert list(items["kind"]) == ["bad", "bad", "good"]
    assert items["seq"].iloc[0] == 1 and items["message_text"].iloc[0] == "亲，在的，请问有什么可以帮您"
    update_list(seeded, lid, note="注意首响", topic="首响", user_id=_trainer(seeded))
    assert list(read(seeded, coaching_lists).iloc[0][["topic", "note"]]) == ["首响", "注意首响"]
    remove_item(seeded, int(items["id"].iloc[1]), user_id=_trainer(seeded))
    assert list(read(seeded, list_items, lid)["note"]) == ["首响慢", "及时礼貌"]
    delete_list(seeded, lid, user_id=_admin(seeded))
    assert read(seeded, coaching_lists).empty


def test_new_list_from_replay_is_one_transaction(seeded: Engine) -> None:
    tm4 = read(seeded, resolve_conversation, "tm-4")
    with pytest.raises(CoachingError):
        add_to_new_list(seeded, "新清单", tm4, kind="meh", user_id=_trainer(seeded))
    assert read(seeded, coaching_lists).empty  # the failed item left no empty list behind
    lid = add_to_new_list(seeded, "新清单", tm4, kind="bad", note="禁用语", agent="阿杰", user_id=_trainer(seeded))
    assert list(read(seeded, list_items, lid)["external_id"]) == ["tm-4"]
    assert read(seeded, coaching_lists)["agent"].iloc[0] == "阿杰"


def _list_with_hostile_item(engine: Engine) -> int:
    lid = create_list(engine, "反例<b>集</b>", note="第一行\n第二行", agent="阿杰", user_id=_trainer(engine))
    add_item(engine, lid, read(engine, resolve_conversation, "evil-1"), kind="bad", note="<i>别这样</i>", user_id=_trainer(engine))
    add_item(engine, lid, read(engine, resolve_conversation, "tm-1"), kind="good", note="好", user_id=_trainer(engine))
    return lid


def test_markdown_export(seeded: Engine) -> None:
    md = read(seeded, export_markdown, _list_with_hostile_item(seeded))
    lines = md.splitlines()
    assert lines[:5] == ["# 培训清单：反例&lt;b&gt;集&lt;/b&gt;", "", "- 坐席：阿杰", "- 条目：2（好例 1，反例 1）", ""]
    assert "- 第一行" in lines and "- 第二行" in lines
    assert "## 1. 反例 · 会话 evil-1" in lines and "## 2. 好例 · 会话 tm-1" in lines
    assert "**点评**：&lt;i&gt;别这样&lt;/i&gt;" in lines
    assert ("> **#1 顾客** 09:00:00：&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; \\*\\*粗体\\*\\* "
            "=HYPERLINK(&quot;http://evil&quot;)  ") in lines
    assert "> **#2 客服** 09:00:30：\\# 标题 \\| 表格  " in lines
    assert "<script" not in md and "<i>" not in md


def test_html_export_is_self_contained_and_escaped(seeded: Engine) -> None:
    page = read(seeded, export_html, _list_with_hostile_item(seeded))
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>")
    assert "<title>培训清单：反例&lt;b&gt;集&lt;/b&gt;</title>" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script" not in page and "<i>" not in page and "http-equiv" not in page
    assert "<link" not in page and "src=" not in page  # nothing fetched from elsewhere
    assert "第一行<br>第二行" in page and "等待 20 秒（SLA 3 分）" in page  # tm-1 is scored, evil-1 not


def test_excel_export_has_items_and_transcripts_as_text(seeded: Engine) -> None:
    wb = load_workbook(io.BytesIO(read(seeded, export_excel, _list_with_hostile_item(seeded))))
    assert wb.sheetnames == ["条目", "对话", "说明"]
    items = [[c.value for c in row] for row in wb["条目"].iter_rows()]
    assert items[0][:4] == ["序号", "类型", "会话号", "平台"]
    assert [r[:4] for r in items[1:]] == [[1, "反例", "evil-1", "天猫"], [2, "好例", "tm-1", "天猫"]]
    assert items[1][11] == "<i>别这样</i>"
    chat = wb["对话"]
    rows = [[c.value for c in row] for row in chat.iter_rows(min_row=2)]
    assert [r[:2] for r in rows] == [["evil-1", 1], ["evil-1", 2], ["tm-1", 1], ["tm-1", 2], ["tm-1", 3], ["tm-1", 4]]
    assert rows[0][5] == HOSTILE and chat["F2"].data_type == "s"  # stays text, never a formula
    assert rows[3][6] == 20 and rows[3][7] == "否"  # tm-1's first reply: 20 s, within the SLA
    assert [[c.value for c in row] for row in wb["说明"].iter_rows(max_row=3)][1:] == [["清单", "反例<b>集</b>"],
                                                                                   ["坐席", "阿杰"]]
