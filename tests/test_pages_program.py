"""The QA program's pages as a user drives them: scorecards, the replay's scorecard review, calibration, disputes,
and auto-QA agreement on the Models page — on tests/seed.py's conversations with the demo scorecards."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from qa.analytics.filters import Filters
from qa.program import calibration, calibration_picks, disputes, reviews, store
from qa.program.autoqa import run_auto_qa
from qa.program.scorecard import Rating, score_review
from qa.review.replay import resolve_conversation
from qa.review.users import get_or_create_user
from tests.app_fixtures import sign_in_as, start_app
from tests.helpers import read

MANAGER = "陈经理"


@pytest.fixture
def program_app(seeded_app: Engine) -> Engine:
    """The seeded app with the demo scorecards and their rules installed and auto-QA run."""
    store.install_default_scorecards(seeded_app, MANAGER)
    run_auto_qa(seeded_app)
    return seeded_app


def _as(at: AppTest, name: str) -> AppTest:
    return sign_in_as(at, name).run()


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


def _reviewed_by_wang(engine: Engine) -> tuple[int, int, dict[str, Rating]]:
    """tm-3 with 王质检's review on its scorecard (the 售后 ratings ``AFTERSALE``): its id, the scorecard version's
    id and the ratings."""
    cid = _cid(engine, "tm-3")
    chosen = read(engine, store.choose_scorecard, cid)
    assert chosen is not None
    ratings = {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in AFTERSALE.items()}
    reviews.save_review(engine, cid, chosen.version_id, ratings, "王质检")
    return cid, chosen.version_id, ratings


def test_a_stale_scorecard_review_is_refused_with_the_newer_one_shown(program_app: Engine) -> None:
    cid, version_id, ratings = _reviewed_by_wang(program_app)
    at = start_app("pages/replay.py")
    _as(at, "王质检")
    at.text_input(key="replay_lookup").input("tm-3").run()
    assert at.segmented_control(key="scr_solution").value == 5.0  # the form opened on version 1
    # meanwhile, in another tab, the same reviewer lowers 给出明确方案 to 1
    reviews.save_review(program_app, cid, version_id, {**ratings, "solution": Rating(1.0)}, "王质检",
                        comment="方案不清楚", base_version=1)
    at.segmented_control(key="scr_tone").set_value(4.0).run()
    assert at.segmented_control(key="scr_solution").value == 5.0  # what is being typed is not replaced
    at.button(key="scr_save").click().run()
    assert not at.exception
    refused = _texts(at.error)
    assert any("第 2 版，你的表单基于第 1 版" in e and "评语“方案不清楚”" in e for e in refused)
    kept = read(program_app, reviews.my_review, cid, "王质检")
    assert kept is not None and kept.version == 2 and kept.ratings["solution"].value == 1.0
    at.button(key="scr_save").click().run()  # seen now: the second click overwrites on purpose
    assert any("已保存 王质检 的评分表评审" in s for s in _texts(at.success))
    kept = read(program_app, reviews.my_review, cid, "王质检")
    assert kept is not None and kept.version == 3 and kept.ratings["tone"].value == 4.0


# --- 评分表 ------------------------------------------------------------------------------------------------------

def test_editing_a_scorecard_saves_a_new_version_and_old_reviews_keep_theirs(program_app: Engine) -> None:
    at = start_app("pages/scorecards.py")
    assert not at.exception
    listed = next(d.value for d in at.dataframe if "criteria" in d.value.columns)
    assert sorted(listed["name"]) == ["售前", "售后", "评价回复"] and set(listed["version"]) == {1}
    _as(at, MANAGER)
    at.selectbox(key="sc_pick").set_value("售后").run()
    # 使用禁用语 becomes −10 a time, and a new yes/no criterion is added to 处理
    items = at.selectbox(key="sc_item").options
    at.selectbox(key="sc_item").select_index(next(i for i, o in enumerate(items) if o.endswith("使用禁用语"))).run()
    assert at.selectbox(key="sc_f_kind").value == "adjust" and at.number_input(key="sc_f_points").value == -5
    at.number_input(key="sc_f_points").set_value(-10.0)
    at.button(key="sc_apply").click().run()
    at.selectbox(key="sc_item").set_value(-1).run()  # ＋ 新增评分项
    at.text_input(key="sc_f_section").input("处理")
    assert "sc_f_key" not in [t.key for t in at.text_input]  # the key is an internal id, made up for a new item
    at.text_input(key="sc_f_label").input("主动跟进物流")
    at.checkbox(key="sc_f_allow_na").check()
    at.button(key="sc_apply").click().run()
    at.text_input(key="sc_note").input("禁用语加重扣分；新增跟进项")
    at.button(key="sc_save").click().run()
    assert not at.exception
    assert "已保存为“售后”第 2 版；已有的评审仍按各自的版本计分" in _texts(at.success)
    sid = int(listed.loc[listed["name"] == "售后", "id"].iloc[0])
    v2 = read(program_app, store.load_scorecard, sid)
    assert v2.version == 2 and v2.card.criterion("forbidden").points == -10
    follow_up = next(c for _s, c in v2.card.criteria() if c.label == "主动跟进物流")
    assert follow_up.allow_na and follow_up.scale == "yes_no" and re.fullmatch(r"c[0-9a-f]{8}", follow_up.key)
    assert read(program_app, store.load_scorecard, sid, 1).card.criterion("forbidden").points == -5
    history = next(d.value for d in at.dataframe if "note" in d.value.columns)
    assert history["version"].tolist() == [2, 1] and history["note"].iloc[0] == "禁用语加重扣分；新增跟进项"


def test_a_scorecard_that_cannot_be_scored_is_refused_with_its_row(program_app: Engine) -> None:
    at = start_app("pages/scorecards.py")
    _as(at, MANAGER)
    at.selectbox(key="sc_pick").set_value("售前").run()
    at.selectbox(key="sc_item").set_value(-1).run()  # ＋ 新增评分项
    at.text_input(key="sc_f_label").input("超时未回复")
    at.selectbox(key="sc_f_kind").set_value("adjust").run()  # 加减分 without its points
    at.button(key="sc_apply").click().run()
    at.button(key="sc_save").click().run()
    assert "第 11 行：加减分项须设置分值（如 −5 或 +3）" in _texts(at.error)
    assert read(program_app, store.list_scorecards).set_index("name").loc["售前", "version"] == 1


# --- 校准 --------------------------------------------------------------------------------------------------------

def _rate_all(at: AppTest, prefix: str, values: dict[str, float | str]) -> AppTest:
    for key, value in values.items():
        at.segmented_control(key=f"{prefix}_{key}").set_value(value)
    return at.run()


# 售后 has 12 criteria; every one rated, yes/no 1 = pass. Two reviewers differ on 给出明确方案 only.
AFTERSALE = {"first_response": 1.0, "reply_sla": 1.0, "unanswered_end": 1.0, "apology": "na", "solution": 5.0,
             "policy": 1.0, "relevance": 5.0, "sentiment_end": 1.0, "tone": 5.0, "forbidden": 0.0, "blame": 0.0,
             "privacy": 0.0}


def _task_labels(at: AppTest) -> list[str]:
    return [e.proto.label for e in at.get("page_link")]


def _score_blind(at: AppTest, sid: int, external_id: str, values: dict[str, float | str]) -> AppTest:
    """Follow a task's link into the replay (``?c=…&cal=…``) and submit the calibration form there."""
    at.query_params["c"] = external_id
    at.query_params["cal"] = str(sid)
    at.switch_page("pages/replay.py")
    _rate_all(at.run(), "cal", values)
    at.button(key="cal_submit").click().run()
    assert not at.exception
    return at


