"""Errors of the QA program that users see: each names the scorecard, criterion, row or review and a fix."""

from __future__ import annotations

from qa.errors import HuifangError

__all__ = ["ProgramError", "ScorecardError", "CalibrationError", "DisputeError", "TagError"]


class ProgramError(HuifangError):
    """Something in the QA program that cannot be done as asked."""


class ScorecardError(ProgramError):
    """A scorecard definition or a set of ratings that does not fit its scorecard."""


class CalibrationError(ProgramError):
    """A calibration session step that is not allowed (closed session, reviewer not taking part…)."""


class DisputeError(ProgramError):
    """An acknowledgement, dispute or resolution that is not allowed (window passed, already resolved…)."""


class TagError(ProgramError):
    """A tag tree edit or tag correction that is not allowed (empty or duplicate name, a tag under itself…)."""
