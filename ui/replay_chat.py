"""The replay's chat: every message with reviewers' notes under it, a 批注 control beside it, and play-back.

The chat is a fragment: moving its slider, opening a message's note form and each tick of a play-back redraw the
chat alone, so the review panels beside it stay usable while a conversation plays. A play-back is a start time kept in
session state; each tick shows the messages whose scaled time has come, so it keeps the chosen speed however long
a redraw takes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from qa.errors import HuifangError
from qa.program.tag_store import AssignedTag, current_tree, tags_of
from qa.program.tags import TagTree
from qa.review.annotations import delete_annotation, update_message_note
from qa.review.message_tags import NOTE_GROUP, OwnNote, chosen_now, picker_options, save_message_tags
from qa.review.replay import ROLE_NAMES, MessageNote, message_html, play_times, shown_at, wait_scale
from ui.cache import engine, read
from ui.replay_tags import tag_line
from ui.state import flash

__all__ = ["SPEEDS", "chat"]

SPEEDS = {"×10": 10, "×60": 60, "×600": 600}
MAX_PAUSE_S = 2.0  # the longest pause between two messages in a play-back, whatever the real gap
TICK_S = 0.25  # how often a playing chat redraws
PLAY_KEY = "_replay_playing"
RELOAD_KEY = "_replay_notes_changed"
PLAYED_KEY = "_replay_played"
_clock = time.monotonic  # tests move time by replacing it


@dataclass(frozen=True)
class _Playback:
    conversation_id: int
    start: int  # 1-based message the play-back began at
    started: float  # _clock() when it began
    times: tuple[float, ...]  # play_times of the conversation at the chosen speed


def _label(msg: pd.Series) -> str:
    return f"#{msg.seq + 1} {ROLE_NAMES.get(msg.role, msg.role)}"


def _step(delta: int, n: int) -> None:
    st.session_state["replay_step"] = min(max(st.session_state["replay_step"] + delta, 1), n)


def _play(cid: int, msgs: pd.DataFrame) -> None:
    """Callback of 播放: start from the message shown (from the first when the whole chat is shown)."""
    step = st.session_state["replay_step"]
    start = 1 if step >= len(msgs) else step
    times = play_times(msgs, SPEEDS[st.session_state["replay_speed"]], MAX_PAUSE_S)
    st.session_state[PLAY_KEY] = _Playback(cid, start, _clock(), tuple(times))
    st.session_state["replay_step"] = start


def _stop() -> None:
    st.session_state.pop(PLAY_KEY, None)


def _playing(cid: int) -> _Playback | None:
    """The play-back of this conversation under way, if any (one left over from another conversation ends)."""
    play = st.session_state.get(PLAY_KEY)
    if play is not None and play.conversation_id != cid:
        _stop()
        return None
    return play


def _notes_changed(message_id: int, text: str) -> None:
    """After a note is written: close its form, say so, and redraw the whole page (the panels count notes)."""
    st.session_state[f"note_pop_{message_id}"] = False
    st.session_state[RELOAD_KEY] = True
    flash(text)


def _update(note: OwnNote, message_id: int, uid: int) -> None:
    """Callback of 更新: the note's text (its tags are the picker's)."""
    try:
        update_message_note(engine(), note.id, uid, st.session_state[f"note_edit_text_{note.id}"], note.tags)
    except HuifangError as e:
        flash(str(e), "error")
    else:
        _notes_changed(message_id, "批注已更新")


def _delete(note_id: int, message_id: int, uid: int) -> None:
    try:
        delete_annotation(engine(), note_id, uid)
    except HuifangError as e:
        flash(str(e), "error")
    else:
        _notes_changed(message_id, "批注已删除")


@dataclass(frozen=True)
class _MessageTags:
    """The tag tree and the tags on the chat's messages (by message id), read once per page run."""

    tree: TagTree
    on: dict[int, list[AssignedTag]]

    def note(self, message_id: int) -> list[MessageNote]:
        """The message's tree tags as a line under it, like reviewers' notes: where each came from, and whether a
        reviewer confirmed it (物流 › 破损（规则·待确认）)."""
        tags = self.on.get(message_id, [])
        return [MessageNote("标签", "、".join(tag_line(self.tree, t) for t in tags), "")] if tags else []


def _own_notes(mine: pd.DataFrame) -> list[OwnNote]:
    return [OwnNote(int(n.id), n.comment, tuple(t for t in n.tags.split("，") if t)) for n in mine.itertuples()]


def _save(cid: int, message_id: int, uid: int, actor: str, label: str, tags: _MessageTags, own: list[OwnNote]) -> None:
    """Callback of 保存: the one picker's tags and the new note's text."""
    ss = st.session_state
    chosen, comment = ss[f"note_tags_{message_id}"], ss[f"note_text_{message_id}"]
    if not comment.strip() and set(chosen) == set(chosen_now(tags.tree, tags.on.get(message_id, []), own)):
        flash("没有改动：请填写批注或修改标签", "error")
        return
    try:
        save_message_tags(engine(), cid, message_id, uid, actor, chosen, comment, tags.on.get(message_id, []), own)
    except HuifangError as e:
        flash(str(e), "error")
    else:
        _notes_changed(message_id, f"已保存 {label} 的批注和标签")


