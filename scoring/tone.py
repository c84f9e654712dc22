"""Tone risk of an agent reply (0..1, higher = worse): curt, perfunctory (敷衍), blaming, rude, sarcastic or
shifting responsibility, vs polite or neutral.

One logistic regression over hashed n-grams (``scoring.hashing``): the reply's character 1–3-grams and word
1–2-grams, the character 1–2-grams of the customer's last two messages (so that a template sent to a customer
who is waiting reads differently from the same template after a thank-you), and four features of the 禁用语
lexicon. It is fitted on real replies labelled twice and adjudicated (data/labels: 1,000 JD, 520 STC-3) and on
600 bad/good reply pairs written into real JD contexts (``tone_synthetic_train.csv``); its intercept is then
shifted so that 1.5% of real replies judged fine, out of fold, reach the flag line (``scoring.schema.TONE_FLAG``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from scoring.batch import MessageBatch, Signals
from scoring.hashing import HashedTfidf
from scoring.lexicon import courtesy_phrases, forbidden_phrases
from scoring.linear import sigmoid
from scoring.schema import TONE_FLAG

__all__ = ["TONE_PARAMS", "ToneInputs", "ToneModel", "lexicon_risk", "normalize_reply", "tone_inputs"]

TONE_PARAMS: dict[str, float] = {"C": 4.0, "positive_weight": 3.0, "context_weight": 0.5, "lexicon_weight": 0.9,
                                 "fine_flag_share": 0.015}
CONTEXT_MESSAGES = 2  # the customer's last messages before a reply that the model reads
DIM = 2**18
SHORT_CHARS = 15
_PLACEHOLDERS = [(re.compile(r"#E-s\[数字x\]"), "☺"), (re.compile(r"\[ORDERID_\d+\]"), "Ｏ"),
                 (re.compile(r"\[数字x\]"), "Ｎ"), (re.compile(r"\[金额x\]"), "Ｍ"),
                 (re.compile(r"\[[^\[\]]{1,4}x\]"), "Ｐ")]
_PHRASE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{2,}$")
_LEXICON = ("最高严重度", "严重度 2", "严重度 3", "命中数")


def normalize_reply(text: str) -> str:
    """Anonymisation placeholders and emoji codes as one symbol each, runs of space as one."""
    if "[" in text:
        for pattern, symbol in _PLACEHOLDERS:
            text = pattern.sub(symbol, text)
    return " ".join(text.split())


@dataclass(slots=True)
class ToneInputs:
    """What the tone model reads per reply: its text, its word tokens, and the customer's words before it."""

    texts: list[str]
    tokens: list[list[str]]
    contexts: list[str]


def tone_inputs(batch: MessageBatch, agents: list[int]) -> ToneInputs:
    """Inputs for the agent messages ``agents`` (indices into ``batch``): the context is the last two customer
    messages the reply answers."""
    contexts = [" ‖ ".join(batch.texts[j] for j in batch.contexts.get(i, ())[-CONTEXT_MESSAGES:]) for i in agents]
    return ToneInputs([batch.texts[i] for i in agents], [batch.tokens[i] for i in agents], contexts)


def lexicon_risk(text: str) -> float:
    """The lexicon-only baseline: severity/3 of the worst 禁用语, or 0.5 for a short reply without courtesy."""
    hits = forbidden_phrases().find(text)
    sev = max((h.severity for h in hits), default=0.0)
    short_bare = len(text) <= SHORT_CHARS and not courtesy_phrases().find(text)
    return max(sev / 3, 0.5 if short_bare else 0.0, 0.2 if not courtesy_phrases().find(text) else 0.0)


def _lexicon_features(texts: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(texts), len(_LEXICON)), np.float32)
    phrases = forbidden_phrases()
    for i, text in enumerate(texts):
        sev = [h.severity for h in phrases.find(text)]
        worst = max(sev, default=0.0)
        out[i] = (worst / 3, worst == 2, worst == 3, min(len(sev), 3) / 3)
    return out


