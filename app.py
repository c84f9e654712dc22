"""Huifang's entry point: the frame and the navigation; every page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="回放 Huifang · 客服质检", page_icon=":material/headset_mic:", layout="wide")

PAGES = {
    "看板": [
        st.Page("pages/overview.py", title="总览", icon=":material/monitoring:", default=True),
        st.Page("pages/agents.py", title="坐席", icon=":material/support_agent:"),
    ],
    "质检": [
        st.Page("pages/queue.py", title="质检队列", icon=":material/checklist:"),
        st.Page("pages/replay.py", title="会话回放", icon=":material/replay:"),
        st.Page("pages/coaching.py", title="培训", icon=":material/school:"),
    ],
    "管理": [
        st.Page("pages/data.py", title="数据", icon=":material/upload_file:"),
        st.Page("pages/models.py", title="模型", icon=":material/model_training:"),
    ],
}

pg = st.navigation(PAGES)
# Imported only now: the first run after the server starts shows Streamlit's own list of pages/ (common.py
# included) until st.navigation replaces it, and this import (the database and scoring layers) takes seconds then.
from ui.frame import enter_frame, follow_deep_link  # noqa: E402

follow_deep_link()
enter_frame()
pg.run()
