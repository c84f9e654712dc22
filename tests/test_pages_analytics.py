"""The overview, agents and models pages as a user sees them, on tests/seed.py (AppTest, no browser)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from streamlit.testing.v1 import AppTest

from qa.analytics import dashboard, model_quality
from qa.analytics.filters import Filters
from qa.analytics.stats import rebuild_daily_stats
from qa.jobs.scoring import score_database
from qa.models import Conversation, Message
from tests.app_fixtures import ADMIN, add_reviews, point_app_to, sign_in_as, start_app
from tests.helpers import import_bytes, jsonl

LATE = Filters(start=date(2026, 11, 12), end=date(2026, 11, 13))


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    """Shown metrics: label → (value, delta)."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def conversation_id(engine: Engine, external_id: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(Conversation.id).where(Conversation.external_id == external_id))


def test_overview_shows_the_headline_numbers(seeded_app: Engine) -> None:
    at = start_app()
    assert not at.exception
    shown = metrics(at)
    assert shown["会话数"][0] == "8"
    assert shown["CSAT"][0] == "3.17"
    assert shown["预测不满意（均值）"][0] == "45.6%"
    assert shown["SLA 内回复率"][0] == "75.0%"
    assert shown["平均首次响应"][0] == "2 分 33 秒"
    captions = [c.value for c in at.caption]
    assert "6 条评价，覆盖 75.0% 的会话" in captions
    assert "高风险（≥0.5）占 50.0%（上期 —）" in captions
    assert "上一周期没有数据，无法对比。" in captions
    # the sidebar filled in the archive's dates and stored them for the other pages
    assert at.session_state["filters"] == Filters(start=date(2026, 11, 10), end=date(2026, 11, 13))


def test_overview_compares_with_the_previous_period(seeded_app: Engine) -> None:
    at = sign_in_as(AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=30), ADMIN)
    at.session_state["filters"] = LATE
    at.run()
    assert not at.exception
    shown = metrics(at)
    assert shown["会话数"] == ("4", "+0（+0%）")
    assert shown["CSAT"] == ("3.00", "-0.33")
    assert shown["SLA 内回复率"] == ("75.0%", "+0.0 个百分点")
    assert shown["平均首次响应"] == ("3 分 8 秒", "+1 分 9 秒")
    assert "高风险（≥0.5）占 75.0%（上期 25.0%）" in [c.value for c in at.caption]
    assert at.date_input(key="flt_dates").value == (date(2026, 11, 12), date(2026, 11, 13))


def test_what_got_worse_opens_the_conversations_behind_a_row(seeded_app: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "MIN_VOLUME", 1)  # eight seeded conversations: every change "matters"
    at = sign_in_as(AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=30), ADMIN)
    at.session_state["filters"] = LATE
    at.run()
    assert not at.exception
    markdown = [m.value for m in at.markdown]
    assert ":red[+100.0 个百分点]" in markdown  # 京东: high-risk share 0% → 100%
    at.button(key="ov_worse_0").click().run()
    assert at.session_state["filters"].platforms == ("京东",)
    assert (at.session_state["filters"].start, at.session_state["filters"].end) == (LATE.start, LATE.end)


def test_overview_on_an_empty_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_app_to(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    at = start_app()
    assert not at.exception
    assert at.info[0].value.startswith("所选范围内没有会话")


def test_a_stored_year_9999_conversation_leaves_the_overview_working_and_an_admin_deletes_it(
        seeded_app: Engine) -> None:
    # stored as an import before times were checked could store it (issue #12, case 5)
    cid = conversation_id(seeded_app, "tm-3")
    with seeded_app.begin() as conn:
        conn.execute(update(Conversation).where(Conversation.id == cid).values(started_at=datetime(9999, 12, 31, 23)))
        conn.execute(update(Message).where(Message.conversation_id == cid).values(ts=datetime(9999, 12, 31, 23)))
        rebuild_daily_stats(conn)
    at = start_app()
    assert not at.exception
    assert at.session_state["filters"] == Filters(start=date(2026, 11, 10), end=date(2026, 11, 13))
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="delete_conversation").input("tm-3")
    at.checkbox(key="delete_conversation_sure").check()
    [b for b in at.button if b.label == "删除会话"][0].click().run()
    assert not at.exception
    assert any(s.value.startswith("已删除 1 个会话：") and "tm-3" in s.value for s in at.success)
    assert conversation_id(seeded_app, "tm-3") is None


def test_agent_scorecard_against_the_team(seeded_app: Engine) -> None:
    add_reviews(seeded_app)
    at = start_app("pages/agents.py")
    assert not at.exception
    at.selectbox(key="ag_agent").select("阿杰").run()
    assert not at.exception
    shown = metrics(at)
    assert shown["会话数"][0] == "2"
    assert shown["已复核会话"][0] == "2"
    assert shown["预测不满意（均值）"] == ("85.0%", "+20.0 个百分点（对比组）")
    assert shown["平均首次响应"] == ("8 分 20 秒", "+3 分 52 秒（对比组）")
    assert shown["CSAT"] == ("1.50", "-0.83（对比组）")
    assert shown["整体评审均分（1–5）"] == ("2.00", "+0.00（对比组）")
    assert shown["整体评审不合格率"] == ("75.0%", "+8.3 个百分点（对比组）")
    assert shown["评分表得分"][0] == "—"  # nobody used a scorecard here
    team = at.dataframe[-1].value  # the team table ends the page
    assert team["agent"].tolist() == ["小李", "阿杰"]
    assert team["reviewed"].tolist() == [1, 2]


