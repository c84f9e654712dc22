"""Reproducible evaluation of every model on real held-out data; the figures written into the model cards.

``huifang evaluate`` (``evaluate_all``) measures the shipped artifacts and rewrites their cards; ``huifang train``
calls the same functions on the models it has just fitted.
- sentiment: leave-one-domain-out over the ten shopping categories, food delivery and the chat utterances (the
  recipe refitted without each), chat utterances held out by text hash, and the final model on twice-labelled
  real JD customer lines of held-out blocks;
- tone: grouped 5-fold cross-validation over the real labelled replies (with the written training pairs), then
  the final model once on the probe set written into held-out JD contexts (whose blocks it never trained on);
- relevance: fixed held-out JD blocks and STC-3 dialogues (``scoring.relevance_fit``), random and hard negatives;
- dissatisfaction: 5-fold cross-validation over labelled STC-3 dialogues, stratified by the target, refitted per
  fold and scored through ``Scorer.score``;
- category: 5-fold stratified cross-validation on the labelled examples passed in.
All splits are seeded (``scoring.fitting.SEED``) or fixed by hash, so re-running reproduces the card figures.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact, write_meta
from scoring.batch import MessageModel
from scoring.cards import write_card
from scoring.datasets import (
    LABELS_DIR,
    dialogue_to_conv,
    labelled_chat_lines,
    labelled_chat_utterances,
    load_stc3,
    sentiment_corpus,
    tone_examples,
    tone_probe,
)
from scoring.fitting import (
    SEED,
    Log,
    fit_category,
    fit_dissatisfaction,
    fit_tone,
    tone_inputs_of,
)
from scoring.metrics import binary_report
from scoring.pipeline import Scorer
from scoring.relevance import RelevanceModel
from scoring.relevance_fit import evaluate_relevance, md5_bucket
from scoring.sentiment import ALWAYS_TRAINED, SentimentModel, corpus_weights, is_plain_question
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import ToneModel, lexicon_risk

__all__ = ["SHIPPED_CARDS", "evaluate_sentiment", "evaluate_dissatisfaction", "evaluate_tone", "evaluate_category",
           "evaluate_all", "format_report"]

BAD = {"curt", "perfunctory", "blaming", "rude"}


def _quiet(_: str) -> None:
    """Default logger for library calls: say nothing."""


PLAIN_LINES = ("在吗", "亲在吗", "你好", "买了送什么", "这个有货吗", "什么时候发货", "发票怎么开", "我的手机支架呢？？")
COMPLAINTS = ("太慢了", "不行", "骗子", "质量太差了，要退货", "怎么还没到，都一个星期了", "客服态度太差", "再不处理我就投诉了")


def evaluate_sentiment(
    shared_dir: Path, tokenizer: Tokenizer | None = None, memo: dict | None = None, log: Log = _quiet,
    domains: Sequence[str] | None = None, max_rows: int | None = None, labels_dir: Path = LABELS_DIR,
    model: SentimentModel | None = None,
) -> tuple[dict, SentimentModel]:
    """Leave-one-domain-out AUC (ten shopping categories, food delivery and the chat utterances, each held out in
    turn), chat utterances held out by text hash, the final model on labelled real JD chat lines, and its
    scores of a few plain lines and complaints; returns the figures and that final model.

    The final model is ``model`` (the shipped one, when evaluating) or else one fitted on everything (when
    training). The held-out domains can only be measured by refitting the recipe without them.
    ``domains`` and ``max_rows`` restrict the run (for tests on a small real subsample).
    """
    tokenizer = tokenizer or get_tokenizer()
    corpus = sentiment_corpus(shared_dir, is_plain_question)
    if max_rows:
        corpus = corpus.sample(n=min(max_rows, len(corpus)), random_state=0).reset_index(drop=True)
    texts, y, domain = corpus["text"].tolist(), corpus["negative"].to_numpy(), corpus["domain"].to_numpy()
    tokens = tokenizer.tokenize_many(texts, memo)
    chars, words = SentimentModel.counts(texts, tokens)

    weight = corpus_weights(domain)

    def refit_without(test: np.ndarray) -> SentimentModel:
        return SentimentModel.fit([], [], y[~test], counts=(chars[~test], words[~test]), explained=False,
                                  sample_weight=weight[~test])

    def held_out(test: np.ndarray, refitted: SentimentModel | None = None) -> dict:
        idx = np.flatnonzero(test)
        model = refitted or refit_without(test)
        return binary_report(y[test], model.predict([texts[k] for k in idx], [tokens[k] for k in idx]))

    per_domain = {}
    for name in domains or sorted(set(domain) - set(ALWAYS_TRAINED)):
        per_domain[name] = held_out(domain == name)
        log(f"      留出 {name}: AUC {per_domain[name]['roc_auc']:.4f}")
    reviews = [r["roc_auc"] for name, r in per_domain.items() if name != "聊天"]
    chat_test = np.array([d == "聊天" and md5_bucket(t, 5) == 0 for d, t in zip(domain, texts)])
    if model is None:
        model = SentimentModel.fit(texts, tokens, y, counts=(chars, words), sample_weight=weight)
    probe = list(PLAIN_LINES + COMPLAINTS)
    scores = model.predict(probe, tokenizer.tokenize_many(probe))
    figures = {
        "loco_review_domains_mean_auc": round(float(np.mean(reviews)), 4) if reviews else None,
        "loco_review_domains_min_auc": round(float(np.min(reviews)), 4) if reviews else None,
        "loco_per_domain": per_domain,
        "plain_and_complaint_lines": {t: round(float(p), 3) for t, p in zip(probe, scores)},
        "training_rows": {name: int((domain == name).sum()) for name in sorted(set(domain))},
    }
    if chat_test.any():
        without_chat = refit_without(chat_test)
        figures["chat_held_out"] = held_out(chat_test, without_chat)
        people = _people_on_chat(shared_dir, labels_dir, without_chat, {texts[k] for k in np.flatnonzero(chat_test)},
                                 tokenizer, memo)
        if people is not None:
            figures["chat_people_labelled"] = people
    jd = labelled_chat_lines(shared_dir, labels_dir)
    if jd is not None:
        p = model.predict(jd["text"].tolist(), tokenizer.tokenize_many(jd["text"].tolist(), memo))
        y_jd = jd["negative"].to_numpy()
        figures["jd_labelled_customer_lines"] = {**binary_report(y_jd, p),
                                                 "flagged_share": round(float((p >= 0.5).mean()), 4),
                                                 "labelled_negative_share": round(float(y_jd.mean()), 4),
                                                 "kappa": jd.attrs["kappa"]}
    return figures, model


def _people_on_chat(shared_dir: Path, labels_dir: Path, model: SentimentModel, held_out_texts: set[str],
                    tokenizer: Tokenizer, memo: dict | None) -> dict | None:
    """The chat-held-out model against people's labels of held-out utterances: negative against the rest, and
    against positive only (neutral lines left out), beside the corpus's automatic labels of the same lines."""
    people = labelled_chat_utterances(shared_dir, labels_dir)
    if people is None:
        return None
    people = people[people["text"].isin(held_out_texts)].reset_index(drop=True)  # never in the refit's training
    polar = (people["sentiment"] != "neutral").to_numpy()
    if people["negative"].nunique() < 2 or people["negative"][polar].nunique() < 2:  # a subsample's few lines
        return None
    texts = people["text"].tolist()
    p = model.predict(texts, tokenizer.tokenize_many(texts, memo))
    return {
        "negative_vs_rest": binary_report(people["negative"].to_numpy(), p),
        "negative_vs_positive": binary_report(people["negative"].to_numpy()[polar], p[polar]),
        "shares": {k: round(float((people["sentiment"] == k).mean()), 4) for k in ("negative", "neutral", "positive")},
        "flagged_share": round(float((p >= 0.5).mean()), 4),
        "automatic_labels_agree": round(float((people["automatic_negative"] == people["negative"]).mean()), 4),
        "kappa": people.attrs["kappa"],
    }


