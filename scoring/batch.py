"""A batch of conversations flattened into messages, the scores models add to it, and the protocol they share.

Every message model (sentiment, relevance, tone, …) is a ``MessageModel``: it reads the batch and the scores
earlier models wrote, and adds its own column (a ``scoring.schema.MessageScore`` field) with the words behind
each score. ``Scorer`` runs its list of message models in order; a new model is one class and one entry there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scoring.schema import Conv
from scoring.text import Tokenizer, is_placeholder, unspaced

__all__ = ["SCORED_ROLES", "MessageBatch", "Signals", "MessageModel", "reply_contexts"]

SCORED_ROLES = ("customer", "agent")


def reply_contexts(roles: Sequence[str]) -> dict[int, list[int]]:
    """For each agent message, the customer messages it answers.

    That is the customer messages since the previous agent message; an agent message that directly follows
    another agent message continues the same answer and gets the same context. Agent messages before any
    customer message (greetings) get none.
    """
    out: dict[int, list[int]] = {}
    pending: list[int] = []
    last: list[int] = []
    for i, role in enumerate(roles):
        if role == "customer":
            pending.append(i)
        elif role == "agent":
            if pending:
                last, pending = pending, []
            if last:
                out[i] = last
    return out


@dataclass(slots=True)
class MessageBatch:
    """All messages of a batch of conversations, flattened; ``starts[k]`` is conversation k's first message."""

    starts: list[int]
    roles: list[str]
    texts: list[str]
    tokens: list[list[str]]
    contexts: dict[int, list[int]]

    @classmethod
    def build(cls, convs: Sequence[Conv], tokenizer: Tokenizer, memo: dict[str, list[str]] | None = None
              ) -> MessageBatch:
        """Flatten and tokenise (a word-segmented conversation joined again: ``scoring.text.unspaced``);
        bot/system messages and placeholders get no tokens."""
        starts: list[int] = []
        roles: list[str] = []
        texts: list[str] = []
        contexts: dict[int, list[int]] = {}
        for conv in convs:
            base = len(roles)
            starts.append(base)
            conv_roles = [m.role for m in conv.messages]
            for i, ctx in reply_contexts(conv_roles).items():
                contexts[base + i] = [base + j for j in ctx]
            roles.extend(conv_roles)
            texts.extend(unspaced([m.text or "" for m in conv.messages]))
        starts.append(len(roles))
        to_tokenize = [t if r in SCORED_ROLES and t and not is_placeholder(t) else "" for r, t in zip(roles, texts)]
        return cls(starts, roles, texts, tokenizer.tokenize_many(to_tokenize, memo), contexts)

    def scored(self, role: str | None = None) -> list[int]:
        """Indices of customer and agent messages with words (of ``role`` only, when given)."""
        return [i for i, (r, t) in enumerate(zip(self.roles, self.tokens))
                if t and (r == role if role else r in SCORED_ROLES)]


@dataclass(slots=True)
class Signals:
    """Message scores of a batch by schema field (NaN where a model does not apply) and the words behind them."""

    n: int
    values: dict[str, np.ndarray] = field(default_factory=dict)
    words: dict[str, dict[int, list[str]]] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """The scores ``name`` (a column of NaN until a model writes it)."""
        if name not in self.values:
            self.values[name] = np.full(self.n, np.nan)
            self.words[name] = {}
        return self.values[name]


class MessageModel(Protocol):
    """A model that scores messages of a batch: ``field`` is the ``MessageScore`` field it fills."""

    field: str

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """Write this model's scores into ``signals.column(self.field)`` and its words into ``signals.words``."""
        ...
