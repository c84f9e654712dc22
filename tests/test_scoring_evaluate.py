"""Training and evaluation code on a small real subsample of ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.evaluate import (
    evaluate_category,
    evaluate_sentiment,
    evaluate_stc3,
    format_report,
)
from scoring.sentiment import SentimentModel
from scoring.text import get_tokenizer

SHARED = Path(__file__).resolve().parents[2] / "shared"

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "data" / "reviews").exists():
        pytest.skip("../shared/data is absent (fresh clone): real-data evaluation needs it")
    return SHARED


def test_sentiment_leave_one_category_out_on_subsample(shared: Path) -> None:
    r = evaluate_sentiment(shared, categories=["平板"], max_rows=4000)
    assert set(r["loco_per_category"]) == {"平板"}
    assert 0.7 < r["loco_mean_auc"] <= 1 and 0.6 < r["waimai_out_of_domain"]["roc_auc"] <= 1
    assert 0 <= r["loco_pooled"]["ece"] <= 1


def test_stc3_models_train_and_cross_validate_on_subsample(shared: Path) -> None:
    from scoring.datasets import load_reviews

    tok = get_tokenizer()
    reviews = load_reviews(shared).sample(3000, random_state=0)
    sentiment = SentimentModel.fit(tok.tokenize_many(reviews["review"].tolist()), 1 - reviews["label"].to_numpy())
    r = evaluate_stc3(shared, sentiment, tok, n_splits=2, max_dialogues=600)
    assert r["dissatisfaction"]["cv_pooled"]["n"] == 600
    assert r["dissatisfaction"]["cv_pooled"]["roc_auc"] > 0.7
    assert r["relevance"]["held_out_pairs"]["roc_auc"] > 0.6
    assert r["tone"]["labels"] > 0
    assert "不满风险" in format_report(r)


def test_category_cross_validation_on_labelled_examples() -> None:
    examples = [(f"我要退货退款{i}", "退货") for i in range(10)] + [(f"发票税号怎么填{i}", "发票") for i in range(10)]
    r = evaluate_category(examples)
    assert r["folds"] == 5 and r["accuracy"] == 1.0
