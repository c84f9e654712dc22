"""Huifang's entry point: the frame and the navigation; every page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="回放 Huifang · 客服质检", page_icon="🎧", layout="wide")

PAGES = {
    "看板": [
        st.Page("pages/overview.py", title="总览", icon="📈", default=True),
        st.Page("pages/agents.py", title="坐席", icon="🧑‍💼"),
    ],
    "质检": [
        st.Page("pages/queue.py", title="质检队列", icon="🗂️"),
        st.Page("pages/replay.py", title="会话回放", icon="▶️"),
        st.Page("pages/coaching.py", title="培训", icon="🎓"),
    ],
    "管理": [
        st.Page("pages/data.py", title="数据", icon="📥"),
        st.Page("pages/models.py", title="模型", icon="🧠"),
    ],
}

pg = st.navigation(PAGES)
pg.run()
