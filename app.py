"""Huifang's entry point: the frame and the navigation; every page lives in pages/."""

from pathlib import Path

import streamlit as st

# The icon is a file the app serves itself: a Material icon name makes the browser fetch it from a font host,
# which fails offline (and tells that host who opened the app).
ICON = Path(__file__).parent / "data" / "assets" / "favicon.png"
st.set_page_config(page_title="回放 Huifang · 客服质检", page_icon=str(ICON), layout="wide")

PAGES = {
    "看板": [
        st.Page("pages/overview.py", title="总览", icon=":material/monitoring:", default=True),
        st.Page("pages/agents.py", title="坐席", icon=":material/support_agent:"),
        st.Page("pages/reviews.py", title="评价", icon=":material/reviews:"),
    ],
    "质检": [
        st.Page("pages/queue.py", title="质检队列", icon=":material/checklist:"),
        st.Page("pages/replay.py", title="会话回放", icon=":material/replay:"),
        st.Page("pages/coaching.py", title="培训", icon=":material/school:"),
    ],
    "管理": [
        st.Page("pages/data.py", title="数据", icon=":material/upload_file:"),
        st.Page("pages/models.py", title="模型", icon=":material/model_training:"),
        st.Page("pages/alerts.py", title="预警", icon=":material/notifications:"),
    ],
}

pg = st.navigation(PAGES)
# Imported only after st.navigation: until it runs, the first run after the server starts shows Streamlit's own
# list of the files in pages/, so nothing slow may come before it.
from ui.frame import enter_frame, follow_deep_link  # noqa: E402

follow_deep_link()
enter_frame()
pg.run()
