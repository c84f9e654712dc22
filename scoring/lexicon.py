"""Configurable phrase lists: forbidden phrases (禁用语) with severity, required courtesies, category keywords.

The CSV files in data/lexicon/ are meant to be edited by QA leads; each list is compiled into one regular
expression so that matching a million replies stays a C-level scan.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from scoring.text import LEXICON_DIR, normalize

__all__ = ["PhraseHit", "PhraseList", "forbidden_phrases", "courtesy_phrases", "category_keywords"]


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One matched phrase with its list entry's severity (or weight) and category (or kind)."""

    phrase: str
    severity: float
    category: str


class PhraseList:
    """Phrases matched as substrings of the normalised text, longest first."""

    def __init__(self, entries: list[PhraseHit]) -> None:
        self.entries = {e.phrase: e for e in entries}
        alternatives = sorted(self.entries, key=len, reverse=True)
        self._re = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        # Canned replies repeat a lot and each reply is looked up by several scorers: remember recent texts.
        self.find = lru_cache(maxsize=65536)(self._find)

    def _find(self, text: str) -> tuple[PhraseHit, ...]:
        """Distinct phrases occurring in ``text`` (non-overlapping, leftmost-longest)."""
        if self._re is None or not text:
            return ()
        seen: dict[str, PhraseHit] = {}
        for m in self._re.finditer(normalize(text)):
            seen.setdefault(m.group(0), self.entries[m.group(0)])
        return tuple(seen.values())


def _read(path: Path, phrase_col: str, value_col: str | None, group_col: str) -> list[PhraseHit]:
    with path.open(encoding="utf-8") as f:
        return [
            PhraseHit(normalize(row[phrase_col].strip()), float(row[value_col]) if value_col else 1.0,
                      row[group_col].strip())
            for row in csv.DictReader(f)
            if row[phrase_col].strip()
        ]


@cache
def forbidden_phrases(path: Path | None = None) -> PhraseList:
    """禁用语 from ``forbidden_phrases.csv`` (phrase, severity 1–3, category rude/blaming/perfunctory)."""
    return PhraseList(_read(path or LEXICON_DIR / "forbidden_phrases.csv", "phrase", "severity", "category"))


@cache
def courtesy_phrases(path: Path | None = None) -> PhraseList:
    """Required courtesies from ``courtesy_phrases.csv`` (phrase, kind greeting/closing/apology/polite…)."""
    return PhraseList(_read(path or LEXICON_DIR / "courtesy_phrases.csv", "phrase", None, "kind"))


@cache
def category_keywords(path: Path | None = None) -> PhraseList:
    """Category rules from ``category_rules.csv`` (category, keyword, weight)."""
    return PhraseList(_read(path or LEXICON_DIR / "category_rules.csv", "keyword", "weight", "category"))
