"""Calibration figures from a session's reviews: Krippendorff's α, share within ±10 points, deviations.

α is chance-corrected agreement among any number of reviewers with missing ratings (N/A, or a conversation a
reviewer did not score), computed by the ``krippendorff`` package (fast, vectorised, the reference
implementation used in the literature) at the level that fits each item: nominal for yes/no, ordinal for
1–5 ratings, interval for points, 加减分 and the overall score. α is None when it is undefined: fewer than two
reviewers on any conversation, or every value the same (perfect agreement, but nothing to correct for chance).

Each review is compared with a reference for its conversation: the benchmark reviewer's value when the session
has one, otherwise the mean of the *other* reviewers (leaving the reviewer out, so nobody agrees with
themselves). "Within ±10" is the share of those comparisons 10 points or less apart, on the 0–100 scale of
each criterion (the points themselves for 加减分).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
import pandas as pd

from qa.program.scorecard import Criterion, Rating, Scorecard, criterion_points, score_review

__all__ = ["Level", "OVERALL", "TOLERANCE", "CalibrationResults", "ReviewScores", "alpha", "calibration_results",
           "item_level", "long_scores"]

Level = Literal["nominal", "ordinal", "interval"]
OVERALL = "__overall__"
TOLERANCE = 10.0


@dataclass(frozen=True)
class ReviewScores:
    """One calibration review: who scored which conversation, and how."""

    conversation_id: int
    reviewer: str
    ratings: Mapping[str, Rating]


@dataclass(frozen=True)
class CalibrationResults:
    """``items``: item, label, level, alpha, within_share, comparisons (the overall score first).
    ``reviewers``: reviewer, reviews, mean_deviation, mean_abs_deviation, within_share (overall score)."""

    items: pd.DataFrame
    reviewers: pd.DataFrame
    reference: str  # "benchmark" or "consensus"

    @property
    def overall_alpha(self) -> float | None:
        value = self.items.loc[self.items["item"] == OVERALL, "alpha"].iloc[0]
        return None if pd.isna(value) else float(value)

    @property
    def overall_within(self) -> float | None:
        value = self.items.loc[self.items["item"] == OVERALL, "within_share"].iloc[0]
        return None if pd.isna(value) else float(value)


def item_level(c: Criterion) -> Level:
    """The level of measurement α uses for a criterion."""
    if c.kind == "adjust" or c.scale == "points":
        return "interval"
    return "nominal" if c.scale == "yes_no" else "ordinal"


def alpha(values: pd.DataFrame, level: Level) -> float | None:
    """Krippendorff's α of a reviewers × conversations table (NaN = not rated); None when undefined."""
    data = values.to_numpy(dtype=float)
    per_unit = (~np.isnan(data)).sum(axis=0)
    pairable = data[:, per_unit >= 2]
    distinct = np.unique(pairable[~np.isnan(pairable)])
    if pairable.size == 0 or len(distinct) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def long_scores(card: Scorecard, reviews: Sequence[ReviewScores]) -> pd.DataFrame:
    """One row per (conversation, reviewer, item): each criterion's comparable value and the overall score."""
    rows = []
    for r in reviews:
        rows.append((r.conversation_id, r.reviewer, OVERALL, score_review(card, r.ratings).score))
        rows += [(r.conversation_id, r.reviewer, c.key, criterion_points(c, r.ratings.get(c.key)))
                 for _s, c in card.criteria()]
    return pd.DataFrame(rows, columns=["conversation_id", "reviewer", "item", "value"]).astype({"value": float})


def _references(table: pd.DataFrame, benchmark: str | None) -> pd.DataFrame:
    """reviewer × conversation table of the value each review is compared with (NaN when there is none)."""
    if benchmark is not None:
        ref = pd.DataFrame(np.nan, index=table.index, columns=table.columns)
        if benchmark in table.index:
            ref.loc[:, :] = np.tile(table.loc[benchmark].to_numpy(), (len(table.index), 1))
        return ref.drop(index=benchmark, errors="ignore")
    sums, counts = table.sum(axis=0, skipna=True), table.notna().sum(axis=0)
    others = (counts - table.notna().astype(int))  # how many other reviewers rated it
    return ((sums - table.fillna(0)) / others.where(others > 0)).where(others > 0)


def calibration_results(card: Scorecard, reviews: Sequence[ReviewScores], benchmark: str | None = None,
                        tolerance: float = TOLERANCE) -> CalibrationResults:
    """Per item (overall first, then each criterion) α and share within ±``tolerance``; per reviewer the
    deviation of their overall score from the reference."""
    scores = long_scores(card, reviews)
    levels: dict[str, tuple[str, Level]] = {OVERALL: ("总分", "interval")}
    levels |= {c.key: (c.label, item_level(c)) for _s, c in card.criteria()}
    items, deviation_by_reviewer = [], None
    for item, (label, level) in levels.items():
        part = scores[scores["item"] == item]
        table = part.pivot_table(index="reviewer", columns="conversation_id", values="value", aggfunc="first",
                                 dropna=False)
        table = table.reindex(sorted({r.reviewer for r in reviews}))
        ref = _references(table, benchmark)
        diff = (table.reindex(ref.index) - ref)
        compared = diff.stack().dropna()
        within = float((compared.abs() <= tolerance).mean()) if len(compared) else None
        items.append({"item": item, "label": label, "level": level, "alpha": alpha(table, level),
                      "within_share": within, "comparisons": len(compared)})
        if item == OVERALL:
            deviation_by_reviewer = diff
    rows = []
    if deviation_by_reviewer is not None:
        for reviewer, d in deviation_by_reviewer.iterrows():
            d = d.dropna()
            rows.append({"reviewer": reviewer, "reviews": len(d),
                         "mean_deviation": float(d.mean()) if len(d) else None,
                         "mean_abs_deviation": float(d.abs().mean()) if len(d) else None,
                         "within_share": float((d.abs() <= tolerance).mean()) if len(d) else None})
    reviewers = pd.DataFrame(rows, columns=["reviewer", "reviews", "mean_deviation", "mean_abs_deviation",
                                            "within_share"])
    return CalibrationResults(pd.DataFrame(items), reviewers, "benchmark" if benchmark else "consensus")
