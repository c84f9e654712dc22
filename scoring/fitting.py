"""Fitting each shipped model from the shared data: shared by ``train`` (which saves them) and ``evaluate``
(which refits them on training folds), so neither imports the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.batch import MessageBatch, reply_contexts
from scoring.category import CategoryModel
from scoring.datasets import (
    Dialogue,
    dialogue_to_conv,
    load_reviews,
    load_waimai,
)
from scoring.dissatisfaction import DissatisfactionModel
from scoring.pipeline import compute_signals, conversation_signals
from scoring.relevance import RELEVANCE_PARAMS, RelevanceModel, content_tokens, make_pairs
from scoring.sentiment import SentimentModel
from scoring.text import Tokenizer
from scoring.tone import ToneModel, tone_inputs

__all__ = ["TONE_LABELS", "SEED", "Log", "STC3Models", "fit_sentiment", "fit_stc3_models", "load_tone_labels",
           "relevance_pairs", "fit_category", "convs_with_turn_index"]

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
    sig = compute_signals(batch, [sentiment, relevance])
    by_key = {(d.id, raw): batch.starts[k] + m for k, d in enumerate(every) for raw, m in maps[k].items()}
    rows = [(by_key[(str(a), int(b))], int(bad), str(a)) for a, b, bad in
            tone_labels[["dialogue_id", "turn_index", "bad"]].itertuples(index=False)
            if (str(a), int(b)) in by_key]
    idx = [i for i, _, _ in rows if batch.roles[i] == "agent" and batch.tokens[i]]
    keep = set(idx)
    rows = [row for row in rows if row[0] in keep]
    tone = ToneModel.fit(tone_inputs(batch, sig, [i for i, _, _ in rows]),
                         np.array([b for _, b, _ in rows]), [g for _, _, g in rows], seed=seed)

    sig = compute_signals(batch, [sentiment, relevance, tone])
    conv_sigs = conversation_signals(batch, sig)[: len(labelled)]
    y_dis = np.array([d.dissatisfied for d in labelled], dtype=int)
    dissat = DissatisfactionModel.fit(conv_sigs, y_dis, seed=seed)
    return STC3Models(relevance, tone, dissat, len(rows), len(labelled))


def fit_category(examples: Sequence[tuple[str, str]], tokenizer: Tokenizer) -> CategoryModel:
    """Category model on labelled conversation texts."""
    texts, labels = zip(*examples)
    return CategoryModel.fit(tokenizer.tokenize_many(texts), list(labels))
