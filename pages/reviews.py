"""评价: product reviews by tag and product — negative share, weekly counts, what got worse — and a drill-down to
the reviews (confirm or correct their tags) and the service conversations behind them; the tag tree is edited here.

Figures come from ``qa.analytics.product_reviews``; tags and their edits from ``qa.program.tag_store``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from qa.analytics import product_reviews as pr
from qa.analytics.filters import Filters
from qa.errors import HuifangError
from qa.program.tag_store import (
    SOURCES,
    Target,
    confirm_tags,
    correct_tags,
    current_tree,
    retag_reviews,
    save_tree,
    tag_filter,
    tags_of,
)
from qa.program.tags import TagTree, add_tag, move_tag, remove_tag, rename_tag, set_rules
from ui.cache import engine, read
from ui.charts import monday_ticks, selected
from ui.frame import require_frame
from ui.state import flash, open_queue, open_replay, show_flash
from ui.text import plain
from ui.user import current_user

require_frame(__file__)

BY = {"tag": "标签", "root": "一级标签", "product": "商品"}
PERIODS = {7: "近 7 天 vs 前 7 天", 14: "近 14 天 vs 前 14 天", 28: "近 28 天 vs 前 28 天"}
REVIEW_COLUMNS = {
    "reviewed_at": st.column_config.DatetimeColumn("评价时间", format="YYYY-MM-DD HH:mm"),
    "product": st.column_config.TextColumn("商品"),
    "rating": st.column_config.NumberColumn("评分", format="%d ★"),
    "text": st.column_config.TextColumn("评价内容", width="large"),
    "follow_up": st.column_config.TextColumn("追评", width="medium"),
    "tags": st.column_config.TextColumn("标签", width="medium"),
    "sentiment_neg": st.column_config.ProgressColumn("负面概率", format="%.2f", min_value=0.0, max_value=1.0),
    "order_id": st.column_config.TextColumn("订单号"),
}


def _tree_editor(tree: TagTree, actor: str | None) -> None:
    """The tag tree with each tag's keywords, and the edits a QA manager makes to it."""
    paths = tree.paths()
    st.dataframe(pd.DataFrame({"标签": list(paths.values()),
                               "关键词": ["、".join(tree.get(t).keywords) for t in paths],
                               "对应分类": ["、".join(tree.get(t).categories) for t in paths]}),
                 hide_index=True, width="stretch")
    if actor is None:
        st.caption("在侧边栏选择你的名字后可以编辑标签树。")
        return
    tag_id = st.selectbox("选择标签", [None, *paths], key="tag_edit_pick", format_func=lambda t: "（新建标签）" if t is None
                          else paths[t])
    tag = tree.get(tag_id) if tag_id is not None else None
    parents = [None, *(t for t in paths if tag_id is None or t not in tree.subtree(tag_id))]
    with st.form("tag_edit"):
        name = st.text_input("标签名", value=tag.name if tag else "", key=f"tag_edit_name_{tag_id}")
        parent = st.selectbox("上级", parents, index=parents.index(tag.parent) if tag else 0,
                              key=f"tag_edit_parent_{tag_id}", format_func=lambda t: "（顶层）" if t is None else paths[t])
        words = st.text_area("关键词（每行一个；评价或消息含其中任一词即打上此标签，紧跟在“没有/不”等否定词后的除外）",
                             value="\n".join(tag.keywords) if tag else "", key=f"tag_edit_words_{tag_id}")
        categories = st.text_input("对应分类（分类模型的分类，用顿号或逗号分隔；该分类的会话打上此标签）",
                                   value="、".join(tag.categories) if tag else "", key=f"tag_edit_categories_{tag_id}")
        left, right = st.columns(2)
        save = left.form_submit_button("保存", type="primary")
        delete = tag is not None and right.form_submit_button("删除此标签及其下级")
    if not (save or delete):
        return
    category_list = categories.replace("，", "、").replace(",", "、").split("、")
    try:
        if delete:
            assert tag_id is not None
            new, done = remove_tag(tree, tag_id), f"已删除标签“{paths[tag_id]}”"
        elif tag_id is None:
            new, new_id = add_tag(tree, name, parent, words.splitlines(), category_list)
            done = f"已新建标签“{new.path(new_id)}”"
        else:
            new = rename_tag(tree, tag_id, name)
            if parent != tree.get(tag_id).parent:
                new = move_tag(new, tag_id, parent)
            new = set_rules(new, tag_id, words.splitlines(), category_list)
            done = f"已保存标签“{new.path(tag_id)}”"
        save_tree(engine(), new, actor)
        added = retag_reviews(engine())
    except HuifangError as e:
        st.error(plain(str(e)))
        return
    flash(f"{done}；按新规则给评价新增标签 {added:,} 个")
    st.rerun()





