"""模型: what each model is and how well it did on held-out data, and whether reviewers agree with it and each other."""

from __future__ import annotations

import streamlit as st

from qa.analytics import model_quality as mq
from qa.analytics.filters import Filters
from qa.program.agreement import auto_agreement
from qa.program.checks import CHECK_LABELS
from qa.review.annotations import VERDICTS
from qa.review.labels import label_summary
from ui.cache import cached_with_reviews, read
from ui.filters import filter_sidebar
from ui.frame import require_frame
from ui.text import plain

require_frame(__file__)


@st.cache_data(show_spinner=False)
def load_cards(version: str) -> list[mq.ModelCard]:
    """The model cards, re-read only when a card or metrics file changed (``version``)."""
    return mq.model_cards()


def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def too_few(n: int, what: str) -> None:
    """Say "数据不足" when a figure rests on fewer than MIN_N cases."""
    if n < mq.MIN_N:
        st.warning(f"数据不足：只有 {n} 个{what}（至少需要 {mq.MIN_N} 个），下面的数字会随一两个案例大幅变化，仅供参考。")


def cards() -> None:
    """Each model card: the figures recorded when it was trained, then the card's full text."""
    found = load_cards(mq.cards_version())
    st.info("\n\n".join(mq.adapted_in_use()))
    if not found:
        st.info("data/models/ 下还没有模型卡片。运行 `huifang train` 训练模型后，这里会显示每个模型的说明和指标。")
        return
    for card in found:
        st.subheader(card.title)
        summary = mq.MODEL_SUMMARIES.get(card.name)
        if summary:
            st.markdown(summary[1])
        st.caption(f"训练于 {card.trained or '未记录'} · 指标均在模型没有见过的真实数据上测得")
        if card.headline:
            cols = st.columns(4)
            for i, (name, value) in enumerate(card.headline.items()):
                cols[i % len(cols)].metric(mq.term(name), f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}",
                                           help=mq.TERMS.get(name, ("", None))[1] or None)
        for name, note in card.notes.items():
            st.caption(f"{mq.term(name)}：{note}")
        for i, table in enumerate(mq.display_tables(card.metrics)):
            table = table.assign(evaluation=table["evaluation"].map(mq.evaluation_label))
            st.dataframe(table.rename(columns={c: mq.term(c) for c in table.columns} | {"evaluation": "评估"}),
                         hide_index=True, key=f"md_metrics_{card.name}_{i}")
        if card.metrics.empty and not card.headline:
            st.caption("该模型没有记录机器可读的指标。")
        with st.expander("模型卡片全文（英文，供工程师复核）"):
            st.markdown(card.markdown)
    with st.expander("指标说明"):
        st.markdown("\n".join(f"- **{name}**：{why}" for name, why in mq.TERMS.values()))


def flag_agreement(f: Filters) -> None:
    """Model flag against reviewers' 不合格 verdicts."""
    fa = cached_with_reviews(mq.flag_vs_verdict, f)
    st.markdown(f"**模型标记 vs 复核结论**：模型标记 = 预测不满意风险 ≥ {fa.threshold:.1f}；"
                f"复核为“{mq.FAIL}”算阳性（“{'、'.join(v for v in VERDICTS if v != mq.FAIL)}”算阴性）。")
    too_few(fa.n, "复核结论")
    cols = st.columns(4)
    cols[0].metric("复核结论数 n", f"{fa.n:,}")
    cols[1].metric("精确率", fmt(fa.precision, "{:.0%}"), help=f"模型标记的会话中，复核判为{mq.FAIL}的比例")
    cols[2].metric("召回率", fmt(fa.recall, "{:.0%}"), help=f"复核判为{mq.FAIL}的会话中，模型标记出的比例")
    cols[3].metric("Cohen's κ", fmt(fa.kappa), mq.kappa_label(fa.kappa), delta_color="off", delta_arrow="off")
    st.dataframe(fa.confusion(), key="md_confusion")


