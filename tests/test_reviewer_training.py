"""`huifang train --from-db` retrains tone and sentiment with reviewers' labels and keeps a model only if it wins."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from sqlalchemy import select

from qa.access import SYSTEM
from qa.ingest.importer import import_stream
from qa.jobs.training import learn_from_reviewers, reviewer_labels
from qa.models import Message, ModelLabel
from qa.review.annotations import add_message_note
from qa.review.users import get_or_create_user
from scoring.artifacts import DEFAULT_MODELS_DIR
from scoring.pipeline import Scorer
from scoring.reviewed import MIN_HELD_OUT, ReviewerLabels, learn_relevance, promotion, too_few
from scoring.train import save_adapted

# A shop whose reviewers hold that a bare "直接拍" is curt, and that asking for photos before acting is fine: the
# shipped tone model (trained on other shops) scores the first low and the second near its flag line.
CURT = ["拍下就行", "直接拍", "直接拍就好了", "拍了再说", "自己拍吧", "拍就是了"]
FINE = ["这个需要您提供照片我们才能处理哦", "麻烦您提供一下开箱视频，我们才能处理呢", "需要您提供订单号和照片，我们马上处理",
        "请您拍一下破损的照片发给我们，收到后立刻处理"]
DECORATION = ["", "亲，", "亲亲 "], ["", "。", "～"]


def _archive(engine, n: int = 90) -> list[int]:
    """``n`` conversations of one customer line and one reply, alternately curt and fine; the agent message ids."""
    lines = []
    for i in range(n):
        core = CURT[i % len(CURT)] if i % 2 else FINE[i % len(FINE)]
        reply = DECORATION[0][i % 3] + core + DECORATION[1][(i // 3) % 3]
        lines.append(json.dumps({"conversation_id": f"r{i}", "platform": "京东", "messages": [
            {"role": "customer", "text": "东西坏了怎么办", "ts": f"2026-11-11T10:{i % 60:02d}:00"},
            {"role": "agent", "agent": "小安", "text": reply, "ts": f"2026-11-11T10:{i % 60:02d}:30"}]},
            ensure_ascii=False))
    import_stream(engine, "reviewed.jsonl", io.BytesIO("\n".join(lines).encode()), by=SYSTEM)
    with engine.connect() as conn:
        return list(conn.scalars(select(Message.id).where(Message.role == "agent").order_by(Message.id)))


@pytest.mark.parametrize("reviewers, shared, promoted", [
    ({"shipped": 0.60, "candidate": 0.80}, {"shipped": 0.99, "candidate": 0.988}, True),
    ({"shipped": 0.60, "candidate": 0.603}, {"shipped": 0.99, "candidate": 0.99}, False),  # no real gain
    ({"shipped": 0.60, "candidate": 0.80}, {"shipped": 0.99, "candidate": 0.97}, False),  # worse where it was good
])
def test_a_candidate_must_win_on_the_reviewers_labels_and_not_lose_on_the_shared_set(reviewers, shared, promoted):
    assert promotion(shared, reviewers)[0] is promoted


def test_too_few_held_out_labels_of_either_kind_decide_nothing():
    groups = list(range(200))
    held = ReviewerLabels([""] * 200, [""] * 200, np.zeros(200, dtype=int), groups).held_out()
    y = np.zeros(200, dtype=int)
    y[np.flatnonzero(held)[:MIN_HELD_OUT - 1]] = 1
    few = too_few(ReviewerLabels([""] * 200, [""] * 200, y, groups))
    assert few is not None and not few["in_use"] and "太少" in few["reason"]
    y[np.flatnonzero(held)[:MIN_HELD_OUT]] = 1
    assert too_few(ReviewerLabels([""] * 200, [""] * 200, y, groups)) is None


@pytest.mark.real_data
def test_reviewers_teach_the_tone_model_and_the_card_records_both_figures(sqlite_engine, shared_dir, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, models, ignore=shutil.ignore_patterns("*_local.*", "category.*", "csat_stage.*"))
    agent_messages = _archive(sqlite_engine)
    rid = get_or_create_user(sqlite_engine, "王质检")
    with sqlite_engine.connect() as conn:
        conversation_of = dict(conn.execute(select(Message.id, Message.conversation_id)).all())
    for i, mid in enumerate(agent_messages):
        add_message_note(sqlite_engine, conversation_of[mid], mid, rid, "", ["语气生硬" if i % 2 else "优秀话术"])
    labels = reviewer_labels(sqlite_engine, "tone_risk")
    assert len(labels.y) == 90 and labels.y.sum() == 45

    said: list[str] = []
    figures = learn_from_reviewers(sqlite_engine, shared_dir, models, said.append)

    tone = figures["tone"]
    assert tone["in_use"], tone["reason"]
    assert tone["reviewers_held_out"]["candidate"] > tone["reviewers_held_out"]["shipped"] + 0.005
    assert tone["shared_held_out"]["candidate"] >= tone["shared_held_out"]["shipped"] - 0.005
    card = (models / "tone_local.md").read_text(encoding="utf-8")
    assert '"reviewers_held_out"' in card and '"shared_held_out"' in card
    assert (models / "tone_local.npz").exists() and "sentiment" not in figures  # no sentiment labels yet
    assert any("sentiment：还没有复核标注" in line for line in said)
    scorer = Scorer.load(models)
    shipped = Scorer.load(DEFAULT_MODELS_DIR)
    assert scorer.version != shipped.version
    assert [type(m).__name__ for m in scorer.models] == [type(m).__name__ for m in shipped.models]

    # Later, the labels are found too few to judge (reviewers removed most): the promoted model is withdrawn.
    with sqlite_engine.begin() as conn:
        conn.execute(ModelLabel.__table__.delete().where(ModelLabel.message_id.in_(agent_messages[10:])))
    figures = learn_from_reviewers(sqlite_engine, shared_dir, models, said.append)
    assert not figures["tone"]["in_use"] and not (models / "tone_local.npz").exists()
    assert Scorer.load(models).version == shipped.version


# Written for this test: customer questions, each with the answer a shop gave (relevant) — an answer to another of
# the questions is off-topic (答非所问).
QA = [("退货的运费谁出", "质量问题退货的运费由我们承担"), ("发票怎么开", "发票可以在订单详情里申请电子发票"),
      ("什么时候发货", "付款后四十八小时内发货"), ("尺码偏大还是偏小", "这款尺码偏小，建议您选大一号"),
      ("退款多久到账", "退款原路返回，一般三到五个工作日到账"), ("买了送什么赠品", "购买这款即赠送手机支架一个"),
      ("可以改收货地址吗", "还没发货的订单可以修改收货地址"), ("充电器坏了怎么办", "充电器一年内免费换新，请寄回售后")]


@pytest.mark.real_data
def test_reviewers_relevance_labels_retrain_relevance_and_the_card_records_both_figures(sqlite_engine, shared_dir,
                                                                                        tmp_path):
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, models, ignore=shutil.ignore_patterns("*_local.*", "category.*", "csat_stage.*"))
    lines = []
    for i in range(90):
        question, answer = QA[i % len(QA)]
        reply = QA[(i + 3) % len(QA)][1] if i % 2 else answer
        lines.append(json.dumps({"conversation_id": f"q{i}", "platform": "京东", "messages": [
            {"role": "customer", "text": question, "ts": f"2026-11-11T10:{i % 60:02d}:00"},
            {"role": "agent", "agent": "小安", "text": reply, "ts": f"2026-11-11T10:{i % 60:02d}:30"}]},
            ensure_ascii=False))
    import_stream(sqlite_engine, "relevance.jsonl", io.BytesIO("\n".join(lines).encode()), by=SYSTEM)
    rid = get_or_create_user(sqlite_engine, "王质检")
    with sqlite_engine.connect() as conn:
        agent = conn.execute(select(Message.id, Message.conversation_id).where(Message.role == "agent")
                             .order_by(Message.id)).all()
    for i, (mid, cid) in enumerate(agent):
        add_message_note(sqlite_engine, cid, mid, rid, "", ["答非所问" if i % 2 else "优秀话术"])
    labels = reviewer_labels(sqlite_engine, "relevance")
    assert len(labels.y) == 90 and labels.y.sum() == 45

    said: list[str] = []
    figures = learn_from_reviewers(sqlite_engine, shared_dir, models, said.append)

    relevance = figures["relevance"]
    # A 答非所问 label says the flag (low relevance) belongs: the shipped model already ranks those replies lower.
    assert relevance["reviewers_held_out"]["shipped"] > 0.5
    shared, reviewers = relevance["shared_held_out"], relevance["reviewers_held_out"]
    assert relevance["in_use"] == (reviewers["candidate"] >= reviewers["shipped"] + 0.005
                                   and shared["candidate"] >= shared["shipped"] - 0.005)
    assert (models / "relevance_local.npz").exists() == relevance["in_use"]
    card = (models / "relevance_local.md").read_text(encoding="utf-8")
    assert '"reviewers_held_out"' in card and '"shared_held_out"' in card
    assert any(line.startswith("relevance：90 条复核标注") for line in said)
    assert "tone" not in figures or not figures["tone"]["in_use"]  # 优秀话术 alone says no tone flag was right


def test_too_few_relevance_labels_leave_the_archive_adapted_relevance_in_use(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, models, ignore=shutil.ignore_patterns("*_local.*", "category.*", "csat_stage.*"))
    for ext in ("json", "npz"):  # as if `huifang train --from-db` had just promoted an adapted model
        shutil.copy(models / f"relevance.{ext}", models / f"relevance_local.{ext}")
    labels = ReviewerLabels(["你自己去查物流"] * 4, ["买了送什么"] * 4, np.array([1, 1, 0, 0]), [1, 2, 3, 4])
    model, figures = learn_relevance(tmp_path / "no-shared", models, labels)
    save_adapted(models, "relevance_local", model, figures)
    assert figures["in_use"] and "本店档案训练的模型" in figures["reason"] and "太少" in figures["reason"]
    assert (models / "relevance_local.npz").exists()
