"""Overview figures for executives: KPIs against the previous period, trends, breakdowns, what got worse.

Everything here reads ``daily_stats`` (never messages) with one grouped SQL aggregate per page, ``cube``: sums
per day and dimension value over the chosen period and the previous one. Every figure is then a small pandas sum
over that cube, so a page stays fast on a million-message archive. Ratios are taken from sums (a ratio of sums,
never a mean of daily ratios) in one place, ``with_rates``, so every page computes CSAT or the SLA rate the same
way. Weeks are formed in pandas to stay dialect-neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from qa.analytics.filters import Filters, apply_to_daily_stats, day_range
from qa.models import Agent, AgentDailyStat, DailyStat, Platform, Shop
from scoring.responsiveness import duration_change, duration_text

__all__ = [
    "CUBE_DIMENSIONS",
    "DEFAULT_DAYS",
    "DIMENSIONS",
    "METRICS",
    "MIN_VOLUME",
    "PEAKS",
    "SUMS",
    "UNKNOWN",
    "Cube",
    "Dimension",
    "Kpis",
    "Metric",
    "Period",
    "buckets",
    "compare",
    "cube",
    "default_period",
    "partial_weeks",
    "partial_weeks_note",
    "date_presets",
    "drill_filters",
    "failure_heatmap",
    "format_change",
    "format_value",
    "kpis",
    "peak_days",
    "resolve_period",
    "trend",
    "with_rates",
    "worsened",
]

SUMS: tuple[str, ...] = (
    "conversations", "messages", "csat_n", "csat_sum", "csat_low", "scored", "risk_sum", "risk_high",
    "replies", "replies_in_sla", "first_response_n", "first_response_sum", "tone_flagged",
)
DEFAULT_DAYS = 56  # eight whole weeks: long enough to show a peak against its baseline
MIN_VOLUME = 30  # fewer cases than this in either period and a change is mostly noise
UNKNOWN = "未知"
PEAKS: tuple[tuple[int, int, str], ...] = ((11, 11, "双11"), (6, 18, "618"))


@dataclass(frozen=True)
class Metric:
    """A ratio of two daily_stats sums, how to show it, and which direction is bad."""

    label: str
    numerator: str
    denominator: str
    worse_when_higher: bool
    kind: str  # "pct", "score" or "seconds"
    volume: str  # what the denominator counts, for "n = …" captions


METRICS: dict[str, Metric] = {
    "risk_high_share": Metric("高风险会话占比", "risk_high", "scored", True, "pct", "个已评分会话"),
    "risk_mean": Metric("预测不满意（均值）", "risk_sum", "scored", True, "pct", "个已评分会话"),
    "csat": Metric("CSAT", "csat_sum", "csat_n", False, "score", "条评价"),
    "csat_low_share": Metric("差评率（CSAT≤2）", "csat_low", "csat_n", True, "pct", "条评价"),
    "csat_share": Metric("CSAT 覆盖率", "csat_n", "conversations", False, "pct", "个会话"),
    "sla_rate": Metric("SLA 内回复率", "replies_in_sla", "replies", False, "pct", "条回复"),
    "first_response_s": Metric("平均首次响应", "first_response_sum", "first_response_n", True, "seconds",
                               "个有响应的会话"),
    "tone_flag_share": Metric("语气预警占比", "tone_flagged", "scored", True, "pct", "个已评分会话"),
}


@dataclass(frozen=True)
class Dimension:
    """A daily_stats dimension: its Chinese label and the ``Filters`` field a drill-down narrows."""

    label: str
    field: str


DIMENSIONS: dict[str, Dimension] = {
    "platform": Dimension("平台", "platforms"),
    "shop": Dimension("店铺", "shops"),
    "team": Dimension("组", "teams"),
    "category": Dimension("分类", "categories"),
    "agent": Dimension("坐席", "agents"),
}


@dataclass(frozen=True)
class Period:
    """An inclusive span of days and the span of equal length just before it."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


@dataclass(frozen=True)
class Kpis:
    """Headline figures (sums and rates) for the chosen period and the previous one of equal length."""

    period: Period
    current: dict[str, float]
    previous: dict[str, float]

    def change(self, key: str) -> float | None:
        """Current minus previous, or None when either side has no data."""
        cur, prev = self.current.get(key), self.previous.get(key)
        if cur is None or prev is None or pd.isna(cur) or pd.isna(prev):
            return None
        return cur - prev


def default_period(first: date, last: date, days: int = DEFAULT_DAYS) -> Period:
    """The last ``days`` days of the archive (all of it when shorter): recent enough to act on."""
    return Period(max(first, last - timedelta(days=days - 1)), last)