def _note_form(cid: int, msg: pd.Series, uid: int, own: pd.DataFrame, actor: str, tags: _MessageTags) -> None:
    """The 批注 control of one message: a popover (drawn only while open) with one tag picker — the tag tree's
    tags and the note tags that teach the models — a new note, and the reviewer's own notes to edit or delete."""
    mid, label = int(msg.id), _label(msg)
    pop = st.popover("批注", key=f"note_pop_{mid}", on_change="rerun", type="tertiary", icon=":material/edit_note:",
                     help=f"批注{label}")
    if not pop.open:
        return
    notes = _own_notes(own)
    options = picker_options(tags.tree)
    with pop:
        st.markdown(f"**批注 {label}**")
        with st.form(f"note_form_{mid}", border=False):
            st.multiselect("标签", list(options), default=chosen_now(tags.tree, tags.on.get(mid, []), notes),
                           format_func=options.__getitem__, key=f"note_tags_{mid}",
                           placeholder="选择标签，如 物流 › 破损、质检 › 语气生硬",
                           help=f"标签树的标签打在这条消息上；“{NOTE_GROUP} › …”记在你的批注里，用于改进模型")
            st.text_area("批注", key=f"note_text_{mid}", height=68)
            st.form_submit_button("保存", type="primary", on_click=_save,
                                  args=(cid, mid, uid, actor, label, tags, notes))
        for note in notes:
            st.divider()
            st.text_area("我的批注", value=note.comment, key=f"note_edit_text_{note.id}", height=68)
            b1, b2 = st.columns(2)
            b1.button("更新", key=f"note_update_{note.id}", on_click=_update, args=(note, mid, uid))
            b2.button("删除", key=f"note_delete_{note.id}", on_click=_delete, args=(note.id, mid, uid))


def _controls(cid: int, msgs: pd.DataFrame, play: _Playback | None) -> None:
    """Step, speed and play/pause, drawn with the page: starting or stopping changes how often the chat redraws,
    which only a run of the whole page can set."""
    n = len(msgs)
    ctl = st.columns(4, vertical_alignment="bottom")
    ctl[0].button("上一句", key="replay_back", on_click=_step, args=(-1, n), icon=":material/undo:", width="stretch",
                  disabled=play is not None)
    ctl[1].button("下一句", key="replay_fwd", on_click=_step, args=(1, n), icon=":material/redo:", width="stretch",
                  disabled=play is not None)
    ctl[2].selectbox("速度", list(SPEEDS), key="replay_speed", label_visibility="collapsed", disabled=play is not None)
    if play is None:
        ctl[3].button("播放", key="replay_play", icon=":material/play_arrow:", width="stretch", on_click=_play,
                      args=(cid, msgs), help=f"按真实时间间隔加速回放（每步最多停 {MAX_PAUSE_S:.0f} 秒）")
    else:
        ctl[3].button("暂停", key="replay_pause", icon=":material/pause:", width="stretch", on_click=_stop)


def _draw(cid: int, msgs: pd.DataFrame, notes: pd.DataFrame, uid: int | None, actor: str | None,
          tags: _MessageTags) -> None:
    ss = st.session_state
    if ss.pop(RELOAD_KEY, False):  # still set: only the chat is being redrawn, yet the panels count notes too
        st.rerun()
    play = _playing(cid)
    if play is not None:
        ss["replay_step"] = shown_at(play.times, play.start, _clock() - play.started)
        if ss["replay_step"] >= len(msgs):
            _stop()
            ss[PLAYED_KEY] = True
            st.rerun()  # the whole page, to stop the ticking
    n = len(msgs)
    # The step lives in session state; the default is only what the browser falls back to when it sends a slider
    # it has not yet given its value (seen right after signing in on a shared link): the whole chat, not message 1.
    st.slider(f"显示到第几条（共 {n} 条）", 1, max(n, 2), value=n, key="replay_step",
              disabled=n < 2 or play is not None)
    on_messages = notes[notes["message_id"].notna()].fillna({"tags": "", "comment": ""})
    scale = wait_scale(msgs)
    for _i, msg in msgs.iloc[:ss["replay_step"]].iterrows():
        mine = on_messages[on_messages["message_id"] == msg.id]
        said = [MessageNote(r.reviewer, r.tags, r.comment) for r in mine.itertuples()] + tags.note(int(msg.id))
        body, side = st.columns([12, 1], gap="small")
        body.markdown(message_html(msg, scale, said), unsafe_allow_html=True)
        if uid is not None and actor is not None:
            with side:
                _note_form(cid, msg, uid, mine[mine["reviewer_id"] == uid], actor, tags)


def chat(cid: int, msgs: pd.DataFrame, notes: pd.DataFrame, uid: int | None, actor: str | None = None) -> None:
    """Draw the chat of conversation ``cid`` with its message notes and tags; ``uid`` (the signed-in reviewer, named
    ``actor``) may annotate and tag."""
    ss = st.session_state
    ss.pop(RELOAD_KEY, None)  # the whole page is being drawn anyway
    # After a play-back the browser still holds the slider's last value: set the end again in this run.
    if ss.get("_replay_step_for") != cid or "replay_step" not in ss or ss.pop(PLAYED_KEY, False):
        ss["_replay_step_for"] = cid
        ss["replay_step"] = len(msgs)
    play = _playing(cid)
    _controls(cid, msgs, play)
    tree = read(current_tree)
    tags = _MessageTags(tree, read(tags_of, "message", [int(i) for i in msgs["id"]], tree))
    st.fragment(run_every=TICK_S if play is not None else None)(_draw)(cid, msgs, notes, uid, actor, tags)
