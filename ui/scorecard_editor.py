"""Editing a scorecard on the 评分表 page: a draft of its criteria kept in the session, one criterion edited at a
time with plain widgets (scale, weight, N/A, fatal, bonus, 加减分), the draft checked and saved by
``qa.program`` (``scorecard_from_frame`` then ``store``) as a new version."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pandas as pd
import streamlit as st

from qa.program.checks import CHECK_LABELS
from qa.program.scorecard import (
    AUTO_CHECK_NAMES,
    BONUS_NOTE,
    FATAL,
    FRAME_COLUMNS,
    KINDS,
    SCALES,
    Scorecard,
    criteria_frame,
)

__all__ = ["FRAME_CONFIG", "bonus_caption", "criterion_editor", "display_frame", "draft_rows", "load_draft"]

FRAME_CONFIG = dict(FRAME_COLUMNS)
"""Chinese headers of ``criteria_frame``'s columns (as st.dataframe column_config)."""
DRAFT_KEY, DRAFT_FOR, ITEM_KEY = "sc_draft", "_sc_draft_for", "sc_item"
NEW_ITEM = -1
_CHOICES: dict[str, dict[Any, str]] = {"kind": KINDS, "scale": SCALES, "fatal": FATAL,
                                       "auto_check": {None: "无", **{k: CHECK_LABELS[k] for k in AUTO_CHECK_NAMES}}}
_BLANK = {"section": "", "section_cap": None, "key": "", "label": "", "kind": "scored", "scale": "yes_no", "low": None,
          "high": None, "weight": 1.0, "points": 0.0, "max_times": 1, "allow_na": False, "fatal": "none",
          "auto_check": None, "description": ""}


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _number(value: Any) -> str:
    value = _clean(value)
    return "" if value is None else f"{value:g}"


def _in_words(df: pd.DataFrame) -> pd.DataFrame:
    """Criteria rows as a QA manager reads them: codes (scored, yes_no, section…) in words, and blank where a
    field does not apply — no cap, the scale of a 加减分 item, the points of a weighted one — never "None"; without
    the criterion's key, an internal id (reviews are stored under it) that means nothing to a reader."""
    adjust = df["kind"] == "adjust"
    out = df.drop(columns="key")
    for column, labels in _CHOICES.items():
        out[column] = df[column].map(lambda v, labels=labels: labels.get(_clean(v), v))
    for column in ("section_cap", "low", "high", "weight", "points", "max_times"):
        out[column] = df[column].map(_number)
    out.loc[adjust, ["scale", "low", "high", "weight"]] = ""
    out.loc[~adjust, ["points", "max_times"]] = ""
    out["allow_na"] = df["allow_na"].map(lambda v: "是" if v else "")
    out["fatal"] = df["fatal"].map(lambda v: "" if _clean(v) in (None, "none") else FATAL.get(v, v))
    return out


def display_frame(card: Scorecard) -> pd.DataFrame:
    """``criteria_frame`` in words (see ``_in_words``)."""
    return _in_words(criteria_frame(card))


def bonus_caption(rows: pd.DataFrame) -> None:
    """The line under criteria (``criteria_frame``'s columns) when one of them can lift the score past 100."""
    if any(k == "bonus" or (k == "adjust" and (_clean(p) or 0) > 0) for k, p in zip(rows["kind"], rows["points"])):
        st.caption(f"加分项（含正分值的加减分项）：{BONUS_NOTE}。")


def draft_rows() -> list[dict[str, Any]]:
    """The draft's criteria, one dict per row in ``criteria_frame``'s columns."""
    return st.session_state.get(DRAFT_KEY, [])


def load_draft(owner: object, card: Scorecard | None) -> None:
    """Start a draft from ``card`` (or empty) when the page now edits another scorecard or version."""
    ss = st.session_state
    if ss.get(DRAFT_FOR) == owner:
        return
    ss[DRAFT_FOR] = owner
    rows = [] if card is None else criteria_frame(card).to_dict("records")
    ss[DRAFT_KEY] = [{k: _clean(v) for k, v in row.items()} for row in rows]
    ss["sc_name"] = card.name if card else ""
    ss["sc_description"] = card.description if card else ""
    ss["sc_note"] = ""
    ss[ITEM_KEY] = 0 if rows else NEW_ITEM
    ss.pop("_sc_item_for", None)


def _fields(row: dict[str, Any]) -> None:
    for name, value in row.items():
        st.session_state[f"sc_f_{name}"] = value


