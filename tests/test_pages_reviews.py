"""The 评价 page (AppTest): figures, a drill-down from a tag and a product to reviews and conversations,
correcting a review's tags, and editing the tag tree."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from qa.models import Conversation, TagAssignment
from qa.program.tag_store import current_tree, tag_conversations
from tests.app_fixtures import start_app
from tests.helpers import conv, import_bytes, jsonl
from ui.charts import monday_ticks

CSV = """订单号,商品名称,评分,评价内容,追评,评价时间,平台
9001,保温杯,1,杯子破损了，快递太慢,,2026-11-20 10:00:00,京东
9002,保温杯,5,保温效果很好,,2026-11-21 10:00:00,京东
9003,卫衣,2,线头很多,,2026-11-22 10:00:00,天猫
9004,卫衣,5,好看,,2026-11-23 10:00:00,天猫
"""


def tag_scored_conversations(engine: Engine, ids: list[int]) -> None:
    """Tags from category and customers' words, as a scoring run proposes them."""
    with engine.begin() as conn:
        tag_conversations(conn, current_tree(conn, seed=True), ids)


def _reviews(engine: Engine) -> None:
    import_bytes(engine, "order.jsonl", jsonl(conv("ord-1", ("customer", "杯子碎了", None),
                                                   ("agent", "抱歉，给您补发", None), order_id="9001")))
    import_bytes(engine, "评价.csv", CSV.encode("gbk"))
    with engine.connect() as conn:
        order_conversation = conn.scalar(select(Conversation.id).where(Conversation.order_id == "9001"))
    tag_scored_conversations(engine, [order_conversation])  # as a scoring run does


def test_empty_archive_says_how_to_import(seeded_app: Engine) -> None:
    at = start_app("pages/reviews.py")
    assert not at.exception
    assert "还没有商品评价" in at.info[0].value


def test_figures_drill_down_and_replay(seeded_app: Engine) -> None:
    _reviews(seeded_app)
    at = start_app("pages/reviews.py")
    assert not at.exception
    assert [(m.label, m.value) for m in at.metric] == [("评价", "4"), ("差评", "2"), ("差评占比", "50.0%"),
                                                       ("关联到会话", "1")]
    assert any("差评 = 评分 ≤ 2 星" in c.value for c in at.caption)
    assert any(c.value.startswith("全部已导入的评价：2026-11-20 至 2026-11-23") for c in at.caption)  # the period shown
    at.radio(key="reviews_by").set_value("root").run()
    at.selectbox(key="reviews_pick_root").select("物流").run()
    assert not at.exception
    texts = [t for df in at.dataframe if "text" in df.value for t in df.value["text"]]
    assert texts == ["杯子破损了，快递太慢"]
    assert "1 条评价，其中差评 1 条" in [c.value for c in at.caption]
    behind = next(df.value for df in at.dataframe if "会话标签" in df.value)
    assert behind[["会话", "订单号", "会话标签"]].values.tolist() == [["ord-1", "9001", "物流 › 破损"]]
    at.selectbox(key="reviews_conversation").select_index(0).run()
    at.button(key="reviews_open_replay").click().run()
    assert not at.exception
    assert at.session_state["replay_conversation_id"] is not None


def test_a_tag_counts_its_conversations_and_opens_them_in_the_queue(seeded_app: Engine) -> None:
    _reviews(seeded_app)
    import_bytes(seeded_app, "c.jsonl", jsonl(conv("ord-2", ("customer", "快递压坏了", "2026-11-12 10:00:00"))))
    with seeded_app.connect() as conn:
        later = conn.scalar(select(Conversation.id).where(Conversation.external_id == "ord-2"))
    tag_scored_conversations(seeded_app, [later])
    at = start_app("pages/reviews.py", user="王质检")
    at.radio(key="reviews_by").set_value("root").run()
    at.selectbox(key="reviews_pick_root").select("物流").run()
    assert "客服会话中带“物流”标签（含下级，会话或其中的消息）的：2 条" in [c.value for c in at.caption]
    at.button(key="reviews_tag_queue").click().run()
    assert not at.exception
    # the queue, narrowed to 物流 and under it, in the archive's last weeks (ord-1 has no times, so no day)
    assert list(at.dataframe[0].value["external_id"]) == ["ord-2"]
    assert at.multiselect(key="flt_tags").value == ["物流"]


