"""Train every model from the real data in ``shared/data`` and write artifacts + model cards to data/models.

What is trained on what:
- sentiment: shopping and food-delivery reviews, chat utterances and plain JD questions (leave-one-domain-out);
- relevance: real JD chats (held-out blocks kept out) + STC-3 dialogues, true next replies vs replies of others;
- tone: real replies labelled twice and adjudicated (data/labels: JD and STC-3) + bad/good pairs written into
  real JD contexts, calibrated on its out-of-fold scores, checked on the held-out probe set;
- dissatisfaction: STC-3 labelled dialogues (S annotations);
- category: the (text, category) examples passed in, from the database's labelled conversations.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact, save_artifact
from scoring.cards import write_card
from scoring.datasets import (
    load_stc3,
)
from scoring.errors import ScoringError
from scoring.evaluate import evaluate_category, evaluate_dissatisfaction, evaluate_sentiment, evaluate_tone
from scoring.fitting import (
    SEED,
    Log,
    fit_category,
    fit_dissatisfaction,
)
from scoring.relevance import RelevanceModel
from scoring.relevance_fit import PairSet, RelevanceParams, adapt_relevance, evaluate_relevance, fit_relevance
from scoring.sentiment import SentimentModel
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import ToneModel

__all__ = ["TRAINED", "train_all", "train_category", "train_csat_stage", "adapt_relevance_model", "save_adapted"]


TRAINED = ("sentiment", "tone", "relevance", "dissatisfaction")


def train_all(
    shared_dir: Path, models_dir: Path | None = None, category_examples: list[tuple[str, str]] | None = None,
    log: Log = print, only: Collection[str] | None = None,
) -> dict:
    """Train every model (or those named in ``only``, reading the others from ``models_dir``), write artifacts and
    model cards, and return the evaluation figures.

    Without ``category_examples`` no category model is written (keyword rules are used; an existing model is
    left as it is). The dissatisfaction model reads the other three, so retrain it after any of them.
    """

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    chosen = set(TRAINED if only is None else only)
    if unknown := chosen - set(TRAINED):
        raise ScoringError(f"未知模型：{'、'.join(sorted(unknown))}（可选：{'、'.join(TRAINED)}）")
    memo: dict[str, list[str]]
    tokenizer, memo = get_tokenizer(), {}
    today = date.today().isoformat()
    result: dict = {}
    if "sentiment" in chosen:
        log("[1/5] 情绪模型：训练（购物评论、外卖评论、聊天语句、京东顾客的普通提问）…")
        log("      留一领域评估（10 个购物品类、外卖、聊天），聊天留出，真实京东顾客消息…")
        result["sentiment"], sentiment = evaluate_sentiment(shared_dir, tokenizer, memo, log)
        _save(models_dir, "sentiment", sentiment, result["sentiment"], today)
    else:
        sentiment = SentimentModel.from_state(*load_artifact(models_dir, "sentiment"))

    if "tone" in chosen:
        log("[2/5] 语气模型：真实标注回复 + 写作样本，分组 5 折交叉验证、校准，探针集检验…")
        result["tone"], tone = evaluate_tone(shared_dir, tokenizer, memo)
        _save(models_dir, "tone", tone, result["tone"], today)
    else:
        tone = ToneModel.from_state(*load_artifact(models_dir, "tone"))

    if "relevance" in chosen:
        log("[3/5] 相关度模型：京东对话 + STC-3，训练（数分钟）并在留出的对话上评估…")
        relevance = fit_relevance(shared_dir, log)
        result["relevance"] = evaluate_relevance(relevance, shared_dir)
        _save(models_dir, "relevance", relevance, result["relevance"], today)
    else:
        relevance = RelevanceModel.from_state(*load_artifact(models_dir, "relevance"))

    if "dissatisfaction" in chosen:
        log("      不满风险：STC-3 标注对话，按对话 5 折交叉验证（每折重新训练）…")
        dissat = fit_dissatisfaction(load_stc3(shared_dir), [sentiment, relevance, tone], tokenizer, memo)
        result["dissatisfaction"] = evaluate_dissatisfaction(shared_dir, sentiment, relevance, tone, tokenizer, memo,
                                                             log)
        _save(models_dir, "dissatisfaction", dissat, result["dissatisfaction"], today)

    log("[4/5] 分类模型…")
    if category_examples:
        result["category"] = train_category(category_examples, models_dir, tokenizer)
    else:
        log("      没有已标注分类的会话：使用关键词规则。")
    log("[5/5] 完成。模型目录：" + str(models_dir))
    return result


def _save(models_dir: Path, name: str, model: Any, metrics: dict, today: str) -> None:
    """Write a model's artifact (with its figures) and its card."""
    meta, arrays = model.to_state()
    save_artifact(models_dir, name, {**meta, "metrics": metrics, "trained": today}, arrays)
    write_card(models_dir, name, metrics, today)


def adapt_relevance_model(archive: PairSet, models_dir: Path | None = None, log: Log = print,
                          params: RelevanceParams = RelevanceParams(epochs_stc=6)) -> dict:
    """Learn relevance from a shop's own reply pairs; write ``relevance_local`` (used instead of the shipped model)
    only when it does better on held-out conversations, remove a stale one otherwise, and write its card.

    Both scorers learn from the same archive pairs, so the second needs no more epochs than the first (the
    shipped recipe gives its STC-3 scorer 20 on a small set): ~40 s on the 50,000 replies of the demo archive.
    """
    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    shipped = RelevanceModel.from_state(*load_artifact(models_dir, "relevance"))
    model, figures = adapt_relevance(shipped, archive, log, params)
    save_adapted(models_dir, "relevance_local", model, figures)
    return figures


def save_adapted(models_dir: Path, name: str, model: Any | None, figures: dict) -> None:
    """Write an archive-adapted model with its figures and card when it is to be used (``model`` and
    ``figures["in_use"]``); otherwise only the figures and card, removing arrays an earlier run promoted (the
    scorer uses an adapted model only where its arrays are)."""
    today = date.today().isoformat()
    if model is not None and figures.get("in_use", True):
        _save(models_dir, name, model, figures, today)
        return
    (models_dir / f"{name}.npz").unlink(missing_ok=True)
    (models_dir / f"{name}.json").write_text(
        json.dumps({"metrics": figures, "trained": today}, ensure_ascii=False), encoding="utf-8")
    write_card(models_dir, name, figures, today)


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