def test_manager_creates_a_calibration_session_by_filter_and_seeded_sample(program_app: Engine) -> None:
    at = start_app("pages/calibration.py", user=MANAGER)
    assert not at.exception
    assert "还没有校准会：在“新建校准会”里创建一个。" in _texts(at.info)
    # reviewers are chosen from the accounts that may review, never typed: no agent, trainer or executive
    offered = at.multiselect(key="cal_new_reviewers").options
    assert {"王质检", "李质检", MANAGER} <= set(offered) and not {"小美", "张培训", "刘总"} & set(offered)
    # picking: the queue's filters narrow the list, each entry says id · agent · date · reason
    at.multiselect(key="flt_team").set_value(["售后"]).run()
    options = at.multiselect(key="cal_new_pick").options
    assert len(options) == 4 and options[0].startswith("tm-4 · 阿杰 · 11-12 · 慢：首次响应 10 分")
    # drawing: N conversations at random from the filtered ones, the seed stated
    at.segmented_control(key="cal_new_how").set_value("随机抽取 N 条").run()
    at.number_input(key="cal_new_n").set_value(2)
    at.number_input(key="cal_new_seed").set_value(7).run()
    drawn = read(program_app, calibration_picks.draw, Filters(teams=("售后",)), 2, 7)
    assert len(drawn) == 2 and set(drawn["external_id"]) <= {"tm-3", "tm-4", "jd-1", "jd-2"}
    assert any(c.startswith("随机抽取 2 条 · 抽样编号 7 · 筛选：") and "组：售后" in c and c.endswith("抽到 2 条")
               for c in _texts(at.caption))
    assert [f"· {label}" for label in drawn["label"]] == [c for c in _texts(at.caption) if c.startswith("· ")]
    at.text_input(key="cal_new_name").input("售后校准 1")
    at.selectbox(key="cal_new_card").set_value("售后")
    at.multiselect(key="cal_new_reviewers").set_value(["王质检", "李质检"])
    at.selectbox(key="cal_new_benchmark").set_value(MANAGER)
    next(b for b in at.button if b.label == "创建校准会（2 个会话）").click().run()  # the form's submit button
    assert not at.exception
    assert "已创建校准会“售后校准 1”（2 个会话）：参加的质检员在“我的校准任务”里评分" in _texts(at.success)
    sid = int(read(program_app, calibration.list_sessions)["id"].iloc[0])
    info = read(program_app, calibration.session_info, sid)
    assert sorted(info.conversation_ids) == sorted(int(i) for i in drawn["id"])
    assert info.reviewers == tuple(sorted(["王质检", "李质检", MANAGER])) and info.benchmark == MANAGER
    assert info.note.startswith("随机抽取 2 条 · 抽样编号 7 · 筛选：")
    assert any("会话选取：随机抽取 2 条 · 抽样编号 7" in c for c in _texts(at.caption))