def evaluate_dissatisfaction(
    shared_dir: Path, sentiment: SentimentModel, relevance: MessageModel, tone: ToneModel,
    tokenizer: Tokenizer | None = None, memo: dict | None = None, log: Log = _quiet, n_splits: int = 5,
    max_dialogues: int | None = None,
) -> dict:
    """Cross-validation of the dissatisfaction model over labelled STC-3 dialogues, stratified by the target and
    refitted per fold; the message models it reads stay fixed (none of them learned the S labels)."""
    tokenizer = tokenizer or get_tokenizer()
    memo = {} if memo is None else memo
    labelled = load_stc3(shared_dir)[:max_dialogues]
    y = np.array([int(cast(bool, d.dissatisfied)) for d in labelled])
    models: list[MessageModel] = [sentiment, relevance, tone]
    dis_y: list[int] = []
    dis_p: list[float] = []
    fold_auc = []
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y)
    for f, (tr, te) in enumerate(folds):
        dissat = fit_dissatisfaction([labelled[i] for i in tr], models, tokenizer, memo, seed=SEED + f)
        scores = Scorer(models, dissat, None, "cv", tokenizer).score([dialogue_to_conv(labelled[i]) for i in te])
        dis_y.extend(int(y[i]) for i in te)
        dis_p.extend(s.dissatisfaction_risk for s in scores)
        fold_auc.append(binary_report(y[te], np.array(dis_p[-len(te):]))["roc_auc"])
        log(f"      第 {f + 1}/{n_splits} 折：不满风险 AUC {fold_auc[-1]:.4f}")
    return {"cv_pooled": binary_report(np.array(dis_y), np.array(dis_p)),
            "fold_auc": [round(a, 4) for a in fold_auc], "fold_auc_mean": round(float(np.mean(fold_auc)), 4)}


