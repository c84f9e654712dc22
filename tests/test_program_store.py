"""Scorecards and reviews in the database, on SQLite and PostgreSQL: versions, selection rules, stored scores."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from qa.analytics.filters import Filters
from qa.errors import NotFoundError
from qa.models import Conversation, ScorecardVersion
from qa.program import reviews, store
from qa.program.errors import ScorecardError
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.program.selection import SelectionRule, choose
from tests.helpers import agent_review_scores, read
from tests.seed import seed_small

CARD = Scorecard("售后", (
    Section("a", "响应", (Criterion("fast", "首次响应及时", weight=2),
                          Criterion("polite", "礼貌", scale="rating", weight=2, allow_na=True))),
    Section("b", "规范", (Criterion("forbidden", "禁用语", kind="adjust", points=-5, max_times=2),)),
))
GOOD = {"fast": Rating(1), "polite": Rating(4), "forbidden": Rating(1)}  # (200 + 75·2)/4 − 5 = 82.5


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def conv_id(engine: Engine, external_id: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(Conversation.id).where(Conversation.external_id == external_id))


def test_editing_makes_a_version_and_old_reviews_keep_theirs(db: Engine) -> None:
    v1 = store.create_scorecard(db, CARD, "陈经理")
    rid = reviews.save_review(db, conv_id(db, "tm-3"), v1.version_id, GOOD, "王质检", comment="首响很快")
    edited = replace(CARD, sections=(replace(CARD.sections[0], criteria=(
        replace(CARD.sections[0].criteria[0], weight=1), CARD.sections[0].criteria[1])), CARD.sections[1]))
    v2 = store.update_scorecard(db, v1.scorecard_id, edited, "陈经理", note="首响权重改为 1")
    assert (v2.version, v2.scorecard_id) == (2, v1.scorecard_id) and v2.version_id != v1.version_id
    again = store.update_scorecard(db, v1.scorecard_id, edited, "陈经理")
    assert again.version_id == v2.version_id  # nothing changed: no version 3
    old = read(db, reviews.load_review, rid)
    assert old.scorecard.version == 1 and old.score == pytest.approx(82.5) and old.result.score == old.score
    new = reviews.save_review(db, conv_id(db, "tm-4"), v2.version_id, GOOD, "王质检")
    assert read(db, reviews.load_review, new).score == pytest.approx((100 + 150) / 3 - 5)
    history = read(db, store.scorecard_history, v1.scorecard_id)
    assert history[["version", "created_by", "note"]].values.tolist() == [[2, "陈经理", "首响权重改为 1"],
                                                                          [1, "陈经理", "新建"]]
    listed = read(db, store.list_scorecards)
    assert listed[["name", "version", "criteria", "active"]].values.tolist() == [["售后", 2, 3, True]]


def test_names_are_unique_and_actors_must_exist(db: Engine) -> None:
    store.create_scorecard(db, CARD, "陈经理")
    with pytest.raises(ScorecardError, match="评分表“售后”已存在"):
        store.create_scorecard(db, CARD, "陈经理")
    with pytest.raises(NotFoundError, match="用户“路人”不存在"):
        store.create_scorecard(db, replace(CARD, name="售前"), "路人")
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScorecardVersion)) == 1


def test_editing_a_review_replaces_it(db: Engine) -> None:
    v1 = store.create_scorecard(db, CARD, "陈经理")
    cid = conv_id(db, "jd-1")
    first = reviews.save_review(db, cid, v1.version_id, GOOD, "王质检")
    second = reviews.save_review(db, cid, v1.version_id, {**GOOD, "polite": Rating(na=True, comment="无需")},
                                 "王质检", proposals={"fast": 1.0})
    assert first == second
    mine = read(db, reviews.my_review, cid, "王质检")
    assert mine is not None and mine.ratings["polite"] == Rating(None, True, "无需")
    assert mine.proposals == {"fast": 1.0, "polite": None, "forbidden": None}
    assert mine.score == pytest.approx(100 - 5)
    assert read(db, reviews.my_review, cid, "李质检") is None
    listed = read(db, reviews.conversation_reviews, cid)
    assert listed[["reviewer", "scorecard", "version", "score"]].values.tolist() == [["王质检", "售后", 1, 95.0]]


def test_incomplete_or_unknown_reviews_store_nothing(db: Engine) -> None:
    v1 = store.create_scorecard(db, CARD, "陈经理")
    with pytest.raises(ScorecardError, match="“礼貌”还没有评分"):
        reviews.save_review(db, conv_id(db, "jd-1"), v1.version_id, {"fast": Rating(1)}, "王质检")
    with pytest.raises(NotFoundError, match="会话 999999 不存在"):
        reviews.save_review(db, 999999, v1.version_id, GOOD, "王质检")
    assert read(db, reviews.conversation_reviews, conv_id(db, "jd-1")).empty


def test_selection_rules_pick_by_precedence(db: Engine) -> None:
    for name in ("售前", "售后", "评价回复"):
        store.create_scorecard(db, replace(CARD, name=name), "陈经理")
    rules = [SelectionRule("评价回复", team="评价"), SelectionRule("售前", category="产品/尺码咨询"),
             SelectionRule("售前", platform="抖音"), SelectionRule("售后")]
    store.save_selection_rules(db, rules, "陈经理")
    assert read(db, store.selection_rules) == rules

    def chosen(ext: str) -> str | None:
        stored = read(db, store.choose_scorecard, conv_id(db, ext))
        return None if stored is None else stored.card.name

    # dy-1 is team 评价 on 抖音: the team rule comes first; dy-2 (评价 too) likewise; tm-1 by category
    assert [chosen(x) for x in ("dy-1", "dy-2", "tm-1", "tm-3", "jd-1")] == ["评价回复", "评价回复", "售前", "售后", "售后"]
    listed = read(db, store.list_scorecards).set_index("name")
    store.set_scorecard_active(db, int(listed.loc["评价回复", "id"]), False, "陈经理")
    assert chosen("dy-1") == "售前"  # an inactive scorecard is skipped: the platform rule is next
    with pytest.raises(ScorecardError, match="第 2 条规则：评分表“质检”不存在"):
        store.save_selection_rules(db, [SelectionRule("售后"), SelectionRule("质检")], "陈经理")
    assert len(read(db, store.selection_rules)) == 4  # the failed save changed nothing


def test_choose_is_pure_and_ordered() -> None:
    rules = [SelectionRule("A", team="售前", platform="天猫"), SelectionRule("B", team="售前"), SelectionRule("C")]
    assert choose(rules, "售前", None, "天猫") == "A"
    assert choose(rules, "售前", None, "京东") == "B"
    assert choose(rules, None, None, None) == "C"
    assert choose(rules[:2], "售后", None, "天猫") is None
    assert choose(rules, "售前", None, "天猫", available={"B", "C"}) == "B"


def test_demo_scorecards_install_once(db: Engine) -> None:
    created = store.install_default_scorecards(db, "陈经理")
    assert sorted(created) == ["售前", "售后", "评价回复"]
    assert store.install_default_scorecards(db, "陈经理") == []
    rules = read(db, store.selection_rules)
    assert rules[0].team is not None and rules[-1] == SelectionRule("售后")  # teams first, the fallback last
    stored = read(db, store.choose_scorecard, conv_id(db, "tm-1"))
    assert stored is not None and stored.card.name == "售前"


def test_agent_scores_are_final_review_scores(db: Engine) -> None:
    v1 = store.create_scorecard(db, CARD, "陈经理")
    reviews.save_review(db, conv_id(db, "tm-3"), v1.version_id, GOOD, "王质检")  # 阿杰 82.5
    reviews.save_review(db, conv_id(db, "tm-4"), v1.version_id, {**GOOD, "forbidden": Rating(0)}, "李质检")  # 87.5
    reviews.save_review(db, conv_id(db, "tm-1"), v1.version_id, {**GOOD, "fast": Rating(0)}, "王质检")  # 小美 32.5
    assert agent_review_scores(db) == [["小美", 1, 32.5], ["阿杰", 2, 85.0]]
    late = Filters(start=date(2026, 11, 12), end=date(2026, 11, 12))
    assert agent_review_scores(db, late) == [["阿杰", 1, 87.5]]
