"""Fitting each shipped model from the shared data: shared by ``train`` (which saves them) and ``evaluate``
(which refits them on training folds), so neither imports the other."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
from sklearn.model_selection import GroupKFold

from scoring.batch import MessageBatch, MessageModel
from scoring.category import CategoryModel
from scoring.datasets import (
    Dialogue,
    ToneExamples,
    dialogue_to_conv,
    tone_probe_groups,
)
from scoring.dissatisfaction import DissatisfactionModel
from scoring.pipeline import compute_signals, conversation_signals
from scoring.text import Tokenizer
from scoring.tone import TONE_PARAMS, ToneInputs, ToneModel

__all__ = ["SEED", "Log", "fit_dissatisfaction", "fit_tone", "tone_inputs_of", "fit_category"]

SEED = 20261124
Log = Callable[[str], None]


def fit_dissatisfaction(labelled: Sequence[Dialogue], models: Sequence[MessageModel], tokenizer: Tokenizer,
                        memo: dict | None = None, seed: int = SEED) -> DissatisfactionModel:
    """The dissatisfaction model on labelled STC-3 dialogues, over every message model's scores of them."""
    batch = MessageBatch.build([dialogue_to_conv(d) for d in labelled], tokenizer, memo)
    conv_sigs = conversation_signals(batch, compute_signals(batch, models))
    return DissatisfactionModel.fit(conv_sigs, np.array([d.dissatisfied for d in labelled], dtype=int), seed=seed)


def tone_inputs_of(examples: ToneExamples, tokenizer: Tokenizer, memo: dict | None = None) -> ToneInputs:
    """The model's inputs for labelled or written replies: tokens as the scorer makes them."""
    return ToneInputs(examples.texts, tokenizer.tokenize_many(examples.texts, memo), examples.contexts)


def fit_tone(examples: ToneExamples, tokenizer: Tokenizer, memo: dict | None = None, n_splits: int = 5,
             held_out_groups: Collection[str] | None = None) -> tuple[ToneModel, np.ndarray]:
    """The tone model on every labelled and written reply outside ``held_out_groups`` (default: the probe's JD
    blocks), calibrated on its out-of-fold logits of real fine replies; returns the model and the out-of-fold
    logits of every reply (group-wise folds: a JD block or an STC-3 dialogue stays in one fold, so those of the
    probe's blocks are honest too)."""
    inp = tone_inputs_of(examples, tokenizer, memo)
    y = np.array(examples.y)
    oof = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=n_splits).split(y, y, examples.groups):
        fold = ToneModel.fit(_rows(inp, tr), y[tr])
        oof[te] = fold.decision(_rows(inp, te))
    held_out = tone_probe_groups() if held_out_groups is None else held_out_groups
    train = np.flatnonzero([g not in held_out for g in examples.groups])
    model = ToneModel.fit(_rows(inp, train), y[train])
    shift = float(np.quantile(oof[examples.fine()], 1 - TONE_PARAMS["fine_flag_share"]))
    model.intercept -= shift
    return model, oof - shift


def _rows(inp: ToneInputs, idx: np.ndarray) -> ToneInputs:
    return ToneInputs([inp.texts[i] for i in idx], [inp.tokens[i] for i in idx], [inp.contexts[i] for i in idx])


def fit_category(examples: Sequence[tuple[str, str]], tokenizer: Tokenizer) -> CategoryModel:
    """Category model on labelled conversation texts."""
    texts, labels = zip(*examples)
    return CategoryModel.fit(tokenizer.tokenize_many(texts), list(labels))
