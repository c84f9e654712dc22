"""Who owns what in a conversation: its agent segments, so a transferred chat is not blamed on its last agent.

A **segment** is a maximal run of a conversation handled by one agent: it starts after the previous agent's last
message and ends with this agent's last message before someone else speaks for the shop. The rules, one place:

- Each agent message, and its wait and SLA breach, belongs to the agent who sent it. The customer's waiting time
  before a reply is owed by the agent who sends that reply: customer, bot and system messages belong to the
  segment of the next agent message, and those after the last agent message (unanswered) to the last segment.
- The conversation's first response belongs to the agent who sent the first reply; a later agent's pick-up wait
  after a transfer is one of their waits, against the later-reply SLA.
- A CSAT rating is credited to the agent who replied last before it. Ratings come at the end of a chat and carry
  no time of their own, so that is the sender of the conversation's last agent message (the last segment).
- An agent message without a known agent continues the current segment (the same window); one before any known
  agent takes the conversation's agent.
- Dissatisfaction risk of a segment is the model's risk of that part alone (scored as a conversation of its own
  messages); an untransferred conversation has one segment and its own risk.

Everything here is pure: the scoring job (``qa.jobs.scoring``) feeds it and writes ``agent_segments``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Span", "Turn", "segment_rows", "spans"]


@dataclass(slots=True)
class Turn:
    """One message as attribution reads it: who sent it and its stored scores (None where not applicable).

    Not frozen: one is made per scored message, and a frozen dataclass's ``__init__`` costs four times a plain
    one's; nothing changes a turn once made."""

    role: str
    agent_id: int | None = None
    wait_s: float | None = None
    sla_breach: bool | None = None
    tone_risk: float | None = None
    relevance: float | None = None
    rule_hits: int = 0


@dataclass(frozen=True, slots=True)
class Span:
    """Messages ``start`` to ``end`` (exclusive, by position) handled by ``agent_id``."""

    start: int
    end: int
    agent_id: int | None


def spans(turns: Sequence[Turn], conversation_agent: int | None = None) -> list[Span]:
    """The conversation's segments in order; one span over everything when no agent spoke."""
    owners: list[tuple[int, int | None]] = []  # (position of an agent message, its agent)
    current = conversation_agent
    for i, t in enumerate(turns):
        if t.role == "agent":
            current = t.agent_id if t.agent_id is not None else current
            owners.append((i, current))
    if not owners:
        return [Span(0, len(turns), conversation_agent)]
    out: list[Span] = []
    start = 0
    for k, (i, agent) in enumerate(owners):
        last_of_run = k + 1 == len(owners) or owners[k + 1][1] != agent
        if last_of_run:
            end = len(turns) if k + 1 == len(owners) else i + 1
            out.append(Span(start, end, agent))
            start = end
    return out


def _first_reply(turns: Sequence[Turn]) -> int | None:
    """Position of the first agent message answering a customer (what ``scoring.responsiveness`` times first)."""
    asked = False
    for i, t in enumerate(turns):
        if t.role == "customer":
            asked = True
        elif t.role == "agent" and asked:
            return i
    return None


def _replies(turns: Sequence[Turn]) -> set[int]:
    """Positions of agent messages that answer waiting customer messages (each one a timed reply)."""
    out, pending = set(), False
    for i, t in enumerate(turns):
        if t.role == "customer":
            pending = True
        elif t.role == "agent" and pending:
            out.add(i)
            pending = False
    return out


def segment_rows(conversation_id: int, turns: Sequence[Turn], *, conversation_agent: int | None = None,
                 csat: int | None = None, first_response_s: float | None = None, unanswered_at_end: int = 0,
                 risks: Sequence[float | None] = ()) -> list[dict[str, object]]:
    """The ``agent_segments`` rows of one conversation; ``risks`` per span (empty: none known).

    ``first_response_s`` and ``unanswered_at_end`` are the conversation's own figures (as scored), handed to the
    segments that owe them, so a segment's figures add up to the conversation's.
    """
    found = spans(turns, conversation_agent)
    first = _first_reply(turns)
    replies = _replies(turns)
    rows: list[dict[str, object]] = []
    for n, span in enumerate(found):
        inside = range(span.start, span.end)
        answered = [i for i in inside if i in replies]
        waits = [w for i in answered if (w := turns[i].wait_s) is not None]
        tones = [t for i in inside if (t := turns[i].tone_risk) is not None]
        rels = [r for i in inside if (r := turns[i].relevance) is not None]
        last = n + 1 == len(found)
        rows.append({
            "conversation_id": conversation_id, "segment": n, "agent_id": span.agent_id,
            "first_seq": span.start, "last_seq": max(span.start, span.end - 1), "messages": len(inside),
            "replies": len(answered),
            "replies_in_sla": sum(1 for i in answered if turns[i].wait_s is not None and not turns[i].sla_breach),
            "breaches": sum(1 for i in answered if turns[i].sla_breach),
            "first_response_s": first_response_s if first is not None and first in inside else None,
            "max_wait_s": max(waits) if waits else None,
            "unanswered_at_end": unanswered_at_end if last else 0,
            "tone_risk": max(tones) if tones else None,
            "relevance": round(sum(rels) / len(rels), 4) if rels else None,
            "rule_hits": sum(turns[i].rule_hits for i in inside),
            "risk": risks[n] if n < len(risks) else None,
            "csat": csat if last else None,
        })
    return rows
