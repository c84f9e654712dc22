"""Scorecards (质检评分表): definition, validation, and the review score computed from ratings.

A scorecard is plain frozen data, stored as JSON, so that a stored version computes the same score for ever.
The score is never typed; it is computed here and only here:

- every rated **scored** criterion is normalised to 0–100 as (value − min)/(max − min); the base is
  Σ(score_i·w_i)/Σw_i over the rated scored criteria (N/A drops out of both sums);
- a **bonus** criterion adds score_i·w_i to the numerator only, so it can lift the result past 100;
- an **adjust** criterion (加减分) is worth ±N points per occurrence from a base of 100 (the weighted base when
  the card has rated scored criteria); a section may cap its deductions (its worth, e.g. 服务态度 30 分);
- a failed **section-fatal** item fails its section: every criterion in it takes its worst value, N/A included
  (scored 0 with full weight, bonus and additions void, deductions at the section's cap or their maximum);
- a failed **fatal** item sets the score to 0, whatever else was rated.

Precedence is therefore fatal-all > fatal-section > N/A; the score never goes below 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from qa.program.errors import ScorecardError

__all__ = [
    "AUTO_CHECK_NAMES",
    "BONUS_NOTE",
    "FATAL",
    "FRAME_COLUMNS",
    "KINDS",
    "SCALES",
    "Criterion",
    "CriterionResult",
    "Rating",
    "ScoreResult",
    "Scorecard",
    "Section",
    "SectionResult",
    "check_ratings",
    "check_scorecard",
    "criteria_frame",
    "criterion_points",
    "explain",
    "score_review",
    "scorecard_from_dict",
    "scorecard_from_frame",
    "scorecard_to_dict",
]

SCALES: dict[str, str] = {"yes_no": "是/否", "rating": "评分（1–5）", "points": "分值（0–N）"}
KINDS: dict[str, str] = {"scored": "计分项", "bonus": "加分项（可超过 100）", "adjust": "加减分（基础分 100）"}
BONUS_NOTE = "加分项只加分、不计入权重分母，所以得分可以超过 100"
"""The one line shown wherever a score past 100 can appear, so 107.1 does not read as a bug."""
FATAL: dict[str, str] = {"none": "否", "all": "致命项（总分为 0）", "section": "本节致命项（本节为 0）"}
_DEFAULT_BOUNDS = {"yes_no": (0.0, 1.0), "rating": (1.0, 5.0), "points": (0.0, 10.0)}
AUTO_CHECK_NAMES: tuple[str, ...] = ("greeting", "closing", "forbidden", "first_response", "reply_sla",
                                     "unanswered_end", "tone", "relevance", "sentiment_end", "apology_after_wait")
"""Names an ``auto_check`` may take; ``qa.program.checks.CHECKS`` implements each (a test holds them equal)."""


@dataclass(frozen=True)
class Criterion:
    """One line of a scorecard.

    ``kind`` "scored" and "bonus" are rated on ``scale`` between ``low`` and ``high``; "adjust" is rated as a
    number of occurrences (0…``max_times``), each worth ``points`` (negative: a deduction, positive: an addition).
    """

    key: str
    label: str
    scale: str = "yes_no"
    low: float | None = None
    high: float | None = None
    weight: float = 1.0
    kind: str = "scored"
    points: float = 0.0
    max_times: int = 1
    allow_na: bool = False
    fatal: str = "none"
    auto_check: str | None = None
    description: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        """The lowest and highest value a rating may take."""
        if self.kind == "adjust":
            return 0.0, float(self.max_times)
        lo, hi = _DEFAULT_BOUNDS.get(self.scale, (0.0, 1.0))
        return (lo if self.low is None else self.low), (hi if self.high is None else self.high)

    def normalised(self, value: float) -> float:
        """``value`` on 0–100: (value − min)/(max − min)·100."""
        lo, hi = self.bounds
        return (value - lo) / (hi - lo) * 100.0

    def failed(self, value: float) -> bool:
        """Whether ``value`` fails this item: "否" on a yes/no item, any occurrence of a deduction."""
        if self.kind == "adjust":
            return self.points < 0 and value >= 1
        return value <= self.bounds[0]

    @property
    def worst_adjustment(self) -> float:
        """The most this item can take off (0 for additions and for non-adjust items)."""
        return self.points * self.max_times if self.kind == "adjust" and self.points < 0 else 0.0


@dataclass(frozen=True)
class Section:
    """A group of criteria; ``max_deduction`` caps the points its adjust items can take off (its worth)."""

    key: str
    label: str
    criteria: tuple[Criterion, ...] = ()
    max_deduction: float | None = None


@dataclass(frozen=True)
class Scorecard:
    """A named set of sections; stored versioned, so this object never changes once reviews use it."""

    name: str
    sections: tuple[Section, ...] = ()
    description: str = ""

    def criteria(self) -> Iterator[tuple[Section, Criterion]]:
        """Every criterion with its section, in order."""
        for section in self.sections:
            for criterion in section.criteria:
                yield section, criterion

    def criterion(self, key: str) -> Criterion:
        """The criterion with ``key``."""
        for _s, c in self.criteria():
            if c.key == key:
                return c
        raise ScorecardError(f"评分表“{self.name}”没有评分项“{key}”")


@dataclass(frozen=True)
class Rating:
    """A reviewer's (or auto-QA's) answer to one criterion: a value, or N/A; a comment either way."""

    value: float | None = None
    na: bool = False
    comment: str = ""

    @property
    def rated(self) -> bool:
        return not self.na and self.value is not None


# ---------------------------------------------------------------- validation


def _where(i: int, section: Section, j: int, c: Criterion) -> str:
    return f"第 {i + 1} 节“{section.label}”第 {j + 1} 项“{c.label or c.key}”"


def _criterion_problem(c: Criterion) -> str | None:
    """What is wrong with one criterion, in words a QA manager can fix, or None."""
    if not c.key.strip():
        return "缺少编号（key）"
    if not c.label.strip():
        return "缺少名称"
    if c.kind not in KINDS:
        return f"类型“{c.kind}”未知，可选：{'、'.join(KINDS)}"
    if c.fatal not in FATAL:
        return f"致命设置“{c.fatal}”未知，可选：{'、'.join(FATAL)}"
    if c.auto_check is not None and c.auto_check not in AUTO_CHECK_NAMES:
        return f"自动检查“{c.auto_check}”未知，可选：{'、'.join(AUTO_CHECK_NAMES)}"
    if c.kind == "adjust":
        if c.points == 0:
            return "加减分项须设置分值（如 −5 或 +3）"
        if c.max_times < 1:
            return "加减分项的最多次数须至少为 1"
        if c.fatal != "none" and c.points > 0:
            return "加分项不能是致命项"
        return None
    if c.scale not in SCALES:
        return f"量表“{c.scale}”未知，可选：{'、'.join(SCALES)}"
    lo, hi = c.bounds
    if not lo < hi:
        return f"量表下限 {lo:g} 须小于上限 {hi:g}"
    if c.weight < 0:
        return f"权重不能为负（收到 {c.weight:g}）"
    if c.fatal != "none" and (c.kind != "scored" or c.scale != "yes_no"):
        return "致命项须是“是/否”量表的计分项（或扣分的加减分项）"
    return None


def check_scorecard(card: Scorecard) -> None:
    """Raise ScorecardError naming the first section or criterion that cannot be scored as defined."""
    if not card.name.strip():
        raise ScorecardError("评分表需要名称")
    if not any(s.criteria for s in card.sections):
        raise ScorecardError(f"评分表“{card.name}”至少需要一个评分项")
    seen: set[str] = set()
    section_keys: set[str] = set()
    for i, section in enumerate(card.sections):
        if not section.label.strip():
            raise ScorecardError(f"第 {i + 1} 节缺少名称")
        if section.key in section_keys:
            raise ScorecardError(f"第 {i + 1} 节的编号“{section.key}”重复")
        section_keys.add(section.key)
        if section.max_deduction is not None and section.max_deduction <= 0:
            raise ScorecardError(f"第 {i + 1} 节“{section.label}”的扣分上限须为正数")
        for j, c in enumerate(section.criteria):
            problem = _criterion_problem(c)
            if problem:
                raise ScorecardError(f"{_where(i, section, j, c)}：{problem}")
            if c.key in seen:
                raise ScorecardError(f"{_where(i, section, j, c)}：编号“{c.key}”与前面的评分项重复")
            seen.add(c.key)


def _rating_problem(c: Criterion, r: Rating) -> str | None:
    if r.na:
        return None if c.allow_na else "此项不允许选“不适用”"
    if r.value is None:
        return None
    lo, hi = c.bounds
    if not lo <= r.value <= hi:
        return f"取值须在 {lo:g}–{hi:g} 之间，收到 {r.value:g}"
    if (c.scale in ("yes_no", "rating") or c.kind == "adjust") and r.value != int(r.value):
        return f"取值须为整数，收到 {r.value:g}"
    return None


def check_ratings(card: Scorecard, ratings: Mapping[str, Rating], *, complete: bool = True) -> None:
    """Raise ScorecardError for a rating of an unknown criterion, out of its scale, an N/A not allowed, or
    (``complete``) a criterion left without a value or N/A — a submitted review answers every line."""
    known = {c.key for _s, c in card.criteria()}
    unknown = [k for k in ratings if k not in known]
    if unknown:
        raise ScorecardError(f"评分表“{card.name}”没有评分项：{'、'.join(unknown)}")
    for _s, c in card.criteria():
        r = ratings.get(c.key)
        if r is None or (r.value is None and not r.na):
            if complete:
                raise ScorecardError(f"“{c.label}”还没有评分：请打分或选“不适用”" if c.allow_na
                                     else f"“{c.label}”还没有评分")
            continue
        problem = _rating_problem(c, r)
        if problem:
            raise ScorecardError(f"“{c.label}”：{problem}")


# ---------------------------------------------------------------- the score


@dataclass(frozen=True)
class CriterionResult:
    """How one criterion entered the score: its 0–100 score (scored/bonus), its weight counted, its points."""

    key: str
    state: str  # "rated", "na", "unrated", or "section_failed" (took its worst value)
    score: float | None = None
    weight: float = 0.0
    adjustment: float = 0.0
    failed: bool = False


@dataclass(frozen=True)
class SectionResult:
    """A section's own weighted score (None when nothing in it was scored) and its points."""

    key: str
    score: float | None
    adjustment: float
    failed: bool


