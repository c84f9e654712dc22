"""Sparse TF-IDF features over pre-computed tokens, with a vocabulary that round-trips through JSON.

scikit-learn's ``TfidfVectorizer`` would re-tokenise every text and cannot be stored without pickle; this one takes
the token lists computed once per batch and keeps only a term list and an idf array, so a model loads from plain
JSON + ``.npz``. The maths is the same as ``TfidfVectorizer(sublinear_tf=True, norm="l2", smooth_idf=True)``
(checked in tests/test_scoring_features.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

__all__ = ["ngrams", "char_ngrams", "TokenTfidf"]


def ngrams(tokens: Sequence[str], n_max: int = 2, prefix: str = "") -> list[str]:
    """Word unigrams and (space-joined) higher n-grams of a token list, optionally prefixed (``c:``/``a:``)."""
    feats = [prefix + t for t in tokens]
    if n_max >= 2:
        feats.extend([f"{prefix}{a} {b}" for a, b in zip(tokens, tokens[1:])])
    for n in range(3, n_max + 1):
        feats.extend(prefix + " ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return feats


def char_ngrams(text: str, n_min: int = 1, n_max: int = 2, prefix: str = "#") -> list[str]:
    """Character n-grams, prefixed so they never collide with word features."""
    return [prefix + text[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(text) - n + 1)]


class TokenTfidf:
    """TF-IDF over feature lists (``list[str]`` per document) with a fixed, storable vocabulary.

    Parameters
    ----------
    min_df : int
        Keep features seen in at least this many training documents.
    max_features : int or None
        Keep at most this many features, the most frequent first (ties broken by the feature text).
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of raw counts.

    Attributes
    ----------
    terms : list of str
        Feature text by column index (used to explain predictions).
    idf : ndarray of shape (n_features,)
    """

    def __init__(self, min_df: int = 2, max_features: int | None = None, sublinear_tf: bool = True) -> None:
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.terms: list[str] = []
        self.idf = np.zeros(0, dtype=np.float32)
        self._index: dict[str, int] = {}

    def fit(self, docs: Sequence[Sequence[str]]) -> TokenTfidf:
        """Learn the vocabulary and idf from training documents."""
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        kept = [(c, t) for t, c in df.items() if c >= self.min_df]
        kept.sort(key=lambda ct: (-ct[0], ct[1]))
        if self.max_features is not None:
            kept = kept[: self.max_features]
        kept.sort(key=lambda ct: ct[1])
        self.terms = [t for _, t in kept]
        counts = np.array([c for c, _ in kept], dtype=np.float64)
        self.idf = (np.log((1 + len(docs)) / (1 + counts)) + 1).astype(np.float32)
        self._index = {t: i for i, t in enumerate(self.terms)}
        return self

    def transform(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Rows of l2-normalised TF-IDF; unknown features are ignored."""
        flat = list(chain.from_iterable(docs))
        cols = np.fromiter(map(self._index.get, flat, repeat(-1, len(flat))), np.int64, len(flat))
        rows = np.repeat(np.arange(len(docs)), np.fromiter(map(len, docs), np.int64, len(docs)))
        known = cols >= 0  # one lookup per feature in C (map), not a Python loop: a batch has millions
        rows, cols = rows[known], cols[known]
        data = np.ones(len(cols), dtype=np.float32)
        x = sp.csr_matrix((data, (rows, cols)), shape=(len(docs), len(self.terms)), dtype=np.float32)
        x.sum_duplicates()
        if self.sublinear_tf:
            np.log(x.data, out=x.data)
            x.data += 1
        x.data *= self.idf[x.indices]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        x.data /= np.repeat(norms, np.diff(x.indptr)).astype(np.float32)
        return x

    def fit_transform(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Fit, then transform the same documents."""
        return self.fit(docs).transform(docs)

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """JSON-able settings and terms, and the arrays to keep in ``.npz``."""
        meta = {"min_df": self.min_df, "max_features": self.max_features, "sublinear_tf": self.sublinear_tf,
                "terms": self.terms}
        return meta, {"idf": self.idf}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> TokenTfidf:
        """Rebuild from what ``to_state`` returned."""
        obj = cls(meta["min_df"], meta["max_features"], meta["sublinear_tf"])
        obj.terms = list(meta["terms"])
        obj.idf = np.asarray(arrays["idf"], dtype=np.float32)
        obj._index = {t: i for i, t in enumerate(obj.terms)}
        return obj
