"""Annotations and scores as flat tables, for CSV export and for people who live in Excel.

Files leave the building: free text in them is masked (``qa.ingest.privacy``) whatever the import did — data
imported before masking existed, or with masking off, is masked here too — unless an admin asks otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, Select, select

from qa.ingest.privacy import ALL_KINDS, mask_text
from qa.models import (
    Agent,
    Annotation,
    Conversation,
    ConversationScore,
    Message,
    Platform,
    Shop,
    User,
)
from scoring.schema import ConversationScore as ScoreSchema
from scoring.schema import score_fields

__all__ = ["annotations_query", "scores_query", "iter_rows", "spreadsheet_safe", "FREE_TEXT"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FREE_TEXT = frozenset({"message_text", "comment"})
"""Columns of what someone wrote, where personal data can be; identifiers (a conversation id) stay as they are,
so an export still joins with the platform's records."""


def annotations_query() -> Select:
    """Every annotation with who wrote it and what it is about (deleted ones are in the audit trail, not here)."""
    a, c, m, u = Annotation, Conversation, Message, User
    return (
        select(a.id.label("annotation_id"), c.external_id.label("conversation_id"), Platform.name.label("platform"),
               m.seq.label("message_seq"), m.text.label("message_text"), u.name.label("reviewer"),
               a.rubric_item, a.score, a.verdict, a.tags, a.comment, a.created_at, a.updated_at)
        .join(c, c.id == a.conversation_id).outerjoin(m, m.id == a.message_id).join(u, u.id == a.reviewer_id)
        .outerjoin(Platform, Platform.id == c.platform_id)
        .where(a.deleted_at.is_(None))
        .order_by(a.id)
    )


def scores_query() -> Select:
    """Every scored conversation with its dimensions and scores."""
    c, s = Conversation, ConversationScore
    return (
        select(c.external_id.label("conversation_id"), Platform.name.label("platform"), Shop.name.label("shop"),
               Agent.name.label("agent"), c.team, c.started_at, c.csat,
               *(getattr(s, f.name) for f in score_fields(ScoreSchema)), s.model_version)
        .join(s, s.conversation_id == c.id).outerjoin(Platform, Platform.id == c.platform_id)
        .outerjoin(Shop, Shop.id == c.shop_id).outerjoin(Agent, Agent.id == c.agent_id)
        .order_by(c.id)
    )


def spreadsheet_safe(value: object) -> object:
    """Text that Excel would run as a formula (=, +, -, @ first: "=HYPERLINK(…)" typed by a customer) kept as
    text with a leading apostrophe; everything else as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def iter_rows(engine: Engine, query: Select, batch: int = 5000, *, mask: bool = True) -> Iterator[tuple]:
    """The header, then rows, streamed so an export of 100,000 conversations stays small in memory; every cell
    spreadsheet-safe, since these files are opened in Excel, and personal data in free text masked unless
    ``mask`` is False."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        header = tuple(result.keys())
        yield header
        masked = [i for i, name in enumerate(header) if name in FREE_TEXT] if mask else []
        for row in result:
            cells = list(row)
            for i in masked:
                if isinstance(cells[i], str):
                    cells[i] = mask_text(cells[i], ALL_KINDS)
            yield tuple(map(spreadsheet_safe, cells))
