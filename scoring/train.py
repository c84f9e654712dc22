"""Train every model from the real data in ``shared/data`` and write artifacts + model cards to data/models.

What is trained on what:
- sentiment: online_shopping_10_cats (cleaned) + waimai_10k, all rows (evaluated leave-one-category-out);
- relevance: STC-3 labelled + unlabelled dialogues, true replies vs replies of other dialogues;
- tone: the real tone labels of STC-3 helpdesk replies (data/labels/stc3_tone_labels.csv);
- dissatisfaction: STC-3 labelled dialogues (S annotations);
- category: the (text, category) examples passed in, from the database's labelled conversations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from qa.errors import HuifangError
from scoring.artifacts import DEFAULT_MODELS_DIR, save_artifact
from scoring.cards import write_card
from scoring.category import CategoryModel
from scoring.datasets import (
    Dialogue,
    dialogue_to_conv,
    load_reviews,
    load_stc3,
    load_waimai,
)
from scoring.dissatisfaction import DissatisfactionModel
from scoring.pipeline import (
    MessageBatch,
    compute_signals,
    conversation_signals,
    tone_inputs,
)
from scoring.relevance import (
    RELEVANCE_PARAMS,
    RelevanceModel,
    content_tokens,
    make_pairs,
    reply_contexts,
)
from scoring.sentiment import SentimentModel
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import ToneModel

__all__ = ["TONE_LABELS", "SEED", "STC3Models", "train_all", "fit_sentiment", "fit_stc3_models",
           "load_tone_labels", "relevance_pairs", "fit_category", "train_category", "train_csat_stage", "convs_with_turn_index"]

TONE_LABELS = Path(__file__).resolve().parents[1] / "data" / "labels" / "stc3_tone_labels.csv"
SEED = 20261124
Log = Callable[[str], None]


def fit_sentiment(shared_dir: Path, tokenizer: Tokenizer, memo: dict | None = None) -> SentimentModel:
    """Sentiment model on all cleaned review rows (both corpora)."""
    reviews, waimai = load_reviews(shared_dir), load_waimai(shared_dir)
    texts = reviews["review"].tolist() + waimai["review"].tolist()
    y = 1 - np.concatenate([reviews["label"].to_numpy(), waimai["label"].to_numpy()])
    return SentimentModel.fit(tokenizer.tokenize_many(texts, memo), y)


def load_tone_labels(path: Path = TONE_LABELS) -> pd.DataFrame:
    """Tone labels keyed by (dialogue_id, turn_index) with ``bad`` 0/1; empty when the file is absent."""
    if not path.exists():
        return pd.DataFrame(columns=["dialogue_id", "turn_index", "label", "bad"])
    df = pd.read_csv(path, dtype={"dialogue_id": str})
    return df[["dialogue_id", "turn_index", "label", "bad"]]


def convs_with_turn_index(dialogues: Sequence[Dialogue]) -> tuple[list, list[dict[int, int]]]:
    """Scoring convs of dialogues and, per dialogue, raw turn index → message index."""
    convs, maps = [], []
    for d in dialogues:
        convs.append(dialogue_to_conv(d))
        kept = [i for i, (_, txt) in enumerate(d.turns) if txt]
        maps.append({raw: k for k, raw in enumerate(kept)})
    return convs, maps


def relevance_pairs(
    dialogues: Sequence[Dialogue], tokenizer: Tokenizer, memo: dict | None = None,
) -> tuple[list[list[str]], list[list[str]], list[str], list[list[str]]]:
    """(customer context, reply, dialogue id) of every true reply, and the content tokens of all turns."""
    contexts, replies, groups, corpus = [], [], [], []
    for d in dialogues:
        texts = [t for _, t in d.turns if t]
        roles = ["customer" if s == "customer" else "agent" for s, t in d.turns if t]
        toks = [content_tokens(t) for t in tokenizer.tokenize_many(texts, memo)]
        corpus.extend(toks)
        for j, ctx in reply_contexts(roles).items():
            contexts.append([w for i in ctx for w in toks[i]])
            replies.append(toks[j])
            groups.append(d.id)
    return contexts, replies, groups, corpus


@dataclass
class STC3Models:
    """The three models learned from STC-3 and the inputs they were fitted on."""

    relevance: RelevanceModel
    tone: ToneModel
    dissatisfaction: DissatisfactionModel
    n_tone_labels: int
    n_dialogues: int


def fit_stc3_models(
    labelled: Sequence[Dialogue], unlabelled: Sequence[Dialogue], tone_labels: pd.DataFrame,
    sentiment: SentimentModel, tokenizer: Tokenizer, memo: dict | None = None, seed: int = SEED,
) -> STC3Models:
    """Fit relevance, then tone (needs relevance), then dissatisfaction (needs both) on the given dialogues."""
    every = list(labelled) + list(unlabelled)
    ctx, rep, groups, corpus = relevance_pairs(every, tokenizer, memo)
    c, r, y = make_pairs(ctx, rep, groups, RELEVANCE_PARAMS["negatives"], np.random.default_rng(seed))
    relevance = RelevanceModel.fit(corpus, c, r, y, seed=seed)

    convs, maps = convs_with_turn_index(every)
    batch = MessageBatch.build(convs, tokenizer, memo)
    sig = compute_signals(batch, sentiment, relevance, None)
    by_key = {(d.id, raw): batch.starts[k] + m for k, d in enumerate(every) for raw, m in maps[k].items()}
    rows = [(by_key[(str(a), int(b))], int(bad), str(a)) for a, b, bad in
            tone_labels[["dialogue_id", "turn_index", "bad"]].itertuples(index=False)
            if (str(a), int(b)) in by_key]
    idx = [i for i, _, _ in rows if batch.roles[i] == "agent" and batch.tokens[i]]
    keep = set(idx)
    rows = [row for row in rows if row[0] in keep]
    tone = ToneModel.fit(tone_inputs(batch, sig.sentiment, sig.relevance, [i for i, _, _ in rows]),
                         np.array([b for _, b, _ in rows]), [g for _, _, g in rows], seed=seed)

    sig = compute_signals(batch, sentiment, relevance, tone)
    conv_sigs = conversation_signals(batch, sig)[: len(labelled)]
    y_dis = np.array([d.dissatisfied for d in labelled], dtype=int)
    dissat = DissatisfactionModel.fit(conv_sigs, y_dis, seed=seed)
    return STC3Models(relevance, tone, dissat, len(rows), len(labelled))


def fit_category(examples: Sequence[tuple[str, str]], tokenizer: Tokenizer) -> CategoryModel:
    """Category model on labelled conversation texts."""
    texts, labels = zip(*examples)
    return CategoryModel.fit(tokenizer.tokenize_many(texts), list(labels))


def train_all(
    shared_dir: Path, models_dir: Path | None = None, category_examples: list[tuple[str, str]] | None = None,
    log: Log = print,
) -> dict:
    """Train every model, write artifacts and model cards, and return the evaluation figures.

    Without ``category_examples`` no category model is written (keyword rules are used; an existing model is
    left as it is).
    """
    from scoring.evaluate import evaluate_sentiment, evaluate_stc3

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
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
    from scoring.evaluate import evaluate_category

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
        raise HuifangError(f"带 CSAT 且有时间戳的会话太少（{len(y)} 个，其中不满意 {int(y.sum())} 个）："
                           "至少需要 300 个、两类各 20 个，才能拟合响应阶段；在此之前使用默认权重")
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.3, random_state=SEED, stratify=y)
    fitted = fit_responsiveness_stage(z[tr], breach_share[tr], unanswered[tr], csat[tr], min_rated=0)
    metrics = {"rated": int(len(y)), "dissatisfied_rate": round(float(y.mean()), 4)}
    for name, w in (("prior", RESPONSIVENESS_PRIOR), ("fitted", fitted)):
        p = stage_probability(w, z[te], breach_share[te], unanswered[te])
        metrics[f"held_out_{name}"] = binary_report(y[te], p)
    weights = fit_responsiveness_stage(z, breach_share, unanswered, csat, min_rated=0)
    today = date.today().isoformat()
    save_artifact(models_dir, "csat_stage", {"weights": weights, "metrics": metrics, "trained": today}, {})
    write_card(models_dir, "csat_stage", metrics, today)
    return metrics

