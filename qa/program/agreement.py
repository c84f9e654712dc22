"""How far to trust each automatic check: auto-QA against reviewers, per scorecard criterion.

Both sides are read as pass/fail (the check's verdict; the reviewer's value through ``reviewer_passed``), pairs
where either side is N/A are left out, and agreement is the share of agreeing pairs and Cohen's κ
(``sklearn.metrics.cohen_kappa_score``), which discounts the agreement two raters reach by chance when nearly
every conversation passes. Only regular reviews count; calibration reviews are repeats of the same
conversations. Reviews are few, so they are read whole and paired in pandas.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import Connection, select

from qa.models import AutoQaCheck, ScorecardRecord, ScorecardReview, ScorecardReviewItem, ScorecardVersion
from qa.program.checks import reviewer_passed
from qa.program.scorecard import scorecard_from_dict

__all__ = ["AGREEMENT_COLUMNS", "agreement_figures", "auto_agreement"]

AGREEMENT_COLUMNS = ["scorecard", "criterion", "key", "check", "n", "agree_share", "kappa", "proposed",
                     "accepted_share"]


def agreement_figures(auto: Sequence[bool], reviewer: Sequence[bool]) -> tuple[int, float | None, float | None]:
    """(pairs, share agreeing, Cohen's κ); κ is None when both sides used one answer only (it is undefined)."""
    n = len(auto)
    if n == 0:
        return 0, None, None
    share = sum(x == y for x, y in zip(auto, reviewer, strict=True)) / n
    if len(set(auto) | set(reviewer)) < 2:
        return n, share, None
    return n, share, float(cohen_kappa_score(list(auto), list(reviewer)))


def auto_agreement(conn: Connection) -> pd.DataFrame:
    """One row per scorecard criterion that names a check and has reviews: pairs, share agreeing, κ, and how
    many proposals were shown and what share reviewers accepted unchanged (``AGREEMENT_COLUMNS``)."""
    r, i, v = ScorecardReview, ScorecardReviewItem, ScorecardVersion
    items = pd.DataFrame(conn.execute(
        select(r.conversation_id, r.version_id, i.criterion_key, i.value, i.na, i.proposed)
        .join(i, i.review_id == r.id).where(r.session_id.is_(None))).mappings().all(),
        columns=["conversation_id", "version_id", "criterion_key", "value", "na", "proposed"])
    if items.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    versions = conn.execute(select(v.id, v.version, v.definition, ScorecardRecord.name)
                            .join(ScorecardRecord, ScorecardRecord.id == v.scorecard_id)
                            .where(v.id.in_(items["version_id"].unique().tolist()))).all()
    checks = {(cid, name): passed for cid, name, passed in conn.execute(
        select(AutoQaCheck.conversation_id, AutoQaCheck.check_name, AutoQaCheck.passed)
        .where(AutoQaCheck.conversation_id.in_(items["conversation_id"].unique().tolist())))}
    criteria = {}  # (version id, key) → (scorecard, criterion, version number)
    for vid, number, definition, name in versions:
        for _s, c in scorecard_from_dict(json.loads(definition)).criteria():
            if c.auto_check:
                criteria[(vid, c.key)] = (name, c, number)
    pairs: dict[tuple[str, str], dict] = {}
    for row in items.itertuples(index=False):
        found = criteria.get((row.version_id, row.criterion_key))
        if found is None:
            continue
        name, c, number = found
        entry = pairs.setdefault((name, c.key), {"label": c.label, "check": c.auto_check, "number": -1,
                                                 "auto": [], "reviewer": [], "proposed": 0, "accepted": 0})
        if number > entry["number"]:  # the newest version's wording names the row
            entry.update(label=c.label, check=c.auto_check, number=number)
        if not row.na and pd.notna(row.proposed):
            entry["proposed"] += 1
            entry["accepted"] += row.value == row.proposed
        passed = checks.get((row.conversation_id, c.auto_check or ""))  # this version's check
        if row.na or pd.isna(row.value) or passed is None:
            continue
        entry["auto"].append(bool(passed))
        entry["reviewer"].append(reviewer_passed(c, float(row.value)))
    rows = []
    for (name, key), e in sorted(pairs.items()):
        n, share, kappa = agreement_figures(e["auto"], e["reviewer"])
        rows.append([name, e["label"], key, e["check"], n, share, kappa, e["proposed"],
                     e["accepted"] / e["proposed"] if e["proposed"] else None])
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