def test_calibration_from_the_queue_carries_its_filters(program_app: Engine) -> None:
    at = start_app("pages/queue.py", user=MANAGER)
    at.multiselect(key="flt_platform").set_value(["京东"]).run()
    at.button(key="queue_calibrate").click().run()
    assert not at.exception
    assert [label.split(" · ")[0] for label in at.multiselect(key="cal_new_pick").options] == ["jd-2", "jd-1"]


def test_reviewers_score_blind_in_the_replay_and_see_alpha_once_closed(program_app: Engine) -> None:
    version = read(program_app, store.list_scorecards).set_index("name").loc["售后", "version_id"]
    cids = [_cid(program_app, e) for e in ("tm-3", "tm-4")]
    sid = calibration.create_session(program_app, "售后校准 2", int(version), cids, ["王质检", "李质检"], MANAGER)
    # an ordinary review of tm-3 by 李质检 exists: calibration's blind form must not show it to 王质检
    reviews.save_review(program_app, cids[0], int(version), {k: Rating(na=True) if v == "na" else Rating(float(v))
                                                              for k, v in AFTERSALE.items()}, "李质检")
    # a reviewer who takes no part sees no task; the ones who do see a link per conversation
    at = start_app("pages/calibration.py", user="演示管理员")
    assert "你目前没有进行中的校准任务。" in _texts(at.info)
    solution = {"王质检": 5.0, "李质检": 3.0}
    for person in ("王质检", "李质检"):
        _as(at, person)
        at.switch_page("pages/calibration.py")
        at.run()
        assert _task_labels(at) == ["售后校准 2 · 会话 tm-3 · 未评", "售后校准 2 · 会话 tm-4 · 未评"]
        assert "结束校准会并公布结果" not in [b.label for b in at.button]  # closing is a manager's
        for external_id in ("tm-3", "tm-4"):
            _score_blind(at, sid, external_id, AFTERSALE | {"solution": solution[person]})
            assert f"已提交会话 {external_id} 的校准评分（结束前可修改）" in _texts(at.success)
            # blind: the form and the chat only, no one else's reviews or notes, no auto-QA proposal
            assert any(m == "**校准评分（盲评）：售后校准 2**" for m in _texts(at.markdown))
            assert not [d for d in at.dataframe if "scorecard" in d.value.columns or "reviewer" in d.value.columns]
            assert not any(c.startswith("自动质检建议") for c in _texts(at.caption))
            assert "scr_save" not in [b.key for b in at.button]
        at.switch_page("pages/calibration.py")
        at.run()
        assert _task_labels(at) == ["售后校准 2 · 会话 tm-3 · 已评", "售后校准 2 · 会话 tm-4 · 已评"]
        # while open, nobody sees anyone's scores: counts only, no results
        assert not at.metric and "校准会进行中：评分互不可见，结束后公布结果。" in _texts(at.info)
        assert list(read(program_app, calibration.visible_reviews, sid, person)["reviewer"]) == [person, person]
    _as(at, MANAGER)
    at.switch_page("pages/calibration.py")
    at.run()
    at.button(key="cal_close").click().run()
    assert not at.exception
    results = read(program_app, calibration.session_results, sid)
    metrics = {m.label: m.value for m in at.metric}
    # 李质检 gave 3 instead of 5 on one weighted item: totals differ, so α < 1
    assert metrics["总分 Krippendorff's α"] == f"{results.overall_alpha:.2f}" and results.overall_alpha < 1
    assert metrics["总分在 ±10 分以内"] == f"{results.overall_within:.0%}"
    assert metrics["比较对象"] == "其他人的平均"
    items = next(d.value for d in at.dataframe if "alpha" in d.value.columns).set_index("item")
    # both gave the same rating on the other items: α is undefined there, and the table says why
    assert items["alpha"].str.startswith("—（").sum() == results.items["alpha"].isna().sum() > 0
    assert "—（都打了同一个分，无法计算）" in set(items["alpha"])
    assert items.loc[results.items["item"].iloc[0], "alpha"] == f"{results.overall_alpha:.2f}"
    deviations = next(d.value for d in at.dataframe if "mean_deviation" in d.value.columns).set_index("reviewer")
    assert deviations.loc["李质检", "mean_deviation"] < 0 < deviations.loc["王质检", "mean_deviation"]
    assert "**历次校准的一致性**" in _texts(at.markdown)
    # once closed the task is gone and the replay link opens the ordinary replay
    _as(at, "王质检")
    at.switch_page("pages/calibration.py")
    at.run()
    assert _task_labels(at) == []


