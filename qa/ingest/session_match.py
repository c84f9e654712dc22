"""JD session-sheet rows joined to the chat-log conversations they describe, by start time and customer.

The sheet carries no session id that the log also has; the loader uses this against stored conversations,
tests against parsed ones.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta

from qa.ingest.records import ConversationRecord

__all__ = ["MATCH_WINDOW", "match_sessions", "attach_sessions"]

# Transfers re-stamp the sheet's 咨询时间 by up to a couple of minutes after the log's first message.
MATCH_WINDOW = timedelta(minutes=3)


def match_sessions(convs: list[ConversationRecord], sessions: list[dict]) -> list[tuple[int, int]]:
    """Pairs (session index, conversation index) of sheet rows and the JD conversations they describe.

    A row matches the unmatched conversation whose first message is nearest its 咨询时间 within MATCH_WINDOW and
    whose customer fits 顾客 (exactly, or around the ``*`` of a masked ``j****ab``).
    """
    timed = sorted(((start, i) for i, c in enumerate(convs) if (start := _start(c)) is not None))
    starts = [start for start, _ in timed]
    taken: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for s_index, session in enumerate(sessions):
        lo = bisect_left(starts, session["start"] - MATCH_WINDOW)
        best: tuple[timedelta, int] | None = None
        for start, i in timed[lo:]:
            if start > session["start"] + MATCH_WINDOW:
                break
            if i not in taken and _same_customer(session["customer"], convs[i].customer):
                distance = abs(start - session["start"])
                if best is None or distance < best[0]:
                    best = (distance, i)
        if best is not None:
            taken.add(best[1])
            pairs.append((s_index, best[1]))
    return pairs


def attach_sessions(convs: list[ConversationRecord], sessions: list[dict]) -> int:
    """Fill category, CSAT and team of JD conversations from session rows; returns how many rows matched."""
    pairs = match_sessions(convs, sessions)
    for s_index, c_index in pairs:
        _fill(convs[c_index], sessions[s_index])
    return len(pairs)


def _start(conv: ConversationRecord) -> datetime | None:
    return next((m.ts for m in conv.messages if m.ts is not None), None)


def _same_customer(masked: str, customer: str | None) -> bool:
    """The sheet masks pins as ``j****ab``: the visible head and tail must match the log's pin."""
    if customer is None:
        return False
    if "*" not in masked:
        return masked == customer
    head, tail = masked[: masked.index("*")], masked[masked.rindex("*") + 1:]
    return len(customer) >= len(head) + len(tail) and customer.startswith(head) and customer.endswith(tail)


def _fill(conv: ConversationRecord, session: dict) -> None:
    if session.get("category"):
        conv.category = session["category"]
    if session.get("csat") is not None:
        conv.csat = session["csat"]
    if session.get("team"):
        conv.team = session["team"]
