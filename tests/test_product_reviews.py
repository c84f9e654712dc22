"""The reviews overview: negative share (rating ≤ 2 or negative sentiment), by tag and product, what got worse,
and the drill-down to reviews and the conversations behind them."""

from datetime import datetime, timedelta

import pandas as pd
import pytest

from qa.analytics.product_reviews import (
    conversations_behind,
    drill_down,
    review_data,
    summary,
    weekly,
    worsened,
    worsened_table,
)
from qa.program.tag_store import current_tree
from tests.helpers import conv, import_bytes, jsonl, read

HEADER = "订单号,商品名称,评分,评价内容,评价时间\n"


def _rows() -> str:
    """Two 28-day periods: 保温杯 gets worse (2 of 12 → 9 of 12 damaged), 卫衣 stays fine."""
    end = datetime(2026, 11, 30, 12)
    lines = []
    for i in range(12):
        now, before = end - timedelta(days=i), end - timedelta(days=28 + i)
        lines.append(f"A{i},保温杯,{1 if i < 9 else 5},{'杯子破损了' if i < 9 else '很好'},{now:%Y-%m-%d %H:%M:%S}")
        lines.append(f"B{i},保温杯,{1 if i < 2 else 5},{'杯子破损了' if i < 2 else '很好'},{before:%Y-%m-%d %H:%M:%S}")
        lines.append(f"C{i},卫衣,5,很舒服,{now:%Y-%m-%d %H:%M:%S}")
        lines.append(f"D{i},卫衣,5,很舒服,{before:%Y-%m-%d %H:%M:%S}")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture
def data_engine(engine):
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "杯子破损了怎么办", None), order_id="A0")))
    import_bytes(engine, "评价.csv", _rows().encode("gbk"))
    return engine


def test_negative_share_and_weekly_counts(data_engine):
    data = read(data_engine, review_data)
    s = summary(data.reviews)
    assert (s.reviews, s.negative, s.low_rating, s.linked) == (48, 11, 11, 1)
    assert s.negative_share == pytest.approx(11 / 48)
    tree = read(data_engine, current_tree)
    by_tag = weekly(data, tree, "tag")
    assert set(by_tag["value"]) == {"物流 › 破损"}  # only values with negative reviews are drawn
    assert by_tag["negative"].sum() == 11
    by_product = weekly(data, tree, "product")
    assert by_product.groupby("value")["reviews"].sum().to_dict() == {"保温杯": 24}


def test_sentiment_alone_makes_a_review_negative():
    reviews = pd.DataFrame({"negative": [True, False], "low_rating": [False, False],
                            "negative_sentiment": [True, False], "linked": [False, False]})
    assert summary(reviews).negative == 1


def test_what_got_worse_needs_volume_in_both_periods(data_engine):
    data = read(data_engine, review_data)
    tree = read(data_engine, current_tree)
    worse = worsened(data, tree, "product")
    assert worse[["value", "reviews", "negative", "prev_reviews"]].values.tolist() == [["保温杯", 12, 9, 12]]
    assert worse["change"].iloc[0] == pytest.approx(9 / 12 - 2 / 12)
    assert worsened(data, tree, "product", min_reviews=13).empty
    by_tag = worsened(data, tree, "tag")  # a tag's share is of all reviews: 9 of 24 now, 2 of 24 before
    assert by_tag[["value", "reviews", "negative", "prev_negative"]].values.tolist() == [["物流 › 破损", 24, 9, 2]]
    assert worsened_table(worse, "商品").values.tolist() == [
        ["保温杯", "12", "9", "75.0%", "12", "2", "16.7%", "+58.3 个百分点"]]
    assert worsened_table(worse.assign(reviews=12345), "商品")["评价"].iloc[0] == "12,345"


def test_drill_down_to_reviews_and_conversations(data_engine):
    data = read(data_engine, review_data)
    tree = read(data_engine, current_tree)
    logistics = next(t.id for t in tree.tags if t.name == "物流")
    under = drill_down(data, tree, tag_id=logistics)  # a parent shows its children's reviews
    assert len(under) == 11 and set(under["tags"]) == {"物流 › 破损"}
    assert under["reviewed_at"].is_monotonic_decreasing
    fine = drill_down(data, tree, product="卫衣")
    assert len(fine) == 24 and set(fine["tags"]) == {""}
    convs = read(data_engine, conversations_behind, list(under["order_id"]))
    assert convs[["external_id", "order_id"]].values.tolist() == [["c1", "A0"]]
