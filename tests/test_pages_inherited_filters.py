"""Every filter a page can inherit from another page (the review sidebar's choices, a drill-down's score range)
renders on every page without an error, with and without reviews in the archive (issue #13.1: 复核状态 chosen on
the queue crashed the agents and models pages)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from qa.analytics.filters import Filters
from qa.program.tag_store import tag_filter
from qa.program.tags import default_tree
from tests.app_fixtures import add_reviews, start_app

PAGES = ["pages/overview.py", "pages/agents.py", "pages/queue.py", "pages/replay.py", "pages/coaching.py",
         "pages/data.py", "pages/models.py"]
INHERITED = {
    "reviewed": Filters(reviewed=True),
    "not_reviewed": Filters(reviewed=False),
    "csat": Filters(csat_max=2),
    "scores": Filters(min_risk=0.5, max_risk=0.9, min_tone_risk=0.3, max_relevance=0.8, min_first_response_s=60),
    "agent_and_text": Filters(agents=("小美",), text="tm-1"),
    "tags": Filters(tags=tag_filter(default_tree(), [t for t, p in default_tree().paths().items() if p == "物流"])),
    "everything": Filters(platforms=("天猫",), teams=("售前",), categories=("退货",), reviewed=True, csat_max=3,
                          min_risk=0.1, min_tone_risk=0.1),
}


@pytest.mark.parametrize("reviews", [False, True], ids=["no_reviews", "reviews"])
@pytest.mark.parametrize("name", list(INHERITED))
def test_inherited_filters_render_on_every_page(seeded_app: Engine, name: str, reviews: bool) -> None:
    if reviews:
        add_reviews(seeded_app)
    at = start_app()
    for page in PAGES:
        at.session_state["filters"] = INHERITED[name]
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, name, [e.value for e in at.exception])


def test_every_multiselect_has_a_chinese_placeholder() -> None:
    """Streamlit's own placeholder is English ("Choose options"): every multiselect in the pages sets its own."""
    import ast
    from pathlib import Path

    missing = []
    root = Path(__file__).resolve().parents[1]
    for path in [*(root / "pages").glob("*.py"), *(root / "ui").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "multiselect" and \
                    not any(k.arg == "placeholder" for k in node.keywords):
                missing.append(f"{path}:{node.lineno}")
    assert missing == []
