"""Dissatisfaction risk of a conversation: P(the customer ends dissatisfied).

Trained on STC-3 (target: at least half of the annotators gave S < 0). A word n-gram model of the customer's and
the agent's text gives out-of-fold log-odds, which a second logistic regression combines with the sentiment
trajectory (start, worst, end), tone and relevance of the agent's replies and the shape of the dialogue.

Responsiveness: STC-3 has no timestamps, so waits cannot be learned from it. They enter as a documented
adjustment of the log-odds (``RESPONSIVENESS_PRIOR``: +0.8 × share of replies that breached the SLA, +0.5 when
customer messages are left unanswered at the end), which ``fit_responsiveness_stage`` replaces with weights
fitted on imported CSAT once enough rated conversations exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from scoring.features import ngrams
from scoring.linear import LinearTextModel, sigmoid, top_terms
from scoring.text import is_content_token, load_stopwords

__all__ = [
    "DISSAT_PARAMS",
    "RESPONSIVENESS_PRIOR",
    "ConvSignals",
    "DissatisfactionModel",
    "conversation_docs",
    "fit_responsiveness_stage",
    "stage_probability",
]


class _DissatParams(TypedDict):
    text_C: float
    C: float
    min_df: int
    max_features: int


DISSAT_PARAMS: _DissatParams = {"text_C": 2.0, "C": 0.3, "min_df": 2, "max_features": 40000}
RESPONSIVENESS_PRIOR = {"breach_share": 0.8, "unanswered_at_end": 0.5, "intercept": 0.0, "base": 1.0}
DENSE_NAMES = [
    "text_logit", "sent_start", "sent_worst", "sent_end", "sent_mean", "sent_rise", "tone_max", "tone_mean",
    "rel_mean", "rel_min", "rel_last", "log_customer_msgs", "log_agent_msgs", "last_is_customer",
    "log_customer_chars", "no_agent_reply",
]


@dataclass(slots=True)
class ConvSignals:
    """Per-conversation inputs: tokens by side and the message-level scores (NaN-free arrays, may be empty)."""

    customer_tokens: list[list[str]]
    agent_tokens: list[list[str]]
    sentiment: np.ndarray
    tone: np.ndarray
    relevance: np.ndarray
    last_is_customer: bool
    customer_chars: int
    extra: dict = field(default_factory=dict)


def conversation_docs(sig: ConvSignals) -> list[str]:
    """Text features: customer uni+bigrams (``c:``) and agent unigrams (``a:``)."""
    feats: list[str] = []
    for toks in sig.customer_tokens:
        feats.extend(ngrams(toks, 2, "c:"))
    for toks in sig.agent_tokens:
        feats.extend(ngrams(toks, 1, "a:"))
    return feats


def _explainable(term: str) -> bool:
    """Worth showing: has a content word (after the ``c:``/``a:`` side prefix)."""
    stop = load_stopwords()
    return any(is_content_token(w, stop) for w in term[2:].split(" "))


def _reduce(arrays: Sequence[np.ndarray], empty: float) -> tuple[np.ndarray, ...]:
    """(first, max, last, mean, min) of each array (``empty`` standing in for an empty one), in a few numpy calls
    for the whole batch: numpy's per-call overhead on arrays of a handful of scores cost more than the sums."""
    filled = [a if len(a) else np.array([empty]) for a in arrays]
    lens = np.fromiter(map(len, filled), np.int64, len(filled))
    flat = np.concatenate(filled).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    ends = starts + lens - 1
    return (flat[starts], np.maximum.reduceat(flat, starts), flat[ends], np.add.reduceat(flat, starts) / lens,
            np.minimum.reduceat(flat, starts))


def _dense(sigs: Sequence[ConvSignals], text_logit: np.ndarray) -> np.ndarray:
    if not sigs:
        return np.zeros((0, len(DENSE_NAMES)))
    s_first, s_max, s_last, s_mean, _ = _reduce([s.sentiment for s in sigs], 0.5)
    _, t_max, _, t_mean, _ = _reduce([s.tone for s in sigs], 0.0)
    _, _, r_last, r_mean, r_min = _reduce([s.relevance for s in sigs], 0.5)
    n_customer = np.fromiter((len(s.customer_tokens) for s in sigs), np.float64, len(sigs))
    n_agent = np.fromiter((len(s.agent_tokens) for s in sigs), np.float64, len(sigs))
    last_customer = np.fromiter((s.last_is_customer for s in sigs), np.float64, len(sigs))
    chars = np.fromiter((s.customer_chars for s in sigs), np.float64, len(sigs))
    return np.column_stack([
        np.asarray(text_logit, np.float64), s_first, s_max, s_last, s_mean, s_last - s_first, t_max, t_mean,
        r_mean, r_min, r_last, np.log1p(n_customer), np.log1p(n_agent), last_customer, np.log1p(chars),
        (n_agent == 0).astype(np.float64),
    ])


