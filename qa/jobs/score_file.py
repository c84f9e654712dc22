"""Score a canonical JSONL file without a database (``huifang score-file``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.formats.jsonl import parse_jsonl
from qa.ingest.normalize import open_text
from qa.ingest.records import ConversationRecord, Rejection, as_record
from scoring.pipeline import Scorer
from scoring.types import Conv, ConversationScore, Msg

__all__ = ["record_to_conv", "score_jsonl"]

CONVERSATION_COLUMNS = ["conversation_id", "dissatisfaction_risk", "tone_risk", "relevance", "first_response_s",
                        "max_wait_s", "replies", "replies_in_sla", "unanswered_at_end", "category",
                        "category_source", "explanation"]
MESSAGE_COLUMNS = ["conversation_id", "seq", "role", "sentiment_neg", "tone_risk", "relevance", "wait_s",
                   "sla_breach", "rule_hits", "explanation"]


def record_to_conv(rec: ConversationRecord) -> Conv:
    """The scoring view of a parsed conversation."""
    return Conv(key=rec.external_id, platform=rec.platform, category=rec.category, csat=rec.csat,
                messages=[Msg(role=m.role, text=m.text, ts=m.ts, agent=m.agent) for m in rec.messages])


def _fmt(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def _rows(scores: list[ConversationScore], convs: list[Conv], level: str) -> Iterator[list[object]]:
    for conv, s in zip(convs, scores):
        if level == "conversation":
            yield [_fmt(getattr(s, c)) if c != "conversation_id" else s.key for c in CONVERSATION_COLUMNS]
            continue
        for m in s.messages:
            yield [s.key, m.seq, conv.messages[m.seq].role, _fmt(m.sentiment_neg), _fmt(m.tone_risk),
                   _fmt(m.relevance), _fmt(m.wait_s), _fmt(m.sla_breach), "；".join(m.rule_hits), m.explanation]


def score_jsonl(in_path: Path, out_path: Path, *, level: str = "conversation", scorer: Scorer | None = None,
                chunk: int = 2000) -> tuple[int, list[Rejection]]:
    """Write one CSV row per conversation (or per message); returns (conversations scored, rejected lines)."""
    scorer = scorer or Scorer.load()
    rejections: list[Rejection] = []
    scored = 0
    with open(in_path, "rb") as raw, open(out_path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(CONVERSATION_COLUMNS if level == "conversation" else MESSAGE_COLUMNS)
        batch: list[Conv] = []
        for rec in parse_jsonl(open_text(raw, in_path.name), in_path.name):
            if isinstance(rec, Rejection):
                rejections.append(rec)
                continue
            batch.append(record_to_conv(as_record(rec)))
            if len(batch) >= chunk:
                writer.writerows(_rows(scorer.score(batch), batch, level))
                scored += len(batch)
                batch = []
        if batch:
            writer.writerows(_rows(scorer.score(batch), batch, level))
            scored += len(batch)
    return scored, rejections