def test_correct_a_reviews_tags(seeded_app: Engine) -> None:
    _reviews(seeded_app)
    at = start_app("pages/reviews.py", user="王质检")
    at.radio(key="reviews_by").set_value("product").run()
    at.selectbox(key="reviews_pick_product").select("卫衣").run()
    assert len(at.selectbox(key="reviews_review").options) == 2
    at.selectbox(key="reviews_review").select_index(1).run()  # 线头很多, tagged 做工 by the rules
    assert not at.exception
    assert any("产品质量 › 做工（规则）" in c.value for c in at.caption)
    tags = next(m for m in at.multiselect if m.label == "正确的标签")
    assert [tags.format_func(v) for v in tags.value] == ["产品质量 › 做工"]
    tags.set_value([]).run()
    at.button(key="review_tags_save").click().run()
    assert "已保存更正的标签：无" in [s.value for s in at.success]
    with seeded_app.connect() as conn:
        taken_off = conn.execute(select(TagAssignment.rejected, TagAssignment.reviewer_id)
                                 .where(TagAssignment.review_id.is_not(None), TagAssignment.tag_id == 2)).one()
    assert taken_off.rejected is True and taken_off.reviewer_id is not None


def test_edit_the_tag_tree_retags_reviews(seeded_app: Engine) -> None:
    _reviews(seeded_app)
    at = start_app("pages/reviews.py", user="陈经理")
    at.text_input(key="tag_edit_name_None").input("保温")
    at.text_area(key="tag_edit_words_None").input("保温效果")
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception
    assert "已新建标签“保温”；按新规则给评价新增标签 1 个" in [s.value for s in at.success]
    at.text_input(key="tag_edit_name_None").input("保温")
    next(b for b in at.button if b.label == "保存").click().run()
    assert "“顶层”下已有标签“保温”" in [e.value for e in at.error]
    at.selectbox(key="tag_edit_pick").select(7).run()  # 物流 › 破损
    at.selectbox(key="tag_edit_parent_7").select(12)  # 售后 (in the form: applied on 保存)
    at.text_input(key="tag_edit_categories_7").input("赠品/物流，退货")
    next(b for b in at.button if b.label == "保存").click().run()
    assert "已保存标签“售后 › 破损”；按新规则给评价新增标签 0 个" in [s.value for s in at.success]
    with seeded_app.connect() as conn:
        moved = current_tree(conn).get(7)
    assert (moved.parent, moved.categories) == (12, ("赠品/物流", "退货"))


def test_an_imported_product_name_is_shown_as_text_in_the_drill_down(seeded_app: Engine) -> None:
    from tests.test_pages_hostile_values import HOSTILE, LINK, LIVE

    import_bytes(seeded_app, "评价.csv", f"订单号,商品名称,评分,评价内容,评价时间\n{LINK},\"{HOSTILE}\",1,物流慢,"
                                         "2026-11-12 10:00:00\n".encode())
    at = start_app("pages/reviews.py")
    at.radio(key="reviews_by").set_value("product").run()
    at.selectbox(key="reviews_pick_product").select(HOSTILE).run()
    at.selectbox(key="reviews_review").select_index(0).run()
    assert not at.exception
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("evil.example" in t for t in shown) and not [t for t in shown if LIVE.search(t)]


def test_week_ticks_fall_on_the_mondays_the_weeks_start() -> None:
    """Vega's own week ticks fall on Sundays, so every label read a day before its Monday-started bucket."""
    ticks = monday_ticks(pd.to_datetime(["2026-11-23", "2026-11-16", "2026-11-23"]))
    assert [(t.to_dict()["month"], t.to_dict()["date"]) for t in ticks] == [(11, 16), (11, 23)]
