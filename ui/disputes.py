"""Dispute figures shown on more than one page (申诉, 坐席): the dispute rate per reviewer."""

from __future__ import annotations

from typing import Any

import streamlit as st

from qa.program.disputes import dispute_rates
from ui.cache import read

__all__ = ["dispute_rate_table"]

RATE_COLUMNS: dict[str, Any] = {"reviewer": "质检员", "reviews": "评审数", "disputed": "被申诉",
                "dispute_rate": st.column_config.NumberColumn("申诉率", format="percent"),
                "changed": "申诉后改分",
                "change_rate": st.column_config.NumberColumn("改分率（占申诉）", format="percent")}


def dispute_rate_table(key: str) -> None:
    """Per reviewer: reviews, how many were disputed and how many disputes changed the score."""
    rates = read(dispute_rates)
    if rates.empty:
        st.caption("还没有评分表评审。")
        return
    st.dataframe(rates, hide_index=True, column_order=list(RATE_COLUMNS), column_config=RATE_COLUMNS, key=key)
