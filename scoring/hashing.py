"""Hashed n-gram TF-IDF, vectorised: character n-grams of raw text and word n-grams of token lists.

Scoring a million messages leaves no room for a Python step per n-gram (sklearn's analyzers take ~85 s for the
character 1–3-grams of 500k short replies here). Character n-grams are hashed with a rolling polynomial over the
code points of all texts at once in numpy; word n-grams from each distinct token's CRC-32, looked up once and
combined in numpy. No vocabulary is stored (the model keeps one IDF array), and ``ngram_ids`` gives the columns
of one text's n-grams again, so explanations can name the phrases behind the largest coefficients.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

__all__ = ["HashedTfidf", "char_ngram_matrix", "token_ngram_matrix", "ngram_ids"]

_PRIME = 2_147_483_647  # 2**31 - 1: the rolling hash stays in int64
_BASE = 1_000_003
_MIX = 2_654_435_761
Kind = Literal["char", "token"]


def _columns(h: np.ndarray, n: int, dim: int) -> np.ndarray:
    return (h * _MIX + n) % dim  # h < 2**31 and _MIX < 2**32: no int64 overflow


def char_ngram_matrix(texts: Sequence[str], n_max: int, dim: int) -> sp.csr_matrix:
    """Counts of each text's character 1..n_max-grams, hashed into ``dim`` columns."""
    lens = np.fromiter((len(t) for t in texts), np.int64, len(texts))
    codes = np.frombuffer("\x00".join(texts).encode("utf-32-le"), np.uint32).astype(np.int64)
    return _rolling(codes, lens, n_max, dim)


def _rolling(units: np.ndarray, lens: np.ndarray, n_max: int, dim: int) -> sp.csr_matrix:
    """Counts of the 1..n_max-grams of ``units``: each document's units (code points or token hashes, never 0)
    followed by a 0, ``lens`` units per document; a rolling polynomial hash, one numpy pass per n."""
    doc = np.repeat(np.arange(len(lens)), lens + 1)[: len(units)]
    rows, cols = [], []
    h = units.copy()
    valid = units != 0
    for n in range(1, n_max + 1):
        if n > 1:
            h = (h[:-1] * _BASE + units[n - 1:]) % _PRIME
            valid = valid[:-1] & (units[n - 1:] != 0)
        rows.append(doc[: len(h)][valid])
        cols.append(_columns(h[valid], n, dim))
    return _counts(np.concatenate(rows), np.concatenate(cols), len(lens), dim)


_TOKEN_HASHES: dict[str, int] = {}
_TOKEN_HASHES_MAX = 1_000_000
"""Each distinct token's hash, kept for the process: every model and every batch hashes the same words again
(a scoring run over a million messages sees a few hundred thousand distinct tokens); emptied when it grows past
``_TOKEN_HASHES_MAX`` so that memory stays bounded."""


def _token_hashes(tokens: list[str]) -> list[int]:
    memo = _TOKEN_HASHES
    new = set(tokens).difference(memo)
    if len(memo) + len(new) > _TOKEN_HASHES_MAX:
        memo.clear()
        new = set(tokens)
    for t in new:
        memo[t] = zlib.crc32(t.encode("utf-8")) % (_PRIME - 1) + 1  # 0 marks a document boundary
    return list(map(memo.__getitem__, tokens))


def token_ngram_matrix(token_lists: Sequence[Sequence[str]], n_max: int, dim: int) -> sp.csr_matrix:
    """Counts of each token list's word 1..n_max-grams, hashed into ``dim`` columns."""
    lens = np.fromiter((len(t) for t in token_lists), np.int64, len(token_lists))
    flat = np.array(_token_hashes([t for tokens in token_lists for t in (*tokens, "\x00")]), dtype=np.int64)
    flat[np.cumsum(lens + 1) - 1] = 0
    return _rolling(flat, lens, n_max, dim)


def _counts(rows: np.ndarray, cols: np.ndarray, n_docs: int, dim: int) -> sp.csr_matrix:
    x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_docs, dim))
    x.sum_duplicates()
    return x


