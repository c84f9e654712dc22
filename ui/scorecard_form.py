"""Rating a scorecard on a page: one control per criterion, auto-QA's proposal beside it, the score computed live.

The replay's scorecard review, a calibration session and a dispute's resolution all rate the same way, so they
share this form. Controls live outside ``st.form``: every change reruns the page and the score shown is
recomputed by ``qa.program.scorecard.score_review`` — the page never computes or types a score itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd
import streamlit as st

from qa.errors import HuifangError
from qa.program.autoqa import Proposal
from qa.program.checks import CHECK_LABELS
from qa.program.reviews import StaleScorecardReviewError
from qa.program.scorecard import BONUS_NOTE, FATAL, Criterion, Rating, Scorecard, explain, score_review
from ui.state import flash
from ui.text import plain

__all__ = ["NA", "accept_all", "bonus_note", "load_form", "rate_scorecard", "rating_text", "show_score", "submit_form"]

NA = "na"
"""The option standing for 不适用 in a criterion's control."""
_DISCRETE_MAX = 10  # up to this many steps a criterion is a row of buttons, beyond it a number box


def _fmt(x: float) -> str:
    return f"{x:g}"


def rating_text(c: Criterion, r: Rating | None) -> str:
    """A rating as the reviewer reads it: 是/否, 4 分, 2 次（−10 分）, 0 次, 不适用, 未评."""
    if r is None or (r.value is None and not r.na):
        return "未评"
    if r.na:
        return "不适用"
    value = float(r.value or 0)
    if c.kind == "adjust":
        return f"{_fmt(value)} 次（{c.points * value:+g} 分）" if value else "0 次"
    if c.scale == "yes_no":
        return "是" if value >= c.bounds[1] else "否"
    return f"{_fmt(value)} 分"


def _options(c: Criterion) -> list[float] | None:
    """The values a criterion's buttons offer (None when a number box fits better)."""
    lo, hi = c.bounds
    if c.scale == "yes_no" and c.kind != "adjust":
        return [hi, lo]
    if c.kind == "adjust" or c.scale == "rating" or float(lo).is_integer() and float(hi).is_integer():
        steps = int(hi - lo) + 1
        if steps <= _DISCRETE_MAX + 1:
            return [float(v) for v in range(int(lo), int(hi) + 1)]
    return None


def bonus_note(scores: Iterable[float | None]) -> None:
    """One line under scores shown anywhere, when one of them is past 100: it comes from bonus items."""
    if any(s is not None and not pd.isna(s) and s > 100 for s in scores):
        st.caption(f"超过 100 分：{BONUS_NOTE}。")


def _state_value(r: Rating | None) -> float | str | None:
    if r is None:
        return None
    return NA if r.na else r.value


def _key(prefix: str, c: Criterion) -> str:
    return f"{prefix}_{c.key}"


def load_form(prefix: str, owner: object, card: Scorecard, initial: Mapping[str, Rating], version: int = 0) -> None:
    """Fill the form's controls with ``initial`` when the form now shows something else (another conversation,
    user or version): widgets keep their state across reruns, not across what they are about. ``version`` is the
    stored review's version the form is filled from (0: none yet), what a save says it is based on."""
    if st.session_state.get(f"_{prefix}_for") == owner:
        return
    st.session_state[f"_{prefix}_for"] = owner
    st.session_state[f"_{prefix}_base"] = version
    for _s, c in card.criteria():
        st.session_state[_key(prefix, c)] = _state_value(initial.get(c.key))


def submit_form(prefix: str, button: str, write: Callable[[int], object], done: str) -> None:
    """Save the form through ``write(base_version)``; on success refill it from what is now stored and say ``done``.

    A save based on an older version than the stored one is refused with the newer review shown; the reviewer's
    input stays in the form, and a second click, now a conscious overwrite of what they saw, is based on that newer
    version. The replay's review and a calibration review save the same way, so they share this.
    """
    try:
        write(int(st.session_state.get(f"_{prefix}_base", 0)))
    except StaleScorecardReviewError as e:
        st.error(plain(e))
        st.session_state[f"_{prefix}_base"] = e.current.version if e.current else 0
        st.caption(f"你的内容还在表单里；再点一次“{button}”会用它覆盖上面的最新版本。")
    except HuifangError as e:
        st.error(plain(e))
    else:
        st.session_state.pop(f"_{prefix}_for", None)  # the next run refills the form from the new version
        flash(done)
        st.rerun()


def _accept(prefix: str, c: Criterion, proposal: Proposal) -> None:
    st.session_state[_key(prefix, c)] = _state_value(proposal.rating)


def accept_all(prefix: str, card: Scorecard, proposals: Mapping[str, Proposal]) -> None:
    """Callback: every criterion with a proposal takes it."""
    for _s, c in card.criteria():
        if c.key in proposals:
            _accept(prefix, c, proposals[c.key])