def _tags_form(target: Target, target_id: int) -> None:
    """A review's or conversation's tags, and a reviewer's confirm or correction of them."""
    assigned = read(tags_of, target, [target_id], tree)[target_id]
    st.caption("当前标签：" + ("、".join(
        f"{plain(tree.path(t.tag_id))}（{'已确认' if t.confirmed else SOURCES.get(t.source, t.source)}）"
        for t in assigned) or "无"))
    if actor is None:
        st.caption("在侧边栏选择你的名字后可以确认或更正标签。")
        return
    paths = tree.paths()
    chosen = st.multiselect("正确的标签", list(paths), default=[t.tag_id for t in assigned],
                            format_func=paths.__getitem__, key=f"{target}_tags_{target_id}",
                            placeholder="选择标签（可多选）")
    left, right = st.columns(2)
    if left.button("确认当前标签", key=f"{target}_tags_confirm", disabled=not assigned):
        confirm_tags(engine(), target, target_id, actor)
        flash("已确认标签")
        st.rerun()
    if right.button("保存更正", key=f"{target}_tags_save", type="primary"):
        correct_tags(engine(), target, target_id, chosen, actor)
        flash("已保存更正的标签：" + ("、".join(paths[t] for t in chosen) or "无"))
        st.rerun()


user = current_user()
actor = user[1] if user else None
st.title("评价")
st.caption(plain(pr.NEGATIVE_RULE) + "。评价按订单号关联到客服会话；标签来自标签树的关键词规则，质检员可确认或更正。")
show_flash()

tree = read(current_tree)
data = read(pr.review_data)
with st.expander("标签树", expanded=data.reviews.empty):
    _tree_editor(tree, actor)
if data.reviews.empty:
    st.info("还没有商品评价：在“数据”页导入天猫/京东/抖音的评价导出（CSV 或 Excel，含评价内容、评分、评价时间等列）。")
    st.stop()

s = pr.summary(data.reviews)
first, last = data.reviews["day"].min(), data.reviews["day"].max()
st.caption(f"全部已导入的评价：{first:%Y-%m-%d} 至 {last:%Y-%m-%d}（本页不按会话的日期筛选；“变差了什么”比较最近的时段）")
cols = st.columns(4)
cols[0].metric("评价", f"{s.reviews:,}")
cols[1].metric("差评", f"{s.negative:,}", help=f"评分 ≤ {pr.NEGATIVE_RATING} 星 {s.low_rating:,} 条；"
                                                  f"情感模型判为负面 {s.negative_sentiment:,} 条（两者可重叠）")
cols[2].metric("差评占比", f"{s.negative_share:.1%}" if s.negative_share is not None else "—")
cols[3].metric("关联到会话", f"{s.linked:,}", help="订单号与某个客服会话相同的评价")

by = st.radio("按", list(BY), key="reviews_by", format_func=BY.__getitem__, horizontal=True)
trend = pr.weekly(data, tree, by)
st.subheader(f"每周差评数（按{BY[by]}，差评最多的前 8 个）")
if trend.empty:
    st.caption("所选时段没有差评。")
else:
    pick = alt.selection_point(name="pick", fields=["value"], on="click")
    chart = alt.Chart(trend).mark_line(point=alt.OverlayMarkDef(filled=True, size=60, cursor="pointer")).encode(
        x=alt.X("week:T", title="周（周一起）", axis=alt.Axis(format="%m-%d", values=monday_ticks(trend["week"]),
                                                              labelOverlap=True)),
        y=alt.Y("negative:Q", title="差评数"),
        color=alt.Color("value:N", title=BY[by], legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("value:N", title=BY[by]), alt.Tooltip("week:T", title="周", format="%Y-%m-%d"),
                 alt.Tooltip("negative:Q", title="差评"), alt.Tooltip("reviews:Q", title="评价"),
                 alt.Tooltip("share:Q", title="差评占比", format=".0%")],
    ).add_params(pick).properties(height=260)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key=f"reviews_chart_{by}")
    point = selected(event)
    if point and point.get("value") and point != st.session_state.get("_reviews_chart_point"):
        st.session_state["_reviews_chart_point"] = point  # applied once: the chart keeps its selection on reruns
        st.session_state[f"reviews_pick_{by}"] = point["value"]