# --- 申诉 --------------------------------------------------------------------------------------------------------

def test_a_dispute_raised_and_resolved_changes_the_final_score_shown(program_app: Engine) -> None:
    get_or_create_user(program_app, "阿杰", "agent")
    cid = _cid(program_app, "tm-3")
    chosen = read(program_app, store.choose_scorecard, cid)
    assert chosen is not None and chosen.card.name == "售后"
    ratings = {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in (AFTERSALE | {"solution": 2.0}).items()}
    rid = reviews.save_review(program_app, cid, chosen.version_id, ratings, "王质检")
    before = read(program_app, reviews.load_review, rid).score

    at = start_app("pages/disputes.py")
    _as(at, "阿杰")
    assert not at.exception
    mine = next(d.value for d in at.dataframe if "state" in d.value)
    assert mine["state"].tolist() == ["待确认，可申诉"] and mine["score"].tolist() == [before]
    at.text_area(key="dp_reason").input("已经给了退货方案，不应只得 2 分")
    at.button(key="dp_open").click().run()
    assert "已对会话 tm-3 的评审提出申诉，等待质检主管处理" in _texts(at.success)
    assert next(d.value for d in at.dataframe if "state" in d.value)["state"].tolist() == [disputes.OPEN]

    _as(at, MANAGER)
    assert [t.label for t in at.tabs] == ["评审记录", "待处理申诉（1）", "申诉率"]  # the waiting one counted, and first
    assert at.segmented_control(key="dpr_solution").value == 2.0  # the review as it was, to change
    at.segmented_control(key="dpr_solution").set_value(5.0).run()
    at.text_input(key="dp_comment").input("复核后认可：方案明确")
    at.button(key="dp_change").click().run()
    assert not at.exception
    assert f"申诉已处理：{disputes.CHANGED}" in _texts(at.success)
    after = read(program_app, reviews.load_review, rid).score
    assert after is not None and before is not None and after > before
    assert "你还没有写过评分表评审。" in _texts(at.info)  # a manager who reviews sees their own reviews first
    at.radio(key="dp_by").set_value("坐席").run()
    shown = next(d.value for d in at.dataframe if "state" in d.value)
    assert shown["state"].tolist() == [disputes.CHANGED] and shown["score"].tolist() == [after]
    assert "没有待处理的申诉。" in _texts(at.info)
    assert any(f" 已改分 · {MANAGER}：" in c and c.endswith("：复核后认可：方案明确") for c in _texts(at.caption))
    rates = next(d.value for d in at.dataframe if "dispute_rate" in d.value).set_index("reviewer")
    assert rates.loc["王质检", "disputed"] == 1 and rates.loc["王质检", "changed"] == 1
    at = start_app("pages/disputes.py", user="王质检")  # the reviewer lands on the reviews he wrote, and their fate
    wrote = next(d.value for d in at.dataframe if "state" in d.value)
    assert at.radio(key="dp_by").value == "我写的评审" and wrote["state"].tolist() == [disputes.CHANGED]