def _evidence(proposal: Proposal, messages: Mapping[int, str]) -> str:
    notes = []
    for e in proposal.result.evidence[:3]:
        where = messages.get(e.message_id) if e.message_id is not None else None
        notes.append(f"{e.note}" + (f"（{where}）" if where else ""))
    more = len(proposal.result.evidence) - 3
    return "；".join(notes) + (f"；另有 {more} 处" if more > 0 else "")


def _criterion_help(c: Criterion) -> str:
    facts = [f"权重 {c.weight:g}" if c.kind != "adjust" else f"每次 {c.points:+g} 分，最多 {c.max_times} 次"]
    if _lifts(c):
        facts.append(f"加分项：{BONUS_NOTE}")
    if c.fatal != "none":
        facts.append(FATAL[c.fatal])
    if c.allow_na:
        facts.append("可选不适用")
    if c.auto_check:
        facts.append(f"自动检查：{CHECK_LABELS.get(c.auto_check, c.auto_check)}")
    return " · ".join(facts) + (f"\n\n{plain(c.description)}" if c.description else "")  # typed by a manager


def _lifts(c: Criterion) -> bool:
    """Whether the criterion can lift the score past 100: a bonus item, or an addition (+N) of 加减分."""
    return c.kind == "bonus" or (c.kind == "adjust" and c.points > 0)


def _control(prefix: str, c: Criterion, disabled: bool) -> float | str | None:
    key = _key(prefix, c)
    label = plain(f"{c.label}{'（致命）' if c.fatal != 'none' else ''}{'（加分项）' if _lifts(c) else ''}")
    options = _options(c)
    if options is not None:
        shown: list[float | str] = [*options, NA] if c.allow_na else list(options)
        if st.session_state.get(key) not in shown:
            st.session_state[key] = None
        return st.segmented_control(label, shown, key=key, disabled=disabled, help=_criterion_help(c),
                                    format_func=lambda v: "不适用" if v == NA else rating_text(c, Rating(float(v))))
    lo, hi = c.bounds
    if c.allow_na:
        na = st.checkbox(f"{plain(c.label)}：不适用", key=f"{key}_na", value=st.session_state.get(key) == NA,
                         disabled=disabled)
        if na:
            st.session_state[key] = NA
            return NA
        if st.session_state.get(key) == NA:
            st.session_state[key] = None
    return st.number_input(label, min_value=lo, max_value=hi, key=key, disabled=disabled, help=_criterion_help(c))


def rate_scorecard(card: Scorecard, prefix: str, proposals: Mapping[str, Proposal] | None = None,
                   messages: Mapping[int, str] | None = None, disabled: bool = False) -> dict[str, Rating]:
    """The controls of every criterion, by section, with auto-QA's proposal and evidence under each; returns
    the ratings as they stand (criteria not rated yet are left out). Call ``load_form`` first."""
    proposals = proposals or {}
    messages = messages or {}
    if proposals and not disabled:
        st.button(f"全部采纳自动质检建议（{len(proposals)} 项）", key=f"{prefix}_accept_all", on_click=accept_all,
                  args=(prefix, card, proposals), icon=":material/done_all:")
    if any(_lifts(c) for _s, c in card.criteria()):
        st.caption(f"标“加分项”的项{BONUS_NOTE}。")
    ratings: dict[str, Rating] = {}
    for section in card.sections:
        cap = f"（扣分上限 {section.max_deduction:g}）" if section.max_deduction else ""
        st.markdown(f"**{plain(section.label)}**{cap}")
        for c in section.criteria:
            value = _control(prefix, c, disabled)
            proposal = proposals.get(c.key)
            if proposal is not None:
                suggested = _state_value(proposal.rating)
                row = st.columns([5, 1], vertical_alignment="center")
                state = ("已采纳" if value == suggested else
                         "未评" if value is None else "已改判")
                row[0].caption(f"自动质检建议：{rating_text(c, proposal.rating)} · {state} · "
                               f"{plain(_evidence(proposal, messages))}")
                if value != suggested and not disabled:
                    row[1].button("采纳", key=f"{_key(prefix, c)}_take", on_click=_accept, args=(prefix, c, proposal))
            if value is None:
                continue
            ratings[c.key] = Rating(na=True) if value == NA else Rating(float(value))
    return ratings


def show_score(card: Scorecard, ratings: Mapping[str, Rating], label: str = "得分") -> None:
    """The score of ``ratings`` as computed by the scorecard's formula, with the computation in words."""
    result = score_review(card, ratings)
    left = sum(1 for _s, c in card.criteria() if c.key not in ratings)
    value = "—" if result.score is None else f"{result.score:.1f}"
    st.metric(label, value, help="由评分表公式计算，不能手填")
    for line in explain(card, result):
        st.caption(plain(line))
    bonus_note([result.score])
    if left:
        st.caption(f"还有 {left} 项未评：保存前请逐项打分（或选“不适用”）")
