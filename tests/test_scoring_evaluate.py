"""Training and evaluation code on a small real subsample of ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact
from scoring.evaluate import (
    evaluate_category,
    evaluate_dissatisfaction,
    evaluate_sentiment,
    format_report,
)
from scoring.relevance import RelevanceModel
from scoring.sentiment import SentimentModel
from scoring.text import get_tokenizer
from scoring.tone import ToneModel

SHARED = Path(__file__).resolve().parents[2] / "shared"

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "data" / "reviews").exists():
        pytest.skip("../shared/data is absent (fresh clone): real-data evaluation needs it")
    return SHARED


def test_sentiment_leave_one_domain_out_on_subsample(shared: Path) -> None:
    r, model = evaluate_sentiment(shared, domains=["平板"], max_rows=6000)
    assert set(r["loco_per_domain"]) == {"平板"} and 0.7 < r["loco_review_domains_mean_auc"] <= 1
    assert r["chat_held_out"]["roc_auc"] > 0.7 and 0 <= r["loco_per_domain"]["平板"]["ece"] <= 1
    assert set(r["plain_and_complaint_lines"]) >= {"在吗", "骗子"} and model.coef.size


def test_dissatisfaction_cross_validates_on_subsample(shared: Path) -> None:
    tok = get_tokenizer()
    sentiment = SentimentModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "sentiment"))
    tone = ToneModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "tone"))
    relevance = RelevanceModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "relevance"))
    r = evaluate_dissatisfaction(shared, sentiment, relevance, tone, tok, n_splits=2, max_dialogues=600)
    assert r["cv_pooled"]["n"] == 600 and r["cv_pooled"]["roc_auc"] > 0.7
    assert "不满风险" in format_report({"dissatisfaction": r})


def test_category_cross_validation_on_labelled_examples() -> None:
    examples = [(f"我要退货退款{i}", "退货") for i in range(10)] + [(f"发票税号怎么填{i}", "发票") for i in range(10)]
    r = evaluate_category(examples)
    assert r["folds"] == 5 and r["accuracy"] == 1.0
