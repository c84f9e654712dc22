"""TokenTfidf reproduces scikit-learn's TF-IDF and survives a JSON/npz round trip."""

from __future__ import annotations

import json

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from scoring.features import TokenTfidf, char_ngrams, ngrams

DOCS = [["不", "好", "不", "好"], ["很", "好"], ["物流", "太", "慢"], ["好", "物流"], ["不", "满意"]]


def test_matches_sklearn_tfidf() -> None:
    ours = TokenTfidf(min_df=1).fit_transform(DOCS).toarray()
    sk = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=1)
    theirs = sk.fit_transform(DOCS).toarray()
    order = np.argsort(sk.get_feature_names_out())
    assert np.allclose(ours, theirs[:, order], atol=1e-6)


def test_round_trip_through_json() -> None:
    vec = TokenTfidf(min_df=1).fit(DOCS)
    meta, arrays = vec.to_state()
    again = TokenTfidf.from_state(json.loads(json.dumps(meta)), arrays)
    assert np.allclose(vec.transform(DOCS).toarray(), again.transform(DOCS).toarray())


def test_unknown_features_and_empty_documents_give_zero_rows() -> None:
    x = TokenTfidf(min_df=1).fit(DOCS).transform([["从没见过"], []])
    assert x.nnz == 0 and x.shape[0] == 2


def test_ngram_helpers() -> None:
    assert ngrams(["不", "好", "用"], 2, "c:") == ["c:不", "c:好", "c:用", "c:不 好", "c:好 用"]
    assert char_ngrams("好用", 1, 2) == ["#好", "#用", "#好用"]
