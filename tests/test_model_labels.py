"""Reviewers' notes, reviews and 确认/误报 presses become labels for the models, and stay in step with edits."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from qa.models import Conversation, Message, ModelLabel
from qa.review.annotations import (
    Review,
    add_message_note,
    delete_annotation,
    save_review,
    update_message_note,
)
from qa.review.labels import LabelError, label_summary, labelled_messages, my_feedback, record_feedback
from qa.review.users import get_or_create_user
from tests.seed import seed_small


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def _conv(engine: Engine, external_id: str) -> tuple[int, list[int]]:
    """A seeded conversation's id and its message ids in order (customer, agent, customer, agent)."""
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == external_id))
        return cid, list(conn.scalars(select(Message.id).where(Message.conversation_id == cid).order_by(Message.seq)))


def _labels(engine: Engine) -> set[tuple[int, int, str, bool, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ModelLabel.reviewer_id, ModelLabel.message_id, ModelLabel.field,
                                   ModelLabel.flagged, ModelLabel.source)).all()
    return {tuple(r) for r in rows}


def test_tags_label_the_model_they_name_and_follow_edits(seeded):
    cid, (c1, a1, _c2, a2) = _conv(seeded, "tm-1")  # tone 0.05: nothing flagged
    rid = get_or_create_user(seeded, "王质检")
    note = add_message_note(seeded, cid, a1, rid, "口气很冲", ["语气生硬", "超时"])
    assert _labels(seeded) == {(rid, a1, "tone_risk", True, "tag")}  # 超时 says nothing about a model
    add_message_note(seeded, cid, a2, rid, "", ["优秀话术"])
    add_message_note(seeded, cid, c1, rid, "", ["答非所问"])  # a customer line: not the relevance model's business
    assert _labels(seeded) == {(rid, a1, "tone_risk", True, "tag"), (rid, a2, "tone_risk", False, "tag"),
                               (rid, a2, "relevance", False, "tag")}
    update_message_note(seeded, note, rid, "其实还行", [])
    delete_annotation(seeded, note + 1, rid)
    assert _labels(seeded) == set()


def test_a_fine_manner_score_contradicts_the_tone_flags_the_reviewer_left_untagged(seeded):
    cid, (_c1, a1, _c2, a2) = _conv(seeded, "tm-3")  # tone 0.70 on both replies: flagged
    rid = get_or_create_user(seeded, "王质检")
    add_message_note(seeded, cid, a1, rid, "", ["推诿"])
    save_review(seeded, cid, rid, Review({"态度礼貌": 4}, "需改进"), base_version=0)
    assert _labels(seeded) == {(rid, a1, "tone_risk", True, "tag"), (rid, a2, "tone_risk", False, "rubric")}
    save_review(seeded, cid, rid, Review({"态度礼貌": 2}, "不合格"), base_version=1)  # a poor manner score names no message
    assert _labels(seeded) == {(rid, a1, "tone_risk", True, "tag")}


def test_feedback_confirms_or_contradicts_and_wins_over_derived_labels(seeded):
    cid, (c1, a1, _c2, a2) = _conv(seeded, "tm-4")  # tone 0.85 flagged; customer sentiment 0.90 flagged
    rid, other = get_or_create_user(seeded, "王质检"), get_or_create_user(seeded, "李质检")
    record_feedback(seeded, a1, rid, "tone_risk", agrees=False)
    record_feedback(seeded, c1, rid, "sentiment_neg", agrees=True)
    save_review(seeded, cid, rid, Review({"态度礼貌": 5}, "合格"), base_version=0)
    assert _labels(seeded) == {(rid, a1, "tone_risk", False, "feedback"), (rid, c1, "sentiment_neg", True, "feedback"),
                               (rid, a2, "tone_risk", False, "rubric")}
    record_feedback(seeded, a1, rid, "tone_risk", agrees=True)  # changing one's mind replaces the label
    record_feedback(seeded, a1, other, "tone_risk", agrees=True)
    with seeded.connect() as conn:
        assert my_feedback(conn, cid, rid) == {(a1, "tone_risk"): True, (c1, "sentiment_neg"): True}
        summary = label_summary(conn).set_index(["模型", "来源"])
        tone = labelled_messages(conn, "tone_risk").set_index("message_id")
    assert summary.loc[("语气风险", "确认/误报"), ["标注", "确认", "纠正"]].tolist() == [2, 2, 0]
    assert summary.loc[("语气风险", "态度礼貌评分"), ["标注", "纠正"]].tolist() == [1, 1]
    assert tone.loc[a1, "flagged"] == 1 and tone.loc[a2, "flagged"] == 0
    assert tone.loc[a1, "context"] == "你好，在吗？我想问一下订单"


def test_reviewers_split_evenly_leave_a_message_undecided(seeded):
    cid, (_c1, a1, _c2, _a2) = _conv(seeded, "tm-4")
    record_feedback(seeded, a1, get_or_create_user(seeded, "王质检"), "tone_risk", agrees=True)
    record_feedback(seeded, a1, get_or_create_user(seeded, "李质检"), "tone_risk", agrees=False)
    with seeded.connect() as conn:
        assert labelled_messages(conn, "tone_risk").empty


@pytest.mark.parametrize("field, position, message", [
    ("tone_risk", 0, "没有语气风险评分"), ("sentiment_neg", 1, "没有顾客负面情绪评分"), ("no_such", 1, "未知的模型分数")])
def test_feedback_on_a_message_the_model_does_not_score_is_refused(seeded, field, position, message):
    _cid, messages = _conv(seeded, "tm-4")
    with pytest.raises(LabelError, match=message):
        record_feedback(seeded, messages[position], get_or_create_user(seeded, "王质检"), field, agrees=True)
