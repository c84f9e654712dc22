"""Overview queries on tests/seed.py: the numbers an executive reads, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from qa.analytics import dashboard as dash
from qa.analytics.filters import Filters
from tests.seed import seed_small

LATE = Filters(start=date(2026, 11, 12), end=date(2026, 11, 13))  # previous period: 11-10 and 11-11


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def cube(engine: Engine, f: Filters) -> dash.Cube:
    with engine.connect() as conn:
        return dash.cube(conn, f)


def test_cube_is_one_row_per_day_and_dimension_values(seeded: Engine) -> None:
    c = cube(seeded, LATE)
    assert c.period == dash.Period(date(2026, 11, 12), date(2026, 11, 13))
    assert len(c.rows) == 8  # each seeded conversation has its own day/shop/team/category combination
    assert set(c.rows.columns) == {"day", "platform", "shop", "team", "category", *dash.SUMS}
    assert len(c.current()) == 4 and len(c.previous()) == 4
    assert sorted(c.only("platform", ("京东",)).rows["category"]) == ["换货", "赠品/物流"]


def test_kpis_whole_archive_have_no_previous_period(seeded: Engine) -> None:
    k = dash.kpis(cube(seeded, Filters()))
    assert k.period == dash.Period(date(2026, 11, 10), date(2026, 11, 13))
    assert k.period.previous == dash.Period(date(2026, 11, 6), date(2026, 11, 9))
    cur = k.current
    assert cur["conversations"] == 8
    assert cur["csat_n"] == 6 and cur["csat"] == pytest.approx(19 / 6)  # 5, 1, 2, 4, 2, 5
    assert cur["csat_share"] == 0.75
    assert cur["risk_mean"] == pytest.approx(3.65 / 8)
    assert cur["risk_high_share"] == 0.5  # tm-3, tm-4, jd-2, dy-1
    assert cur["sla_rate"] == 0.75  # 12 of 16 replies
    assert cur["first_response_s"] == pytest.approx(1225 / 8)
    assert k.previous["conversations"] == 0
    assert k.change("csat") is None


def test_kpis_compare_with_the_previous_period_of_equal_length(seeded: Engine) -> None:
    k = dash.kpis(cube(seeded, LATE))
    assert (k.current["conversations"], k.previous["conversations"]) == (4, 4)
    assert k.current["csat"] == 3.0 and k.previous["csat"] == pytest.approx(10 / 3)
    assert k.change("csat") == pytest.approx(-1 / 3)
    assert k.change("risk_high_share") == pytest.approx(0.5)  # 3 of 4 against 1 of 4
    assert k.change("sla_rate") == pytest.approx(0.0)
    assert k.change("first_response_s") == pytest.approx(187.5 - 118.75)


def test_kpis_follow_dimension_filters(seeded: Engine) -> None:
    k = dash.kpis(cube(seeded, Filters(platforms=("天猫",))))
    assert k.current["conversations"] == 4
    assert k.current["csat"] == pytest.approx(8 / 3)


def test_trend_by_day_and_by_week(seeded: Engine) -> None:
    daily = dash.trend(cube(seeded, Filters()), "day")
    weekly = dash.trend(cube(seeded, Filters()), "week")
    assert list(daily["period"]) == ["2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"]
    assert list(daily["conversations"]) == [1, 3, 3, 1]
    assert list(daily["risk_high_share"]) == pytest.approx([0, 1 / 3, 1, 0])
    # one Monday-started week, its span clipped to the data so a drill-down asks for exactly these days
    assert weekly[["period", "start", "end", "conversations"]].values.tolist() == [
        ["2026-11-09", date(2026, 11, 10), date(2026, 11, 13), 8]]
    assert weekly["sla_rate"].tolist() == [0.75]


def test_compare_by_platform(seeded: Engine) -> None:
    df = dash.compare(cube(seeded, LATE), "platform")
    assert df[["value", "conversations", "prev_conversations"]].values.tolist() == [
        ["抖音", 2, 0], ["京东", 1, 1], ["天猫", 1, 3]]
    assert df["risk_high_share"].tolist() == [0.5, 1.0, 1.0]
    assert df["prev_risk_high_share"].tolist() == pytest.approx([float("nan"), 0.0, 1 / 3], nan_ok=True)


def _comparisons(engine: Engine, f: Filters) -> dict[str, pd.DataFrame]:
    c = cube(engine, f)
    return {dim: dash.compare(c, dim) for dim in dash.CUBE_DIMENSIONS}


def test_worsened_ranks_the_largest_worsening_with_enough_volume(seeded: Engine) -> None:
    comparisons = _comparisons(seeded, LATE)
    risk = dash.worsened(comparisons, "risk_high_share", min_volume=1)
    # each platform here has one shop: the same figures under two names are listed once, as the platform
    assert risk[["dimension", "value"]].values.tolist() == [["platform", "京东"], ["platform", "天猫"], ["team", "售后"]]
    assert risk["change"].tolist() == pytest.approx([1.0, 2 / 3, 0.5])
    csat = dash.worsened(comparisons, "csat", min_volume=1)  # lower CSAT is worse; 京东 has no rating now
    assert csat[["value", "previous", "current", "n_previous", "n_current"]].values.tolist() == [
        ["天猫", 3.0, 2.0, 2, 1], ["售后", 2.5, 2.0, 2, 1]]
    assert dash.worsened(comparisons, "risk_high_share").empty  # default threshold: 30 cases in each period


def test_failure_heatmap_by_category_and_week(seeded: Engine) -> None:
    df = dash.failure_heatmap(cube(seeded, Filters()))
    got = {row.category: (row.period, row.scored, row.risk_high_share) for row in df.itertuples()}
    assert got == {"产品/尺码咨询": ("2026-11-09", 2, 0.0), "退货": ("2026-11-09", 2, 1.0),
                   "换货": ("2026-11-09", 1, 0.0), "赠品/物流": ("2026-11-09", 1, 1.0),
                   "负面评价": ("2026-11-09", 1, 1.0), "发票": ("2026-11-09", 1, 0.0)}


def test_empty_archive_and_empty_selection(engine: Engine) -> None:
    assert cube(engine, Filters()) is None
    seed_small(engine)
    nothing = cube(engine, Filters(platforms=("拼多多",)))
    assert dash.kpis(nothing).current["conversations"] == 0
    assert dash.trend(nothing, "week").empty
    assert dash.compare(nothing, "shop").empty
    assert dash.failure_heatmap(nothing).empty


@pytest.mark.parametrize(("where", "expected"), [
    ({"dimension": "platform", "value": "京东"}, Filters(start=date(2026, 11, 1), platforms=("京东",))),
    ({"start": date(2026, 11, 9), "end": date(2026, 11, 15)},
     Filters(start=date(2026, 11, 9), end=date(2026, 11, 15))),
    ({"dimension": "category", "value": "退货", "start": date(2026, 11, 9), "end": date(2026, 11, 15)},
     Filters(start=date(2026, 11, 9), end=date(2026, 11, 15), categories=("退货",))),
    ({"dimension": "team", "value": dash.UNKNOWN}, None),
])
def test_drill_filters_keep_dimensions_and_drop_queue_settings(where: dict, expected: Filters | None) -> None:
    page = Filters(start=date(2026, 11, 1), min_risk=0.8, reviewed=False)
    assert dash.drill_filters(page, **where) == expected


def test_peak_days() -> None:
    assert dash.peak_days(date(2026, 5, 21), date(2026, 11, 20)).values.tolist() == [
        [date(2026, 6, 18), "618"], [date(2026, 11, 11), "双11"]]
    assert dash.peak_days(date(2026, 11, 12), date(2026, 11, 20)).empty


def test_default_period_is_the_last_eight_weeks() -> None:
    assert dash.default_period(date(2026, 5, 21), date(2026, 11, 20)) == dash.Period(date(2026, 9, 26),
                                                                                   date(2026, 11, 20))
    assert dash.default_period(date(2026, 11, 10), date(2026, 11, 13)).start == date(2026, 11, 10)


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("sla_rate", 0.75, "75.0%"), ("csat", 19 / 6, "3.17"), ("first_response_s", 153.125, "2 分 33 秒"),
    ("first_response_s", 45, "45 秒"), ("conversations", 1234, "1,234"), ("csat", None, "—"),
    ("csat", float("nan"), "—"), ("reviewed", 1234.0, "1,234"),
])
def test_format_value(key: str, value: float | None, shown: str) -> None:
    assert dash.format_value(key, value) == shown


def test_format_value_kind_override_and_change() -> None:
    assert dash.format_value("rubric_mean", 2.0, "score") == "2.00"
    assert dash.format_value("card_mean", 1500 / 14, "points") == "107.1"  # a review score, as the forms show it
    assert dash.format_change("card_mean", -12.345, "points") == "-12.3"
    assert dash.format_change("risk_high_share", 0.5) == "+50.0 个百分点"
    assert dash.format_change("csat", -1 / 3) == "-0.33"
    assert dash.format_change("first_response_s", 68.75) == "+1 分 9 秒"
    assert dash.format_change("csat", None) is None


def test_a_highlighted_table_shows_missing_figures_as_blank_cells() -> None:
    import pandas as pd

    from ui.charts import highlight_row

    df = pd.DataFrame({"agent": ["小美", "阿强"], "rubric_mean": [4.25, float("nan")], "csat": [None, 4.5]})
    html = highlight_row(df, "agent", "小美", {"rubric_mean": "{:.2f}", "csat": "{:.2f}"}).to_html()
    assert "4.25" in html and "4.50" in html and "nan" not in html and "None" not in html
    assert "#fff4d6" in html


@pytest.mark.parametrize("first, last, name, expected", [
    (date(2026, 9, 1), date(2026, 11, 30), "近7天", (date(2026, 11, 24), date(2026, 11, 30))),
    (date(2026, 9, 1), date(2026, 11, 30), "近30天", (date(2026, 11, 1), date(2026, 11, 30))),
    (date(2026, 9, 1), date(2026, 11, 30), "双11 前后", (date(2026, 11, 1), date(2026, 11, 20))),
    (date(2026, 9, 1), date(2026, 11, 30), "本月", (date(2026, 11, 1), date(2026, 11, 30))),
    (date(2026, 9, 1), date(2026, 11, 30), "上月", (date(2026, 10, 1), date(2026, 10, 31))),
    (date(2026, 9, 1), date(2026, 11, 30), "全部", (date(2026, 9, 1), date(2026, 11, 30))),
    (date(2026, 11, 5), date(2026, 11, 8), "近30天", (date(2026, 11, 5), date(2026, 11, 8))),  # clipped
    (date(2026, 12, 1), date(2027, 2, 10), "双11 前后", None),  # Double 11 2026 is before the archive
    (date(2026, 12, 20), date(2027, 1, 5), "上月", (date(2026, 12, 20), date(2026, 12, 31))),
])
def test_date_presets(first: date, last: date, name: str, expected: tuple[date, date] | None) -> None:
    presets = dash.date_presets(first, last)
    got = presets.get(name)
    assert (None if got is None else (got.start, got.end)) == expected


def _weeks_cube(start: date, end: date) -> dash.Cube:
    days = pd.date_range(start, end).date
    rows = pd.DataFrame({"day": days, **{name: 1 for name in dash.SUMS}})
    return dash.Cube(dash.Period(start, end), rows)


def test_weekly_trend_leaves_out_weeks_the_period_cuts_short() -> None:
    c = _weeks_cube(date(2026, 11, 5), date(2026, 11, 25))  # Thu 11-05 … Wed 11-25
    weekly = dash.trend(c, "week")
    assert weekly[["start", "end"]].values.tolist() == [[date(2026, 11, 9), date(2026, 11, 15)],
                                                        [date(2026, 11, 16), date(2026, 11, 22)]]
    assert dash.partial_weeks(c) == [(date(2026, 11, 5), date(2026, 11, 8)), (date(2026, 11, 23), date(2026, 11, 25))]
    assert len(dash.trend(c, "day")) == 21  # by day nothing is left out
    assert dash.partial_weeks_note(dash.partial_weeks(c)) == "首尾不满一周的周（11-05–11-08、11-23–11-25）未画出，以免看似下降。"
    assert dash.partial_weeks_note([]) == ""


def test_a_period_shorter_than_a_week_keeps_its_only_week() -> None:
    c = _weeks_cube(date(2026, 11, 10), date(2026, 11, 13))
    assert len(dash.trend(c, "week")) == 1 and dash.partial_weeks(c) == []


def test_failure_heatmap_says_why_a_cell_is_empty() -> None:
    """A category missing from a week is a grey cell with a reason, not a blank: no conversations, or none scored."""
    def day(d: date, category: str, conversations: int, scored: int, risk_high: int) -> dict:
        return {"day": d, "category": category, **dict.fromkeys(dash.SUMS, 0), "conversations": conversations,
                "scored": scored, "risk_high": risk_high}

    rows = pd.DataFrame([day(date(2026, 11, 10), "退货", 4, 4, 1), day(date(2026, 11, 11), "发票", 2, 2, 0),
                         day(date(2026, 11, 17), "退货", 3, 3, 3), day(date(2026, 11, 18), "发票", 5, 0, 0)])
    df = dash.failure_heatmap(dash.Cube(dash.Period(date(2026, 11, 9), date(2026, 11, 22)), rows))
    got = {(r.category, r.period): (r.scored, r.risk_high_share, r.empty_reason) for r in df.itertuples()}
    assert got[("退货", "2026-11-09")] == (4, 0.25, "")
    assert got[("退货", "2026-11-16")] == (3, 1.0, "")
    assert got[("发票", "2026-11-09")] == (2, 0.0, "")
    assert got[("发票", "2026-11-16")][0] == 0 and got[("发票", "2026-11-16")][2] == "这一周该分类的 5 个会话还没有评分"
    assert len(got) == 4

    rows = rows.iloc[[0, 1, 2]]  # 发票 has nothing in the second week
    df = dash.failure_heatmap(dash.Cube(dash.Period(date(2026, 11, 9), date(2026, 11, 22)), rows))
    empty = df[df["scored"] == 0]
    assert list(zip(empty["category"], empty["period"], empty["empty_reason"])) == [
        ("发票", "2026-11-16", "这一周没有该分类的会话")]
    assert list(df[df["period"] == "2026-11-16"]["end"]) == [date(2026, 11, 22)] * 2
