"""The QA program's pages as a user drives them: scorecards, the replay's scorecard review, calibration, disputes,
and auto-QA agreement on the Models page — on tests/seed.py's conversations with the demo scorecards."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from qa.program import calibration, disputes, reviews, store
from qa.program.autoqa import run_auto_qa
from qa.program.scorecard import Rating, score_review
from qa.review.replay import resolve_conversation
from tests.app_fixtures import start_app
from tests.helpers import read

MANAGER = "陈经理"


@pytest.fixture
def program_app(seeded_app: Engine) -> Engine:
    """The seeded app with the demo scorecards and their rules installed and auto-QA run."""
    store.install_default_scorecards(seeded_app, MANAGER)
    run_auto_qa(seeded_app)
    return seeded_app


def _as(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="current_user_name").set_value(name).run()
    return at


def _texts(elements) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in elements]


def _cid(engine: Engine, external_id: str) -> int:
    return read(engine, resolve_conversation, external_id)


# --- 会话回放: the scorecard review ------------------------------------------------------------------------------

def test_scorecard_review_proposes_saves_and_shows_the_computed_score(program_app: Engine) -> None:
    at = start_app("pages/replay.py")
    _as(at, "王质检")
    at.text_input(key="replay_lookup").input("tm-1").run()
    assert not at.exception
    assert any("评分表“售前”第 1 版" in c for c in _texts(at.caption))
    # auto-QA's proposals are filled in: the greeting was found in the first reply, with its evidence
    assert at.segmented_control(key="scr_greeting").value == 1.0
    assert any(c.startswith("自动质检建议：是 · 已采纳 · 首条客服回复含") and "#2 客服" in c for c in _texts(at.caption))
    # the reviewer overrides one proposal and rates what auto-QA cannot
    at.segmented_control(key="scr_greeting").set_value(0.0).run()
    assert any("自动质检建议：是 · 已改判" in c for c in _texts(at.caption))
    at.segmented_control(key="scr_product_info").set_value(1.0)
    at.segmented_control(key="scr_recommend").set_value(0.0)
    at.segmented_control(key="scr_offline_deal").set_value(0.0).run()
    shown = at.metric[0].value
    at.button(key="scr_save").click().run()
    assert not at.exception
    assert any("已保存 王质检 的评分表评审（售前 第 1 版）" in s for s in _texts(at.success))
    cid = _cid(program_app, "tm-1")
    saved = read(program_app, reviews.my_review, cid, "王质检")
    assert saved is not None and saved.ratings["greeting"].value == 0.0
    assert saved.proposals["greeting"] == 1.0  # the proposal shown is kept, to measure acceptance
    assert saved.score == score_review(saved.scorecard.card, saved.ratings).score
    assert shown == f"{saved.score:.1f}" and at.metric[0].value == shown
    done = next(d.value for d in at.dataframe if "scorecard" in d.value.columns)
    assert done["score"].tolist() == [saved.score]