def ngram_ids(kind: Kind, item: str | Sequence[str], n_max: int, dim: int) -> list[tuple[str, int]]:
    """Each n-gram of one text (``kind`` char) or token list (``kind`` token) with its column, in order."""
    units: Sequence[str] = item
    codes = list(map(ord, units)) if kind == "char" else _token_hashes(list(units))
    joiner = "" if kind == "char" else " "
    out = []
    for n in range(1, n_max + 1):
        for i in range(len(units) - n + 1):
            h = 0
            for code in codes[i:i + n]:
                h = (h * _BASE + code) % _PRIME if h else code
            out.append((joiner.join(units[i:i + n]), (h * _MIX + n) % dim))
    return out


@dataclass
class HashedTfidf:
    """Sublinear TF × IDF of hashed n-grams, rows L2-normalised; ``idf`` is fitted, everything else is fixed."""

    kind: Kind
    n_max: int
    dim: int
    idf: np.ndarray

    @classmethod
    def fit(cls, docs: Sequence[str] | Sequence[Sequence[str]], kind: Kind, n_max: int, dim: int) -> HashedTfidf:
        """IDF of each column over ``docs`` (smoothed, as sklearn's)."""
        model = cls(kind, n_max, dim, np.ones(dim, np.float32))
        return model.fit_counts(model.counts(docs))

    def fit_counts(self, counts: sp.csr_matrix) -> HashedTfidf:
        """Set the IDF from a ``counts`` matrix (so that folds of one corpus share one hashing pass)."""
        df = np.bincount(counts.indices, minlength=self.dim)
        self.idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
        return self

    def counts(self, docs: Sequence[str] | Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Raw n-gram counts, one row per document."""
        if self.kind == "char":
            return char_ngram_matrix(docs, self.n_max, self.dim)  # type: ignore[arg-type]
        return token_ngram_matrix(docs, self.n_max, self.dim)

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF × IDF of ``counts``, rows L2-normalised (in place on a copy of the data: no sparse
        products, which cost more than the arithmetic on batches of a few messages)."""
        data = np.log1p(counts.data) * self.idf[counts.indices]
        lengths = np.diff(counts.indptr)
        filled = lengths > 0
        norms = np.ones(counts.shape[0])
        if data.size:  # summed from the start of each non-empty row only: an empty last row starts past the data
            norms[filled] = np.sqrt(np.add.reduceat(data * data, counts.indptr[:-1][filled]))
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, lengths)
        return sp.csr_matrix((data.astype(np.float32), counts.indices.copy(), counts.indptr.copy()),
                             shape=counts.shape)

    def transform(self, docs: Sequence[str] | Sequence[Sequence[str]]) -> sp.csr_matrix:
        """One normalised row per document."""
        return self.weigh(self.counts(docs))

    def strongest(self, tokens: Sequence[str], coef: np.ndarray, k: int, keep: Callable[[str], bool],
                  picked: Sequence[str] = ()) -> list[str]:
        """The word n-grams of ``tokens`` weighing most towards the positive class (``coef`` over this block's
        columns × IDF), joined without spaces, that ``keep`` accepts (it sees the n-gram with spaces) and that
        neither hold nor sit inside one already picked; ``picked`` first, ``k`` in all at most."""
        out = list(picked)
        weighted = sorted(((coef[col] * self.idf[col], gram.replace(" ", ""), gram)
                           for gram, col in ngram_ids(self.kind, tokens, self.n_max, self.dim)), reverse=True)
        for weight, joined, gram in weighted:
            if weight <= 0 or len(out) >= k:
                break
            if keep(gram) and not any(joined in p or p in joined for p in out):
                out.append(joined)
        return out

    def to_state(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        """Settings and the IDF array, keyed by ``prefix`` so that several fit in one artifact."""
        return {f"{prefix}kind": self.kind, f"{prefix}n_max": self.n_max, f"{prefix}dim": self.dim}, {
            f"{prefix}idf": self.idf.astype(np.float16)}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> HashedTfidf:
        """The inverse of ``to_state``."""
        return cls(meta[f"{prefix}kind"], int(meta[f"{prefix}n_max"]), int(meta[f"{prefix}dim"]),
                   arrays[f"{prefix}idf"].astype(np.float32))
