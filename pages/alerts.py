"""预警: alert rules a QA manager sets, and what they found after each import and scoring run."""

from __future__ import annotations

import streamlit as st

from qa.access import allowed
from qa.analytics.dashboard import DIMENSIONS, METRICS, MIN_VOLUME
from qa.errors import HuifangError
from qa.program.alerts import (
    KINDS,
    AlertRule,
    add_rule,
    delete_rule,
    describe_rule,
    list_rules,
    recent_events,
    run_alerts,
    set_enabled,
)
from ui.cache import engine, read
from ui.frame import require_frame
from ui.state import flash, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

EVENT_COLUMNS = {
    "fired_at": st.column_config.DatetimeColumn("触发时间", format="YYYY-MM-DD HH:mm"),
    "rule": st.column_config.TextColumn("规则"),
    "subject": st.column_config.TextColumn("对象"),
    "message": st.column_config.TextColumn("内容", width="large"),
    "sent": st.column_config.TextColumn("Webhook"),
}


def _new_rule_form(actor: str, first: bool) -> None:
    """The form for a new rule (QA managers and admins; the check is made again in qa.program.alerts)."""
    with st.expander("新建预警规则", expanded=first), st.form("new_alert", clear_on_submit=True):
        name = st.text_input("名称", key="alert_name", placeholder="例如 退货不满超 30%")
        kind = st.radio("类型", list(KINDS), key="alert_kind", format_func=KINDS.__getitem__, horizontal=True,
                        help="超过阈值：近 N 天的指标越过预警线；环比变差：近 N 天比前 N 天变差到设定倍数；"
                             "致命项未通过：复核中有致命项未通过（按坐席）")
        left, right = st.columns(2)
        metric = left.selectbox("指标（致命项规则不用）", list(METRICS), key="alert_metric",
                              format_func=lambda k: METRICS[k].label)
        dimension = right.selectbox("按维度", [None, *DIMENSIONS], key="alert_dimension", format_func=lambda k: "全部（不分）" if k is None
                                    else DIMENSIONS[k].label)
        value = left.text_input("只看某个取值（可选）", key="alert_value", placeholder="例如 退货、京东、小安；留空则每个取值分别检查")
        threshold = right.number_input("预警线或倍数", key="alert_threshold", min_value=0.0, value=0.3, step=0.05, format="%.2f",
                                       help="超过阈值：比例填小数（0.3 = 30%），首次响应填秒；环比变差：填倍数（2 = 翻倍）")
        window = left.number_input("统计窗口（天）", key="alert_window", min_value=1, max_value=366, value=7)
        volume = right.number_input("最小样本量", key="alert_volume", min_value=1, value=MIN_VOLUME,
                                    help="样本少于此数不提醒：几个会话的比例多半是偶然")
        webhook = st.text_input("Webhook 地址（可选）", key="alert_webhook", placeholder="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")
        if st.form_submit_button("创建", type="primary"):
            rule = AlertRule(name, kind, None if kind == "fatal" else metric, dimension, value.strip() or None,
                             float(threshold), int(window), int(volume), webhook.strip())
            try:
                add_rule(engine(), rule, actor)
            except HuifangError as e:
                st.error(plain(str(e)))
            else:
                flash(f"已创建预警规则“{rule.name.strip()}”：{describe_rule(rule)}")
                st.rerun()


def recent_alerts() -> None:
    """What the rules found, newest first."""
    st.subheader("最近的提醒")
    events = read(recent_events)
    if events.empty:
        st.caption("暂无提醒。")
    else:
        st.dataframe(events, hide_index=True, column_config=EVENT_COLUMNS, width="stretch")


user = current_user()
managing = user is not None and allowed(current_principal(), "manage_program")  # others read only
st.title("预警")
st.caption("每次导入和评分完成后按规则检查最近的数据（以归档中最后一天为“今天”）；同一对象、同一时间窗只提醒一次。"
           "设置了 Webhook（如企业微信、钉钉群机器人）的规则会把提醒以 JSON 发送过去。")
show_flash()
rules = read(list_rules)

if managing:
    assert user is not None
    _new_rule_form(user[1], not rules)
else:  # read only: what fired comes first, and no invitation to make rules one may not make
    st.info("预警规则由质检主管或管理员在本页设置；你可以查看触发的提醒和现有规则。")
    recent_alerts()

st.subheader("规则")
if not rules:
    st.info("还没有预警规则。可以从“退货分类高风险占比超过 30%”或“每个坐席的预测不满意环比翻倍”开始。" if managing
            else "还没有预警规则：请质检主管设置。")
for rule_id, rule in rules:
    left, mid, right = st.columns([6, 1, 1], vertical_alignment="center")
    state = "" if rule.enabled else "（已停用）"
    hook = " · 发送到 Webhook" if rule.webhook_url else ""
    left.markdown(f"**{plain(rule.name)}**{state}  \n{plain(describe_rule(rule))}{hook}")
    if not managing or user is None:
        continue
    if mid.button("停用" if rule.enabled else "启用", key=f"toggle_{rule_id}"):
        set_enabled(engine(), rule_id, not rule.enabled, user[1])
        st.rerun()
    if right.button("删除", key=f"delete_{rule_id}"):
        delete_rule(engine(), rule_id, user[1])
        flash(f"已删除预警规则“{rule.name}”及其提醒记录")
        st.rerun()

if managing and rules and st.button("立即检查", help="导入和评分后会自动检查；改了规则想马上看结果时用这个"):
    with st.spinner("正在检查…"):
        report = run_alerts(engine())
    failed = f"，{report.failed} 条发送失败" if report.failed else ""
    flash(f"检查完成：新提醒 {report.new} 条，已发送 {report.delivered} 条{failed}", "warning" if failed else "success")
    st.rerun()

if managing:
    recent_alerts()
