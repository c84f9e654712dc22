"""Train every model from the real data in ``shared/data`` and write artifacts + model cards to data/models.

What is trained on what:
- sentiment: online_shopping_10_cats (cleaned) + waimai_10k, all rows (evaluated leave-one-category-out);
- relevance: STC-3 labelled + unlabelled dialogues, true replies vs replies of other dialogues;
- tone: the real tone labels of STC-3 helpdesk replies (data/labels/stc3_tone_labels.csv);
- dissatisfaction: STC-3 labelled dialogues (S annotations);
- category: the (text, category) examples passed in, from the database's labelled conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from scoring.artifacts import DEFAULT_MODELS_DIR, save_artifact
from scoring.cards import write_card
from scoring.datasets import (
    load_stc3,
)
from scoring.errors import ScoringError
from scoring.evaluate import evaluate_category, evaluate_sentiment, evaluate_stc3
from scoring.fitting import (
    SEED,
    Log,
    fit_category,
    fit_sentiment,
    fit_stc3_models,
    load_tone_labels,
)
from scoring.text import Tokenizer, get_tokenizer

__all__ = ["train_all", "train_category", "train_csat_stage"]


def train_all(
    shared_dir: Path, models_dir: Path | None = None, category_examples: list[tuple[str, str]] | None = None,
    log: Log = print,
) -> dict:
    """Train every model, write artifacts and model cards, and return the evaluation figures.

    Without ``category_examples`` no category model is written (keyword rules are used; an existing model is
    left as it is).
    """

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    memo: dict[str, list[str]]
    tokenizer, memo = get_tokenizer(), {}
    today = date.today().isoformat()
    log("[1/4] 情绪模型：训练（online_shopping_10_cats + waimai_10k）…")
    sentiment = fit_sentiment(shared_dir, tokenizer, memo)
    log("      留一品类评估（10 折）与外卖跨域测试…")
    sent_metrics = evaluate_sentiment(shared_dir, tokenizer, memo, log)
    meta, arrays = sentiment.to_state()
    save_artifact(models_dir, "sentiment", {**meta, "metrics": sent_metrics, "trained": today}, arrays)
    write_card(models_dir, "sentiment", sent_metrics, today)

    log("[2/4] STC-3：相关度、语气、不满风险 — 训练…")
    labelled, unlabelled = load_stc3(shared_dir), load_stc3(shared_dir, labeled=False)
    tone_labels = load_tone_labels()
    models = fit_stc3_models(labelled, unlabelled, tone_labels, sentiment, tokenizer, memo)
    log("      按对话 5 折交叉验证（每折重新训练三个模型）…")
    stc3_metrics = evaluate_stc3(shared_dir, sentiment, tokenizer, memo, log)
    for name, model in (("relevance", models.relevance), ("tone", models.tone),
                        ("dissatisfaction", models.dissatisfaction)):
        meta, arrays = model.to_state()
        save_artifact(models_dir, name, {**meta, "metrics": stc3_metrics[name], "trained": today}, arrays)
        write_card(models_dir, name, stc3_metrics[name], today)

    result = {"sentiment": sent_metrics, **stc3_metrics}
    log("[3/4] 分类模型…")
    if category_examples:
        result["category"] = train_category(category_examples, models_dir, tokenizer)
    else:
        log("      没有已标注分类的会话：使用关键词规则。")
    log("[4/4] 完成。模型目录：" + str(models_dir))
    return result


def train_category(examples: Sequence[tuple[str, str]], models_dir: Path | None = None,
                   tokenizer: Tokenizer | None = None) -> dict:
    """Fit the category model on a shop's own labelled conversations, measure it held out, write it and its card.

    Separate from ``train_all`` because it needs only the database, not ../shared, and takes seconds.
    """

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    tokenizer = tokenizer or get_tokenizer()
    today = date.today().isoformat()
    metrics = evaluate_category(examples, tokenizer)
    meta, arrays = fit_category(examples, tokenizer).to_state()
    save_artifact(models_dir, "category", {**meta, "metrics": metrics, "trained": today}, arrays)
    write_card(models_dir, "category", metrics, today)
    return metrics


def train_csat_stage(z: np.ndarray, breach_share: np.ndarray, unanswered: np.ndarray, csat: np.ndarray,
                     models_dir: Path | None = None) -> dict:
    """Fit the responsiveness stage on the archive's CSAT, measure it against the prior on a held-out 30%, save it.

    STC-3 has no timestamps, so how much a slow reply adds to dissatisfaction can only be learned from a shop's
    own rated conversations; the prior weights stay in force until this has been run.
    """
    from sklearn.model_selection import train_test_split

    from scoring.dissatisfaction import (
        RESPONSIVENESS_PRIOR,
        fit_responsiveness_stage,
        stage_probability,
    )
    from scoring.metrics import binary_report

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    y = (np.asarray(csat) <= 2).astype(int)
    if len(y) < 300 or y.sum() < 20 or (1 - y).sum() < 20:
        raise ScoringError(f"带 CSAT 且有时间戳的会话太少（{len(y)} 个，其中不满意 {int(y.sum())} 个）："
                           "至少需要 300 个、两类各 20 个，才能拟合响应阶段；在此之前使用默认权重")
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.3, random_state=SEED, stratify=y)
    fitted = fit_responsiveness_stage(z[tr], breach_share[tr], unanswered[tr], csat[tr], min_rated=0)
    assert fitted is not None  # the stratified split leaves both outcomes (20 or more each) in training
    metrics: dict[str, object] = {"rated": int(len(y)), "dissatisfied_rate": round(float(y.mean()), 4)}
    for name, w in (("prior", RESPONSIVENESS_PRIOR), ("fitted", fitted)):
        p = stage_probability(w, z[te], breach_share[te], unanswered[te])
        metrics[f"held_out_{name}"] = binary_report(y[te], p)
    weights = fit_responsiveness_stage(z, breach_share, unanswered, csat, min_rated=0)
    today = date.today().isoformat()
    save_artifact(models_dir, "csat_stage", {"weights": weights, "metrics": metrics, "trained": today}, {})
    write_card(models_dir, "csat_stage", metrics, today)
    return metrics