@dataclass(frozen=True)
class ScoreResult:
    """A review's computed score and every step that led to it (for the page's explanation)."""

    score: float | None
    base: float | None
    numerator: float
    denominator: float
    adjustment: float
    fatal: tuple[str, ...]  # keys of failed fatal-all items
    failed_sections: tuple[str, ...]
    sections: tuple[SectionResult, ...]
    criteria: dict[str, CriterionResult] = field(default_factory=dict)

    @property
    def fatal_failed(self) -> bool:
        return bool(self.fatal)


def _criterion_result(section_failed: bool, c: Criterion, r: Rating | None) -> CriterionResult:
    if section_failed:
        weight = c.weight if c.kind == "scored" else 0.0
        return CriterionResult(c.key, "section_failed", 0.0 if c.kind != "adjust" else None, weight,
                               c.worst_adjustment, failed=r is not None and r.rated and c.failed(r.value or 0))
    if r is None or not r.rated:
        return CriterionResult(c.key, "na" if r is not None and r.na else "unrated")
    value = float(r.value or 0)
    if c.kind == "adjust":
        return CriterionResult(c.key, "rated", None, 0.0, c.points * value, c.failed(value))
    weight = c.weight if c.kind == "scored" else 0.0
    return CriterionResult(c.key, "rated", c.normalised(value), weight, 0.0, c.failed(value))


