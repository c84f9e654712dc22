"""培训: coaching lists of good and bad examples per agent or topic, edited here and exported as files."""

from __future__ import annotations

from functools import partial

import streamlit as st

from qa.analytics.filters import dimension_values
from qa.errors import HuifangError
from qa.review.coaching import (
    KINDS,
    add_item,
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
from qa.review.replay import resolve_conversation
from ui.cache import cached, engine, read
from ui.charts import int_text, score_label
from ui.frame import require_frame
from ui.state import flash, open_replay, show_flash
from ui.text import plain
from ui.user import current_user

require_frame(__file__)

ITEM_COLUMNS = {
    "kind": st.column_config.TextColumn("类型"),
    "external_id": st.column_config.TextColumn("会话号"),
    "platform": st.column_config.TextColumn("平台"),
    "agent": st.column_config.TextColumn("坐席"),
    "started_at": st.column_config.DatetimeColumn("开始时间", format="MM-DD HH:mm"),
    "csat": st.column_config.TextColumn("CSAT"),
    "risk": st.column_config.NumberColumn(score_label("dissatisfaction_risk"), format="%.2f"),
    "message_text": st.column_config.TextColumn("重点消息"),
    "note": st.column_config.TextColumn("要点", width="large"),
    "added_by": st.column_config.TextColumn("添加人"),
}

user = current_user()
st.title("培训清单")
show_flash()
lists = read(coaching_lists)

with st.expander("新建清单", expanded=lists.empty), st.form("new_list", clear_on_submit=True):
    name = st.text_input("名称", key="new_list_name", placeholder="例如 阿杰 · 售后语气")
    agent = st.selectbox("坐席（可选）", cached(dimension_values, "agent"), index=None, key="new_list_agent",
                         placeholder="不针对某个坐席")
    topic = st.text_input("主题", key="new_list_topic", placeholder="例如 退货话术、首响超时")
    note = st.text_area("学习要点", key="new_list_note", placeholder="这份清单要学什么、注意什么")
    if st.form_submit_button("创建", type="primary"):
        try:
            create_list(engine(), name, note=note, topic=topic, agent=agent, user_id=user[0] if user else None)
        except HuifangError as e:
            st.error(plain(e))
        else:
            flash(f"已创建清单“{name.strip()}”")
            st.session_state["coach_list"] = name.strip()
            st.rerun()

if lists.empty:
    st.info("还没有培训清单：新建一个，或在“会话回放”页点“加入培训清单”。")
    st.stop()

st.dataframe(lists.fillna({"agent": "", "created_by": ""}), hide_index=True, column_order=["name", "agent", "topic", "items", "good", "bad", "created_by",
                                                   "created_at"],
             column_config={"name": "清单", "agent": "坐席", "topic": "主题", "items": "条目", "good": "好例",
                            "bad": "反例", "created_by": "创建人",
                            "created_at": st.column_config.DatetimeColumn("创建时间", format="YYYY-MM-DD")})
by_name = dict(zip(lists["name"], lists["id"], strict=True))
if st.session_state.get("coach_list") not in by_name:  # first visit, another page in between, or deleted
    kept = st.session_state.get("_coach_list_kept")
    st.session_state["coach_list"] = kept if kept in by_name else lists["name"].iloc[0]
chosen = st.selectbox("打开清单", list(by_name), key="coach_list")
st.session_state["_coach_list_kept"] = chosen
list_id = int(by_name[chosen])
info = lists[lists["id"] == list_id].iloc[0]

st.subheader(plain(chosen))
st.caption(" · ".join(x for x in (f"坐席 {info.agent}" if info.agent else "", f"主题 {info.topic}" if info.topic else "",
                                  f"好例 {info.good} · 反例 {info.bad}") if x))
with st.form(f"list_note_{list_id}"):
    new_topic = st.text_input("主题", value=info.topic, key=f"coach_topic_{list_id}")
    new_note = st.text_area("学习要点", value=info.note, key=f"coach_note_{list_id}")
    if st.form_submit_button("保存要点"):
        try:
            update_list(engine(), list_id, note=new_note, topic=new_topic, user_id=user[0] if user else None)
        except HuifangError as e:
            st.error(plain(e))
        else:
            flash("学习要点已保存")
            st.rerun()

items = read(list_items, list_id)
shown = items.fillna({"agent": "", "message_text": "", "added_by": ""}).assign(
    kind=items["kind"].map(KINDS), csat=int_text(items["csat"]))
st.dataframe(shown, hide_index=True, column_order=list(ITEM_COLUMNS), column_config=ITEM_COLUMNS)
if not items.empty:
    labels = {int(r.id): f"{KINDS.get(r.kind, r.kind)} · {r.external_id}" + (f" · {r.note}" if r.note else "")
              for r in items.itertuples()}
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    item = c1.selectbox("条目", list(labels), format_func=labels.get, key="coach_item")
    if c2.button("回放", key="coach_replay"):
        open_replay(int(items.loc[items["id"] == item, "conversation_id"].iloc[0]))
    if c3.button("移除", key="coach_remove"):
        try:
            remove_item(engine(), item, user_id=user[0] if user else None)
        except HuifangError as e:  # a role that may read lists but not edit them
            st.error(plain(e))
        else:
            flash(f"已从清单移除：{labels[item]}")
            st.rerun()

with st.expander("按会话号添加"):
    c1, c2 = st.columns([2, 1])
    key = c1.text_input("会话号", key="coach_add_key", placeholder="例如 tm-3")
    kind = c2.radio("类型", list(KINDS), format_func=KINDS.get, horizontal=True, key="coach_add_kind")
    note = st.text_input("要点", key="coach_add_note")
    if st.button("添加", key="coach_add_go"):
        try:
            add_item(engine(), list_id, read(resolve_conversation, key), kind=kind, note=note,
                     user_id=user[0] if user else None)
        except HuifangError as e:
            st.error(plain(e))
        else:
            flash(f"已添加会话 {key.strip()}（{KINDS[kind]}）")
            st.rerun()

st.markdown("**导出**（含完整对话，可直接分享）")
d1, d2, d3 = st.columns(3)
d1.download_button("Markdown", partial(read, export_markdown, list_id), file_name=f"{chosen}.md",
                   mime="text/markdown", key="coach_dl_md", icon=":material/description:")
d2.download_button("HTML 网页", partial(read, export_html, list_id), file_name=f"{chosen}.html",
                   mime="text/html", key="coach_dl_html", icon=":material/language:")
d3.download_button("Excel", partial(read, export_excel, list_id), file_name=f"{chosen}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="coach_dl_xlsx",
                   icon=":material/table_view:")

with st.expander("删除清单"):
    sure = st.checkbox(f"确认删除“{plain(chosen)}”及其 {len(items)} 个条目（会话本身不受影响）", key="coach_delete_sure")
    if st.button("删除清单", key="coach_delete", disabled=not sure):
        try:
            delete_list(engine(), list_id, user_id=user[0] if user else None)
        except HuifangError as e:  # only admins delete
            st.error(plain(e))
        else:
            flash(f"已删除清单“{chosen}”")
            st.rerun()
