"""The one family of errors users see.

Raised deep inside `qa`, shown at the edge: pages call ``st.error(str(e))``, the CLI prints and exits non-zero.
Messages name the file, row, field and a fix, because the person reading them has only the file in hand.
"""

from __future__ import annotations

from scoring.errors import ScoringError

__all__ = ["HuifangError", "ImportFormatError", "NotFoundError", "DatabaseBusyError", "USER_ERRORS"]


class HuifangError(Exception):
    """Base class for errors whose message is meant for the user."""


class ImportFormatError(HuifangError):
    """A file that cannot be imported at all (nothing from it is stored)."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # a parse worker sends it to the importing process
        return type(self), (self.file, self.reason)


class NotFoundError(HuifangError):
    """A conversation, list or user that does not exist (any more)."""


class DatabaseBusyError(HuifangError):
    """Another transaction (an import, usually) holds the database for longer than a write would wait."""


USER_ERRORS: tuple[type[Exception], ...] = (HuifangError, ScoringError)
"""Every error whose message is meant for the user, from ``qa`` and from ``scoring``: what the edges catch."""
