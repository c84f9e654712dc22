"""The scoring run's part for product reviews and tags: review sentiment, and tags on scored conversations.

Review sentiment is computed here rather than at import so an import never loads the models, and so a new
model version rescores reviews the way it rescores conversations (``sentiment_version``). A review is scored on
its text and follow-up together: a follow-up (追评) is where a buyer says what went wrong after a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Engine, Table, bindparam, or_, select, update

from qa.busy import retry_when_busy
from qa.models import ProductReview
from scoring.pipeline import Scorer
from scoring.sentiment import SentimentModel

__all__ = ["score_reviews"]

_pr = cast(Table, ProductReview.__table__)


def score_reviews(engine: Engine, scorer: Scorer, chunk: int = 2000) -> int:
    """Give every review without a sentiment of the current model version one; returns how many were scored."""
    model = next(m for m in scorer.models if isinstance(m, SentimentModel))
    with engine.connect() as conn:
        ids = list(conn.scalars(select(_pr.c.id).where(or_(
            _pr.c.sentiment_version.is_(None), _pr.c.sentiment_version != scorer.version)).order_by(_pr.c.id)))
    for start in range(0, len(ids), chunk):
        _score_chunk(engine, ids[start:start + chunk], model, scorer)
    return len(ids)


@retry_when_busy
def _score_chunk(engine: Engine, ids: Sequence[int], model: SentimentModel, scorer: Scorer) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(_pr.c.id, _pr.c.text, _pr.c.follow_up).where(_pr.c.id.in_(ids))).all()
    texts = [f"{r.text}\n{r.follow_up}".strip() for r in rows]
    written = [i for i, t in enumerate(texts) if t]
    p = model.predict([texts[i] for i in written], scorer.tokenizer.tokenize_many(texts[i] for i in written))
    neg: list[float | None] = [None] * len(rows)
    for i, value in zip(written, p):
        neg[i] = round(float(value), 4)
    with engine.begin() as conn:
        conn.execute(update(_pr).where(_pr.c.id == bindparam("rid")).values(
            sentiment_neg=bindparam("neg"), sentiment_version=scorer.version),
            [{"rid": r.id, "neg": n} for r, n in zip(rows, neg)])