def test_agent_weekly_trend_says_which_weeks_it_leaves_out(seeded_app: Engine) -> None:
    later = [{"conversation_id": f"tm-{day}", "platform": "天猫", "messages": [
        {"role": "customer", "text": "在吗", "ts": f"2026-11-{day} 10:00:00"},
        {"role": "agent", "agent": "阿杰", "text": "在的", "ts": f"2026-11-{day} 10:00:30"}]} for day in (17, 24)]
    import_bytes(seeded_app, "later.jsonl", jsonl(*later))  # the archive now runs Tue 11-10 … Tue 11-24
    score_database(seeded_app, n_jobs=1)  # agents' figures come from the scored segments
    at = start_app("pages/agents.py")
    at.selectbox(key="ag_agent").select("阿杰").run()
    assert not at.exception
    assert "点击图中的点，查看该坐席当周的会话。首尾不满一周的周（11-10–11-15、11-23–11-24）未画出，以免看似下降。" in [
        c.value for c in at.caption]


def test_agent_page_replays_the_worst_conversation(seeded_app: Engine) -> None:
    at = start_app("pages/agents.py")
    at.selectbox(key="ag_agent").select("小美").run()  # tm-1 rated 5, tm-2 not rated
    cases = [m.value for m in at.markdown if m.value.startswith("**tm-1**")]
    assert cases and all(c.endswith(" · CSAT 5") for c in cases), cases  # not "5.0"
    at.selectbox(key="ag_agent").select("阿杰").run()
    worst = conversation_id(seeded_app, "tm-4")
    at.button(key=f"ag_worst_{worst}").click().run()
    assert at.session_state["replay_conversation_id"] == worst


def test_agent_page_opens_the_agents_conversations_in_the_queue(seeded_app: Engine) -> None:
    at = start_app("pages/agents.py")
    at.selectbox(key="ag_agent").select("小王").run()
    at.button(key="ag_queue").click().run()
    assert at.session_state["filters"] == Filters(start=date(2026, 11, 10), end=date(2026, 11, 13),
                                                  agents=("小王",))


def test_models_page_shows_agreement_and_says_when_data_is_short(seeded_app: Engine, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sentiment.md").write_text("# 情绪模型\n\n顾客消息的负面概率。", encoding="utf-8")
    (tmp_path / "sentiment.json").write_text(
        '{"metrics": {"auc": 0.93, "held_out": {"n": 500, "auc": 0.9}, "chat_held_out": {"n": 9, "roc_auc": 0.98}}}',
        encoding="utf-8")
    monkeypatch.setattr(model_quality, "MODELS_DIR", tmp_path)
    add_reviews(seeded_app)
    at = start_app("pages/models.py")
    assert not at.exception
    assert at.main.subheader[0].value == "顾客情绪"  # the Chinese summary, not the English card's title
    # rows recording different figures are tables of their own
    assert [list(at.dataframe[i].value.columns) for i in (0, 1)] == [["评估", "样本数", "auc"], ["评估", "样本数", "ROC-AUC"]]
    assert [at.dataframe[i].value["评估"].tolist() for i in (0, 1)] == [["held_out"], ["聊天语句（留出）"]]
    assert "相关度：使用随附模型" in at.info[0].value
    assert "指标说明" in [e.label for e in at.expander]
    shown = metrics(at)
    assert shown["auc"][0] == "0.93"
    assert shown["复核结论数 n"][0] == "9"
    assert shown["精确率"][0] == "57%"
    assert shown["召回率"][0] == "100%"
    assert shown["Cohen's κ"] == ("0.37", "一般")
    assert shown["结论配对 n"][0] == "4"
    assert shown["结论 κ"] == ("0.20", "轻微一致")
    assert shown["加权 κ（二次）"] == ("0.40", "一般")
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("数据不足：只有 9 个复核结论") for w in warnings)
    assert any(w.startswith("数据不足：只有 4 个复核员配对") for w in warnings)


def test_a_date_preset_sets_the_range_on_every_page(seeded_app: Engine) -> None:
    at = start_app("pages/overview.py")
    at.date_input(key="flt_dates").set_value((date(2026, 11, 12), date(2026, 11, 13))).run()
    at.pills(key="flt_preset").set_value("近7天").run()  # the archive holds 11-10 to 11-13: all of it
    assert not at.exception
    assert at.date_input(key="flt_dates").value == (date(2026, 11, 10), date(2026, 11, 13))
    assert at.pills(key="flt_preset").value is None  # a shortcut, not a state to keep
    at.switch_page("pages/agents.py")
    at.run()
    assert at.session_state["filters"].start == date(2026, 11, 10)
