"""How the sentiment model weighs its training corpus: a small review domain counts as much in total as an average
one (so the large ones do not set the words an unseen domain is read by), a large one keeps one per row, and the
labelled real JD lines count tenfold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.datasets import sentiment_corpus
from scoring.sentiment import ALWAYS_TRAINED, SENTIMENT_PARAMS, corpus_weights, is_plain_question

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_small_domains_are_lifted_to_the_average_and_labelled_chat_lines_count_tenfold() -> None:
    domains = ["平板"] * 6 + ["热水器"] * 2 + ["聊天"] * 4 + ["提问"] * 3 + ["京东标注"] * 2
    w = corpus_weights(domains)
    totals = {name: float(w[np.asarray(domains) == name].sum()) for name in ("平板", "热水器", "聊天")}
    assert totals == pytest.approx({"平板": 6.0, "热水器": 4.0, "聊天": 4.0})  # the average domain has 4 rows
    assert w[12:15].tolist() == [1.0, 1.0, 1.0]  # plain questions: never held out, taken as they are
    assert w[15:].tolist() == [SENTIMENT_PARAMS["labelled_chat_weight"]] * 2


@pytest.mark.real_data
def test_on_the_real_corpus_small_domains_weigh_as_much_as_an_average_one() -> None:
    if not (SHARED / "data" / "reviews").exists():
        pytest.skip("../shared/data is absent (fresh clone): the training corpus is read from it")
    corpus = sentiment_corpus(SHARED, is_plain_question)
    w = corpus_weights(corpus["domain"])
    totals = corpus.assign(w=w).groupby("domain")["w"].sum().drop(list(ALWAYS_TRAINED))
    assert len(totals) == 12  # ten shopping categories, 外卖, 聊天
    sizes = corpus["domain"].value_counts()[totals.index]
    small = sizes < sizes.mean()
    assert set(totals.index[small]) >= {"热水器", "蒙牛", "书籍"}
    assert totals[small].to_numpy() == pytest.approx(np.full(small.sum(), sizes.mean()))
    assert totals[~small].to_numpy() == pytest.approx(sizes[~small].to_numpy())  # 聊天 is not weighed down
