"""Category of a conversation (产品/尺码咨询, 退货, 换货, 赠品/物流, 负面评价, 售后回访, 发票, 其他).

Keyword rules from data/lexicon/category_rules.csv always work; a multinomial logistic regression is used instead
when it has been trained on labelled conversations from the database (``CategoryModel.fit``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from scoring.errors import ScoringError
from scoring.features import TokenTfidf, ngrams
from scoring.lexicon import category_keywords

__all__ = ["CATEGORIES", "OTHER", "rule_category", "CategoryModel"]

OTHER = "其他"
CATEGORIES = ("产品/尺码咨询", "退货", "换货", "赠品/物流", "负面评价", "售后回访", "发票", OTHER)
MIN_EXAMPLES_PER_CLASS = 5


def rule_category(text: str) -> tuple[str, list[str]]:
    """Category with the highest summed keyword weight in ``text`` and the keywords that decided it."""
    scores: dict[str, float] = defaultdict(float)
    words: dict[str, list[str]] = defaultdict(list)
    for hit in category_keywords().find(text):
        scores[hit.category] += hit.severity
        words[hit.category].append(hit.phrase)
    if not scores:
        return OTHER, []
    # Ties go to the category listed first in CATEGORIES, so results never depend on dict order.
    best = max(scores, key=lambda c: (scores[c], -CATEGORIES.index(c) if c in CATEGORIES else -99))
    return best, words[best]


def _features(tokens: Sequence[str]) -> list[str]:
    return ngrams(tokens, 2)


@dataclass
class CategoryModel:
    """Multinomial logistic regression over word uni+bigrams of the whole conversation.

    Parameters
    ----------
    vectorizer : TokenTfidf
    classes : list of str
    coef : ndarray of shape (n_classes, n_features)
    intercept : ndarray of shape (n_classes,)
    """

    vectorizer: TokenTfidf
    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, token_lists: Sequence[Sequence[str]], labels: Sequence[str], C: float = 4.0) -> CategoryModel:
        """Fit on tokenised conversations; classes with fewer than 5 examples are left out (ScoringError if < 2 remain)."""
        counts: dict[str, int] = defaultdict(int)
        for lab in labels:
            counts[lab] += 1
        keep = [i for i, lab in enumerate(labels) if counts[lab] >= MIN_EXAMPLES_PER_CLASS]
        if len({labels[i] for i in keep}) < 2:
            raise ScoringError("需要至少两个类别、每类至少 5 条已标注会话才能训练分类模型")
        docs = [_features(token_lists[i]) for i in keep]
        y = [labels[i] for i in keep]
        vec = TokenTfidf(min_df=1, max_features=50000)
        x = vec.fit_transform(docs)
        lr = LogisticRegression(C=C, max_iter=3000).fit(x, y)
        coef = lr.coef_ if len(lr.classes_) > 2 else np.vstack([-lr.coef_[0], lr.coef_[0]])
        intercept = lr.intercept_ if len(lr.classes_) > 2 else np.array([-lr.intercept_[0], lr.intercept_[0]])
        return cls(vec, [str(c) for c in lr.classes_], coef.astype(np.float32), intercept.astype(np.float32))

    def predict(self, token_lists: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, list[list[str]]]:
        """Predicted category, its probability, and the words that weighed most for it."""
        if not token_lists:
            return [], np.zeros(0), []
        x = self.vectorizer.transform([_features(t) for t in token_lists])
        z = np.asarray(x @ self.coef.T) + self.intercept
        z -= z.max(axis=1, keepdims=True)
        prob = np.exp(z)
        prob /= prob.sum(axis=1, keepdims=True)
        best = prob.argmax(axis=1)
        words = []
        for r, k in enumerate(best):
            lo, hi = x.indptr[r], x.indptr[r + 1]
            contrib = x.data[lo:hi] * self.coef[k, x.indices[lo:hi]]
            order = np.argsort(-contrib)[:3]
            words.append([self.vectorizer.terms[x.indices[lo + j]] for j in order if contrib[j] > 0])
        return [self.classes[k] for k in best], prob[np.arange(len(best)), best], words

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta, arrays = self.vectorizer.to_state()
        return {"vectorizer": meta, "classes": self.classes}, {**arrays, "coef": self.coef,
                                                               "intercept": self.intercept}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> CategoryModel:
        """From ``load_artifact``."""
        return cls(TokenTfidf.from_state(meta["vectorizer"], arrays), list(meta["classes"]), arrays["coef"],
                   arrays["intercept"])
