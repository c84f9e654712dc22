"""Reproducible evaluation of every model on real held-out data; the figures written into the model cards.

- sentiment: leave-one-category-out over the 10 online-shopping categories (trained on the other 9), and the
  waimai corpus as an out-of-domain short-text test (trained on all 10 categories);
- relevance, tone, dissatisfaction: 5-fold cross-validation split by DIALOGUE over STC-3 (labelled and unlabelled
  dialogues together, stratified by the dissatisfaction label); in each fold all three models are refitted on
  the training dialogues only and the held-out dialogues are scored through ``Scorer.score``;
- category: 5-fold stratified cross-validation on the labelled examples passed in.
All splits are seeded (``scoring.train.SEED``), so re-running reproduces the card figures exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from scoring.artifacts import DEFAULT_MODELS_DIR
from scoring.datasets import Dialogue, load_reviews, load_stc3, load_waimai
from scoring.fitting import (
    SEED,
    Log,
    convs_with_turn_index,
    fit_category,
    fit_sentiment,
    fit_stc3_models,
    load_tone_labels,
    relevance_pairs,
)
from scoring.metrics import binary_report
from scoring.pipeline import Scorer
from scoring.relevance import make_pairs
from scoring.sentiment import SentimentModel
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import lexicon_risk

__all__ = ["evaluate_sentiment", "evaluate_stc3", "evaluate_category", "evaluate_all", "format_report"]



def _quiet(_: str) -> None:
    """Default logger for library calls: say nothing."""


def evaluate_sentiment(
    shared_dir: Path, tokenizer: Tokenizer | None = None, memo: dict | None = None, log: Log = _quiet,
    categories: Sequence[str] | None = None, max_rows: int | None = None,
) -> dict:
    """Leave-one-category-out AUC/F1/calibration and the waimai out-of-domain test.

    ``categories`` and ``max_rows`` restrict the run (for tests on a small real subsample).
    """
    tokenizer = tokenizer or get_tokenizer()
    memo = {} if memo is None else memo
    reviews, waimai = load_reviews(shared_dir), load_waimai(shared_dir)
    if max_rows:
        reviews = reviews.sample(n=min(max_rows, len(reviews)), random_state=0).reset_index(drop=True)
        waimai = waimai.sample(n=min(max_rows // 4, len(waimai)), random_state=0).reset_index(drop=True)
    toks = tokenizer.tokenize_many(reviews["review"].tolist(), memo)
    y = 1 - reviews["label"].to_numpy()
    cats = reviews["cat"].to_numpy()
    per_cat, pooled_y, pooled_p = {}, [], []
    for cat in categories or sorted(set(cats)):
        test = cats == cat
        model = SentimentModel.fit([toks[i] for i in np.flatnonzero(~test)], y[~test])
        p = model.predict([toks[i] for i in np.flatnonzero(test)])
        per_cat[cat] = binary_report(y[test], p)
        pooled_y.append(y[test])
        pooled_p.append(p)
        log(f"      留出 {cat}: AUC {per_cat[cat]['roc_auc']:.4f}")
    model = SentimentModel.fit(toks, y)
    p_w = model.predict(tokenizer.tokenize_many(waimai["review"].tolist(), memo))
    waimai_report = binary_report(1 - waimai["label"].to_numpy(), p_w)
    log(f"      外卖跨域: AUC {waimai_report['roc_auc']:.4f}")
    aucs = [r["roc_auc"] for r in per_cat.values()]
    return {
        "loco_mean_auc": round(float(np.mean(aucs)), 4),
        "loco_min_auc": round(float(np.min(aucs)), 4),
        "loco_pooled": binary_report(np.concatenate(pooled_y), np.concatenate(pooled_p)),
        "loco_per_category": per_cat,
        "waimai_out_of_domain": waimai_report,
    }


def _fold_labels(labelled: Sequence[Dialogue], unlabelled: Sequence[Dialogue]) -> np.ndarray:
    return np.array([int(cast(bool, d.dissatisfied)) for d in labelled] + [2] * len(unlabelled))  # labelled: not None


def evaluate_stc3(
    shared_dir: Path, sentiment: SentimentModel, tokenizer: Tokenizer | None = None, memo: dict | None = None,
    log: Log = _quiet, n_splits: int = 5, max_dialogues: int | None = None,
) -> dict:
    """Dialogue-grouped cross-validation of relevance, tone and dissatisfaction (models refitted per fold)."""

    tokenizer = tokenizer or get_tokenizer()
    memo = {} if memo is None else memo
    labelled, unlabelled = load_stc3(shared_dir), load_stc3(shared_dir, labeled=False)
    if max_dialogues:
        labelled, unlabelled = labelled[:max_dialogues], unlabelled[: max_dialogues // 6]
    every = labelled + unlabelled
    y_fold = _fold_labels(labelled, unlabelled)
    tone_labels = load_tone_labels()
    tone_key = {(str(a), int(b)): int(bad) for a, b, bad in
                tone_labels[["dialogue_id", "turn_index", "bad"]].itertuples(index=False)}
    rel_y, rel_p, dis_y, dis_p, fold_auc = [], [], [], [], []
    tone_y, tone_p, tone_lex = [], [], []
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=SEED).split(np.zeros(len(every)), y_fold)
    for f, (tr, te) in enumerate(folds):
        tr_l = [every[i] for i in tr if i < len(labelled)]
        tr_u = [every[i] for i in tr if i >= len(labelled)]
        models = fit_stc3_models(tr_l, tr_u, tone_labels, sentiment, tokenizer, memo, seed=SEED + f)
        test = [every[i] for i in te]
        ctx, rep, groups, _ = relevance_pairs(test, tokenizer, memo)
        c, r, y = make_pairs(ctx, rep, groups, 1, np.random.default_rng(SEED + f))
        rel_y.append(y)
        rel_p.append(models.relevance.predict(c, r))

        scorer = Scorer([sentiment, models.relevance, models.tone], models.dissatisfaction, None, "cv", tokenizer)
        convs, maps = convs_with_turn_index(test)
        scores = scorer.score(convs)
        for d, conv, m, s in zip(test, convs, maps, scores):
            if d.s_scores is not None:
                dis_y.append(int(d.dissatisfied))
                dis_p.append(s.dissatisfaction_risk)
            for raw, k in m.items():
                bad = tone_key.get((d.id, raw))
                if bad is not None and s.messages[k].tone_risk is not None:
                    tone_y.append(bad)
                    tone_p.append(s.messages[k].tone_risk)
                    tone_lex.append(lexicon_risk(conv.messages[k].text))
        n_l = sum(1 for i in te if i < len(labelled))
        fold_auc.append(binary_report(np.array(dis_y[-n_l:]), np.array(dis_p[-n_l:]))["roc_auc"])
        log(f"      第 {f + 1}/{n_splits} 折：不满风险 AUC {fold_auc[-1]:.4f}")
    tone_y_arr, tone_p_arr, lex_arr = np.array(tone_y), np.array(tone_p), np.array(tone_lex)
    return {
        "relevance": {"held_out_pairs": binary_report(np.concatenate(rel_y), np.concatenate(rel_p)),
                      "negatives": "1 reply per true reply, drawn from other held-out dialogues"},
        "tone": {
            "model": {**binary_report(tone_y_arr, tone_p_arr),
                      "accuracy": round(float(accuracy_score(tone_y_arr, tone_p_arr >= 0.5)), 4)},
            "lexicon_only": {**binary_report(tone_y_arr, lex_arr),
                             "accuracy": round(float(accuracy_score(tone_y_arr, lex_arr >= 0.5)), 4)},
            "labels": int(len(tone_y_arr)),
        },
        "dissatisfaction": {"cv_pooled": binary_report(np.array(dis_y), np.array(dis_p)),
                            "fold_auc": [round(a, 4) for a in fold_auc],
                            "fold_auc_mean": round(float(np.mean(fold_auc)), 4)},
    }


def evaluate_category(examples: Sequence[tuple[str, str]], tokenizer: Tokenizer | None = None) -> dict:
    """5-fold stratified cross-validation accuracy and macro-F1 of the category model on labelled examples."""

    tokenizer = tokenizer or get_tokenizer()
    texts = [t for t, _ in examples]
    labels = np.array([c for _, c in examples])
    _, counts = np.unique(labels, return_counts=True)
    n_splits = int(min(5, counts.min()))
    if n_splits < 2:
        return {"n": len(examples), "note": "每类样本太少，无法交叉验证"}
    pred = np.empty(len(labels), dtype=object)
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=SEED).split(texts, labels):
        model = fit_category([examples[i] for i in tr], tokenizer)
        pred[te] = model.predict(tokenizer.tokenize_many([texts[i] for i in te]))[0]
    return {"n": len(examples), "folds": n_splits,
            "accuracy": round(float(accuracy_score(labels, pred.astype(str))), 4),
            "macro_f1": round(float(f1_score(labels, pred.astype(str), average="macro")), 4)}


def evaluate_all(shared_dir: Path, models_dir: Path | None = None, log: Log = print) -> dict:
    """Recompute every card figure and compare with what the shipped artifacts record (``matches_card``)."""
    import json


    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    memo: dict[str, list[str]]
    tokenizer, memo = get_tokenizer(), {}
    log("情绪模型：留一品类评估…")
    result = {"sentiment": evaluate_sentiment(shared_dir, tokenizer, memo, log)}
    log("STC-3 模型：按对话交叉验证…")
    sentiment = fit_sentiment(shared_dir, tokenizer, memo)
    result.update(evaluate_stc3(shared_dir, sentiment, tokenizer, memo, log))
    for name in list(result):
        path = models_dir / f"{name}.json"
        if path.exists():
            recorded = json.loads(path.read_text(encoding="utf-8")).get("metrics")
            result[name]["matches_card"] = recorded == {k: v for k, v in result[name].items()
                                                         if k != "matches_card"}
    return result


def format_report(result: dict) -> str:
    """A short printable summary of ``evaluate_all``'s figures."""
    lines = []
    s = result.get("sentiment")
    if s:
        lines.append(f"情绪 sentiment: 留一品类 AUC 均值 {s['loco_mean_auc']:.4f}（最低 {s['loco_min_auc']:.4f}），"
                     f"macro-F1 {s['loco_pooled']['macro_f1']:.4f}，Brier {s['loco_pooled']['brier']:.4f}，"
                     f"ECE {s['loco_pooled']['ece']:.4f}；外卖跨域 AUC {s['waimai_out_of_domain']['roc_auc']:.4f}")
    r = result.get("relevance")
    if r:
        lines.append(f"相关度 relevance: 留出对话 AUC {r['held_out_pairs']['roc_auc']:.4f}")
    t = result.get("tone")
    if t:
        m, lx = t["model"], t["lexicon_only"]
        lines.append(f"语气 tone（{t['labels']} 条标注）: 模型 AUC {m['roc_auc']:.4f} / 准确率 {m['accuracy']:.4f} / "
                     f"macro-F1 {m['macro_f1']:.4f}；仅词表 AUC {lx['roc_auc']:.4f} / 准确率 {lx['accuracy']:.4f} / "
                     f"macro-F1 {lx['macro_f1']:.4f}")
    d = result.get("dissatisfaction")
    if d:
        p = d["cv_pooled"]
        lines.append(f"不满风险 dissatisfaction: 5 折 AUC {p['roc_auc']:.4f}（各折均值 {d['fold_auc_mean']:.4f}），"
                     f"macro-F1 {p['macro_f1']:.4f}，Brier {p['brier']:.4f}，ECE {p['ece']:.4f}")
    for name, res in result.items():
        if isinstance(res, dict) and "matches_card" in res:
            lines.append(f"  {name}: {'与模型卡一致' if res['matches_card'] else '与模型卡不一致！'}")
    return "\n".join(lines)
