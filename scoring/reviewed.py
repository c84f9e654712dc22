"""Retrain a message model with the labels a shop's reviewers gave, and keep it only where it is better.

Reviewers' confirmations and corrections (``qa.review.labels``) are the only labels that come from the shop's own
chats, so they are what can teach a model the shop's idiom. They are also few and come from people who saw the
model's flag, so a model retrained on them could get worse on everything else without anyone noticing. Hence
the rule: a candidate is trained on the shared training data plus 70% of the reviewers' labels (split by
conversation), and is promoted only when it is better on the held-out 30% of those labels **and** no worse than
the shipped model on the shared held-out set the shipped card reports. Both figures go into its card.

Relevance is retrained differently, because its scorers take minutes to fit and a few hundred labels could not
move them: the model in use (the shop-adapted one when ``huifang train --from-db`` promoted it, else the shipped
one) keeps its scorers and has its combiner refitted on the shipped calibration pairs plus the reviewers'
training labels. Its shared held-out set is the held-out JD pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from scoring.artifacts import load_artifact
from scoring.datasets import ToneExamples, labelled_chat_lines, sentiment_corpus, tone_examples, tone_probe
from scoring.fitting import fit_tone, tone_inputs_of
from scoring.relevance import RelevanceModel
from scoring.relevance_fit import RelevanceParams, calibration_pairs, fit_combiner, jd_held_out_auc, md5_bucket
from scoring.sentiment import SENTIMENT_PARAMS, SentimentModel, corpus_weights, is_plain_question
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import ToneModel

__all__ = ["PROMOTE_MARGIN", "MIN_HELD_OUT", "ReviewerLabels", "too_few", "promotion", "learn_tone", "learn_sentiment",
           "learn_relevance", "RELEVANCE_SEPARATOR"]

PROMOTE_MARGIN = 0.005
"""How much higher the candidate's ROC-AUC on the reviewers' held-out labels must be, and how much lower on the
shared held-out set it may be (noise of a re-fit), for it to replace the shipped model."""
MIN_HELD_OUT = 5
"""Fewest held-out labels of each class (flag right, flag wrong) for a comparison worth acting on."""
REVIEWER_WEIGHT = 3
"""A reviewer's label on the shop's own chat counts as this many shared training rows."""
RELEVANCE_SEPARATOR = " ‖ "
"""How ``qa.review.labels.labelled_messages`` joins the customer lines a reply answers (split again here)."""


@dataclass(frozen=True)
class ReviewerLabels:
    """Messages reviewers labelled for one model: ``y`` 1 where the flag belongs, ``groups`` the conversation."""

    texts: list[str]
    contexts: list[str]
    y: np.ndarray
    groups: list[int]

    def held_out(self) -> np.ndarray:
        """30% of conversations, fixed by a hash of their id, never trained on."""
        return np.array([md5_bucket(str(g), 10) < 3 for g in self.groups], dtype=bool)

    def rows(self, mask: np.ndarray) -> ReviewerLabels:
        idx = np.flatnonzero(mask)
        return ReviewerLabels([self.texts[i] for i in idx], [self.contexts[i] for i in idx], self.y[idx],
                              [self.groups[i] for i in idx])


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return round(float(roc_auc_score(y, p)), 4)


def _counts(labels: ReviewerLabels) -> dict:
    held = labels.held_out()
    return {"train": int((~held).sum()), "held_out": int(held.sum()),
            "held_out_flag_right": int(labels.y[held].sum())}


def too_few(labels: ReviewerLabels) -> dict | None:
    """Figures saying why nothing is retrained, when the held-out labels could not tell two models apart."""
    counts = _counts(labels)
    n_pos, n_neg = counts["held_out_flag_right"], counts["held_out"] - counts["held_out_flag_right"]
    if min(n_pos, n_neg) >= MIN_HELD_OUT:
        return None
    return {"reviewer_labels": counts, "in_use": False,
            "reason": (f"复核标注太少：留出的标注中应预警 {n_pos} 条、不应预警 {n_neg} 条，每类至少需要 {MIN_HELD_OUT} 条"
                       f"（约占全部标注的 30%），继续使用随附模型")}


def promotion(shared: dict, reviewers: dict) -> tuple[bool, str]:
    """Whether the candidate replaces the shipped model, and why, from both models' ROC-AUC on the shared held-out
    set (``shared``) and on the reviewers' held-out labels (``reviewers``), each {"shipped": .., "candidate": ..}."""
    gain = reviewers["candidate"] - reviewers["shipped"]
    loss = shared["shipped"] - shared["candidate"]
    if gain < PROMOTE_MARGIN:
        return False, (f"在留出的复核标注上 ROC-AUC {reviewers['candidate']:.3f}，不比随附模型的 "
                       f"{reviewers['shipped']:.3f} 高出 {PROMOTE_MARGIN}，继续使用随附模型")
    if loss > PROMOTE_MARGIN:
        return False, (f"在留出的复核标注上更好（{reviewers['candidate']:.3f} 对 {reviewers['shipped']:.3f}），"
                       f"但在共享留出集上变差（{shared['candidate']:.3f} 对 {shared['shipped']:.3f}），继续使用随附模型")
    return True, (f"在留出的复核标注上 ROC-AUC {reviewers['candidate']:.3f}，高于随附模型的 {reviewers['shipped']:.3f}；"
                  f"共享留出集上 {shared['candidate']:.3f}（随附 {shared['shipped']:.3f}）")


