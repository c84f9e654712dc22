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


def _keys(pairs: list) -> set:
    return {(tuple(c), r) for c, r, *_ in pairs}


def test_relevance_evaluated_pairs_are_never_trained_on(shared: Path) -> None:
    """The held-out JD and STC-3 pairs the card reports are neither scorer training pairs (mined next turns
    included) nor combiner calibration pairs; the calibration pairs are not scorer training pairs either."""
    from scoring.relevance_fit import calibration_pairs, jd_test_set, stc_test_set, training_pairs

    general, stc_only = training_pairs(shared)
    trained = _keys(general) | _keys(stc_only)
    calibration = _keys([p for p in calibration_pairs(shared) if p[2] == 1])
    evaluated = _keys(jd_test_set(shared).pairs()) | _keys(stc_test_set(shared).pairs())
    assert len(evaluated) > 3000 and len(calibration) > 1000
    assert not evaluated & trained and not evaluated & calibration and not calibration & trained


def test_sentiment_jd_lines_evaluated_come_from_held_out_blocks_only() -> None:
    import pandas as pd

    from scoring.datasets import LABELS_DIR, jd_held_out

    evaluated = pd.read_csv(LABELS_DIR / "jd_sentiment_labels.csv")["line"]
    trained = pd.read_csv(LABELS_DIR / "jd_sentiment_train_labels.csv")["line"]
    assert all(map(jd_held_out, evaluated)) and not any(map(jd_held_out, trained))


def test_final_tone_model_never_trains_on_the_probe_blocks(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real replies of the probe's JD blocks count in the grouped folds but not in the shipped model."""
    import numpy as np

    from scoring import fitting
    from scoring.datasets import tone_examples, tone_probe_groups

    fitted: list[set[str]] = []

    class Recorder:
        intercept = 0.0

        @classmethod
        def fit(cls, inp: object, y: object) -> Recorder:
            fitted.append(set(inp.texts))  # type: ignore[attr-defined]
            return cls()

        def decision(self, inp: object) -> np.ndarray:
            return np.zeros(len(inp.texts))  # type: ignore[attr-defined]

    monkeypatch.setattr(fitting, "ToneModel", Recorder)
    examples = tone_examples(shared)
    probe_blocks = tone_probe_groups()
    in_probe_blocks = {t for t, g in zip(examples.texts, examples.groups) if g in probe_blocks}
    elsewhere = {t for t, g in zip(examples.texts, examples.groups) if g not in probe_blocks}
    fitting.fit_tone(examples, get_tokenizer())
    assert len(in_probe_blocks - elsewhere) > 10
    assert not fitted[-1] & (in_probe_blocks - elsewhere) and fitted[-1] == elsewhere


def test_shipped_cards_hold_the_figures_huifang_evaluate_wrote() -> None:
    """Each shipped card says it was written by `huifang evaluate` on the date its artifact records, and shows
    exactly the figures of that artifact."""
    import json

    from scoring.evaluate import SHIPPED_CARDS

    for name in SHIPPED_CARDS:
        meta = json.loads((DEFAULT_MODELS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        card = (DEFAULT_MODELS_DIR / f"{name}.md").read_text(encoding="utf-8")
        assert f"written by `huifang evaluate` (scoring.evaluate.evaluate_all) on {meta['evaluated']}" in card
        shown = json.loads(card.split("```json\n", 1)[1].split("\n```", 1)[0])
        assert shown == meta["metrics"], name


def test_train_only_refuses_an_unknown_model_before_training(tmp_path: Path) -> None:
    from scoring.errors import ScoringError
    from scoring.train import train_all

    with pytest.raises(ScoringError, match="未知模型：bogus"):
        train_all(tmp_path, tmp_path, only=["tone", "bogus"], log=lambda _: None)
    assert not list(tmp_path.iterdir())


def test_people_labelled_chat_utterances_come_from_the_held_out_split_and_are_measured_there(
        shared: Path, tmp_path: Path) -> None:
    """The shipped labels are all of the chat hash bucket the evaluation refits without; a labelled line outside
    the texts held out is left out of the figure, and neutral lines only out of negative-vs-positive."""
    import pandas as pd

    from scoring.datasets import LABELS_DIR, chat_text_key, load_chat_sentiment
    from scoring.evaluate import _people_on_chat
    from scoring.relevance_fit import md5_bucket

    shipped = LABELS_DIR / "chat_utterance_labels.csv"
    if shipped.exists():
        keys = pd.read_csv(shipped)["key"]
        assert len(keys) == keys.nunique() and all(int(k, 16) % 5 == 0 for k in keys)
    texts = [t for t in load_chat_sentiment(shared)["text"] if md5_bucket(t, 5) == 0]
    picked = texts[:7]
    sentiments = ["negative", "negative", "positive", "positive", "neutral", "negative", "positive"]
    pd.DataFrame({"key": [chat_text_key(t) for t in picked], "sentiment_a": sentiments,
                  "sentiment_b": [*sentiments[:-1], "negative"], "sentiment": sentiments}).to_csv(
        tmp_path / "chat_utterance_labels.csv", index=False)
    model = SentimentModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "sentiment"))
    r = _people_on_chat(shared, tmp_path, model, set(picked[:6]), get_tokenizer(), None)
    assert r is not None and r["negative_vs_rest"]["n"] == 6 and r["negative_vs_positive"]["n"] == 5
    assert r["shares"] == {"negative": 0.5, "neutral": round(1 / 6, 4), "positive": round(2 / 6, 4)}
    assert -1 <= r["kappa"] < 1 and 0 <= r["automatic_labels_agree"] <= 1
    assert _people_on_chat(shared, tmp_path, model, set(picked[2:4]), get_tokenizer(), None) is None  # one class