def score_review(card: Scorecard, ratings: Mapping[str, Rating]) -> ScoreResult:
    """The review score of ``ratings`` on ``card`` (see the module docstring); None when nothing was rated."""
    fatal = tuple(c.key for _s, c in card.criteria() if c.fatal == "all" and (r := ratings.get(c.key)) is not None
                  and r.rated and c.failed(r.value or 0))
    failed_sections = tuple(s.key for s in card.sections if any(
        c.fatal == "section" and (r := ratings.get(c.key)) is not None and r.rated and c.failed(r.value or 0)
        for c in s.criteria))
    results: dict[str, CriterionResult] = {}
    sections = []
    numerator = denominator = adjustment = 0.0
    any_rated = False
    for s in card.sections:
        failed = s.key in failed_sections
        s_num = s_den = deductions = additions = 0.0
        for c in s.criteria:
            res = results[c.key] = _criterion_result(failed, c, ratings.get(c.key))
            if res.state in ("na", "unrated"):
                continue
            any_rated = True
            if res.score is not None:
                s_num += res.score * c.weight if c.kind in ("scored", "bonus") else 0.0
                s_den += res.weight
            if res.adjustment < 0:
                deductions += res.adjustment
            else:
                additions += res.adjustment
        if s.max_deduction is not None:
            deductions = -s.max_deduction if failed else max(deductions, -s.max_deduction)
        s_adj = deductions + additions
        sections.append(SectionResult(s.key, s_num / s_den if s_den > 0 else None, s_adj, failed))
        numerator, denominator, adjustment = numerator + s_num, denominator + s_den, adjustment + s_adj
    base = numerator / denominator if denominator > 0 else (100.0 if any_rated else None)
    if fatal:
        score: float | None = 0.0
    else:
        score = None if base is None else max(0.0, base + adjustment)
    return ScoreResult(score, base, numerator, denominator, adjustment, fatal, failed_sections, tuple(sections),
                       results)