@dataclass
class ToneModel:
    """P(a QA manager would want this reply changed), calibrated so that the flag line is 0.5.

    Parameters
    ----------
    reply_chars, reply_words, context_chars : HashedTfidf
        Character 1–3-grams and word 1–2-grams of the reply, character 1–2-grams of the customer's words.
    coef : ndarray
        Weights over those blocks and the lexicon features, in that order.
    intercept : float
        Includes the calibration shift.
    """

    reply_chars: HashedTfidf
    reply_words: HashedTfidf
    context_chars: HashedTfidf
    coef: np.ndarray
    intercept: float

    field = "tone_risk"

    @classmethod
    def fit(cls, inp: ToneInputs, y_bad: np.ndarray) -> ToneModel:
        """Fit on labelled replies (1 = bad); ``scoring.fitting.fit_tone`` then shifts the intercept to the flag line."""
        texts = [normalize_reply(t) for t in inp.texts]
        model = cls(HashedTfidf.fit(texts, "char", 3, DIM), HashedTfidf.fit(inp.tokens, "token", 2, DIM),
                    HashedTfidf.fit([normalize_reply(c) for c in inp.contexts], "char", 2, DIM), np.zeros(0), 0.0)
        weight = np.where(y_bad == 1, TONE_PARAMS["positive_weight"], 1.0)
        lr = LogisticRegression(C=TONE_PARAMS["C"], max_iter=5000, solver="liblinear")
        lr.fit(model._features(inp), y_bad, sample_weight=weight)
        model.coef, model.intercept = lr.coef_.ravel().astype(np.float32), float(lr.intercept_[0])
        return model

    def _features(self, inp: ToneInputs) -> sp.csr_matrix:
        texts = [normalize_reply(t) for t in inp.texts]
        return sp.hstack([
            self.reply_chars.transform(texts), self.reply_words.transform(inp.tokens),
            self.context_chars.transform([normalize_reply(c) for c in inp.contexts]) * TONE_PARAMS["context_weight"],
            sp.csr_matrix(_lexicon_features(texts) * TONE_PARAMS["lexicon_weight"]),
        ]).tocsr()

    def decision(self, inp: ToneInputs) -> np.ndarray:
        """Log-odds per reply."""
        if not inp.texts:
            return np.zeros(0)
        return np.asarray(self._features(inp) @ self.coef).ravel() + self.intercept

    def predict(self, inp: ToneInputs) -> np.ndarray:
        """Tone risk per reply."""
        return sigmoid(self.decision(inp))

    def predict_explain(self, inp: ToneInputs) -> tuple[np.ndarray, list[list[str]]]:
        """Tone risk and, per reply, the reasons a reviewer reads: 禁用语 hits, and for a flagged reply the two
        or three words that weigh most towards the flag (two characters or more)."""
        risk = self.predict(inp)
        reasons = []
        for i, text in enumerate(inp.texts):
            r = [f"禁用语「{h.phrase}」（{_CATEGORY_ZH.get(h.category, h.category)}，严重度 {h.severity:.0f}）"
                 for h in forbidden_phrases().find(text)]
            if risk[i] >= TONE_FLAG:
                phrases = self._phrases(inp.tokens[i])
                if phrases:
                    r.append("风险措辞：" + "、".join(phrases))
            reasons.append(r)
        return risk, reasons

    def _phrases(self, tokens: Sequence[str], k: int = 3) -> list[str]:
        """The reply's words and word pairs that weigh most towards the flag: whole words, never fragments of
        the character n-grams the model also reads."""
        offset = self.reply_chars.dim
        return self.reply_words.strongest(tokens, self.coef[offset:offset + self.reply_words.dim], k,
                                          lambda gram: bool(_PHRASE.match(gram.replace(" ", ""))))

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """Tone risk of every agent message with words, with the reasons a reviewer reads."""
        agents = batch.scored("agent")
        if agents:
            risk, reasons = self.predict_explain(tone_inputs(batch, agents))
            signals.column(self.field)[agents] = risk
            signals.words[self.field].update(zip(agents, reasons))

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta: dict = {"intercept": self.intercept, "params": TONE_PARAMS, "lexicon_features": list(_LEXICON)}
        arrays: dict[str, np.ndarray] = {"coef": self.coef}
        for prefix, block in (("reply_chars_", self.reply_chars), ("reply_words_", self.reply_words),
                              ("context_chars_", self.context_chars)):
            m, a = block.to_state(prefix)
            meta.update(m)
            arrays.update(a)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> ToneModel:
        """From ``load_artifact``."""
        chars, words, context = (HashedTfidf.from_state(meta, arrays, p)
                                 for p in ("reply_chars_", "reply_words_", "context_chars_"))
        return cls(chars, words, context, arrays["coef"].astype(np.float32), float(meta["intercept"]))


_CATEGORY_ZH = {"rude": "粗鲁", "blaming": "推责", "perfunctory": "敷衍"}

