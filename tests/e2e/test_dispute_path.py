"""An agent disputes a review and a QA manager resolves it, in a real browser, each signed in with their own
account and role: the agent sees only their own reviews, the manager the disputes waiting."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from qa.access import SYSTEM
from qa.program import reviews, store
from qa.program.disputes import open_disputes
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.review.replay import resolve_conversation
from qa.review.users import set_password
from tests.e2e.conftest import no_exception
from tests.e2e.steps import SLOW, dispute, open_as, resolve

pytestmark = pytest.mark.e2e
ENGINE: list[Engine] = []
CARD = Scorecard("售前", (Section("a", "接待", (
    Criterion("ok", "方案正确", weight=3), Criterion("polite", "礼貌", scale="rating"))),))


def SEED(engine: Engine) -> None:  # noqa: N802 — the name tests/e2e/conftest.py's app_url looks for
    """王质检 reviewed 小美's tm-1; 小美 (agent) and 陈经理 (QA manager) can sign in."""
    version = store.create_scorecard(engine, CARD, "陈经理").version_id
    with engine.connect() as conn:
        cid = resolve_conversation(conn, "tm-1")
    reviews.save_review(engine, cid, version, {"ok": Rating(0), "polite": Rating(3)}, "王质检")
    set_password(engine, SYSTEM, "小美", "e2e-agent-password")
    set_password(engine, SYSTEM, "陈经理", "e2e-manager-password")
    ENGINE.append(engine)


def test_agent_disputes_and_manager_resolves(browser, app_url):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    agent, main = open_as(browser, app_url, "disputes", "小美", "e2e-agent-password")
    expect(main.get_by_label("申诉理由")).to_be_visible(timeout=SLOW)
    expect(main.get_by_role("combobox", name="坐席")).to_have_value("小美")  # an agent: their own reviews only
    expect(main.get_by_role("tab", name="待处理申诉")).to_have_count(0)  # resolving is a manager's
    dispute(main, "tm-1", "顾客问的就是这个方案")
    no_exception(agent)
    with ENGINE[0].connect() as conn:
        assert open_disputes(conn)["reason"].tolist() == ["顾客问的就是这个方案"]

    manager, main = open_as(browser, app_url, "disputes", "陈经理", "e2e-manager-password")
    resolve(manager, main, "顾客问的就是这个方案", "方案符合政策，维持原判", "维持原判")
    no_exception(manager)
    with ENGINE[0].connect() as conn:
        assert open_disputes(conn).empty