# --- 模型 and 坐席 -----------------------------------------------------------------------------------------------

def test_models_page_shows_auto_qa_agreement_once_there_are_reviews(program_app: Engine) -> None:
    at = start_app("pages/models.py")
    assert any(c.startswith("还没有评分表评审") for c in _texts(at.caption))
    for external_id, reviewer in (("tm-3", "王质检"), ("tm-4", "王质检"), ("tm-3", "李质检")):
        cid = _cid(program_app, external_id)
        chosen = read(program_app, store.choose_scorecard, cid)
        assert chosen is not None
        ratings = {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in AFTERSALE.items()}
        reviews.save_review(program_app, cid, chosen.version_id, ratings, reviewer)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "agree_share" in d.value)
    first = table.set_index("criterion").loc["首次响应及时"]
    # tm-3 and tm-4 wait 400 and 600 s against 天猫's 180 s: auto-QA fails both, the reviewers passed all three
    assert (first["n"], first["agree_share"]) == (3, 0.0)


def test_agents_page_shows_dispute_rate_per_reviewer(program_app: Engine) -> None:
    cid = _cid(program_app, "tm-3")
    chosen = read(program_app, store.choose_scorecard, cid)
    assert chosen is not None
    ratings = {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in AFTERSALE.items()}
    rid = reviews.save_review(program_app, cid, chosen.version_id, ratings, "王质检")
    get_or_create_user(program_app, "阿杰", "agent")
    disputes.open_dispute(program_app, rid, "不认可", "阿杰")
    at = start_app("pages/agents.py")
    assert not at.exception
    rates = next(d.value for d in at.dataframe if "dispute_rate" in d.value).set_index("reviewer")
    assert rates.loc["王质检", ["reviews", "disputed", "dispute_rate"]].tolist() == [1, 1, 1.0]


def test_agents_page_counts_scorecard_reviews_with_their_final_score(program_app: Engine) -> None:
    cid = _cid(program_app, "tm-3")
    chosen = read(program_app, store.choose_scorecard, cid)
    assert chosen is not None
    ratings = {k: Rating(na=True) if v == "na" else Rating(float(v)) for k, v in (AFTERSALE | {"solution": 2.0}).items()}
    rid = reviews.save_review(program_app, cid, chosen.version_id, ratings, "王质检")
    get_or_create_user(program_app, "阿杰", "agent")
    did = disputes.open_dispute(program_app, rid, "方案明确", "阿杰")
    disputes.resolve_dispute(program_app, did, MANAGER, "认可", {**ratings, "solution": Rating(5.0)})
    final = read(program_app, reviews.load_review, rid).score
    # a calibration review of the same conversation at another score never counts
    sid = calibration.create_session(program_app, "校准", chosen.version_id, [cid], ["李质检", "王质检"], MANAGER)
    calibration.submit_review(program_app, sid, cid, {**ratings, "solution": Rating(1.0)}, "李质检")
    at = start_app("pages/agents.py")
    at.selectbox(key="ag_agent").select("阿杰").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["已复核会话"] == "1" and shown["评分表得分"] == f"{final:.1f}" and shown["评审被申诉比例"] == "100.0%"
    assert "整体评审均分（1–5）" not in shown  # nobody used the 1–5 rubric: no empty rubric figures
    team = at.dataframe[-2].value  # the team table, before the reviewers' dispute rates
    assert team.set_index("agent").loc["阿杰", ["reviewed", "card_mean"]].tolist() == [1, final]
    assert "rubric_mean" not in team.columns


# --- 加分项: scores past 100 --------------------------------------------------------------------------------------

