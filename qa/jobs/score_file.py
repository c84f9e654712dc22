"""Score a canonical JSONL file without a database (``huifang score-file``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.formats.jsonl import parse_jsonl
from qa.ingest.normalize import open_text
from qa.ingest.records import ConversationRecord, Rejection, as_record
from scoring.pipeline import Scorer
from scoring.schema import (
    Conv,
    ConversationScore,
    MessageScore,
    Msg,
    score_fields,
    score_values,
)

__all__ = ["record_to_conv", "score_jsonl"]

CONVERSATION_COLUMNS = ["conversation_id", *(f.name for f in score_fields(ConversationScore))]
MESSAGE_COLUMNS = ["conversation_id", "seq", "role", *(f.name for f in score_fields(MessageScore))]


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
            yield [s.key, *map(_fmt, score_values(s).values())]
            continue
        for m in s.messages:
            yield [s.key, m.seq, conv.messages[m.seq].role, *map(_fmt, score_values(m).values())]


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
