"""How the sentiment model weighs its training corpus: each review or chat domain counts the same in total (so a
large one does not set the words an unseen domain is read by), and the labelled real JD lines count tenfold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.datasets import sentiment_corpus
from scoring.sentiment import ALWAYS_TRAINED, SENTIMENT_PARAMS, corpus_weights, is_plain_question

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_each_domain_weighs_the_same_in_total_and_labelled_chat_lines_tenfold() -> None:
    domains = ["平板"] * 6 + ["热水器"] * 2 + ["聊天"] * 4 + ["提问"] * 3 + ["京东标注"] * 2
    w = corpus_weights(domains)
    totals = {name: float(w[np.asarray(domains) == name].sum()) for name in ("平板", "热水器", "聊天")}
    assert totals == pytest.approx({"平板": 4.0, "热水器": 4.0, "聊天": 4.0})
    assert w[12:15].tolist() == [1.0, 1.0, 1.0]  # plain questions: never held out, taken as they are
    assert w[15:].tolist() == [SENTIMENT_PARAMS["labelled_chat_weight"]] * 2


@pytest.mark.real_data
def test_on_the_real_corpus_no_domain_outweighs_another() -> None:
    if not (SHARED / "data" / "reviews").exists():
        pytest.skip("../shared/data is absent (fresh clone): the training corpus is read from it")
    corpus = sentiment_corpus(SHARED, is_plain_question)
    w = corpus_weights(corpus["domain"])
    totals = corpus.assign(w=w).groupby("domain")["w"].sum().drop(list(ALWAYS_TRAINED))
    assert len(totals) == 12  # ten shopping categories, 外卖, 聊天
    assert totals.max() == pytest.approx(totals.min(), rel=1e-6)
    per_row = corpus.assign(w=w).groupby("domain")["w"].first()
    assert per_row["热水器"] > 10 * per_row["聊天"]  # 572 reviews against ~30,000 utterances