def date_presets(first: date, last: date) -> dict[str, Period]:
    """The quick date ranges a manager picks instead of typing dates, relative to the archive's last day (an
    archive is looked at after the fact), clipped to the archive; those outside it are left out."""
    month = last.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    double_eleven = date(last.year if last >= date(last.year, 11, 1) else last.year - 1, 11, 1)
    wanted = {
        "近7天": Period(last - timedelta(days=6), last),
        "近30天": Period(last - timedelta(days=29), last),
        "双11 前后": Period(double_eleven, double_eleven + timedelta(days=19)),
        "本月": Period(month, last),
        "上月": Period(previous, month - timedelta(days=1)),
        "全部": Period(first, last),
    }
    return {name: Period(max(p.start, first), min(p.end, last)) for name, p in wanted.items()
            if p.start <= last and p.end >= first}


def resolve_period(conn: Connection, f: Filters) -> Period | None:
    """The concrete period ``f`` means, open ends taken from the archive; None when there is no data."""
    bounds = day_range(conn)
    if bounds is None:
        return None
    return Period(f.start or bounds[0], f.end or bounds[1])


def with_rates(df: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """Add every METRICS ratio (NaN where its denominator is 0) to a frame of SUMS columns."""
    rates = {}
    for key, m in METRICS.items():
        num = df[prefix + m.numerator].to_numpy(dtype=float)
        den = df[prefix + m.denominator].to_numpy(dtype=float)
        rates[prefix + key] = np.divide(num, den, out=np.full(len(den), np.nan), where=den > 0)
    return df.assign(**rates)


def _kind(key: str, kind: str | None) -> str:
    return kind or (METRICS[key].kind if key in METRICS else "count")


def format_value(key: str, value: float | None, kind: str | None = None) -> str:
    """A metric as a reader expects it: 87.5%, 4.21 or 1 分 5 秒; "—" when there is no data.

    ``kind`` ("pct", "score", "points", "seconds", "count") overrides the kind of a key that is not in METRICS;
    "points" is a 0–100 review score (one decimal, as the review forms show it).
    """
    if value is None or pd.isna(value):
        return "—"
    kind = _kind(key, kind)
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "score":
        return f"{value:.2f}"
    if kind == "points":
        return f"{value:.1f}"
    if kind == "seconds":
        return duration_text(value)
    return f"{value:,.0f}"


def format_change(key: str, delta: float | None, kind: str | None = None) -> str | None:
    """A change in a metric's own unit (percentage points for shares); None when it cannot be computed."""
    if delta is None or pd.isna(delta):
        return None
    kind = _kind(key, kind)
    if kind == "pct":
        return f"{delta * 100:+.1f} 个百分点"
    if kind == "score":
        return f"{delta:+.2f}"
    if kind == "points":
        return f"{delta:+.1f}"
    if kind == "seconds":
        return duration_change(delta)
    return f"{delta:+,.0f}"


CUBE_DIMENSIONS = ("platform", "shop", "team", "category")
_ID_DIMENSIONS: dict[str, tuple[InstrumentedAttribute[int | None], type[Platform | Shop | Agent]]] = {
    "platform": (DailyStat.platform_id, Platform), "shop": (DailyStat.shop_id, Shop),
    "agent": (DailyStat.agent_id, Agent)}
_TEXT_DIMENSIONS = {"team": DailyStat.team, "category": DailyStat.category}


@dataclass(frozen=True)
class Cube:
    """daily_stats summed per day and dimension over a period (and the one before it), ready for pandas."""

    period: Period
    rows: pd.DataFrame  # day, one column per dimension (names; UNKNOWN where missing), SUMS

    @cached_property
    def _is_current(self) -> np.ndarray:
        return (self.rows["day"] >= self.period.start).to_numpy(dtype=bool)

    def current(self) -> pd.DataFrame:
        return self.rows[self._is_current]

    def previous(self) -> pd.DataFrame:
        return self.rows[~self._is_current]

    def only(self, dimension: str, values: tuple[str, ...]) -> Cube:
        """The same cube restricted to some values of one dimension (an agent, a team's members)."""
        return Cube(self.period, self.rows[self.rows[dimension].isin(values)])


def _sum_columns(d: type[DailyStat | AgentDailyStat]) -> list[ColumnElement]:
    return [func.coalesce(func.sum(getattr(d, name)), 0).label(name) for name in SUMS]


def cube(conn: Connection, f: Filters, by: tuple[str, ...] = CUBE_DIMENSIONS, previous: bool = True,
         per_agent: bool = False) -> Cube | None:
    """One grouped scan of daily_stats: sums per day and ``by`` dimensions in ``f``'s period and the previous one.

    Every overview figure is then a pandas sum over a few thousand rows — one SQL aggregate per page instead of
    one per chart keeps a filter change well under a second on a million-message archive. The result is bounded
    by days × dimension values, not by volume. None when the archive is empty. ``per_agent``, and any ``f``
    that names agents, reads what each agent did (``agent_daily_stats``: a transferred chat split between its
    agents, as the queue filtered to an agent lists it) instead of whole conversations.
    """
    period = resolve_period(conn, f)
    if period is None:
        return None
    unknown = [name for name in by if name not in _ID_DIMENSIONS and name not in _TEXT_DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension {unknown[0]!r}; expected one of {sorted(DIMENSIONS)}")
    d = AgentDailyStat if per_agent or f.agents else DailyStat
    keys = [d.day, *(getattr(d, _ID_DIMENSIONS[n][0].key if n in _ID_DIMENSIONS else _TEXT_DIMENSIONS[n].key)
                     for n in by)]
    scope = f.with_(start=period.previous.start if previous else period.start, end=period.end)
    query = select(*(key.label(name) for key, name in zip(keys, ("day", *by))), *_sum_columns(d))
    df = _frame(conn, apply_to_daily_stats(query, scope, d).group_by(*keys))
    for name in by:
        if name in _ID_DIMENSIONS:  # names from the small lookup tables, not a join in the big grouping
            table = _ID_DIMENSIONS[name][1]
            df[name] = df[name].map(dict(conn.execute(select(table.id, table.name)).all()))
        df[name] = df[name].astype(object).where(df[name].notna(), UNKNOWN)
    return Cube(period, df)


def _frame(conn: Connection, query: Select) -> pd.DataFrame:
    result = conn.execute(query)
    df = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    for name in SUMS:  # PostgreSQL returns NUMERIC sums as Decimal
        if name in df:
            df[name] = df[name].astype(float)
    return df


def _totals(rows: pd.DataFrame) -> dict[str, float]:
    """SUMS and METRICS of all ``rows`` together."""
    total = with_rates(rows[list(SUMS)].sum().to_frame().T.astype(float))
    return {k: float(v) for k, v in total.iloc[0].items()}


def buckets(rows: pd.DataFrame, period: Period, grain: str, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """Daily sums summed into days or Monday-started weeks, each bucket's span clipped to ``period``.

    Columns: ``keys``, period (ISO date of the bucket), start, end, SUMS and METRICS.
    """
    if grain not in ("day", "week"):
        raise ValueError(f"grain must be 'day' or 'week', got {grain!r}")
    columns = [*keys, "period", "start", "end", *SUMS]
    if rows.empty:
        return with_rates(pd.DataFrame(columns=columns))
    days = pd.to_datetime(rows["day"])
    starts = days - pd.to_timedelta(days.dt.day_of_week, unit="D") if grain == "week" else days
    out = rows.assign(bucket=starts.dt.date).groupby([*keys, "bucket"], as_index=False)[list(SUMS)].sum()
    span = 6 if grain == "week" else 0
    out["start"] = out["bucket"].map(lambda d: max(d, period.start))
    out["end"] = out["bucket"].map(lambda d: min(d + timedelta(days=span), period.end))
    out["period"] = out["bucket"].map(date.isoformat)
    return with_rates(out[columns].reset_index(drop=True))


def kpis(c: Cube) -> Kpis:
    """Headline sums and rates of the cube's period and of the previous period."""
    return Kpis(c.period, _totals(c.current()), _totals(c.previous()))


def trend(c: Cube, grain: str = "day") -> pd.DataFrame:
    """Sums and rates per day or week of the cube's period (see ``buckets`` for the columns).

    By week, a first or last week that the period cuts short is left out when there is a whole week to show:
    two days of a week look like a dip. ``partial_weeks`` says which were left out.
    """
    out = buckets(c.current(), c.period, grain)
    if grain != "week" or out.empty:
        return out
    short = pd.to_datetime(out["end"]) - pd.to_datetime(out["start"]) < pd.Timedelta(days=6)
    return out if short.all() else out[~short].reset_index(drop=True)


def partial_weeks(c: Cube) -> list[tuple[date, date]]:
    """The first and last weeks the period cuts short (what ``trend`` leaves out by week), as (start, end)."""
    weeks = buckets(c.current(), c.period, "week")
    if weeks.empty:
        return []
    short = pd.to_datetime(weeks["end"]) - pd.to_datetime(weeks["start"]) < pd.Timedelta(days=6)
    if short.all():
        return []
    return list(zip(weeks.loc[short, "start"], weeks.loc[short, "end"]))


def partial_weeks_note(cut: Sequence[tuple[date, date]]) -> str:
    """What a weekly chart says under it about the weeks it leaves out ("" when none), the same on every page."""
    if not cut:
        return ""
    return "首尾不满一周的周（" + "、".join(f"{a:%m-%d}–{b:%m-%d}" for a, b in cut) + "）未画出，以免看似下降。"


def compare(c: Cube, dimension: str) -> pd.DataFrame:
    """Per value of ``dimension``: sums and rates now and (prefixed ``prev_``) in the previous period."""
    current = c.current().groupby(dimension)[list(SUMS)].sum()
    previous = c.previous().groupby(dimension)[list(SUMS)].sum().add_prefix("prev_")
    both = current.join(previous, how="outer").fillna(0.0).rename_axis("value").reset_index()
    both = with_rates(with_rates(both), "prev_")
    return both.sort_values(["conversations", "value"], ascending=[False, True]).reset_index(drop=True)


def worsened(comparisons: dict[str, pd.DataFrame], metric: str, min_volume: int = MIN_VOLUME,
             limit: int = 10) -> pd.DataFrame:
    """Dimension values whose ``metric`` got worse the most, among those with ``min_volume`` cases in both periods.

    Volume is the metric's own denominator (ratings for CSAT, replies for the SLA rate), so a shop with three
    ratings cannot top the list by luck.
    """
    m = METRICS[metric]
    rows = []
    for dimension, df in comparisons.items():
        if df.empty:
            continue
        enough = (df[m.denominator] >= min_volume) & (df[f"prev_{m.denominator}"] >= min_volume)
        sub = df[enough]
        rows.append(pd.DataFrame({
            "dimension": dimension, "dimension_label": DIMENSIONS[dimension].label, "value": sub["value"],
            "previous": sub[f"prev_{metric}"], "current": sub[metric],
            "n_previous": sub[f"prev_{m.denominator}"].astype(int), "n_current": sub[m.denominator].astype(int),
        }))
    columns = ["dimension", "dimension_label", "value", "previous", "current", "change", "n_previous", "n_current"]
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.concat(rows, ignore_index=True)
    out["change"] = out["current"] - out["previous"]
    worse = out["change"] if m.worse_when_higher else -out["change"]
    out = out[worse > 0].assign(_worse=worse[worse > 0])
    # A platform with one shop (or a shop that is all of a team) is one thing under two names: list it once,
    # under the dimension that comes first (platform before shop).
    out = out.drop_duplicates(["previous", "current", "n_previous", "n_current"])
    out = out.sort_values(["_worse", "n_current"], ascending=[False, False]).head(limit)
    return out[columns].reset_index(drop=True)


def failure_heatmap(c: Cube) -> pd.DataFrame:
    """Share of scored conversations with risk ≥ RISK_HIGH (``risk_high_share``) per category and week.

    Every category of the period gets a cell in every week that has data: a blank square reads as a fault in the
    chart, so an empty cell is a row whose ``empty_reason`` says why (no conversations, or none scored yet).
    """
    out = buckets(c.current(), c.period, "week", ("category",))
    if out.empty:
        return out.assign(empty_reason=pd.Series(dtype=str))
    weeks = out[["period", "start", "end"]].drop_duplicates("period")
    grid = pd.MultiIndex.from_product([out["category"].unique(), weeks["period"]], names=["category", "period"])
    full = (out.set_index(["category", "period"]).drop(columns=["start", "end"])
            .reindex(grid).reset_index().merge(weeks, on="period"))
    full[list(SUMS)] = full[list(SUMS)].fillna(0)
    full["empty_reason"] = [
        "" if scored > 0 else "这一周没有该分类的会话" if n == 0 else f"这一周该分类的 {n:,.0f} 个会话还没有评分"
        for scored, n in zip(full["scored"], full["conversations"])]
    return with_rates(full[[*out.columns.drop(list(METRICS), errors="ignore"), "empty_reason"]])


def peak_days(start: date, end: date) -> pd.DataFrame:
    """Shopping festivals (双11, 618) falling within [start, end], to mark on trend charts."""
    rows = sorted((date(year, month, day), label)
                  for year in range(start.year, end.year + 1) for month, day, label in PEAKS
                  if start <= date(year, month, day) <= end)
    return pd.DataFrame(rows, columns=["day", "label"])


def drill_filters(f: Filters, dimension: str | None = None, value: str | None = None,
                  start: date | None = None, end: date | None = None) -> Filters | None:
    """The queue filters behind one chart point: ``f``'s dimensions narrowed to a value and/or a date span.

    Score ranges and other queue-only settings are dropped, so the queue shows exactly the conversations
    counted in the point. None when the value cannot be filtered on (the "未知" bucket).
    """
    if value == UNKNOWN:
        return None
    base = Filters(start=f.start, end=f.end, platforms=f.platforms, shops=f.shops, teams=f.teams,
                   agents=f.agents, categories=f.categories)
    changes: dict[str, object] = {}
    if dimension is not None:
        changes[DIMENSIONS[dimension].field] = (value,)
    if start is not None:
        changes["start"] = start
    if end is not None:
        changes["end"] = end
    return base.with_(**changes)
