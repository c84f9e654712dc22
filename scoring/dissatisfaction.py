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


def _dense(sigs: Sequence[ConvSignals], text_logit: np.ndarray) -> np.ndarray:
    rows = []
    for s, tl in zip(sigs, text_logit):
        sent = s.sentiment if len(s.sentiment) else np.array([0.5])
        tone = s.tone if len(s.tone) else np.array([0.0])
        rel = s.relevance if len(s.relevance) else np.array([0.5])
        rows.append([
            tl, sent[0], sent.max(), sent[-1], sent.mean(), sent[-1] - sent[0], tone.max(), tone.mean(),
            rel.mean(), rel.min(), rel[-1], np.log1p(len(s.customer_tokens)), np.log1p(len(s.agent_tokens)),
            float(s.last_is_customer), np.log1p(s.customer_chars), float(not s.agent_tokens),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(sigs), len(DENSE_NAMES))


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