def test_scorecards_read_in_chinese_with_bonus_items_marked(program_app: Engine) -> None:
    at = start_app("pages/scorecards.py", user=MANAGER)
    at.selectbox(key="sc_pick").set_value("售前").run()
    assert not at.exception
    tables = [d.value for d in at.dataframe if "section_cap" in d.value.columns]
    assert len(tables) == 2  # the version shown and the draft being edited
    for table in tables:
        assert "key" not in table.columns  # no internal ids (greeting, first_response…)
        assert not any(re.search("[A-Za-z]", str(v)) for v in table.to_numpy().ravel()), table
        caps = dict(zip(table["label"], table["section_cap"]))
        assert caps["开场问候"] == "" and caps["使用禁用语"] == "20"  # no cap: an empty cell, never "None"
        kinds = dict(zip(table["label"], table["kind"]))
        assert kinds["主动推荐、促成下单"] == "加分项（可超过 100）"
    assert sum("加分项只加分、不计入权重分母，所以得分可以超过 100" in c for c in _texts(at.caption)) == 2


# 售前 with every line at its best: (100·14 + 100 from the bonus item) / 14 = 107.1
PRESALE_BEST = {"greeting": 1.0, "first_response": 1.0, "reply_sla": 1.0, "closing": 1.0, "tone": 5.0,
                "relevance": 5.0, "product_info": 1.0, "recommend": 1.0, "forbidden": 0.0, "offline_deal": 0.0}


def test_the_replay_form_marks_bonus_items_and_explains_a_score_past_100(program_app: Engine) -> None:
    at = start_app("pages/replay.py")
    _as(at, "王质检")
    at.text_input(key="replay_lookup").input("tm-1").run()
    assert at.segmented_control(key="scr_recommend").label == "主动推荐、促成下单（加分项）"
    assert at.segmented_control(key="scr_greeting").label == "开场问候"
    assert "标“加分项”的项加分项只加分、不计入权重分母，所以得分可以超过 100。" in _texts(at.caption)
    _rate_all(at, "scr", PRESALE_BEST | {"recommend": 0.0})
    assert at.metric[0].value == "100.0" and not any(c.startswith("超过 100 分") for c in _texts(at.caption))
    _rate_all(at, "scr", PRESALE_BEST)
    assert at.metric[0].value == "107.1"
    assert "超过 100 分：加分项只加分、不计入权重分母，所以得分可以超过 100。" in _texts(at.caption)
    at.button(key="scr_save").click().run()
    assert not at.exception
    saved = next(d.value for d in at.dataframe if "scorecard" in d.value.columns)
    assert saved["score"].round(1).tolist() == [107.1]


# --- roles that may not write see no controls that would be refused ------------------------------------------------

def test_a_trainer_reads_calibration_results_without_tasks_or_a_create_form(program_app: Engine) -> None:
    at = start_app("pages/calibration.py", user="张培训")
    assert not at.exception
    assert [t.label for t in at.tabs] == ["校准会与结果"]
    assert "校准会由质检主管或管理员创建；评分由质检员进行，这里可以查看各场校准会的结果。" in _texts(at.caption)
    assert "还没有校准会：由质检主管或管理员创建。" in _texts(at.info)
    assert not at.button and not at.text_input


def test_a_reviewer_has_tasks_but_no_create_form_on_calibration(program_app: Engine) -> None:
    at = start_app("pages/calibration.py", user="王质检")
    assert not at.exception
    assert [t.label for t in at.tabs] == ["我的校准任务", "校准会与结果"]
    assert any(c.startswith("校准会由质检主管或管理员创建；你被选为参加者后") for c in _texts(at.caption))
    assert not any("在“新建校准会”里创建" in i for i in _texts(at.info))


def test_a_manager_keeps_every_calibration_tab(program_app: Engine) -> None:
    at = start_app("pages/calibration.py", user=MANAGER)
    assert [t.label for t in at.tabs] == ["我的校准任务", "校准会与结果", "新建校准会"]


def test_a_trainer_reads_reviews_on_disputes_without_answering_them(program_app: Engine) -> None:
    _reviewed_by_wang(program_app)
    at = start_app("pages/disputes.py", user="张培训")
    assert not at.exception
    assert not at.tabs  # no 待处理申诉 to resolve
    assert "确认或申诉由被评审的坐席本人在自己的账号中进行。" in _texts(at.caption)
    assert not [b for b in at.button if b.key in ("dp_ack", "dp_open", "dp_uphold", "dp_change")]