@dataclass
class DissatisfactionModel:
    """P(customer ends dissatisfied) of a conversation.

    Parameters
    ----------
    text : LinearTextModel
        Word n-gram model over ``conversation_docs``.
    mean, scale, coef : ndarray
        Standardisation and weights of the combining logistic regression over the dense features.
    intercept : float
    responsiveness : dict
        Log-odds weights of the responsiveness adjustment (prior, or fitted on CSAT).
    """

    text: LinearTextModel
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    responsiveness: dict = field(default_factory=lambda: dict(RESPONSIVENESS_PRIOR))

    @classmethod
    def fit(cls, sigs: Sequence[ConvSignals], y: np.ndarray, seed: int = 0) -> DissatisfactionModel:
        """Fit; the text model's log-odds enter the combiner out-of-fold so its weight is not inflated."""
        p = DISSAT_PARAMS
        docs = [conversation_docs(s) for s in sigs]
        oof = np.zeros(len(docs))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(docs, y):
            m = LinearTextModel.fit([docs[i] for i in tr], y[tr], C=p["text_C"], min_df=p["min_df"],
                                    max_features=p["max_features"])
            oof[te] = m.decision(m.vectorizer.transform([docs[i] for i in te]))
        text = LinearTextModel.fit(docs, y, C=p["text_C"], min_df=p["min_df"], max_features=p["max_features"])
        feats = _dense(sigs, oof)
        mean, scale = feats.mean(axis=0), feats.std(axis=0) + 1e-6
        lr = LogisticRegression(C=p["C"], max_iter=3000).fit((feats - mean) / scale, y)
        return cls(text, mean, scale, lr.coef_.ravel(), float(lr.intercept_[0]))

    def predict_base(self, sigs: Sequence[ConvSignals]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """Log-odds before the responsiveness adjustment, the dense features, and the driving words."""
        if not sigs:
            return np.zeros(0), np.zeros((0, len(DENSE_NAMES))), []
        x = self.text.vectorizer.transform([conversation_docs(s) for s in sigs])
        text_logit = self.text.decision(x)
        feats = _dense(sigs, text_logit)
        z = ((feats - self.mean) / self.scale) @ self.coef + self.intercept
        words = top_terms(x, self.text.coef, self.text.vectorizer.terms, 3, self.text.term_mask(_explainable), z >= 0)
        return z, feats, [[w[2:] for w in ws] for ws in words]

    def adjust(self, z: np.ndarray, breach_share: np.ndarray, unanswered: np.ndarray) -> np.ndarray:
        """Probability after adding the responsiveness terms to the log-odds ``z``."""
        return stage_probability(self.responsiveness, z, breach_share, unanswered)

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta, arrays = self.text.to_state()
        return {"text": meta, "intercept": self.intercept, "features": DENSE_NAMES,
                "responsiveness": self.responsiveness}, {
            **{f"text_{k}": v for k, v in arrays.items()}, "mean": self.mean, "scale": self.scale, "coef": self.coef,
        }

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> DissatisfactionModel:
        """From ``load_artifact``."""
        text = LinearTextModel.from_state(meta["text"], {k[5:]: v for k, v in arrays.items() if k.startswith("text_")})
        return cls(text, arrays["mean"], arrays["scale"], arrays["coef"], float(meta["intercept"]),
                   dict(meta["responsiveness"]))


def stage_probability(weights: dict, z: np.ndarray, breach_share: np.ndarray, unanswered: np.ndarray
                      ) -> np.ndarray:
    """P(dissatisfied) from the base log-odds and the responsiveness terms, with the given stage weights."""
    w = weights
    return sigmoid(w["base"] * z + w["intercept"] + w["breach_share"] * breach_share
                   + w["unanswered_at_end"] * (np.asarray(unanswered) > 0))


def fit_responsiveness_stage(
    base_logit: np.ndarray, breach_share: np.ndarray, unanswered: np.ndarray, csat: np.ndarray,
    min_rated: int = 200,
) -> dict | None:
    """Weights of the responsiveness stage fitted on imported CSAT (dissatisfied = CSAT ≤ 2).

    Returns None when there are fewer than ``min_rated`` rated conversations or only one outcome, in which
    case the documented prior stays in force.
    """
    y = (np.asarray(csat) <= 2).astype(int)
    if len(y) < min_rated or y.min() == y.max():
        return None
    x = np.column_stack([base_logit, breach_share, (np.asarray(unanswered) > 0).astype(float)])
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    base, breach, unans = (float(v) for v in lr.coef_.ravel())
    return {"base": base, "breach_share": breach, "unanswered_at_end": unans, "intercept": float(lr.intercept_[0])}

