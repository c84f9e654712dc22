"""Altair charts and cell formats the analytics pages share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import altair as alt
import pandas as pd

from qa.analytics.dashboard import METRICS
from scoring.schema import ConversationScore, MessageScore, score_fields

__all__ = ["axis_format", "monday_ticks", "trend_chart", "selected", "int_text", "score_label", "highlight_row",
           "calibration_trend_chart"]


def axis_format(metric: str) -> str:
    """The d3 format of a metric's axis and tooltip (shares as percentages)."""
    kind = METRICS[metric].kind if metric in METRICS else "count"
    return {"pct": ".0%", "score": ".2f", "seconds": ".0f"}.get(kind, ",.0f")


def monday_ticks(weeks: Iterable[Any]) -> list[alt.DateTime]:
    """One axis tick per Monday-started week: Vega's own week ticks fall on Sundays, a day before every bucket."""
    return [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in sorted(set(pd.to_datetime(list(weeks))))]


def trend_chart(df: pd.DataFrame, metric: str, title: str, peaks: pd.DataFrame | None = None,
                series: str | None = None, area: bool = False, weekly: bool = False) -> alt.LayerChart:
    """A line over ``df['period']`` with clickable points (selection "pick" on period) and festival rules.

    ``df`` has one row per period (and ``series`` value) with its ``start`` and ``end`` day; clicking a point
    selects its period. With ``series``, the first series (e.g. the agent) is drawn strong, the others grey.
    """
    data = df.assign(x=pd.to_datetime(df["period"]),
                     span=[f"{a}" if a == b else f"{a} 至 {b}" for a, b in zip(df["start"], df["end"])])
    pick = alt.selection_point(name="pick", fields=["period"], on="click")
    fmt = axis_format(metric)
    color: Any = alt.value("#1f77b4")
    if series:
        order = list(dict.fromkeys(df[series]))
        color = alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top"),
                          scale=alt.Scale(domain=order, range=["#1f77b4"] + ["#a0a7b4"] * (len(order) - 1)))
    ticks: Any = monday_ticks(data["x"]) if weekly else alt.Undefined
    base = alt.Chart(data).encode(
        x=alt.X("x:T", title=None, axis=alt.Axis(format="%m-%d", values=ticks, labelOverlap=True)),
        y=alt.Y(f"{metric}:Q", title=None, axis=alt.Axis(format=fmt),
                scale=alt.Scale(zero=metric not in METRICS or METRICS[metric].kind != "score")),
        color=color,
    )
    tooltip = [alt.Tooltip("span:N", title="日期"), alt.Tooltip(f"{metric}:Q", title=title, format=fmt),
               alt.Tooltip("conversations:Q", title="会话", format=",.0f")]
    if series:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title=""))
    layers = [base.mark_line(),
              base.mark_point(filled=True, size=60, cursor="pointer").encode(tooltip=tooltip).add_params(pick)]
    if area:
        layers.insert(0, base.mark_area(opacity=0.15))
    if peaks is not None and not peaks.empty:
        marks = alt.Chart(peaks.assign(x=pd.to_datetime(peaks["day"])))
        layers.append(marks.mark_rule(color="#d62728", strokeDash=[4, 4]).encode(x="x:T"))
        layers.append(marks.mark_text(color="#d62728", align="left", dx=4, dy=-4, baseline="top")
                      .encode(x="x:T", y=alt.value(0), text="label:N"))
    chart: alt.LayerChart = alt.layer(*layers).properties(title=title, height=220)  # type: ignore[assignment]
    return chart


def selected(event: Any, param: str = "pick") -> dict | None:
    """The first selected datum of a chart's selection ``param`` (from ``st.altair_chart(on_select=...)``)."""
    points = (event or {}).get("selection", {}).get(param) or []
    return points[0] if points else None


def int_text(values: Any) -> list[str]:
    """Whole numbers as text, blank where missing: st.dataframe would print "None" in the cell."""
    return ["" if pd.isna(v) else f"{v:.0f}" for v in values]


def score_label(name: str, level: type[ConversationScore] | type[MessageScore] = ConversationScore) -> str:
    """The label a score field is declared with in ``scoring.schema`` (e.g. dissatisfaction_risk → 不满风险)."""
    return next(f.label for f in score_fields(level) if f.name == name)


def highlight_row(df: pd.DataFrame, column: str, value: object, formats: dict[str, str]) -> Any:
    """``df`` styled with the row whose ``column`` is ``value`` highlighted, numbers formatted, blanks blank.

    A pandas Styler replaces st.dataframe's own number formats, and would print a missing figure as "nan" or
    "None", so the formats are given here and missing values shown as empty cells.
    """
    return (df.style.apply(lambda r: ["background-color: #fff4d6" if r[column] == value else ""] * len(r), axis=1)
            .format(formats, na_rep=""))


def calibration_trend_chart(trend: pd.DataFrame) -> alt.Chart:
    """α and the share within ±10 points of each closed calibration session, in the order they closed."""
    names = {"alpha": "Krippendorff's α（总分）", "within_share": "±10 分以内"}
    data = trend.melt(id_vars=["session_id", "name", "closed_at"], value_vars=list(names), var_name="what",
                      value_name="value").assign(what=lambda d: d["what"].map(names))
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("closed_at:T", title=None, axis=alt.Axis(format="%m-%d")),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("name:N", title="校准会"), alt.Tooltip("what:N", title="指标"),
                 alt.Tooltip("value:Q", title="值", format=".2f")]).properties(height=220)
