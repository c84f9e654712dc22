"""Imported and typed values are shown as text on every page, never as Markdown (issue #12.9: an image link in a
conversation id or shop name made every viewer's browser fetch an outside URL; links were clickable)."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select

from qa.models import User
from qa.program import calibration, store
from qa.program.alerts import AlertRule, add_rule
from qa.program.scorecard import Criterion, Scorecard, Section
from qa.program.selection import SelectionRule
from qa.review.coaching import add_item, create_list
from qa.review.replay import resolve_conversation
from qa.review.users import get_or_create_user
from tests.app_fixtures import start_app
from tests.conftest import ROOT
from tests.helpers import conv, import_bytes, jsonl, read
from ui.text import plain

HOSTILE = "![r](http://evil.example/x.png)"
LINK = "[点我](http://evil.example/login)"
LIVE = re.compile(r"(?<!\\)!?(?<!\\)\[[^\]]*(?<!\\)\]\((?:https?:|//)")  # a link or image Markdown would render

PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))


def test_plain_escapes_what_markdown_would_read() -> None:
    assert plain(HOSTILE) == r"!\[r\](http\://evil.example/x.png)"
    assert LIVE.search(HOSTILE) and not LIVE.search(plain(HOSTILE)) and not LIVE.search(plain(LINK))
    assert plain("**粗体** :red[红] $x$ www.evil.com") == r"\*\*粗体\*\* :red\[红\] \$x\$ www\.evil.com"
    assert plain("2026-11-10 至 2026-11-13 · 平台：天猫 · 10:00") == "2026-11-10 至 2026-11-13 · 平台：天猫 · 10:00"


def _texts(at) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for kind in ("markdown", "caption", "subheader", "title", "header", "error", "warning", "info", "success"):
        found += [str(e.value) for e in getattr(at, kind)]
    found += [e.label for e in at.expander]
    for kind in ("button", "checkbox", "radio", "selectbox", "multiselect", "text_input", "text_area", "toggle",
                 "number_input", "slider", "select_slider", "segmented_control"):  # widget labels read Markdown too
        found += [str(text) for e in getattr(at, kind) for text in (e.label, getattr(e, "help", None)) if text]
    return found


def test_hostile_values_render_as_text_on_every_page(seeded_app: Engine) -> None:
    import_bytes(seeded_app, "evil.jsonl", jsonl(conv(
        HOSTILE, ("customer", f"看这个 {LINK}", "2026-11-12 10:00:00"), ("agent", "好的", "2026-11-12 10:00:30"),
        platform=LINK, shop=HOSTILE, team=LINK, category=HOSTILE)))
    get_or_create_user(seeded_app, LINK, "admin")
    # names typed on the QA-program pages: a calibration session over the hostile conversation, an alert rule
    store.install_default_scorecards(seeded_app, "陈经理")
    version = int(read(seeded_app, store.list_scorecards)["version_id"].iloc[0])
    calibration.create_session(seeded_app, HOSTILE, version, [read(seeded_app, resolve_conversation, HOSTILE)],
                               ["王质检", "李质检"], "陈经理", note=LINK)
    add_rule(seeded_app, AlertRule(LINK, "threshold", "risk_high_share", "category", HOSTILE, 0.3, min_volume=1), "陈经理")
    # a scorecard whose lines are named with Markdown, for the hostile conversation's replay
    store.create_scorecard(seeded_app, Scorecard(HOSTILE, (Section("a", LINK, (
        Criterion("ok", LINK, allow_na=True, description=HOSTILE), Criterion("n", HOSTILE, scale="points", low=0, high=100, allow_na=True))),)),
        "陈经理")
    store.save_selection_rules(seeded_app, [SelectionRule(HOSTILE, platform=LINK)], "陈经理")
    # a coaching list named with Markdown, holding the hostile conversation
    with seeded_app.connect() as conn:
        trainer = conn.scalar(select(User.id).where(User.name == "张培训"))
    listed = create_list(seeded_app, HOSTILE, note=LINK, user_id=trainer)
    add_item(seeded_app, listed, read(seeded_app, resolve_conversation, HOSTILE), kind="bad", note=LINK, user_id=trainer)
    import_bytes(seeded_app, "评价.csv", f"订单号,商品名称,评分,评价内容,评价时间\n{LINK},\"{HOSTILE}\",1,\"物流慢 {LINK}\","
                                        "2026-11-12 10:00:00\n".encode())
    at = start_app(user=LINK)  # the signed-in name is shown in the sidebar
    at.session_state["replay_conversation_id"] = None
    at.query_params["c"] = HOSTILE
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, page
        # the replay's chat is one HTML block (text HTML-escaped): Markdown is not parsed inside it
        live = [t for t in _texts(at) if LIVE.search(t) and not t.startswith("<div")]
        assert live == [], (page, live)
        if page == "pages/replay.py":  # the hostile conversation itself is on screen, as text
            assert any(f"会话 {plain(HOSTILE)}" == t for t in _texts(at))