def _kappas(labels_dir: Path) -> dict:
    """Cohen's κ between the two independent labellings, on bad/fine and on the six labels."""
    out = {}
    for name in ("jd_tone_labels", "stc3_tone_labels"):
        with (labels_dir / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        a, b = [r["label_a"] for r in rows], [r["label_b"] for r in rows]
        out[name.split("_")[0]] = {
            "n": len(rows), "kappa_bad": round(float(cohen_kappa_score([x in BAD for x in a], [x in BAD for x in b])), 4),
            "kappa_labels": round(float(cohen_kappa_score(a, b)), 4),
            "adjudicated": sum(x != y for x, y in zip(a, b))}
    return out


def evaluate_tone(shared_dir: Path, tokenizer: Tokenizer | None = None, memo: dict | None = None,
                  labels_dir: Path = LABELS_DIR, model: ToneModel | None = None) -> tuple[dict, ToneModel]:
    """Out-of-fold figures on the labelled real replies (grouped folds, the written training pairs in the same
    folds), then the final model (``model``, the shipped one when evaluating, else the one fitted on every reply)
    on the probe set it never saw; returns the figures and that model."""
    tokenizer = tokenizer or get_tokenizer()
    examples = tone_examples(shared_dir, labels_dir)
    fitted, oof = fit_tone(examples, tokenizer, memo)
    model = model or fitted
    y, src = np.array(examples.y), np.array(examples.source)
    real, fine = src != "synthetic", examples.fine()
    flagged = oof >= 0
    by_source = {}
    for name in ("jd", "stc3"):
        m = src == name
        by_source[name] = {"roc_auc": round(float(roc_auc_score(y[m], oof[m])), 4),
                           "false_alarms_on_fine": round(float(flagged[m & fine].mean()), 4),
                           "caught_bad": round(float(flagged[m & (y == 1)].mean()), 4)}
    lexicon = np.array([lexicon_risk(t) for t, r in zip(examples.texts, real) if r])
    uniform = np.array([s == "uniform" for s in examples.stratum])
    probe = tone_probe(shared_dir, labels_dir)
    p = model.predict(tone_inputs_of(probe, tokenizer, memo))
    py = np.array(probe.y)
    kinds = np.array(probe.label)
    subtle = np.array(probe.subtle)
    caught = (p >= 0.5) & (py == 1)
    return {
        "real_out_of_fold": {**binary_report(y[real], 1 / (1 + np.exp(-oof[real]))),
                             "false_alarms_on_fine": round(float(flagged[fine].mean()), 4),
                             "caught_bad": round(float(flagged[real & (y == 1)].mean()), 4), "by_source": by_source,
                             "lexicon_only_roc_auc": round(float(roc_auc_score(y[real], lexicon)), 4),
                             "jd_uniform_flagged_share": round(float(flagged[uniform].mean()), 4),
                             "jd_uniform_labelled_bad_share": round(float(y[uniform].mean()), 4)},
        "probe": {"n_pairs": int(py.sum()), "roc_auc": round(float(roc_auc_score(py, p)), 4),
                  "caught_bad": round(float(caught[py == 1].mean()), 4),
                  "false_alarms_on_good": round(float((p[py == 0] >= 0.5).mean()), 4),
                  "caught_by_kind": {k: round(float(caught[(py == 1) & (kinds == k)].mean()), 4)
                                     for k in sorted(set(kinds))},
                  "caught_obvious": round(float(caught[(py == 1) & ~subtle].mean()), 4),
                  "caught_subtle": round(float(caught[(py == 1) & subtle].mean()), 4)},
        "labellers": _kappas(labels_dir),
        "training": {"real": int(real.sum()), "real_bad": int(y[real].sum()), "written_pairs": int((~real).sum() // 2)},
    }, model


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


SHIPPED_CARDS = ("sentiment", "tone", "relevance", "dissatisfaction")


def evaluate_all(shared_dir: Path, models_dir: Path | None = None, log: Log = print, write: bool = True) -> dict:
    """Recompute every shipped card's figures from the shipped artifacts and the fixed held-out splits, say
    whether each matches what its artifact recorded (``matches_card``) and, with ``write``, record them in the
    artifact's JSON and card with today's date.

    No shipped model is refitted, so this takes minutes, not the relevance scorers' training time: relevance and
    the probe/JD-line figures are the shipped models' own. Only figures that measure a recipe on data left out of
    it (sentiment's left-out domains and chat hash bucket, tone's and dissatisfaction's folds) refit per fold.
    """
    import time

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    memo: dict[str, list[str]]
    tokenizer, memo = get_tokenizer(), {}
    sentiment = SentimentModel.from_state(*load_artifact(models_dir, "sentiment"))
    tone = ToneModel.from_state(*load_artifact(models_dir, "tone"))
    relevance = RelevanceModel.from_state(*load_artifact(models_dir, "relevance"))
    result: dict = {}
    started = time.perf_counter()
    log("情绪模型：留一领域评估（每个留出领域重新拟合）…")
    result["sentiment"], _ = evaluate_sentiment(shared_dir, tokenizer, memo, log, model=sentiment)
    log("语气模型：分组交叉验证与探针集…")
    result["tone"], _ = evaluate_tone(shared_dir, tokenizer, memo, model=tone)
    log("相关度模型：随附模型在留出的京东与 STC-3 对话上评估…")
    result["relevance"] = evaluate_relevance(relevance, shared_dir)
    log("不满风险：按对话交叉验证…")
    result["dissatisfaction"] = evaluate_dissatisfaction(shared_dir, sentiment, relevance, tone, tokenizer, memo, log)
    log(f"用时 {time.perf_counter() - started:.0f} 秒")
    today = date.today().isoformat()
    for name in SHIPPED_CARDS:
        meta = json.loads((models_dir / f"{name}.json").read_text(encoding="utf-8"))
        figures = result[name]
        result[name] = {**figures, "matches_card": meta.get("metrics") == figures}
        if write:
            write_meta(models_dir, name, {**meta, "metrics": figures, "evaluated": today})
            write_card(models_dir, name, figures, meta.get("trained"), today)
    return result


def format_report(result: dict) -> str:
    """A short printable summary of ``evaluate_all``'s figures."""
    lines = []
    s = result.get("sentiment")
    if s:
        chat = s.get("chat_held_out") or {}
        lines.append(f"情绪 sentiment: 留一评论领域 AUC 均值 {s['loco_review_domains_mean_auc']:.4f}"
                     f"（最低 {s['loco_review_domains_min_auc']:.4f}），聊天留出 AUC {chat.get('roc_auc', float('nan')):.4f}")
        people = s.get("chat_people_labelled")
        if people:
            lines.append(f"  聊天语句人工标注：负面对其余 AUC {people['negative_vs_rest']['roc_auc']:.4f}，"
                         f"负面对正面 AUC {people['negative_vs_positive']['roc_auc']:.4f}，两位标注者 κ {people['kappa']:.2f}")
    r = result.get("relevance")
    if r:
        lines.append("相关度 relevance: " + "，".join(f"{k} AUC {v['roc_auc']:.4f}" for k, v in r.items()
                                                    if isinstance(v, dict) and "roc_auc" in v))
    t = result.get("tone")
    if t:
        r, pr = t["real_out_of_fold"], t["probe"]
        kappa = "、".join(f"{k} κ {v['kappa_bad']:.2f}" for k, v in t["labellers"].items())
        lines.append(f"语气 tone: 真实回复（交叉验证）AUC {r['roc_auc']:.4f}，合格回复误报 {r['false_alarms_on_fine']:.1%}；"
                     f"探针集检出 {pr['caught_bad']:.1%}（隐晦 {pr['caught_subtle']:.1%}），AUC {pr['roc_auc']:.4f}；"
                     f"两位标注者一致性 {kappa}")
    d = result.get("dissatisfaction")
    if d:
        p = d["cv_pooled"]
        lines.append(f"不满风险 dissatisfaction: 5 折 AUC {p['roc_auc']:.4f}（各折均值 {d['fold_auc_mean']:.4f}），"
                     f"macro-F1 {p['macro_f1']:.4f}，Brier {p['brier']:.4f}，ECE {p['ece']:.4f}")
    for name, res in result.items():
        if isinstance(res, dict) and "matches_card" in res:
            lines.append(f"  {name}: {'与模型卡一致' if res['matches_card'] else '与模型卡不一致！'}")
    return "\n".join(lines)
