"""Scoring in the background of the app: one run at a time, its progress readable by every session.

An import leaves its conversations unscored; the Data page starts this right after, so a reviewer never has to
remember a button, and the page stays usable while it runs (the run is a thread of the app's process, writing
through the same engine, one chunk per transaction as ``huifang score`` does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from qa.access import Principal, require
from qa.errors import USER_ERRORS
from qa.jobs.scoring import ScoreRunReport, score_database

__all__ = ["BackgroundScoring", "Progress"]

_STOPPED_BY: tuple[type[Exception], ...] = (*USER_ERRORS, SQLAlchemyError)
"""What ends a run with a message on the page instead of a dead thread (a locked or lost database, no models)."""


@dataclass(frozen=True)
class Progress:
    """What a page shows of the run: whether it is running, how far it is, and how the last one ended."""

    running: bool
    done: int
    total: int
    report: ScoreRunReport | None
    error: str | None


class BackgroundScoring:
    """Starts ``score_database`` in a thread unless a run is already going; ``progress()`` is safe from any thread."""

    def __init__(self, score: Callable[..., ScoreRunReport] = score_database) -> None:
        self._score = score
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = self._total = 0
        self._report: ScoreRunReport | None = None
        self._error: str | None = None

    def start(self, engine: Engine, *, by: Principal) -> bool:
        """Start a run of everything pending as ``by``; False when one is already running."""
        require(by, "score")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._done = self._total = 0
            self._error = None
            self._thread = threading.Thread(target=self._run, args=(engine,), name="huifang-scoring", daemon=True)
            self._thread.start()
            return True

    def _run(self, engine: Engine) -> None:
        try:
            report = self._score(engine, n_jobs=1, progress=self._advance)
        except _STOPPED_BY as e:  # shown on the page; what was scored stays stored, chunk by chunk
            with self._lock:
                self._error = str(e)
        else:
            with self._lock:
                self._report = report

    def _advance(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = done, total

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current run ends (tests, and the CLI if it ever uses this)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def progress(self) -> Progress:
        """A consistent snapshot of the run."""
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            return Progress(running, self._done, self._total, self._report, self._error)
