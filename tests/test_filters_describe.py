"""Every active filter is stated in the filter summary the queue and exports show (issue #13.8: CSAT ≤ 2 was left
out, so a reviewer could not tell why the queue was short)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from qa.analytics.filters import Filters

SAMPLE = {"start": date(2026, 11, 1), "end": date(2026, 11, 11), "platforms": ("天猫",), "shops": ("某店",),
          "teams": ("售后",), "agents": ("小美",), "categories": ("退货",), "min_risk": 0.5, "max_risk": 0.9,
          "min_tone_risk": 0.3, "max_relevance": 0.4, "min_first_response_s": 60.0, "csat_max": 2,
          "reviewed": False, "text": "tm-1", "tags": (("物流 › 破损", (8,)),)}


def test_the_sample_covers_every_filter() -> None:
    assert set(SAMPLE) == {f.name for f in fields(Filters)}


@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_each_filter_shows_in_the_summary(name: str) -> None:
    assert Filters(**{name: SAMPLE[name]}).describe() != "全部"


def test_the_summary_names_the_values() -> None:
    text = Filters(csat_max=2, min_tone_risk=0.3, min_first_response_s=60.0).describe()
    assert text == "语气风险 ≥ 0.30 · 首次响应 ≥ 1 分 · CSAT ≤ 2"
