"""A binary TF-IDF + logistic-regression text model that stores as JSON/.npz and explains itself by its words.

Used for customer sentiment and as the text part of tone and dissatisfaction. Training uses scikit-learn's
``LogisticRegression``; only the fitted coefficients are kept, so prediction is one sparse matrix product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from scoring.features import TokenTfidf

__all__ = ["LinearTextModel", "sigmoid", "logit", "top_terms"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def logit(p: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Inverse of ``sigmoid``, clipped away from 0 and 1."""
    p = np.clip(p, eps, 1 - eps)
    return np.log(p / (1 - p))


def top_terms(
    x: sp.csr_matrix, coef: np.ndarray, terms: Sequence[str], k: int, mask: np.ndarray, positive: np.ndarray,
) -> list[list[str]]:
    """Per row, the ``k`` explainable features (``mask``) contributing most towards or against the positive class."""
    contrib = x.data * coef[x.indices] * mask[x.indices]
    out: list[list[str]] = []
    for r in range(x.shape[0]):
        lo, hi = x.indptr[r], x.indptr[r + 1]
        c = contrib[lo:hi] if positive[r] else -contrib[lo:hi]
        idx = x.indices[lo:hi]
        picked: list[str] = []
        for j in np.argsort(-c)[: 3 * k]:
            if c[j] <= 0 or len(picked) == k:
                break
            term = terms[idx[j]]
            if not any(term in p or p in term for p in picked):
                picked.append(term)
        out.append(picked)
    return out


@dataclass
class LinearTextModel:
    """Binary logistic regression over ``TokenTfidf`` features.

    Parameters
    ----------
    vectorizer : TokenTfidf
        Fitted feature map.
    coef : ndarray of shape (n_features,)
    intercept : float
    """

    vectorizer: TokenTfidf
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls, docs: Sequence[Sequence[str]], y: np.ndarray, C: float = 4.0, min_df: int = 2,
        max_features: int | None = None, sample_weight: np.ndarray | None = None,
    ) -> LinearTextModel:
        """Fit vocabulary, idf and an L2-regularised logistic regression on feature lists."""
        vec = TokenTfidf(min_df=min_df, max_features=max_features)
        x = vec.fit_transform(docs)
        lr = LogisticRegression(C=C, max_iter=3000).fit(x, y, sample_weight=sample_weight)
        return cls(vec, lr.coef_.ravel().astype(np.float32), float(lr.intercept_[0]))

    def term_mask(self, keep: Callable[[str], bool]) -> np.ndarray:
        """1.0 for terms worth showing a reviewer, 0.0 otherwise; computed once per model and rule."""
        cache = self.__dict__.setdefault("_masks", {})
        if keep not in cache:
            cache[keep] = np.array([keep(t) for t in self.vectorizer.terms], dtype=np.float32)
        return cache[keep]

    def decision(self, x: sp.csr_matrix) -> np.ndarray:
        """Log-odds of the positive class for already-vectorised rows."""
        return np.asarray(x @ self.coef).ravel() + self.intercept

    def predict_proba(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """Probability of the positive class per feature list."""
        return sigmoid(self.decision(self.vectorizer.transform(docs)))

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """JSON-able metadata and arrays for ``save_artifact``."""
        meta, arrays = self.vectorizer.to_state()
        return {"vectorizer": meta, "intercept": self.intercept}, {**arrays, "coef": self.coef}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> LinearTextModel:
        """Rebuild from ``to_state`` output."""
        vec = TokenTfidf.from_state(meta["vectorizer"], arrays)
        return cls(vec, np.asarray(arrays["coef"], dtype=np.float32), float(meta["intercept"]))
