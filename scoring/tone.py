"""Tone risk of an agent reply (0..1, higher = worse): curt, perfunctory (敷衍), blaming or rude vs polite/neutral.

Two parts, combined:
- the lexicon: forbidden phrases (禁用语) with severity and required courtesies, from data/lexicon/*.csv; a
  severity-2/3 phrase sets a floor on the risk whatever the model says (``SEVERITY_FLOOR``), because the real
  labels hold almost no rude replies for a model to learn them from;
- a logistic regression fitted on the real tone labels (data/labels/stc3_tone_labels.csv) over lexicon
  features, length, reply sentiment (review-trained model), relevance to the customer's text, the customer's
  negativity, and the out-of-fold log-odds of a small word n-gram model of the reply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from scoring.batch import MessageBatch, Signals
from scoring.features import ngrams
from scoring.lexicon import courtesy_phrases, forbidden_phrases
from scoring.linear import LinearTextModel, sigmoid, top_terms
from scoring.text import is_content_token, load_stopwords

__all__ = ["SEVERITY_FLOOR", "TONE_PARAMS", "ToneInputs", "ToneModel", "lexicon_risk", "tone_features", "tone_inputs"]

SEVERITY_FLOOR = {2: 0.6, 3: 0.9}
TONE_PARAMS = {"text_C": 1.0, "C": 0.5, "short_chars": 15}
_DENSE_NAMES = [
    "max_severity", "n_forbidden", "courtesy", "apology", "log_len", "short", "short_no_courtesy",
    "question", "exclaim", "reply_neg", "relevance", "relevance_missing", "customer_neg", "customer_neg_short",
    "text_logit",
]


@dataclass(slots=True)
class ToneInputs:
    """What the tone model needs per reply; the numeric arrays use NaN for "not available"."""

    texts: list[str]
    tokens: list[list[str]]
    reply_neg: np.ndarray
    relevance: np.ndarray
    customer_neg: np.ndarray


def tone_inputs(batch: MessageBatch, signals: Signals, agents: list[int]) -> ToneInputs:
    """Inputs of the tone model for the agent messages ``agents`` (indices into ``batch``): sentiment and relevance
    come from the models that ran before."""
    sentiment, relevance = signals.column("sentiment_neg"), signals.column("relevance")
    cust_neg = np.full(len(agents), np.nan)
    for k, i in enumerate(agents):
        ctx = [sentiment[j] for j in batch.contexts.get(i, ()) if not math.isnan(sentiment[j])]
        if ctx:
            cust_neg[k] = max(ctx)
    return ToneInputs([batch.texts[i] for i in agents], [batch.tokens[i] for i in agents], sentiment[agents],
                      relevance[agents], cust_neg)


def lexicon_risk(text: str) -> float:
    """The lexicon-only baseline: severity/3 of the worst 禁用语, or 0.5 for a short reply without courtesy."""
    hits = forbidden_phrases().find(text)
    sev = max((h.severity for h in hits), default=0.0)
    short_bare = len(text) <= TONE_PARAMS["short_chars"] and not courtesy_phrases().find(text)
    return max(sev / 3, 0.5 if short_bare else 0.0, 0.2 if not courtesy_phrases().find(text) else 0.0)


def tone_features(inp: ToneInputs, text_logit: np.ndarray) -> np.ndarray:
    """Dense feature matrix in the order of ``_DENSE_NAMES``."""
    rows = []
    for text in inp.texts:
        hits = forbidden_phrases().find(text)
        kinds = {h.category for h in courtesy_phrases().find(text)}
        n = len(text)
        short = n <= TONE_PARAMS["short_chars"]
        rows.append([
            max((h.severity for h in hits), default=0.0), len(hits), bool(kinds), "apology" in kinds,
            np.log1p(n), short, short and not kinds, "?" in text or "？" in text, "!" in text or "！" in text,
        ])
    lex = np.asarray(rows, dtype=np.float64).reshape(len(inp.texts), 9)
    rel_missing = np.isnan(inp.relevance)
    rel = np.where(rel_missing, 0.5, inp.relevance)
    cust = np.where(np.isnan(inp.customer_neg), 0.5, inp.customer_neg)
    return np.column_stack([
        lex, inp.reply_neg, rel, rel_missing, cust, cust * lex[:, 5], text_logit,
    ])


def _explainable(term: str) -> bool:
    """Worth showing: has a content word."""
    stop = load_stopwords()
    return any(is_content_token(w, stop) for w in term.split(" "))


def _reply_features(tokens: Sequence[str]) -> list[str]:
    return ngrams(tokens, 2)


@dataclass
class ToneModel:
    """Tone risk of agent replies.

    Parameters
    ----------
    text : LinearTextModel
        Word n-gram model of the reply text (positive class = bad tone).
    mean, scale, coef : ndarray
        Standardisation and weights of the combining logistic regression over ``tone_features``.
    intercept : float
    """

    text: LinearTextModel
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, inp: ToneInputs, y_bad: np.ndarray, groups: Sequence[str], seed: int = 0) -> ToneModel:
        """Fit on labelled replies; the text model's log-odds enter the combiner out-of-fold (grouped)."""
        docs = [_reply_features(t) for t in inp.tokens]
        oof = np.zeros(len(docs))
        n_splits = min(5, len(set(groups)))
        for tr, te in GroupKFold(n_splits=n_splits).split(docs, y_bad, groups):
            m = LinearTextModel.fit([docs[i] for i in tr], y_bad[tr], C=TONE_PARAMS["text_C"], min_df=2)
            oof[te] = m.decision(m.vectorizer.transform([docs[i] for i in te]))
        text = LinearTextModel.fit(docs, y_bad, C=TONE_PARAMS["text_C"], min_df=2)
        feats = tone_features(inp, oof)
        mean, scale = feats.mean(axis=0), feats.std(axis=0) + 1e-6
        lr = LogisticRegression(C=TONE_PARAMS["C"], max_iter=3000, class_weight=None)
        lr.fit((feats - mean) / scale, y_bad)
        return cls(text, mean, scale, lr.coef_.ravel(), float(lr.intercept_[0]))

    def predict(self, inp: ToneInputs) -> np.ndarray:
        """Tone risk per reply: the combiner's probability, raised to the floor of any severe 禁用语."""
        risk, _ = self._predict(inp, explain=False)
        return risk

    def predict_explain(self, inp: ToneInputs) -> tuple[np.ndarray, list[list[str]]]:
        """Tone risk and, per reply, Chinese reasons (matched phrases, missing courtesy, driving words)."""
        return self._predict(inp, explain=True)

    def _predict(self, inp: ToneInputs, explain: bool) -> tuple[np.ndarray, list[list[str]]]:
        if not inp.texts:
            return np.zeros(0), []
        x = self.text.vectorizer.transform([_reply_features(t) for t in inp.tokens])
        text_logit = self.text.decision(x)
        feats = tone_features(inp, text_logit)
        risk = sigmoid(((feats - self.mean) / self.scale) @ self.coef + self.intercept)
        floors = np.array([SEVERITY_FLOOR.get(int(s), 0.0) for s in feats[:, 0]])
        risk = np.maximum(risk, floors)
        if not explain:
            return risk, []
        words = top_terms(x, self.text.coef, self.text.vectorizer.terms, 2, self.text.term_mask(_explainable),
                          risk >= 0.5)
        reasons = []
        for i, text in enumerate(inp.texts):
            r: list[str] = []
            for h in forbidden_phrases().find(text):
                r.append(f"禁用语「{h.phrase}」（{_CATEGORY_ZH.get(h.category, h.category)}，严重度 {h.severity:.0f}）")
            courtesy = courtesy_phrases().find(text)
            if courtesy:
                r.append("礼貌用语：" + "、".join(h.phrase for h in courtesy[:3]))
            else:
                r.append("缺少礼貌用语")
            if feats[i, 5]:
                r.append(f"回复较短（{len(text)} 字）")
            if not np.isnan(inp.relevance[i]) and inp.relevance[i] < 0.3 and risk[i] >= 0.5:
                r.append(f"与顾客问题相关度低（{inp.relevance[i]:.2f}）")
            if words[i]:
                r.append(("风险措辞：" if risk[i] >= 0.5 else "得体措辞：") + "、".join(words[i]))
            reasons.append(r)
        return risk, reasons

    field = "tone_risk"

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """Tone risk of every agent message with words, with the reasons a reviewer reads."""
        agents = batch.scored("agent")
        if agents:
            risk, reasons = self.predict_explain(tone_inputs(batch, signals, agents))
            signals.column(self.field)[agents] = risk
            signals.words[self.field].update(zip(agents, reasons))

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta, arrays = self.text.to_state()
        return {"text": meta, "intercept": self.intercept, "features": _DENSE_NAMES}, {
            **{f"text_{k}": v for k, v in arrays.items()}, "mean": self.mean, "scale": self.scale, "coef": self.coef,
        }

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> ToneModel:
        """From ``load_artifact``."""
        text = LinearTextModel.from_state(meta["text"], {k[5:]: v for k, v in arrays.items() if k.startswith("text_")})
        return cls(text, arrays["mean"], arrays["scale"], arrays["coef"], float(meta["intercept"]))


_CATEGORY_ZH = {"rude": "粗鲁", "blaming": "推责", "perfunctory": "敷衍"}

