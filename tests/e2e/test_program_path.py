"""The QA program's chain in a real browser, each person signed in with their own account: a QA manager builds a
scorecard in 评分表's editor (a section, a criterion with an automatic check, a fatal item), a reviewer reviews a
conversation on it taking one auto-QA proposal and overriding another, the agent disputes the review on 申诉, the
manager changes the score, and the agent reads the final score."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from qa.access import SYSTEM
from qa.program import store
from qa.program.autoqa import run_auto_qa
from qa.program.disputes import open_disputes
from qa.program.reviews import conversation_reviews
from qa.program.selection import SelectionRule
from qa.review.replay import resolve_conversation
from qa.review.users import set_password
from tests.e2e.conftest import no_exception
from tests.e2e.steps import SLOW, choose, dispute, fill, go_to, open_as, rate, resolve

pytestmark = pytest.mark.e2e
ENGINE: list[Engine] = []
CARD = "售前新版"
PASSWORDS = {"陈经理": "e2e-manager-password", "王质检": "e2e-reviewer-password", "小美": "e2e-agent-password"}
REASON = "没有说禁用语，请复核"


def SEED(engine: Engine) -> None:  # noqa: N802 — the name tests/e2e/conftest.py's app_url looks for
    """The demo scorecards with their rules and auto-QA's checks on tests/seed.py's conversations; accounts."""
    store.install_default_scorecards(engine, "陈经理")
    run_auto_qa(engine)
    for name, password in PASSWORDS.items():
        set_password(engine, SYSTEM, name, password)
    ENGINE.append(engine)


def test_scorecard_review_dispute_resolution_final_score(browser, app_url):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # 1. the manager builds the scorecard in the editor
    manager, main = open_as(browser, app_url, "scorecards", "陈经理", PASSWORDS["陈经理"])
    choose(manager, main, "评分表", "＋ 新建评分表")
    fill(manager, main, "名称", CARD)
    for field, value in (("节", "接待"), ("评分项名称", "开场问候")):
        fill(manager, main, field, value)
    choose(manager, main, "自动检查", "开场问候")
    main.get_by_role("button", name="应用到草稿").click()
    expect(main.get_by_role("combobox", name="编辑评分项")).to_have_value("接待 › 开场问候", timeout=SLOW)
    choose(manager, main, "编辑评分项", "＋ 新增评分项")
    fill(manager, main, "评分项名称", "无禁用语")
    choose(manager, main, "致命", "致命项（总分为 0）")
    choose(manager, main, "自动检查", "禁用语")
    main.get_by_role("button", name="应用到草稿").click()
    expect(main.get_by_role("combobox", name="编辑评分项")).to_have_value("接待 › 无禁用语", timeout=SLOW)
    main.get_by_role("button", name="新建评分表").click()
    expect(main.get_by_text(f"已新建评分表“{CARD}”（第 1 版）")).to_be_visible(timeout=SLOW)
    no_exception(manager)
    # 售前 chats go to it first: the rule the manager would add in 选择规则's grid (a canvas Playwright cannot type in)
    with ENGINE[0].connect() as conn:
        rules = store.selection_rules(conn)
    store.save_selection_rules(ENGINE[0], [SelectionRule(CARD, team="售前"), *rules], "陈经理")

    # 2. a reviewer reviews 小美's tm-1 on it: takes the greeting proposal, overrides 无禁用语 (a fatal fail)
    reviewer, area = open_as(browser, app_url, "replay?c=tm-1", "王质检", PASSWORDS["王质检"])
    expect(area.get_by_text(f"评分表“{CARD}”第 1 版", exact=False)).to_be_visible(timeout=SLOW)
    expect(area.get_by_text("自动质检建议：是 · 已采纳 · 首条客服回复含", exact=False)).to_be_visible()
    rate(area, "无禁用语（致命）", "否")
    expect(area.get_by_text("自动质检建议：是 · 已改判", exact=False)).to_be_visible(timeout=SLOW)
    area.get_by_role("button", name="保存评分表评审").click()
    expect(area.get_by_text(f"已保存 王质检 的评分表评审（{CARD} 第 1 版）")).to_be_visible(timeout=SLOW)
    no_exception(reviewer)
    with ENGINE[0].connect() as conn:
        saved = conversation_reviews(conn, resolve_conversation(conn, "tm-1"))
    assert saved["scorecard"].tolist() == [CARD] and saved["score"].tolist() == [0.0]  # the fatal item failed
    reviewer.context.close()

    # 3. the agent disputes it
    agent, own = open_as(browser, app_url, "disputes", "小美", PASSWORDS["小美"])
    dispute(own, "tm-1", REASON)
    no_exception(agent)

    # 4. the manager changes the score: 无禁用语 passed after all
    go_to(manager, "申诉")
    resolve(manager, main, REASON, "复核后没有禁用语，改判", "按上面的评分改分", {"无禁用语（致命）": "是"})
    no_exception(manager)
    with ENGINE[0].connect() as conn:
        assert open_disputes(conn).empty
        final = conversation_reviews(conn, resolve_conversation(conn, "tm-1"))
    assert final["score"].tolist() == [100.0] and final["dispute_status"].tolist() == ["已改分"]

    # 5. the agent sees the final score
    go_to(agent, "申诉")
    # while the page redraws, the old metric can stand beside the new one for a moment: wait for the one that says 100
    score = own.locator('[data-testid="stMetric"]').filter(has_text="最终得分").filter(has_text="100.0")
    expect(score.first).to_be_visible(timeout=SLOW)
    no_exception(agent)
