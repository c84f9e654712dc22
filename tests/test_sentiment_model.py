"""Customer sentiment: plain questions and greetings are not negative, complaints are, the reasons shown are
words that carry the complaint (never product nouns), and the issue's aims hold on real held-out data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact
from scoring.evaluate import evaluate_sentiment
from scoring.sentiment import SENTIMENT_PARAMS, SentimentModel, is_plain_question
from scoring.text import get_tokenizer

SHARED = Path(__file__).resolve().parents[2] / "shared"

# Written for this test; none is a line of the training corpora.
PLAIN = ["在吗", "亲在吗", "买了送什么", "这个有货吗", "什么时候发货", "你好", "发票怎么开", "好的谢谢",
         "请问这个尺码偏大吗", "能开专票吗"]
COMPLAINTS = ["太慢了", "不行", "骗子", "质量太差了，要退货", "怎么还没到，都一个星期了", "客服态度太差",
              "再不处理我就投诉了", "怎么还没发货？？", "你们是不是骗子?", "垃圾东西，再也不买了"]


@pytest.fixture(scope="module")
def sentiment() -> SentimentModel:
    return SentimentModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "sentiment"))


def _scores(model: SentimentModel, texts: list[str]) -> tuple[list[float], list[list[str]]]:
    p, why = model.predict_explain(texts, get_tokenizer().tokenize_many(texts))
    return [float(x) for x in p], why


def test_plain_questions_and_greetings_are_not_flagged(sentiment: SentimentModel) -> None:
    p, _why = _scores(sentiment, PLAIN)
    assert max(p) < 0.5, dict(zip(PLAIN, p))


def test_complaints_are_flagged_with_the_words_that_carry_them(sentiment: SentimentModel) -> None:
    p, why = _scores(sentiment, COMPLAINTS)
    assert min(p) > 0.7, dict(zip(COMPLAINTS, p))
    assert all(why), dict(zip(COMPLAINTS, why))


def test_product_nouns_are_never_the_reason(sentiment: SentimentModel) -> None:
    texts = ["我的手机支架呢？？", "这个手机壳质量太差了", "衣服尺码根本不对，退货", "快递盒子都破了"]
    _p, why = _scores(sentiment, texts)
    shown = {w for reasons in why for w in reasons}
    assert not shown & {"手机", "支架", "手机壳", "衣服", "尺码", "盒子", "快递盒"}


@pytest.mark.parametrize("text, plain", [("在吗", True), ("这个有货吗", True), ("怎么还没发货？？", False),
                                         ("到底什么时候发货啊", False), ("人呢", False), ("?", False)])
def test_what_counts_as_a_plain_question(text: str, plain: bool) -> None:
    assert is_plain_question(text) is plain


@pytest.mark.real_data
def test_aims_on_a_held_out_review_domain_and_held_out_chat() -> None:
    if not (SHARED / "data" / "reviews").exists():
        pytest.skip("../shared/data is absent (fresh clone): the sentiment aims are measured on it")
    figures, _model = evaluate_sentiment(SHARED, domains=["酒店"])
    assert figures["loco_per_domain"]["酒店"]["roc_auc"] >= 0.92
    assert figures["chat_held_out"]["roc_auc"] >= 0.95


def test_a_model_scores_with_its_own_hashing_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """An artifact written at another width (a shop's sentiment_local from an older release) still scores: its
    texts are hashed into its own columns, not the width today's training uses."""
    texts = ["太慢了", "不行", "骗子", "好的谢谢", "在吗", "很满意"]
    tokens = get_tokenizer().tokenize_many(texts)
    monkeypatch.setitem(SENTIMENT_PARAMS, "dim", 2**10)
    small = SentimentModel.fit(texts, tokens, np.array([1, 1, 1, 0, 0, 0]), explained=False)
    monkeypatch.setitem(SENTIMENT_PARAMS, "dim", 2**12)
    again = SentimentModel.from_state(*small.to_state())
    assert again.chars.dim == 2**10
    assert np.allclose(again.decision(texts, tokens), small.decision(texts, tokens), atol=0.01)  # IDF kept as float16
