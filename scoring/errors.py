"""Errors of the scoring layer whose message is meant for the user (a model not trained, too little data).

Kept apart from ``qa.errors`` because ``scoring`` imports nothing from ``qa``; ``qa.errors.USER_ERRORS`` names
both families for the edges (pages, CLI) that show them.
"""

from __future__ import annotations

__all__ = ["ScoringError"]


class ScoringError(Exception):
    """A scoring or training problem the user can act on; the message says how."""