def criterion_points(c: Criterion, r: Rating | None) -> float | None:
    """One criterion's answer on a scale comparable between reviewers: 0–100 for scored and bonus items,
    the points given or taken for adjust items; None for N/A or unrated."""
    if r is None or not r.rated:
        return None
    value = float(r.value or 0)
    return c.points * value if c.kind == "adjust" else c.normalised(value)


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def explain(card: Scorecard, result: ScoreResult) -> list[str]:
    """The computation in a few Chinese lines, for the review page under the score."""
    labels = {c.key: c.label for _s, c in card.criteria()}
    section_labels = {s.key: s.label for s in card.sections}
    lines = []
    if result.denominator > 0:
        lines.append(f"加权得分 = Σ(得分×权重)/Σ权重 = {_fmt(result.numerator)}/{_fmt(result.denominator)}"
                     f" = {_fmt(result.base or 0)}")
    elif result.base is not None:
        lines.append("基础分 100")
    if result.adjustment:
        sign = "+" if result.adjustment > 0 else "−"
        lines.append(f"加减分 {sign}{_fmt(abs(result.adjustment))}")
    for key in result.failed_sections:
        lines.append(f"本节致命项未通过：“{section_labels[key]}”整节按最低分计")
    na = [labels[k] for k, r in result.criteria.items() if r.state == "na"]
    if na:
        lines.append(f"不适用（不计入）：{'、'.join(na)}")
    if result.fatal:
        lines.append(f"致命项未通过：{'、'.join(labels[k] for k in result.fatal)} → 总分 0")
    if result.score is None:
        lines.append("没有可计分的评分项")
    else:
        lines.append(f"总分 {_fmt(result.score)}")
    return lines


# ---------------------------------------------------------------- JSON and table forms


def scorecard_to_dict(card: Scorecard) -> dict[str, Any]:
    """The JSON-ready form stored with each version (bounds written out, so defaults may change safely)."""
    data = asdict(card)
    for section, s in zip(data["sections"], card.sections, strict=True):
        for crit, c in zip(section["criteria"], s.criteria, strict=True):
            if c.kind != "adjust":
                crit["low"], crit["high"] = c.bounds
    return data


def _criterion_from_dict(d: Mapping[str, Any]) -> Criterion:
    allowed = set(Criterion.__dataclass_fields__)
    extra = set(d) - allowed
    if extra:
        raise ScorecardError(f"评分项“{d.get('label', d.get('key', '?'))}”有未知字段：{'、'.join(sorted(extra))}")
    return Criterion(**d)