def _apply() -> None:
    """Callback: the criterion's widgets into the draft (a new row, or the one being edited)."""
    ss = st.session_state
    row = {name: ss.get(f"sc_f_{name}") for name in _BLANK}
    for text in ("section", "key", "label", "description"):
        row[text] = (row[text] or "").strip()
    # A criterion's key is what reviews are stored under: kept through every edit, made up for a new one
    row["key"] = row["key"] or f"c{uuid.uuid4().hex[:8]}"
    if row["kind"] == "adjust" or row["scale"] != "points":  # yes/no and 1–5 keep their own bounds
        row["low"] = row["high"] = None
    rows = list(draft_rows())
    caps = {r["section"]: r["section_cap"] for r in rows}
    if ss[ITEM_KEY] == NEW_ITEM and row["section"] in caps and row["section_cap"] == ss.get("_sc_cap_prefilled"):
        row["section_cap"] = caps[row["section"]]  # joined an existing section: its cap, unless one was typed
    # the cap belongs to the section: setting it on one criterion sets it for the whole section
    rows = [dict(r, section_cap=row["section_cap"]) if r["section"] == row["section"] else r for r in rows]
    if ss[ITEM_KEY] == NEW_ITEM:
        rows.append(row)
        ss[ITEM_KEY] = len(rows) - 1
        ss["_sc_item_for"] = (ss[DRAFT_FOR], len(rows) - 1)
    else:
        rows[ss[ITEM_KEY]] = row
    ss[DRAFT_KEY] = rows


def _delete() -> None:
    ss = st.session_state
    rows = list(draft_rows())
    rows.pop(ss[ITEM_KEY])
    ss[DRAFT_KEY] = rows
    ss[ITEM_KEY] = 0 if rows else NEW_ITEM


def criterion_editor() -> None:
    """The draft as a table, then one criterion's fields with 应用到草稿 / 删除此项."""
    rows = draft_rows()
    if rows:
        table = pd.DataFrame(rows, columns=list(_BLANK))
        st.dataframe(_in_words(table), hide_index=True, column_config=FRAME_CONFIG, key="sc_draft_table")
        bonus_caption(table)
    options = [*range(len(rows)), NEW_ITEM]
    if st.session_state.get(ITEM_KEY) not in options:
        st.session_state[ITEM_KEY] = NEW_ITEM
    item = st.selectbox("编辑评分项", options, key=ITEM_KEY, format_func=lambda i: "＋ 新增评分项" if i == NEW_ITEM else
                        f"{rows[i]['section']} › {rows[i]['label'] or rows[i]['key']}")
    owner = (st.session_state.get(DRAFT_FOR), item)
    if st.session_state.get("_sc_item_for") != owner:
        st.session_state["_sc_item_for"] = owner
        last = rows[-1] if rows else _BLANK  # a new item goes to the last section, with that section's cap
        base = dict(_BLANK, section=last["section"], section_cap=last["section_cap"]) if item == NEW_ITEM else rows[item]
        _fields(base)
        st.session_state["_sc_cap_prefilled"] = base["section_cap"]
    c = st.columns(3)
    c[0].text_input("节", key="sc_f_section")
    c[1].number_input("本节扣分上限（可空）", min_value=0.0, key="sc_f_section_cap")
    c[2].text_input("评分项名称", key="sc_f_label")
    c2 = st.columns(4)
    kind = c2[0].selectbox("类型", list(KINDS), format_func=lambda k: KINDS[k], key="sc_f_kind")
    scale = c2[1].selectbox("量表", list(SCALES), format_func=lambda k: SCALES[k], key="sc_f_scale", disabled=kind == "adjust")
    c2[2].number_input("权重", min_value=0.0, step=0.5, key="sc_f_weight", disabled=kind == "adjust")
    c2[3].selectbox("致命", list(FATAL), format_func=lambda k: FATAL[k], key="sc_f_fatal")
    c3 = st.columns(4)
    points_scale = kind != "adjust" and scale == "points"
    c3[0].number_input("下限（分值量表）", key="sc_f_low", disabled=not points_scale)
    c3[1].number_input("上限（分值量表，默认 10）", key="sc_f_high", disabled=not points_scale)
    c3[2].number_input("加减分值（如 −5、+3）", step=1.0, key="sc_f_points", disabled=kind != "adjust")
    c3[3].number_input("最多次数", min_value=1, step=1, key="sc_f_max_times", disabled=kind != "adjust")
    c4 = st.columns([1, 1, 2])
    c4[0].checkbox("可选“不适用”", key="sc_f_allow_na")
    # None (no check) is shown as the placeholder: without one Streamlit shows "Choose an option"
    c4[1].selectbox("自动检查", list(_CHOICES["auto_check"]), format_func=lambda k: _CHOICES["auto_check"][k],
                   key="sc_f_auto_check", placeholder="无")
    c4[2].text_input("说明", key="sc_f_description")
    b = st.columns([1, 1, 4])
    b[0].button("应用到草稿", key="sc_apply", on_click=_apply)
    if item != NEW_ITEM:
        b[1].button("删除此项", key="sc_delete", on_click=_delete)
    st.caption("“应用到草稿”只改这里的草稿；点下面的保存才会生成新版本（保存时检查整张表）。")
