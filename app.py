"""Huifang's entry point: the frame and the navigation; every page lives in pages/."""

from functools import partial
from pathlib import Path

import streamlit as st

# The icon is a file the app serves itself: a Material icon name makes the browser fetch it from a font host,
# which fails offline (and tells that host who opened the app).
ICON = Path(__file__).parent / "data" / "assets" / "favicon.png"
st.set_page_config(page_title="回放 Huifang · 客服质检", page_icon=str(ICON), layout="wide")

PAGES = {
    "overview": st.Page("pages/overview.py", title="总览", icon=":material/monitoring:", default=True),
    "agents": st.Page("pages/agents.py", title="坐席", icon=":material/support_agent:"),
    "reviews": st.Page("pages/reviews.py", title="评价", icon=":material/reviews:"),
    "queue": st.Page("pages/queue.py", title="质检队列", icon=":material/checklist:"),
    "replay": st.Page("pages/replay.py", title="会话回放", icon=":material/replay:"),
    "coaching": st.Page("pages/coaching.py", title="培训", icon=":material/school:"),
    "calibration": st.Page("pages/calibration.py", title="校准", icon=":material/balance:"),
    "disputes": st.Page("pages/disputes.py", title="申诉", icon=":material/gavel:"),
    "scorecards": st.Page("pages/scorecards.py", title="评分表", icon=":material/fact_check:"),
    "data": st.Page("pages/data.py", title="数据", icon=":material/upload_file:"),
    "models": st.Page("pages/models.py", title="模型", icon=":material/model_training:"),
    "alerts": st.Page("pages/alerts.py", title="预警", icon=":material/notifications:"),
}
# Pages a role knows by another name (same pages and addresses): an agent's queue is their own conversations, the
# agent page their own figures. (A comment, not a docstring: Streamlit's magic would draw a bare string here.)
RENAMED = {"agent": {"queue": st.Page("pages/queue.py", title="我的会话", icon=":material/checklist:"),
                     "agents": st.Page("pages/agents.py", title="我的表现", icon=":material/support_agent:")}}
# What each role is shown; what each may write is decided again in qa/ (qa.access), whatever a page shows.
# Agents open only their own conversations (the queue is filtered to them) and their reviews to confirm or dispute;
# executives see aggregates only.
REVIEWING = {"看板": ["overview", "agents", "reviews"], "质检": ["queue", "replay", "coaching", "calibration", "disputes"]}
ROLE_PAGES: dict[str, dict[str, list[str]]] = {
    "admin": {**REVIEWING, "管理": ["scorecards", "data", "models", "alerts"]},
    "qa_manager": {**REVIEWING, "管理": ["scorecards", "models", "alerts"]},
    "reviewer": REVIEWING,
    "trainer": REVIEWING,
    "agent": {"看板": ["agents"], "质检": ["queue", "replay", "disputes"]},
    "executive": {"看板": ["overview", "agents", "reviews"], "管理": ["alerts"]},
}

# Imported only after st.set_page_config; nothing slow may come before st.navigation (until it runs, the first run
# after the server starts shows Streamlit's own list of the files in pages/).
from ui.frame import enter_frame, follow_deep_link, remember_requested_page  # noqa: E402
from ui.user import current_principal, sign_in  # noqa: E402

signed_in = current_principal()
if signed_in is None:
    remember_requested_page({f"pages/{name}.py" for name in PAGES})  # a shared /replay?c=… link opens after
    # Every page's address shows the sign-in form too: a shared /agents link gets the form, not Streamlit's
    # "Page not found" dialog over it.
    form = [st.Page(sign_in, title="登录", url_path="login", default=True)]
    form += [st.Page(partial(sign_in), title="登录", url_path=page.url_path) for name, page in PAGES.items()
             if name != "overview"]  # the default page's address is the form's own
    st.navigation(form, position="hidden").run()
    st.stop()
offered = ROLE_PAGES.get(signed_in.role, {"看板": ["overview"]})
shown = PAGES | RENAMED.get(signed_in.role, {})
pg = st.navigation({section: [shown[name] for name in names] for section, names in offered.items()})
sign_in()  # the sidebar's account line and sign-out button

follow_deep_link({f"pages/{name}.py" for names in offered.values() for name in names})
enter_frame()
pg.run()