def _figures(labels: ReviewerLabels, shared_set: str, shared: dict, shipped: np.ndarray,
             candidate: np.ndarray) -> dict:
    y = labels.y[labels.held_out()]
    reviewers = {"shipped": _auc(y, shipped), "candidate": _auc(y, candidate)}
    in_use, reason = promotion(shared, reviewers)
    return {"reviewer_labels": _counts(labels), "shared_held_out": {"set": shared_set, **shared},
            "reviewers_held_out": reviewers, "in_use": in_use, "reason": reason}


def learn_tone(shared_dir: Path, models_dir: Path, labels: ReviewerLabels,
               tokenizer: Tokenizer | None = None) -> tuple[ToneModel | None, dict]:
    """The tone model refitted with the reviewers' training labels, and figures (against the shipped model of
    ``models_dir``) that say whether it should be used. Shared held-out set: the probe (bad and good replies
    written into held-out JD contexts)."""
    if (few := too_few(labels)) is not None:
        return None, few
    tokenizer = tokenizer or get_tokenizer()
    shipped = ToneModel.from_state(*load_artifact(models_dir, "tone"))
    examples = _as_examples(labels.rows(~labels.held_out()), tone_examples(shared_dir), REVIEWER_WEIGHT)
    candidate, _oof = fit_tone(examples, tokenizer)
    probe = tone_probe(shared_dir)
    probe_inputs = tone_inputs_of(probe, tokenizer)
    shared = {"shipped": _auc(np.array(probe.y), shipped.predict(probe_inputs)),
              "candidate": _auc(np.array(probe.y), candidate.predict(probe_inputs))}
    held = labels.rows(labels.held_out())
    held_inputs = tone_inputs_of(_as_examples(held), tokenizer)
    return candidate, _figures(labels, "tone_probe：300 对写入京东留出上下文的回复", shared,
                               shipped.predict(held_inputs), candidate.predict(held_inputs))


def _as_examples(labels: ReviewerLabels, into: ToneExamples | None = None, copies: int = 1) -> ToneExamples:
    """Reviewer labels added (``copies`` times each) to tone examples; a fine one counts as a real fine reply."""
    out = into if into is not None else ToneExamples()
    for _copy in range(copies):
        for text, context, y, group in zip(labels.texts, labels.contexts, labels.y, labels.groups):
            out.add(text, context, int(y), f"db{group}", "reviewer", "neutral" if y == 0 else "reviewer_bad")
    return out


