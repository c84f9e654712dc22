"""Labelled examples the database holds, for the models that learn from a shop's own data."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from qa.models import Conversation, Message

__all__ = ["category_examples"]


def category_examples(engine: Engine, limit: int = 50_000) -> list[tuple[str, str]]:
    """(customer text, category) for conversations whose category came from a ticket or the export itself."""
    c, m = Conversation.__table__, Message.__table__
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            text = func.string_agg(m.c.text, " ")
        else:
            text = func.group_concat(m.c.text, " ")
        rows = conn.execute(
            select(text, c.c.category)
            .select_from(c.join(m, m.c.conversation_id == c.c.id))
            .where(c.c.category.is_not(None), m.c.role == "customer")
            .group_by(c.c.id, c.c.category).order_by(c.c.id).limit(limit)
        ).all()
    return [(t or "", cat) for t, cat in rows]