def scorecard_from_dict(data: Mapping[str, Any]) -> Scorecard:
    """A scorecard from its JSON form (a stored version or a demo file), checked."""
    try:
        sections = tuple(Section(key=str(s["key"]), label=str(s["label"]), max_deduction=s.get("max_deduction"),
                                 criteria=tuple(_criterion_from_dict(c) for c in s.get("criteria", ())))
                         for s in data.get("sections", ()))
        card = Scorecard(name=str(data["name"]), sections=sections, description=str(data.get("description", "")))
    except (KeyError, TypeError) as e:
        raise ScorecardError(f"评分表定义不完整：缺少 {e}") from e
    check_scorecard(card)
    return card


FRAME_COLUMNS: dict[str, str] = {
    "section": "节", "section_cap": "本节扣分上限", "key": "编号", "label": "评分项", "kind": "类型",
    "scale": "量表", "low": "下限", "high": "上限", "weight": "权重", "points": "加减分值", "max_times": "最多次数",
    "allow_na": "可选不适用", "fatal": "致命", "auto_check": "自动检查", "description": "说明",
}


def criteria_frame(card: Scorecard) -> pd.DataFrame:
    """One row per criterion with English column names (``FRAME_COLUMNS`` gives the Chinese headers)."""
    rows = []
    for s, c in card.criteria():
        lo, hi = c.bounds if c.kind != "adjust" else (None, None)
        rows.append({"section": s.label, "section_cap": s.max_deduction, "key": c.key, "label": c.label,
                     "kind": c.kind, "scale": c.scale, "low": lo, "high": hi, "weight": c.weight,
                     "points": c.points, "max_times": c.max_times, "allow_na": c.allow_na, "fatal": c.fatal,
                     "auto_check": c.auto_check, "description": c.description})
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    # numbers as numbers even where every row leaves them out: a column of None is shown as the word "None"
    return frame.astype({k: float for k in _NUMBER_COLUMNS})


_NUMBER_COLUMNS = ("section_cap", "low", "high", "weight", "points", "max_times")


def _cell(row: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = row.get(name, default)
    return default if value is None or (isinstance(value, float) and pd.isna(value)) or value == "" else value


def scorecard_from_frame(name: str, frame: pd.DataFrame, description: str = "") -> Scorecard:
    """A scorecard from the edited table (``criteria_frame``'s columns); errors name the row (1-based)."""
    sections: dict[str, tuple[float | None, list[Criterion]]] = {}
    for n, row in enumerate(frame.to_dict("records"), start=1):
        try:
            section = str(_cell(row, "section", "")).strip()
            if not section:
                raise ScorecardError("缺少“节”")
            cap = _cell(row, "section_cap")
            cap = None if cap is None else float(cap)
            if section in sections and sections[section][0] != cap:
                raise ScorecardError(f"“{section}”的扣分上限与前面的行不一致")
            base = Criterion(key="", label="")
            kind = str(_cell(row, "kind", base.kind))
            criterion = Criterion(
                key=str(_cell(row, "key", "")).strip(), label=str(_cell(row, "label", "")).strip(), kind=kind,
                scale=str(_cell(row, "scale", base.scale)),
                low=None if kind == "adjust" or _cell(row, "low") is None else float(_cell(row, "low")),
                high=None if kind == "adjust" or _cell(row, "high") is None else float(_cell(row, "high")),
                weight=float(_cell(row, "weight", base.weight)), points=float(_cell(row, "points", 0.0)),
                max_times=int(_cell(row, "max_times", 1)), allow_na=bool(_cell(row, "allow_na", False)),
                fatal=str(_cell(row, "fatal", "none")), auto_check=_cell(row, "auto_check"),
                description=str(_cell(row, "description", "")))
            problem = _criterion_problem(criterion)
            if problem:
                raise ScorecardError(problem)
        except (TypeError, ValueError) as e:
            raise ScorecardError(f"第 {n} 行：数值无法识别（{e}）") from e
        except ScorecardError as e:
            raise ScorecardError(f"第 {n} 行：{e}") from e
        sections.setdefault(section, (cap, []))[1].append(criterion)
    card = Scorecard(name=name.strip(), description=description, sections=tuple(
        Section(key=f"s{i + 1}", label=label, max_deduction=cap, criteria=tuple(crits))
        for i, (label, (cap, crits)) in enumerate(sections.items())))
    check_scorecard(card)
    return card

