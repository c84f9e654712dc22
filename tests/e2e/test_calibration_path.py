"""A calibration session in a real browser, each person signed in with their own account: a QA manager draws two
conversations and chooses two reviewers, each reviewer scores both blind in the replay, the manager closes the
session and reads Krippendorff's α and each reviewer's deviation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from qa.access import SYSTEM
from qa.analytics.filters import Filters
from qa.program import calibration, calibration_picks, store
from qa.program.scorecard import Criterion, Scorecard, Section
from qa.review.users import set_password
from tests.e2e.conftest import no_exception, settle
from tests.e2e.steps import SLOW, go_to, open_as, pick, rate

pytestmark = pytest.mark.e2e
ENGINE: list[Engine] = []
CARD = Scorecard("校准用", (Section("a", "接待", (
    Criterion("ok", "方案正确", weight=3), Criterion("polite", "礼貌", scale="rating"))),))
PASSWORDS = {"陈经理": "e2e-manager-password", "王质检": "e2e-reviewer-password", "李质检": "e2e-reviewer2-password"}
SEED_OF_DRAW = 7
# (方案正确, 礼貌) per reviewer and conversation drawn: they agree on the first, not on the second
RATINGS = {"王质检": [("是", "5 分"), ("是", "5 分")], "李质检": [("是", "5 分"), ("否", "3 分")]}


def SEED(engine: Engine) -> None:  # noqa: N802 — the name tests/e2e/conftest.py's app_url looks for
    """One small scorecard, and the manager and two reviewers able to sign in."""
    store.create_scorecard(engine, CARD, "陈经理")
    for name, password in PASSWORDS.items():
        set_password(engine, SYSTEM, name, password)
    ENGINE.append(engine)


def test_manager_sets_up_reviewers_score_blind_manager_reads_alpha(browser, app_url):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with ENGINE[0].connect() as conn:
        drawn = calibration_picks.draw(conn, Filters(), 2, SEED_OF_DRAW)
    external_ids = list(drawn["external_id"])

    manager, main = open_as(browser, app_url, "calibration", "陈经理", PASSWORDS["陈经理"])
    main.get_by_role("tab", name="新建校准会").click()
    main.get_by_role("radiogroup", name="选择会话").get_by_role("radio", name="随机抽取 N 条").click()
    for label, value in (("抽取条数 N", "2"), ("抽样编号", str(SEED_OF_DRAW))):
        box = main.get_by_role("spinbutton", name=label)
        box.fill(value)
        box.press("Enter")
        settle(manager)
    expect(main.get_by_text(re.compile(rf"随机抽取 2 条 · 抽样编号 {SEED_OF_DRAW} .*抽到 2 条"))).to_be_visible(timeout=SLOW)
    for label in drawn["label"]:
        expect(main.get_by_text(f"· {label}", exact=True)).to_be_visible()
    main.get_by_label("名称").fill("12 月校准")
    pick(manager, main, "参加的质检员", ["王质检", "李质检"])
    main.get_by_role("button", name="创建校准会（2 个会话）").click()
    expect(main.get_by_text("已创建校准会“12 月校准”（2 个会话）", exact=False)).to_be_visible(timeout=SLOW)
    no_exception(manager)

    for reviewer, answers in RATINGS.items():
        page, area = open_as(browser, app_url, "calibration", reviewer, PASSWORDS[reviewer])
        for external_id, (ok, polite) in zip(external_ids, answers):
            link = area.get_by_role("link", name=f"12 月校准 · 会话 {external_id} · 未评")
            expect(link).to_be_visible(timeout=SLOW)
            link.click()
            expect(area.get_by_text("校准评分（盲评）：12 月校准")).to_be_visible(timeout=SLOW)
            expect(area.get_by_text("评分表评审")).to_have_count(0)  # blind: no one else's reviews or notes
            rate(area, "方案正确", ok)
            rate(area, "礼貌", polite)
            area.get_by_role("button", name="提交校准评分").click()
            expect(area.get_by_text(f"已提交会话 {external_id} 的校准评分（结束前可修改）")).to_be_visible(timeout=SLOW)
            no_exception(page)
            go_to(page, "校准")
        for external_id in external_ids:
            expect(area.get_by_role("link", name=f"12 月校准 · 会话 {external_id} · 已评")).to_be_visible(timeout=SLOW)
        page.context.close()

    with ENGINE[0].connect() as conn:
        sid = int(calibration.list_sessions(conn)["id"].iloc[0])
        assert calibration.session_progress(conn, sid)["done"].tolist() == [2, 2]
    main.get_by_role("tab", name="校准会与结果").click()
    main.get_by_role("button", name="结束校准会并公布结果").click()
    expect(main.get_by_text("校准会“12 月校准”已结束")).to_be_visible(timeout=SLOW)
    with ENGINE[0].connect() as conn:
        results = calibration.session_results(conn, sid)
    alpha = main.locator('[data-testid="stMetric"]').filter(has_text="总分 Krippendorff's α")
    expect(alpha.get_by_test_id("stMetricValue")).to_have_text(f"{results.overall_alpha:.2f}")
    expect(main.get_by_text("每位质检员的偏差")).to_be_visible()
    deviations = results.reviewers.set_index("reviewer")["mean_deviation"]
    assert deviations["李质检"] < 0 < deviations["王质检"]  # 李质检 scored the second conversation lower
    no_exception(manager)
    manager.context.close()