def learn_sentiment(shared_dir: Path, models_dir: Path, labels: ReviewerLabels,
                    tokenizer: Tokenizer | None = None) -> tuple[SentimentModel | None, dict]:
    """The sentiment model refitted with the reviewers' training labels, and figures (against the shipped model
    of ``models_dir``) that say whether it should be used. Shared held-out set: real JD customer lines of
    held-out blocks, labelled twice and adjudicated."""
    if (few := too_few(labels)) is not None:
        return None, few
    tokenizer = tokenizer or get_tokenizer()
    shipped = SentimentModel.from_state(*load_artifact(models_dir, "sentiment"))
    corpus = sentiment_corpus(shared_dir, is_plain_question)
    train = labels.rows(~labels.held_out())
    texts: Sequence[str] = [*corpus["text"], *train.texts]
    y = np.concatenate([corpus["negative"].to_numpy(), train.y])
    weight = np.concatenate([corpus_weights(corpus["domain"]),
                             np.full(len(train.texts), float(SENTIMENT_PARAMS["labelled_chat_weight"]))])
    candidate = SentimentModel.fit(texts, tokenizer.tokenize_many(texts), y, sample_weight=weight)
    jd = labelled_chat_lines(shared_dir)
    shared = {"shipped": 0.5, "candidate": 0.5}
    if jd is not None:
        jd_texts = jd["text"].tolist()
        jd_tokens = tokenizer.tokenize_many(jd_texts)
        shared = {"shipped": _auc(jd["negative"].to_numpy(), shipped.predict(jd_texts, jd_tokens)),
                  "candidate": _auc(jd["negative"].to_numpy(), candidate.predict(jd_texts, jd_tokens))}
    held = labels.rows(labels.held_out())
    held_tokens = tokenizer.tokenize_many(held.texts)
    return candidate, _figures(labels, "jd_sentiment_labels：500 条京东留出对话中双人标注的顾客消息", shared,
                               shipped.predict(held.texts, held_tokens), candidate.predict(held.texts, held_tokens))


def learn_relevance(shared_dir: Path, models_dir: Path, labels: ReviewerLabels) -> tuple[RelevanceModel | None, dict]:
    """The relevance model in use with its combiner refitted on the shipped calibration pairs plus the reviewers'
    training labels (a 答非所问 tag: the reply is irrelevant), and figures that say whether it should be used.

    ``labels.y`` is 1 where the 答非所问 flag belongs, so reviewers' held-out AUC is measured on 1 − relevance.
    Shared held-out set: the held-out JD pairs (true next reply against another conversation's). When the
    candidate loses, or the labels are too few to judge, and the archive-adapted model was in use, that model is
    returned to stay in use (``learn_from_reviewers`` would otherwise withdraw it).
    """
    local = (models_dir / "relevance_local.npz").exists()
    base_name = "relevance_local" if local else "relevance"
    base_meta, base_arrays = load_artifact(models_dir, base_name)
    base = RelevanceModel.from_state(base_meta, base_arrays)
    if (few := too_few(labels)) is not None:
        return _keep_base(base, base_meta, few) if local else (None, few)
    candidate = RelevanceModel.from_state(base_meta, base_arrays)
    train = labels.rows(~labels.held_out())
    shipped_pairs = calibration_pairs(shared_dir)
    reviewed = [(_relevance_context(c), t, 1 - int(y)) for t, c, y in zip(train.texts, train.contexts, train.y)]
    weight = np.concatenate([np.ones(len(shipped_pairs)), np.full(len(reviewed), float(REVIEWER_WEIGHT))])
    fit_combiner(candidate, [*shipped_pairs, *reviewed], RelevanceParams().combiner_c, weight)
    shared = {"shipped": round(jd_held_out_auc(base, shared_dir), 4),
              "candidate": round(jd_held_out_auc(candidate, shared_dir), 4)}
    held = labels.rows(labels.held_out())
    contexts = [_relevance_context(c) for c in held.contexts]
    figures = {**_figures(labels, "jd_random：京东留出对话的真实回复对其他会话的回复", shared,
                          1 - base.predict(contexts, held.texts), 1 - candidate.predict(contexts, held.texts)),
               "base": base_name}
    if figures["in_use"]:
        return candidate, figures
    return _keep_base(base, base_meta, figures) if local else (None, figures)


def _keep_base(base: RelevanceModel, base_meta: dict, figures: dict) -> tuple[RelevanceModel, dict]:
    """The archive-adapted model stays in use when the reviewers' labels do not replace it (it is saved again
    under the same name, so its adaptation figures are kept under ``archive``)."""
    return base, {**figures, "in_use": True, "base": "relevance_local", "archive": base_meta.get("metrics", {}),
                  "reason": figures["reason"].replace("继续使用随附模型", "继续使用本店档案训练的模型")}


def _relevance_context(context: str) -> list[str]:
    """The customer lines a reply answers, as the relevance model reads them (oldest first)."""
    return [t for t in context.split(RELEVANCE_SEPARATOR) if t]