st.subheader("变差了什么")
left, right = st.columns(2)
days = left.selectbox("对比", list(PERIODS), index=2, key="reviews_days", format_func=PERIODS.__getitem__)
volume = right.number_input("最小评价数（两个时段都要达到）", min_value=1, value=pr.MIN_REVIEWS, key="reviews_volume")
worse = pr.worsened(data, tree, by, days=days, min_reviews=int(volume))
span = pr.period(data.reviews, days)
st.caption(f"以归档中最后一个评价日 {span[1] if span else '—'} 为“今天”。" + (
    "商品：差评占该商品评价的比例；标签：带此标签的差评占全部评价的比例（多少买家在抱怨它）。"))
if worse.empty:
    st.caption("没有差评占比上升且样本量足够的对象。")
else:
    st.dataframe(pr.worsened_table(worse, BY[by]), hide_index=True, width="stretch")

st.subheader("明细")
if by == "product":
    choices: list = sorted(data.reviews["product"].unique())
    label = str
else:
    wanted = {tree.root_of(t) for t in tree.paths()} if by == "root" else set(tree.paths())
    choices = [t for t in tree.paths() if t in wanted]
    label = tree.path
key = f"reviews_pick_{by}"
if by != "product" and isinstance(st.session_state.get(key), str):  # a chart point names a tag by its path
    st.session_state[key] = next((t for t in choices if tree.path(t) == st.session_state[key]), None)
left, right = st.columns([3, 1])
value = left.selectbox(BY[by], choices, key=key, index=None, format_func=label, placeholder=f"选择一个{BY[by]}")
negative_only = right.checkbox("只看差评", key="reviews_negative_only")
if value is None:
    st.caption(f"选择一个{BY[by]}（或点击上图中的点）查看它的评价和背后的客服会话。")
    st.stop()
rows = pr.drill_down(data, tree, tag_id=value if by != "product" else None,
                     product=value if by == "product" else None, negative_only=negative_only)
st.caption(f"{len(rows):,} 条评价，其中差评 {int(rows['negative'].sum()):,} 条")
if by != "product":
    tagged = tag_filter(tree, [value])
    talked = read(pr.conversations_tagged, tagged)
    said, go = st.columns([3, 1], vertical_alignment="center")
    said.caption(f"客服会话中带“{plain(tree.path(value))}”标签（含下级，会话或其中的消息）的：{talked:,} 条")
    if talked and go.button("在质检队列中查看", key="reviews_tag_queue"):
        open_queue(Filters(tags=tagged))
st.dataframe(rows[list(REVIEW_COLUMNS)], hide_index=True, width="stretch", column_config=REVIEW_COLUMNS)

if not rows.empty:
    labels = {r.id: f"{r.reviewed_at:%m-%d} · {'—' if pd.isna(r.rating) else int(r.rating)}★ · "
                    f"{r.text[:30] or '（无文字）'}" for r in rows.itertuples()}
    review_id = st.selectbox("查看一条评价", list(labels), key="reviews_review", index=None, placeholder="选择评价",
                             format_func=labels.__getitem__)
    if review_id is not None:
        review = rows.set_index("id").loc[review_id]
        st.markdown(f"**{plain(review['product'])}** · {plain(review['sku'] or '')} · 订单 {plain(review['order_id'] or '—')}")
        st.text(review["text"] or "（无文字）")
        if review["follow_up"]:
            st.text(f"追评：{review['follow_up']}")
        if review["shop_reply"]:
            st.text(f"商家回复：{review['shop_reply']}")
        _tags_form("review", int(review_id))

st.subheader("背后的客服会话")
convs = read(pr.conversations_behind, [o for o in rows["order_id"] if isinstance(o, str)])
if convs.empty:
    st.caption("这些评价的订单号没有对应的客服会话。")
else:
    conv_tags = read(tags_of, "conversation", [int(i) for i in convs["id"]], tree)
    convs["tags"] = [("、".join(tree.path(t.tag_id) for t in conv_tags[int(i)])) for i in convs["id"]]
    st.dataframe(convs.drop(columns="id").rename(columns={
        "external_id": "会话", "order_id": "订单号", "platform": "平台", "started_at": "开始时间", "category": "分类",
        "csat": "CSAT", "messages": "消息数", "tags": "会话标签"}), hide_index=True, width="stretch")
    conv_labels = {c.id: f"{c.external_id} · 订单 {c.order_id}" for c in convs.itertuples()}
    conv_id = st.selectbox("查看会话", list(conv_labels), key="reviews_conversation", index=None,
                           placeholder="选择会话", format_func=conv_labels.__getitem__)
    if conv_id is not None:
        _tags_form("conversation", int(conv_id))
        if st.button("打开回放", key="reviews_open_replay"):
            open_replay(int(conv_id))
