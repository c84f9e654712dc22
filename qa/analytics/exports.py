"""Annotations and scores as flat tables, for CSV export and for people who live in Excel.

Files leave the building: free text in them is masked (``qa.ingest.privacy``) whatever the import did — data
imported before masking existed, or with masking off, is masked here too — unless an admin asks otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Engine, Select, func, select

from qa.ingest.privacy import ALL_KINDS, mask_text
from qa.models import (
    Agent,
    AgentSegment,
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

__all__ = ["annotations_query", "scores_query", "segments_query", "iter_rows", "spreadsheet_safe", "FREE_TEXT",
           "frame_csv", "frames_excel"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FREE_TEXT = frozenset({"message_text", "comment", "评语", "评分项评语"})
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
    """Every scored conversation with its dimensions and scores; ``agents`` names everyone who handled it, in
    order ("小安→阿强"): the figures of a transferred chat belong to several agents (``export agents`` splits them)."""
    c, s, g = Conversation, ConversationScore, AgentSegment
    handlers = (select(Agent.name).join(g, g.agent_id == Agent.id).where(g.conversation_id == c.id)
                .order_by(g.segment).correlate(c).subquery())
    agents = select(func.aggregate_strings(handlers.c.name, "→")).scalar_subquery()
    return (
        select(c.external_id.label("conversation_id"), Platform.name.label("platform"), Shop.name.label("shop"),
               Agent.name.label("agent"), agents.label("agents"), c.team, c.started_at, c.csat,
               *(getattr(s, f.name) for f in score_fields(ScoreSchema)), s.model_version)
        .join(s, s.conversation_id == c.id).outerjoin(Platform, Platform.id == c.platform_id)
        .outerjoin(Shop, Shop.id == c.shop_id).outerjoin(Agent, Agent.id == c.agent_id)
        .order_by(c.id)
    )


def segments_query() -> Select:
    """Every agent's part of every scored conversation (``qa.analytics.segments``): one row per agent segment, so a
    transferred chat's replies, waits, SLA breaches, rating and risk are filed under the agent who owns them."""
    c, g = Conversation, AgentSegment
    return (
        select(c.external_id.label("conversation_id"), Platform.name.label("platform"), Shop.name.label("shop"),
               (g.segment + 1).label("segment"), Agent.name.label("agent"), Agent.team.label("team"), c.started_at,
               (g.first_seq + 1).label("first_message"), (g.last_seq + 1).label("last_message"), g.messages,
               g.replies, g.replies_in_sla, g.breaches.label("sla_breaches"), g.first_response_s, g.max_wait_s,
               g.unanswered_at_end, g.tone_risk, g.relevance, g.rule_hits, g.risk.label("dissatisfaction_risk"),
               g.csat)
        .join(g, g.conversation_id == c.id).outerjoin(Agent, Agent.id == g.agent_id)
        .outerjoin(Platform, Platform.id == c.platform_id).outerjoin(Shop, Shop.id == c.shop_id)
        .order_by(c.id, g.segment)
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


def _safe_frame(df: pd.DataFrame, mask: bool) -> pd.DataFrame:
    """The frame as it may leave the building: free text masked, formula-leading cells kept as text."""
    out = df.copy()
    for name in out.columns:
        if pd.api.types.is_numeric_dtype(out[name]) or pd.api.types.is_datetime64_any_dtype(out[name]):
            continue
        column = out[name]
        if mask and name in FREE_TEXT:
            column = column.map(lambda v: mask_text(v, ALL_KINDS) if isinstance(v, str) else v)
        out[name] = column.map(spreadsheet_safe)
    return out


def frame_csv(df: pd.DataFrame, *, mask: bool = True) -> bytes:
    """A CSV that Excel opens in Chinese (UTF-8 with BOM), safe as ``iter_rows`` makes it."""
    return _safe_frame(df, mask).to_csv(index=False).encode("utf-8-sig")


def frames_excel(sheets: Mapping[str, pd.DataFrame], *, mask: bool = True) -> bytes:
    """An .xlsx with one sheet per frame (bold header, frozen first row), safe as ``iter_rows`` makes it."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets.items():
        ws = wb.create_sheet(title[:31])
        ws.append([str(c) for c in df.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in _safe_frame(df, mask).itertuples(index=False):
            ws.append([None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in row])
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