def reviewer_agreement(f: Filters) -> None:
    """Reviewers against each other, on verdicts and on rubric scores."""
    ra = cached_with_reviews(mq.reviewer_agreement, f)
    st.markdown("**复核员之间**：同一会话由两位及以上复核员给出结论时，两两配对比较。")
    too_few(ra.verdict_n, "复核员配对")
    cols = st.columns(4)
    cols[0].metric("多人复核的会话", f"{ra.conversations:,}")
    cols[1].metric("结论配对 n", f"{ra.verdict_n:,}")
    cols[2].metric("结论完全一致", fmt(ra.verdict_exact, "{:.0%}"))
    cols[3].metric("结论 κ", fmt(ra.verdict_kappa), mq.kappa_label(ra.verdict_kappa), delta_color="off",
                   delta_arrow="off")
    if ra.verdict_n:
        st.caption("行 = 复核员 A（编号较小者），列 = 复核员 B")
        st.dataframe(ra.verdict_table().rename_axis(index="A \\ B", columns=None), key="md_verdicts")
    st.markdown("**评分项打分**：两位复核员对同一会话（或同一条消息）的同一评分项都打了分。")
    too_few(ra.score_n, "打分配对")
    cols = st.columns(4)
    cols[0].metric("打分配对 n", f"{ra.score_n:,}")
    cols[1].metric("加权 κ（二次）", fmt(ra.score_kappa), mq.kappa_label(ra.score_kappa), delta_color="off",
                   delta_arrow="off")
    if ra.score_n:
        items = ra.by_item.assign(exact=ra.by_item["exact"] * 100)
        st.dataframe(items, hide_index=True, key="md_items", column_config={
            "rubric_item": "评分项", "pairs": "配对数",
            "exact": st.column_config.NumberColumn("完全一致", format="%.0f%%"),
            "kappa": st.column_config.NumberColumn("加权 κ", format="%.2f")})


def auto_qa_agreement() -> None:
    """Per scorecard criterion: auto-QA's verdict against the reviewers' (which checks to trust)."""
    st.markdown("**自动质检 vs 复核员**（评分表评审，不含校准；全部会话，不受筛选影响）：每个有自动检查的评分项，"
                "把自动检查的通过/不通过与复核员的评分（上半程算通过）配对比较；双方任一为“不适用”的不计。")
    agreement = read(auto_agreement)
    if agreement.empty:
        st.caption("还没有评分表评审：复核员在回放页用评分表评审后，这里显示每项自动检查可信不可信。")
        return
    too_few(int(agreement["n"].min()), "配对（最少的一项）")
    st.dataframe(agreement.assign(check=agreement["check"].map(CHECK_LABELS)), hide_index=True, key="md_auto_qa",
                 column_order=["scorecard", "criterion", "check", "n", "agree_share", "kappa", "proposed",
                               "accepted_share"],
                 column_config={"scorecard": "评分表", "criterion": "评分项", "check": "自动检查", "n": "配对数",
                                "agree_share": st.column_config.NumberColumn("一致率", format="percent"),
                                "kappa": st.column_config.NumberColumn("Cohen's κ", format="%.2f"),
                                "proposed": "给出建议", "accepted_share": st.column_config.NumberColumn(
                                    "原样采纳", format="percent")})
    st.caption("κ 为空：双方都只用了一种答案（例如全部通过），一致率再高也无法区分机会一致。")


f = filter_sidebar()
st.title("模型")
tab_cards, tab_agreement = st.tabs(["模型卡片", "与复核的一致性"])
with tab_cards:
    cards()
with tab_agreement:
    st.caption(f"范围：{plain(f.describe())}")
    flag_agreement(f)
    st.divider()
    reviewer_agreement(f)
    st.divider()
    auto_qa_agreement()
    st.divider()
    st.markdown("**复核员对模型预警的判断**：回放页的“确认/误报”、语气与相关类标签、态度礼貌评分（全部会话，不受筛选影响）。"
                "管理员重新训练（`huifang train --from-db`）时用这些标注改进语气与情绪模型，在留出数据上更好才启用（见“模型卡片”顶部）。")
    summary = cached_with_reviews(label_summary)
    if summary.empty:
        st.caption("还没有复核标注。")
    else:
        st.dataframe(summary, hide_index=True, key="md_labels",
                     column_config={"确认率": st.column_config.NumberColumn("确认率", format="percent")})
