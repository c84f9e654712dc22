"""Relevance of an agent reply to what the customer just said (0..1), learned from real helpdesk dialogues.

Positives are the true helpdesk replies of STC-3 dialogues paired with the customer turn(s) they answer;
negatives pair the same customer text with helpdesk replies drawn from *other* dialogues — fluent, polite,
on-domain lines that simply do not answer this customer, which is what a canned or off-topic reply looks like.

Model: customer and reply texts are mapped to a latent semantic space (TF-IDF → truncated SVD, "LSA"); a ridge
regression learns which reply topics follow which customer topics; a logistic regression combines the
element-wise products in both spaces with word-overlap and length features. Everything is dense and small, so a
batch of pairs is scored with a few matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression, Ridge

from scoring.batch import MessageBatch, Signals
from scoring.features import TokenTfidf
from scoring.linear import sigmoid
from scoring.text import is_content_token, load_stopwords

__all__ = ["RELEVANCE_PARAMS", "content_tokens", "make_pairs", "RelevanceModel"]


class _RelevanceParams(TypedDict):
    n_components: int
    max_features: int
    ridge_alpha: float
    C: float
    negatives: int


RELEVANCE_PARAMS: _RelevanceParams = {
    "n_components": 96, "max_features": 12000, "ridge_alpha": 1.0, "C": 1.0, "negatives": 2}


def content_tokens(tokens: Sequence[str]) -> list[str]:
    """Tokens that carry topic: stop words, punctuation and bare numbers removed."""
    stop = load_stopwords()
    return [t for t in tokens if is_content_token(t, stop)]


def make_pairs(
    contexts: Sequence[list[str]], replies: Sequence[list[str]], groups: Sequence[str], negatives: int,
    rng: np.random.Generator,
) -> tuple[list[list[str]], list[list[str]], np.ndarray]:
    """True (context, reply) pairs plus ``negatives`` pairs per context with replies from other groups."""
    ctx, rep, y = list(contexts), list(replies), [1] * len(contexts)
    groups_arr = np.asarray(groups)
    n = len(replies)
    for i, c in enumerate(contexts):
        drawn = 0
        while drawn < negatives:
            j = int(rng.integers(n))
            if groups_arr[j] != groups_arr[i]:
                ctx.append(c)
                rep.append(replies[j])
                y.append(0)
                drawn += 1
    return ctx, rep, np.asarray(y)


def _unit(a: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return a / norms


@dataclass
class RelevanceModel:
    """P(reply answers the customer's text).

    Parameters
    ----------
    vectorizer : TokenTfidf
        Content-word TF-IDF shared by both sides.
    components : ndarray of shape (n_components, n_features)
        LSA projection.
    mapping : ndarray of shape (n_components, n_components)
        Ridge map from the customer's latent vector to the expected reply's.
    mean, scale : ndarray
        Standardisation of the pair features.
    coef : ndarray
    intercept : float
    """

    vectorizer: TokenTfidf
    components: np.ndarray
    mapping: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls, corpus: Sequence[Sequence[str]], contexts: Sequence[list[str]], replies: Sequence[list[str]],
        y: np.ndarray, seed: int = 0,
    ) -> RelevanceModel:
        """Fit LSA on ``corpus`` (content tokens of all texts), the ridge map on true pairs, then the classifier."""
        p = RELEVANCE_PARAMS
        vec = TokenTfidf(min_df=2, max_features=p["max_features"]).fit(corpus)
        svd = TruncatedSVD(n_components=p["n_components"], random_state=seed).fit(vec.transform(corpus))
        components = svd.components_.astype(np.float32)
        c_lat = _unit(np.asarray(vec.transform(contexts) @ components.T))
        r_lat = _unit(np.asarray(vec.transform(replies) @ components.T))
        pos = y == 1
        ridge = Ridge(alpha=p["ridge_alpha"], fit_intercept=False).fit(c_lat[pos], r_lat[pos])
        model = cls(vec, components, ridge.coef_.T.astype(np.float32), np.zeros(1), np.ones(1), np.zeros(1), 0.0)
        feats = model._pair_features(contexts, replies)
        model.mean, model.scale = feats.mean(axis=0), feats.std(axis=0) + 1e-6
        lr = LogisticRegression(C=p["C"], max_iter=3000).fit((feats - model.mean) / model.scale, y)
        model.coef, model.intercept = lr.coef_.ravel().astype(np.float32), float(lr.intercept_[0])
        return model

    def _pair_features(self, contexts: Sequence[list[str]], replies: Sequence[list[str]]) -> np.ndarray:
        xc, xr = self.vectorizer.transform(contexts), self.vectorizer.transform(replies)
        c_lat = _unit(np.asarray(xc @ self.components.T))
        r_lat = _unit(np.asarray(xr @ self.components.T))
        mapped = _unit(c_lat @ self.mapping)
        cos_tfidf = np.asarray(xc.multiply(xr).sum(axis=1)).ravel()
        overlap = np.array([len(set(c) & set(r)) for c, r in zip(contexts, replies)], dtype=np.float32)
        n_c = np.array([len(c) for c in contexts], dtype=np.float32)
        n_r = np.array([len(r) for r in replies], dtype=np.float32)
        dense = np.column_stack([
            cos_tfidf, (c_lat * r_lat).sum(axis=1), (mapped * r_lat).sum(axis=1), np.log1p(overlap),
            np.log1p(n_c), np.log1p(n_r), (n_r == 0).astype(np.float32),
        ])
        return np.hstack([dense, c_lat * r_lat, mapped * r_lat]).astype(np.float32)

    def predict(self, contexts: Sequence[list[str]], replies: Sequence[list[str]]) -> np.ndarray:
        """Relevance in 0..1 per (customer content tokens, reply content tokens) pair."""
        if not contexts:
            return np.zeros(0)
        feats = (self._pair_features(contexts, replies) - self.mean) / self.scale
        return sigmoid(feats @ self.coef + self.intercept)

    field = "relevance"

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """Relevance of every agent message with words to the customer messages it answers, and the words both
        share (the reason shown)."""
        content = {i: content_tokens(batch.tokens[i]) for i in batch.scored()}
        pairs = [i for i in batch.contexts if i in content and batch.roles[i] == "agent"]
        if not pairs:
            return
        ctx_tokens = [[w for j in batch.contexts[i] for w in content.get(j, ())] for i in pairs]
        signals.column(self.field)[pairs] = self.predict(ctx_tokens, [content[i] for i in pairs])
        for i, ctx in zip(pairs, ctx_tokens):
            ctx_set = set(ctx)
            signals.words[self.field][i] = list(dict.fromkeys(w for w in content[i] if w in ctx_set))[:3]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta, arrays = self.vectorizer.to_state()
        return {"vectorizer": meta, "intercept": self.intercept}, {
            **arrays, "components": self.components, "mapping": self.mapping, "mean": self.mean,
            "scale": self.scale, "coef": self.coef,
        }

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> RelevanceModel:
        """From ``load_artifact``."""
        return cls(
            TokenTfidf.from_state(meta["vectorizer"], arrays), arrays["components"], arrays["mapping"],
            arrays["mean"], arrays["scale"], arrays["coef"], float(meta["intercept"]),
        )
