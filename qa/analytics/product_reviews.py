"""Product reviews (评价) for the overview page: negative share, counts by tag and product per week, what got
worse, and the reviews and conversations behind a tag or a product.

A review is **negative** (差评) when its rating is 2 stars or fewer, or — whatever its rating — the sentiment model
gives its text and follow-up a negative probability of 0.5 or more: buyers leave five stars by default and put
the complaint in the words, and a follow-up often turns a good review bad. Reviews are few next to messages
(thousands, not millions), so they are read once into a frame and summed with pandas. "Now" is the archive's
last review day, not the clock, as everywhere on the dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import pandas as pd
from sqlalchemy import Connection, func, select

from qa.analytics.dashboard import format_change, format_value
from qa.analytics.filters import Filters, apply_to_conversations
from qa.models import Conversation, Platform, ProductReview, TagAssignment
from qa.program.tags import TagTree

__all__ = ["NEGATIVE_RATING", "NEGATIVE_SENTIMENT", "NEGATIVE_RULE", "MIN_REVIEWS", "ReviewData", "Summary",
           "review_data", "summary", "weekly", "period", "worsened", "worsened_table", "drill_down", "conversations_behind",
           "conversations_tagged"]

NEGATIVE_RATING = 2
NEGATIVE_SENTIMENT = 0.5
NEGATIVE_RULE = f"差评 = 评分 ≤ {NEGATIVE_RATING} 星，或情感模型判为负面（负面概率 ≥ {NEGATIVE_SENTIMENT:.1f}，看评价内容和追评）"
MIN_REVIEWS = 10  # fewer reviews than this in either period and a change in share is mostly chance
NO_TAG = "（未打标签）"
By = Literal["tag", "root", "product"]


@dataclass(frozen=True)
class ReviewData:
    """Every review (``reviews``) and its live tags (``tags``: review_id, tag_id; rejected ones left out)."""

    reviews: pd.DataFrame
    tags: pd.DataFrame


@dataclass(frozen=True)
class Summary:
    reviews: int
    negative: int
    low_rating: int
    negative_sentiment: int
    linked: int  # reviews whose order id has a conversation

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.reviews if self.reviews else None


def review_data(conn: Connection) -> ReviewData:
    """All reviews with week, platform, negative flag and whether a conversation has their order id."""
    pr, p, c = ProductReview.__table__, Platform.__table__, Conversation.__table__
    linked = select(c.c.id).where(c.c.order_id == pr.c.order_id).exists()
    rows = conn.execute(select(pr.c.id, pr.c.reviewed_at, pr.c.order_id, pr.c.product, pr.c.sku, pr.c.rating,
                               pr.c.text, pr.c.follow_up, pr.c.shop_reply, pr.c.sentiment_neg,
                               p.c.name.label("platform"), linked.label("linked"))
                        .select_from(pr.outerjoin(p, p.c.id == pr.c.platform_id)).order_by(pr.c.id)).all()
    df = pd.DataFrame(rows, columns=["id", "reviewed_at", "order_id", "product", "sku", "rating", "text",
                                     "follow_up", "shop_reply", "sentiment_neg", "platform", "linked"])
    df["reviewed_at"] = pd.to_datetime(df["reviewed_at"])
    df["day"] = df["reviewed_at"].dt.normalize()
    df["week"] = df["day"] - pd.to_timedelta(df["day"].dt.day_of_week, unit="D")
    df["product"] = df["product"].fillna("（未知商品）")
    df["low_rating"] = df["rating"].notna() & (df["rating"].fillna(5) <= NEGATIVE_RATING)
    df["negative_sentiment"] = df["sentiment_neg"].fillna(0.0) >= NEGATIVE_SENTIMENT
    df["negative"] = df["low_rating"] | df["negative_sentiment"]
    df["linked"] = df["linked"].astype(bool)
    ta = TagAssignment.__table__
    tags = pd.DataFrame(conn.execute(select(ta.c.review_id, ta.c.tag_id).where(
        ta.c.review_id.is_not(None), ta.c.rejected.is_(False))).all(), columns=["review_id", "tag_id"])
    return ReviewData(df, tags)


def summary(reviews: pd.DataFrame) -> Summary:
    return Summary(len(reviews), int(reviews["negative"].sum()), int(reviews["low_rating"].sum()),
                   int(reviews["negative_sentiment"].sum()), int(reviews["linked"].sum()))


def _labelled(data: ReviewData, tree: TagTree, by: By) -> pd.DataFrame:
    """Reviews with a ``value`` column: one row per (review, tag) for tags, per review for products.

    A review with two tags counts under both; one without tags counts under NO_TAG so totals still add up.
    """
    df = data.reviews
    if by == "product":
        return df.assign(value=df["product"])
    paths = tree.paths()
    links = data.tags[data.tags["tag_id"].isin(list(paths))]
    if by == "root":
        names = links["tag_id"].map(lambda t: paths[tree.root_of(t)])
    else:
        names = links["tag_id"].map(paths)
    links = links.assign(value=names.values).drop_duplicates(["review_id", "value"])
    merged = df.merge(links[["review_id", "value"]], left_on="id", right_on="review_id", how="left")
    return merged.assign(value=merged["value"].fillna(NO_TAG)).drop(columns="review_id")


def weekly(data: ReviewData, tree: TagTree, by: By, top: int = 8) -> pd.DataFrame:
    """Per week and value (the ``top`` values with most negative reviews): reviews, negative, negative share."""
    df = _labelled(data, tree, by)
    if df.empty:
        return pd.DataFrame(columns=["week", "value", "reviews", "negative", "share"])
    keep = df[df["negative"]].groupby("value").size().sort_values(ascending=False).head(top).index
    df = df[df["value"].isin(keep)]
    out = df.groupby(["week", "value"]).agg(reviews=("id", "size"), negative=("negative", "sum")).reset_index()
    out["share"] = out["negative"] / out["reviews"]
    return out


def period(reviews: pd.DataFrame, days: int) -> tuple[date, date] | None:
    """The last ``days`` days of the archive's reviews, as (first day, last day)."""
    if reviews.empty:
        return None
    end = reviews["day"].max().date()
    return end - timedelta(days=days - 1), end


