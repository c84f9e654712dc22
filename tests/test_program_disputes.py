"""Confirming and disputing reviews, on SQLite and PostgreSQL: the window, one dispute per review, uphold or
change (score recomputed and final everywhere), who and when at every step, dispute rates per reviewer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from qa.access import SYSTEM, AccessDenied
from qa.models import Conversation
from qa.program import calibration, disputes, reviews, store
from qa.program.errors import DisputeError
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from qa.review.users import get_or_create_user
from tests.helpers import agent_review_scores, read
from tests.seed import seed_small

CARD = Scorecard("售后", (Section("a", "处理", (
    Criterion("ok", "方案正确", weight=3), Criterion("polite", "礼貌", scale="rating"))),))
T0 = datetime(2026, 11, 20, 10, 0)


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)
    for agent in ("小美", "阿杰"):
        get_or_create_user(engine, agent, "agent")
    return engine


def reviewed(engine: Engine, ext: str, ok: int = 0, polite: int = 3, who: str = "王质检") -> int:
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == ext))
    version = read(engine, store.list_scorecards)
    vid = int(version["version_id"].iloc[0]) if not version.empty else store.create_scorecard(
        engine, CARD, "陈经理").version_id
    return reviews.save_review(engine, cid, vid, {"ok": Rating(ok), "polite": Rating(polite)}, who, now=T0)


def test_dispute_changed_by_a_manager(db: Engine) -> None:
    rid = reviewed(db, "tm-3")  # ok 0, polite 3 → (0·3 + 50)/4 = 12.5
    assert read(db, reviews.load_review, rid).score == 12.5
    did = disputes.open_dispute(db, rid, "顾客要的就是这个方案", "阿杰", now=T0 + timedelta(days=2))
    with pytest.raises(DisputeError, match="正在申诉中"):
        disputes.acknowledge(db, rid, "阿杰")
    with pytest.raises(DisputeError, match="只能申诉一次"):
        disputes.open_dispute(db, rid, "再申诉", "阿杰")
    with pytest.raises(DisputeError, match="已被申诉"):
        reviews.save_review(db, read(db, reviews.load_review, rid).conversation_id,
                            read(db, reviews.load_review, rid).scorecard.version_id,
                            {"ok": Rating(1), "polite": Rating(5)}, "王质检")
    queue = read(db, disputes.open_disputes)
    assert queue[["review_id", "agent", "reviewer", "reason"]].values.tolist() == [[rid, "阿杰", "王质检",
                                                                                    "顾客要的就是这个方案"]]
    with pytest.raises(AccessDenied, match="没有权限管理质检方案"):  # an agent is no QA manager (qa.access)
        disputes.resolve_dispute(db, did, "阿杰", "我同意自己")
    status = disputes.resolve_dispute(db, did, "陈经理", "方案符合政策，改为通过",
                                      {"ok": Rating(1), "polite": Rating(3)}, now=T0 + timedelta(days=3))
    assert status == disputes.CHANGED
    final = read(db, reviews.load_review, rid)
    assert final.score == pytest.approx((300 + 50) / 4) and final.dispute_status == "已改分"
    assert [s[2] for s in agent_review_scores(db)] == [87.5]  # the final score everywhere
    assert read(db, reviews.conversation_reviews, final.conversation_id)["score"].tolist() == [87.5]
    steps = read(db, disputes.review_timeline, rid)
    assert [(s.what, s.who, s.detail) for s in steps] == [
        ("评审", "王质检", "得分 12.5"), ("申诉", "阿杰", "顾客要的就是这个方案"),
        ("已改分", "陈经理", "12.5 → 87.5：方案符合政策，改为通过")]
    assert [s.when for s in steps] == [T0, T0 + timedelta(days=2), T0 + timedelta(days=3)]
    disputes.acknowledge(db, rid, "阿杰", now=T0 + timedelta(days=4))
    assert read(db, disputes.review_timeline, rid)[-1].what == "确认"
    with pytest.raises(DisputeError, match="已经处理"):
        disputes.resolve_dispute(db, did, "陈经理", "再改")


def test_dispute_upheld(db: Engine) -> None:
    rid = reviewed(db, "tm-1")
    did = disputes.open_dispute(db, rid, "不认可", "小美", now=T0)
    with pytest.raises(DisputeError, match="请填写处理意见"):
        disputes.resolve_dispute(db, did, "陈经理", " ")
    same = {"ok": Rating(0), "polite": Rating(3)}
    assert disputes.resolve_dispute(db, did, "陈经理", "录音显示答错了", same) == disputes.UPHELD
    assert read(db, reviews.load_review, rid).score == 12.5
    assert read(db, disputes.review_timeline, rid)[-1].detail == "维持 12.5：录音显示答错了"


def test_window_and_confirmation(db: Engine) -> None:
    rid = reviewed(db, "tm-1")
    with pytest.raises(DisputeError, match="申诉期已过：须在评审后 7 天内（2026-11-27 10:00 前）提出"):
        disputes.open_dispute(db, rid, "晚了", "小美", now=T0 + timedelta(days=7, minutes=1))
    mine = read(db, disputes.reviews_for, agent="小美", now=T0 + timedelta(days=1))
    assert mine[["review_id", "score", "can_dispute"]].values.tolist() == [[rid, 12.5, True]]
    assert not read(db, disputes.reviews_for, agent="小美", now=T0 + timedelta(days=8))["can_dispute"].iloc[0]
    disputes.acknowledge(db, rid, "小美", now=T0 + timedelta(hours=1))
    disputes.acknowledge(db, rid, "小美", now=T0 + timedelta(hours=5))  # the first confirmation stays
    assert read(db, reviews.load_review, rid).acknowledged_at == T0 + timedelta(hours=1)
    with pytest.raises(DisputeError, match="已确认，不能再申诉"):
        disputes.open_dispute(db, rid, "还是不服", "小美", now=T0 + timedelta(days=1))
    with pytest.raises(DisputeError, match="请写明申诉理由"):
        disputes.open_dispute(db, rid, "", "小美")
    team = read(db, disputes.reviews_for, team="售前", now=T0)
    assert team["agent"].tolist() == ["小美"] and not team["can_dispute"].iloc[0]


def test_calibration_reviews_cannot_be_disputed(db: Engine) -> None:
    rid = reviewed(db, "tm-1")
    vid = read(db, reviews.load_review, rid).scorecard.version_id
    cid = read(db, reviews.load_review, rid).conversation_id
    sid = calibration.create_session(db, "校准", vid, [cid], ["王质检", "李质检"], "陈经理")
    cal = calibration.submit_review(db, sid, cid, {"ok": Rating(1), "polite": Rating(5)}, "李质检")
    with pytest.raises(DisputeError, match="校准评分不计入坐席成绩"):
        disputes.open_dispute(db, cal, "不服", "小美")
    assert read(db, disputes.reviews_for, agent="小美")["review_id"].tolist() == [rid]


def test_dispute_rates_per_reviewer(db: Engine) -> None:
    a = reviewed(db, "tm-1")
    b = reviewed(db, "tm-3")
    reviewed(db, "tm-4", who="李质检")
    disputes.resolve_dispute(db, disputes.open_dispute(db, a, "x", "小美", now=T0), "陈经理", "改",
                             {"ok": Rating(1), "polite": Rating(3)})
    disputes.open_dispute(db, b, "y", "阿杰", now=T0)
    rates = read(db, disputes.dispute_rates).set_index("reviewer")
    assert rates.loc["王质检", ["reviews", "disputed", "changed"]].tolist() == [2, 2, 1]
    assert rates.loc["王质检", "dispute_rate"] == 1.0 and rates.loc["王质检", "change_rate"] == 0.5
    assert rates.loc["李质检", "dispute_rate"] == 0.0 and pd.isna(rates.loc["李质检", "change_rate"])


def test_an_agent_disputes_only_reviews_of_their_own_conversations(db: Engine) -> None:
    from qa.review.users import create_user

    rid = reviewed(db, "tm-3")  # 阿杰's conversation
    create_user(db, SYSTEM, "小美账号", "agent", "demo-agent-pw", agent_name="小美")
    with pytest.raises(AccessDenied, match="只能查看自己接待的会话"):
        disputes.open_dispute(db, rid, "不是我的会话也想申诉", "小美账号", now=T0 + timedelta(days=1))
    with pytest.raises(AccessDenied):
        disputes.open_dispute(db, rid, "管理层不看单条会话", "刘总", now=T0 + timedelta(days=1))


@pytest.mark.parametrize("who", ["王质检", "陈经理", "阿杰"])  # its reviewer, a QA manager, another agent
def test_only_the_reviewed_agent_confirms_or_disputes(db: Engine, who: str) -> None:
    rid = reviewed(db, "tm-1")  # 小美's conversation
    with pytest.raises(AccessDenied):
        disputes.acknowledge(db, rid, who)
    with pytest.raises(AccessDenied):
        disputes.open_dispute(db, rid, "代为申诉", who, now=T0)
    assert read(db, reviews.load_review, rid).acknowledged_at is None
    disputes.open_dispute(db, rid, "我自己申诉", "小美", now=T0)
