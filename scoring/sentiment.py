"""Customer sentiment per message: probability that the text is negative, from word uni+bigram TF-IDF + LR.

Trained on real review corpora (online shopping, 10 product categories, and food delivery), whose negative reviews
are complaints in the customer's own words — the closest labelled text to a dissatisfied chat message.
Word features were chosen over character n-grams because they are ~6x faster to predict at the same
left-out-domain AUC (see data/models/sentiment.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from scoring.batch import MessageBatch, Signals
from scoring.features import ngrams
from scoring.linear import LinearTextModel, sigmoid, top_terms
from scoring.text import is_content_token, load_stopwords

__all__ = ["SENTIMENT_PARAMS", "sentiment_features", "SentimentModel"]


class _SentimentParams(TypedDict):
    C: float
    min_df: int
    max_features: int


SENTIMENT_PARAMS: _SentimentParams = {"C": 4.0, "min_df": 2, "max_features": 60000}


def sentiment_features(tokens: Sequence[str]) -> list[str]:
    """Word unigrams and bigrams; negations stay attached to what they negate (``不 好``)."""
    return ngrams(tokens, 2)


def _explainable(term: str) -> bool:
    """Worth showing: has a content word, or is a negation such as 不好."""
    stop = load_stopwords()
    return any(is_content_token(w, stop) for w in term.split(" ")) or term.startswith("不")


@dataclass
class SentimentModel:
    """P(negative) of a customer message.

    Parameters
    ----------
    model : LinearTextModel
        Text classifier whose positive class is "negative review".
    """

    model: LinearTextModel

    @classmethod
    def fit(cls, token_lists: Sequence[Sequence[str]], y_negative: np.ndarray) -> SentimentModel:
        """Fit on tokenised texts with 1 = negative."""
        docs = [sentiment_features(t) for t in token_lists]
        return cls(LinearTextModel.fit(docs, y_negative, **SENTIMENT_PARAMS))

    def predict(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """P(negative) per message; an empty message gets the model's prior."""
        return self.model.predict_proba([sentiment_features(t) for t in token_lists])

    def predict_explain(self, token_lists: Sequence[Sequence[str]], k: int = 3) -> tuple[np.ndarray, list[list[str]]]:
        """P(negative) and, per message, the words that pushed it towards its side of 0.5."""
        x = self.model.vectorizer.transform([sentiment_features(t) for t in token_lists])
        p = sigmoid(self.model.decision(x))
        mask = self.model.term_mask(_explainable)
        return p, top_terms(x, self.model.coef, self.model.vectorizer.terms, k, mask, p >= 0.5)

    field = "sentiment_neg"

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """P(negative) of every customer and agent message with words, and the words behind it."""
        scored = batch.scored()
        if scored:
            p, words = self.predict_explain([batch.tokens[i] for i in scored])
            signals.column(self.field)[scored] = p
            signals.words[self.field].update(zip(scored, words))

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        return self.model.to_state()

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> SentimentModel:
        """From ``load_artifact``."""
        return cls(LinearTextModel.from_state(meta, arrays))