def worsened(data: ReviewData, tree: TagTree, by: By, days: int = 28, min_reviews: int = MIN_REVIEWS
             ) -> pd.DataFrame:
    """Values whose negative share rose from the previous ``days`` days to the last ``days``, the largest rise
    first, with at least ``min_reviews`` reviews counted in both periods.

    A product's share is its negative reviews over its reviews. A tag's is its negative reviews over **all**
    reviews of the period: nearly every review tagged 破损 is negative, so what worsens is how often buyers
    complain about it.
    """
    columns = ["value", "reviews", "negative", "share", "prev_reviews", "prev_negative", "prev_share", "change"]
    span = period(data.reviews, days)
    if span is None:
        return pd.DataFrame(columns=columns)
    start = pd.Timestamp(span[0])
    before_start = start - pd.Timedelta(days=days)
    df = _labelled(data, tree, by)
    df = df[df["value"] != NO_TAG]
    now_mask, before_mask = df["day"] >= start, (df["day"] < start) & (df["day"] >= before_start)

    def sums(part: pd.DataFrame) -> pd.DataFrame:
        return part.groupby("value").agg(reviews=("id", "size"), negative=("negative", "sum"))

    now, before = sums(df[now_mask]), sums(df[before_mask]).add_prefix("prev_")
    if by != "product":
        day = data.reviews["day"]
        now["reviews"] = int((day >= start).sum())
        before["prev_reviews"] = int(((day < start) & (day >= before_start)).sum())
    both = now.join(before, how="inner")
    both = both[(both["reviews"] >= min_reviews) & (both["prev_reviews"] >= min_reviews)]
    both = both.assign(share=both["negative"] / both["reviews"], prev_share=both["prev_negative"] / both["prev_reviews"])
    both["change"] = both["share"] - both["prev_share"]
    both = both[both["change"] > 0].sort_values(["change", "negative"], ascending=False).reset_index()
    return both[columns]


def worsened_table(worse: pd.DataFrame, label: str) -> pd.DataFrame:
    """``worsened`` as the page shows it, ranked as it comes: counts with separators, shares as percentages and
    the change in percentage points, in the dashboards' own formats; ``label`` names the first column."""
    def count(v: float) -> str:
        return format_value("", v, "count")

    def pct(v: float) -> str:
        return format_value("", v, "pct")

    return pd.DataFrame({
        label: worse["value"], "评价": worse["reviews"].map(count), "差评": worse["negative"].map(count),
        "差评占比": worse["share"].map(pct), "前期评价": worse["prev_reviews"].map(count),
        "前期差评": worse["prev_negative"].map(count), "前期占比": worse["prev_share"].map(pct),
        "变化": [format_change("", v, "pct") for v in worse["change"]]})


def drill_down(data: ReviewData, tree: TagTree, *, tag_id: int | None = None, product: str | None = None,
               negative_only: bool = False) -> pd.DataFrame:
    """The reviews under a tag (and the tags below it) or of a product, newest first, with their tags named."""
    df = data.reviews
    if tag_id is not None:
        under = tree.subtree(tag_id)
        df = df[df["id"].isin(data.tags.loc[data.tags["tag_id"].isin(list(under)), "review_id"])]
    if product is not None:
        df = df[df["product"] == product]
    if negative_only:
        df = df[df["negative"]]
    paths = tree.paths()
    named = data.tags[data.tags["tag_id"].isin(list(paths))].groupby("review_id")["tag_id"].agg(list)
    df = df.assign(tag_ids=df["id"].map(named).apply(lambda v: v if isinstance(v, list) else []))
    df = df.assign(tags=df["tag_ids"].apply(lambda ids: "、".join(paths[t] for t in ids)))
    return df.sort_values("reviewed_at", ascending=False).reset_index(drop=True)


def conversations_behind(conn: Connection, order_ids: list[str]) -> pd.DataFrame:
    """The conversations whose order id is one of ``order_ids``: what the buyer said to service before reviewing."""
    c, p = Conversation.__table__, Platform.__table__
    ids = sorted({o for o in order_ids if o})
    frames = []
    for start in range(0, len(ids), 500):
        frames.append(pd.DataFrame(conn.execute(
            select(c.c.id, c.c.external_id, c.c.order_id, p.c.name.label("platform"), c.c.started_at,
                   c.c.category, c.c.csat, c.c.message_count)
            .select_from(c.outerjoin(p, p.c.id == c.c.platform_id)).where(c.c.order_id.in_(ids[start:start + 500]))
            .order_by(c.c.started_at)).all(),
            columns=["id", "external_id", "order_id", "platform", "started_at", "category", "csat", "messages"]))
    if not frames:
        return pd.DataFrame(columns=["id", "external_id", "order_id", "platform", "started_at", "category", "csat",
                                     "messages"])
    return pd.concat(frames, ignore_index=True)


def conversations_tagged(conn: Connection, tags: tuple[tuple[str, tuple[int, ...]], ...]) -> int:
    """How many conversations carry one of ``tags`` (``Filters.tags``), on themselves or on a message: the service
    side of what buyers complain about in reviews."""
    query = apply_to_conversations(select(func.count()).select_from(Conversation), Filters(tags=tags))
    return conn.scalar(query) or 0
