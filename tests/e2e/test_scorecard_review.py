"""The scorecard review path in a real browser: auto-QA's proposals shown with evidence, the reviewer rates what
auto-QA cannot fill, saves, and reads the score the scorecard's formula computed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from qa.program.autoqa import run_auto_qa
from qa.program.reviews import conversation_reviews
from qa.program.store import install_default_scorecards
from qa.review.replay import resolve_conversation
from tests.e2e.conftest import no_exception, settle, sign_in
from tests.e2e.steps import rate

pytestmark = pytest.mark.e2e
ENGINE: list[Engine] = []


def SEED(engine: Engine) -> None:  # noqa: N802 — the name tests/e2e/conftest.py's app_url looks for
    """The demo scorecards and auto-QA on tests/seed.py's conversations."""
    install_default_scorecards(engine, "陈经理")
    run_auto_qa(engine)
    ENGINE.append(engine)


def test_review_with_auto_qa_proposals_shows_the_computed_score(page, app_url):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{app_url}/replay?c=tm-1")
    settle(page)
    sign_in(page)  # the link is kept while signing in
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text(re.compile("评分表“售前”第 1 版"))).to_be_visible(timeout=60_000)
    expect(main.get_by_text(re.compile("自动质检建议：是 · 已采纳 · 首条客服回复含")).first).to_be_visible()
    for criterion, answer in (("产品信息准确（致命）", "是"), ("主动推荐、促成下单", "否"),
                              ("引导线下交易或泄露顾客信息（致命）", "0 次")):
        rate(main, criterion, answer)
    main.get_by_role("button", name="保存评分表评审").click()
    expect(main.get_by_text(re.compile(r"已保存 .+ 的评分表评审（售前 第 1 版）"))).to_be_visible()
    no_exception(page)
    engine = ENGINE[0]
    with engine.connect() as conn:
        saved = conversation_reviews(conn, resolve_conversation(conn, "tm-1"))
    assert len(saved) == 1
    score = main.locator('[data-testid="stMetric"]').filter(has_text="得分")
    expect(score.get_by_test_id("stMetricValue")).to_have_text(f"{saved['score'].iloc[0]:.1f}")
