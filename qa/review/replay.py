"""One conversation as a reviewer replays it: header, messages with their scores and waits, and safe HTML.

Two indexed queries per conversation (header, messages with scores), so replay stays fast on a million
messages. Transcripts are hostile input — customers paste anything — so every piece of message text is escaped
before it is wrapped in markup; only the markup built here is trusted.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from qa.analytics.segments import Turn, spans
from qa.errors import NotFoundError
from qa.models import (
    Agent,
    Conversation,
    ConversationScore,
    Message,
    MessageScore,
    Platform,
    Shop,
)
from qa.review.queue import forbidden_phrase, platform_sla
from scoring.responsiveness import duration_text, gap_text
from scoring.schema import RELEVANCE_LOW, RISK_HIGH, SENTIMENT_HIGH, TONE_FLAG, rule_hits_list

__all__ = [
    "ROLE_NAMES",
    "Handoff",
    "Header",
    "Replay",
    "MessageNote",
    "chat_html",
    "handoffs",
    "handoffs_text",
    "header_badges",
    "highlight_html",
    "load_replay",
    "message_html",
    "play_times",
    "resolve_conversation",
    "risk_causes",
    "risk_sentence",
    "shown_at",
    "wait_scale",
]

ROLE_NAMES = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}


@dataclass(frozen=True)
class Header:
    """What the replay header shows about a conversation; score fields are None when it is not scored yet."""

    id: int
    external_id: str
    platform: str | None
    shop: str | None
    agent: str | None
    team: str | None
    category: str | None
    customer: str | None
    order_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    csat: int | None
    message_count: int
    risk: float | None
    tone_risk: float | None
    relevance: float | None
    sentiment_worst: float | None
    first_response_s: float | None
    max_wait_s: float | None
    replies: int | None
    replies_in_sla: int | None
    unanswered_at_end: int | None
    explanation: str
    model_version: str | None
    first_sla_s: float | None
    reply_sla_s: float | None
    rejected_rows: int = 0  # rows rejected at import: waits not judged, the end not counted (issue #13.4)


@dataclass(frozen=True)
class Replay:
    """A conversation's header and its messages (one row per message, in order, with scores and waits)."""

    header: Header
    messages: pd.DataFrame


def resolve_conversation(conn: Connection, key: str | int) -> int:
    """The internal id of a conversation given its external id (as users know it) or its internal id."""
    text = str(key).strip()
    if not text:
        raise NotFoundError("请输入会话号")
    ids = conn.scalars(select(Conversation.id).where(Conversation.external_id == text).limit(2)).all()
    if len(ids) == 1:
        return ids[0]
    if text.isdigit() and conn.scalar(select(Conversation.id).where(Conversation.id == int(text))):
        return int(text)
    if len(ids) > 1:
        raise NotFoundError(f"会话号“{text}”在多个平台出现，请用内部 ID（队列中的 ID 列）打开")
    raise NotFoundError(f"找不到会话“{text}”：请检查会话号，或先在“数据”页导入它")


def load_replay(conn: Connection, conversation_id: int) -> Replay:
    """The header and scored messages of one conversation."""
    c, s = Conversation, ConversationScore
    row = conn.execute(
        select(c.id, c.external_id, Platform.name.label("platform"), Shop.name.label("shop"),
               Agent.name.label("agent"), func.coalesce(c.team, Agent.team).label("team"),
               func.coalesce(c.category, s.category).label("category"), c.customer, c.order_id, c.started_at,
               c.ended_at, c.csat, c.message_count, c.rejected_rows, s.dissatisfaction_risk.label("risk"), s.tone_risk,
               s.relevance, s.sentiment_worst, s.first_response_s, s.max_wait_s, s.replies, s.replies_in_sla,
               s.unanswered_at_end, func.coalesce(s.explanation, "").label("explanation"), s.model_version)
        .select_from(c.__table__.outerjoin(s.__table__, s.conversation_id == c.id)
                     .outerjoin(Platform.__table__, Platform.id == c.platform_id)
                     .outerjoin(Shop.__table__, Shop.id == c.shop_id)
                     .outerjoin(Agent.__table__, Agent.id == c.agent_id))
        .where(c.id == conversation_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在（可能已被删除）")
    m, ms = Message, MessageScore
    msgs = conn.execute(
        select(m.id, m.seq, m.ts, m.role, m.sender, m.agent_id, Agent.name.label("agent"), m.text, ms.sentiment_neg,
               ms.tone_risk, ms.relevance, ms.wait_s, ms.sla_breach, ms.rule_hits, ms.explanation)
        .outerjoin(ms, ms.message_id == m.id).outerjoin(Agent, Agent.id == m.agent_id)
        .where(m.conversation_id == conversation_id).order_by(m.seq)).mappings().all()
    first_sla, reply_sla = platform_sla(row["platform"])
    if row["rejected_rows"]:  # as scored: no wait of a conversation with a gap is judged against the SLA
        first_sla = reply_sla = None
    header = Header(**row, first_sla_s=first_sla, reply_sla_s=reply_sla)
    return Replay(header, _messages_frame(msgs, first_sla, reply_sla))


_MESSAGE_COLUMNS = ["id", "seq", "ts", "role", "sender", "agent_id", "agent", "text", "sentiment_neg", "tone_risk", "relevance",
                    "wait_s", "sla_breach", "rule_hits", "explanation", "sla_s", "offset_s"]


def _messages_frame(rows: Sequence, first_sla: float | None, reply_sla: float | None) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_MESSAGE_COLUMNS[:-2])
    df["rule_hits"] = [rule_hits_list(hits) for hits in df["rule_hits"]]
    df["explanation"] = df["explanation"].fillna("")
    timed = df["wait_s"].notna()
    first = timed & ~timed.cumsum().gt(1)  # the first reply with a known wait is the first response
    df["sla_s"] = [(first_sla if f else reply_sla) if t else None for t, f in zip(timed, first, strict=True)]
    ts = pd.to_datetime(df["ts"])
    df["offset_s"] = (ts - ts.min()).dt.total_seconds()
    return df


def _phrases_in(text: str, hits: Sequence[str]) -> list[str]:
    """The 禁用语 of some rule hits that literally occur in ``text``."""
    return [p for p in dict.fromkeys(filter(None, map(forbidden_phrase, hits))) if p in text]


def highlight_html(text: str, phrases: Sequence[str]) -> str:
    """``text`` escaped for HTML, with each occurrence of ``phrases`` wrapped in <mark>."""
    wanted = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not wanted:
        return html.escape(text)
    pattern = re.compile("|".join(map(re.escape, wanted)))
    out, pos = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        out.append(f'<mark style="background:#ffd6d6;color:#a00;padding:0 2px">{html.escape(match.group())}</mark>')
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _badge(label: str, colour: str) -> str:
    return (f'<span style="display:inline-block;font-size:0.72em;padding:0 6px;margin:0 4px 0 0;border-radius:8px;'
            f'background:{colour}22;color:{colour};border:1px solid {colour}55">{html.escape(label)}</span>')


_RED, _ORANGE, _GREY, _GREEN = "#d62728", "#e67e22", "#7f7f7f", "#2ca02c"


def _message_badges(msg: pd.Series) -> str:
    badges = []
    if pd.notna(msg.sentiment_neg):
        badges.append(_badge(f"情绪 {msg.sentiment_neg:.2f}", _RED if msg.sentiment_neg >= SENTIMENT_HIGH else _GREY))
    if pd.notna(msg.tone_risk):
        badges.append(_badge(f"语气 {msg.tone_risk:.2f}", _RED if msg.tone_risk >= TONE_FLAG else _GREY))
    if pd.notna(msg.relevance):
        badges.append(_badge(f"相关 {msg.relevance:.2f}", _ORANGE if msg.relevance < RELEVANCE_LOW else _GREY))
    badges += [_badge(hit.replace(":", "："), _RED) for hit in msg.rule_hits]
    return "".join(badges)


def _wait_bar(msg: pd.Series, scale_s: float) -> str:
    """A bar whose length is proportional to the wait before this reply; red when the wait broke the SLA."""
    wait = float(msg.wait_s)
    over = bool(msg.sla_breach)
    colour = _RED if over else _GREEN
    width = 100 * min(wait / scale_s, 1.0) if scale_s else 0
    label = f"等待 {duration_text(wait)}"
    if pd.notna(msg.sla_s):
        label += f"（SLA {duration_text(msg.sla_s)}{'，超时' if over else ''}）"
    marker = ""
    if pd.notna(msg.sla_s) and scale_s and msg.sla_s < scale_s:
        marker = (f'<div style="position:absolute;left:{100 * msg.sla_s / scale_s:.1f}%;top:-2px;bottom:-2px;'
                  f'border-left:2px dashed #555" title="SLA"></div>')
    return (f'<div style="margin:6px 0 2px 30%;font-size:0.75em;color:{colour if over else _GREY}">{label}</div>'
            f'<div style="margin:0 0 4px 30%;position:relative;height:{10 if over else 6}px;background:#eee;'
            f'border-radius:3px"><div style="width:{max(width, 0.5):.1f}%;height:100%;background:{colour};'
            f'border-radius:3px"></div>{marker}</div>')


@dataclass(frozen=True)
class MessageNote:
    """A reviewer's note on one message, as the chat shows it under that message."""

    reviewer: str
    tags: str
    comment: str


def _notes_html(notes: Sequence[MessageNote]) -> str:
    """Reviewers' notes in full, escaped: they quote customers and agents, so they are hostile text too."""
    return "".join(
        '<div style="display:inline-block;text-align:left;margin:3px 0 0;padding:3px 8px;border-radius:6px;'
        f'background:#fff7d6;border-left:3px solid #e6b800;font-size:0.8em;max-width:100%;word-break:break-word">'
        f'<b>批注 · {html.escape(n.reviewer)}</b>'
        + (f' <span style="color:#a66f00">[{html.escape(n.tags)}]</span>' if n.tags else "")
        + (f"：{html.escape(n.comment)}".replace("\n", "<br>") if n.comment else "") + "</div><br>"
        for n in notes)


_EMPTY_BRACKETS = re.compile(r"（\s*）")  # "语气风险 0.58（）": scores stored before the scorer stopped writing them
# The wait sentence the scorer appends last ("首次响应 1119 秒，超过天猫 SLA 180 秒" in scores stored before durations
# were said in minutes): the wait bar above the bubble already says it, in the one duration format.
_TIMING = re.compile(r"(?:^|；)(?:首次响应|等待) [^；]*$")


def message_html(msg: pd.Series, scale_s: float, notes: Sequence[MessageNote] = ()) -> str:
    """One message as a chat bubble: customer left, agent right, bot/system centred and muted, reviewers' notes
    under it; all text escaped."""
    who = ROLE_NAMES.get(msg.role, msg.role)
    name = msg.agent if msg.role == "agent" and msg.agent else (msg.sender or who)
    when = msg.ts.strftime("%m-%d %H:%M:%S") if pd.notna(msg.ts) else "无时间"
    body = highlight_html(msg.text, _phrases_in(msg.text, msg.rule_hits)).replace("\n", "<br>")
    meta = f'<span style="color:#999">#{msg.seq + 1} · {html.escape(str(name))} · {when}</span>'
    if msg.role in ("bot", "system"):
        return (f'<div style="text-align:center;color:#999;font-size:0.8em;margin:6px 15%">{meta}<br>'
                f'<span style="font-style:italic">{body}</span><br>{_notes_html(notes)}</div>')
    agent = msg.role == "agent"
    wait = _wait_bar(msg, scale_s) if agent and pd.notna(msg.wait_s) else ""
    side = "margin-left:30%;text-align:right" if agent else "margin-right:30%"
    bubble = "#e3f0ff" if agent else "#f1f1f1"
    said = _EMPTY_BRACKETS.sub("", msg.explanation)
    if wait:
        said = _TIMING.sub("", said)
    explanation = f'<div style="font-size:0.72em;color:#888;margin-top:2px">{html.escape(said)}</div>' if said else ""
    return (f'{wait}<div style="{side};margin-top:4px;margin-bottom:8px"><div style="font-size:0.75em">{meta}</div>'
            f'<div style="display:inline-block;text-align:left;background:{bubble};border-radius:10px;'
            f'padding:6px 10px;max-width:100%;word-break:break-word">{body}</div>'
            f'<div>{_message_badges(msg)}</div>{explanation}{_notes_html(notes)}</div>')


def chat_html(messages: pd.DataFrame, upto: int | None = None) -> str:
    """The first ``upto`` messages (all by default) as one HTML block; wait bars share one scale."""
    shown = messages if upto is None else messages.iloc[:upto]
    scale = wait_scale(messages)
    return "".join(message_html(msg, scale) for _i, msg in shown.iterrows())


def wait_scale(messages: pd.DataFrame) -> float:
    """Seconds drawn as a full-width wait bar: the longest wait or SLA, so every bar of a chat shares one scale."""
    return float(max([*messages["wait_s"].dropna(), *messages["sla_s"].dropna(), 1.0]))


def play_times(messages: pd.DataFrame, speed: float, max_pause_s: float) -> list[float]:
    """Seconds after the first message at which each message appears in a play-back at ``speed``: the real gap
    divided by the speed, each gap capped at ``max_pause_s`` (a 14-minute wait is not 14 s of nothing at ×60);
    a gap with a missing time counts as the cap."""
    times = [0.0]
    offsets = list(messages["offset_s"])
    for before, after in zip(offsets, offsets[1:], strict=False):
        gap = (after - before) / speed if pd.notna(before) and pd.notna(after) else max_pause_s
        times.append(times[-1] + min(max(gap, 0.0), max_pause_s))
    return times


def shown_at(times: Sequence[float], start: int, elapsed_s: float) -> int:
    """How many messages a play-back that began at message ``start`` (1-based) shows ``elapsed_s`` later."""
    return max(start, bisect_right(times, times[start - 1] + elapsed_s))


def _quote(text: str, limit: int = 12) -> str:
    said = " ".join(str(text).split())
    return f"“{said[:limit]}…”" if len(said) > limit else f"“{said}”"


def risk_causes(h: Header, messages: pd.DataFrame) -> list[str]:
    """What makes a conversation risky, worst first, each as a reviewer would say it.

    Each cause is ranked by how far it goes past its own threshold (a wait 4× its SLA, a tone score of 1, a
    禁用语, the most negative customer line and a reply sharing nothing with the question all count as the
    worst), so the first two are the ones worth reading first.
    """
    found: list[tuple[float, str]] = []
    timed = messages[messages["wait_s"].notna() & messages["sla_s"].notna()]
    late = []
    if len(timed) and timed.iloc[0].wait_s > timed.iloc[0].sla_s:
        late.append(("首次响应", timed.iloc[0]))
    rest = timed.iloc[1:]
    rest = rest[rest["wait_s"] > rest["sla_s"]]
    if len(rest):
        late.append(("回复等待最长", rest.loc[rest["wait_s"].idxmax()]))
    for what, reply in late:
        over = (reply.wait_s - reply.sla_s) / reply.sla_s if reply.sla_s else 1.0
        found.append((min(over / 3, 1.0),
                      f"{what} {duration_text(reply.wait_s)}（超出 SLA {duration_text(reply.sla_s)}）"))
    agents = messages[messages["role"] == "agent"]
    phrased = [(m, p) for _k, m in agents.iterrows() for p in _phrases_in(m.text, m.rule_hits)]
    tone = agents[agents["tone_risk"] >= TONE_FLAG]
    if phrased:
        found.append((1.0, f"坐席用了禁用语（{_quote(phrased[0][1])}）"))
    elif not tone.empty:
        worst = tone.loc[tone["tone_risk"].idxmax()]
        found.append(((worst.tone_risk - TONE_FLAG) / (1 - TONE_FLAG), f"坐席回复语气生硬（{_quote(worst.text)}）"))
    upset = messages[(messages["role"] == "customer") & (messages["sentiment_neg"] >= SENTIMENT_HIGH)]
    if not upset.empty:
        worst = upset.loc[upset["sentiment_neg"].idxmax()]
        found.append(((worst.sentiment_neg - SENTIMENT_HIGH) / (1 - SENTIMENT_HIGH),
                      f"顾客情绪很负面（{_quote(worst.text)}）"))
    off = agents[agents["relevance"] < RELEVANCE_LOW]
    if not off.empty:
        worst = off.loc[off["relevance"].idxmin()]
        found.append(((RELEVANCE_LOW - worst.relevance) / RELEVANCE_LOW, f"坐席答非所问（{_quote(worst.text)}）"))
    if h.unanswered_at_end:
        found.append((0.5, f"结尾有 {h.unanswered_at_end} 条顾客消息没有回复"))
    return [text for _w, text in sorted(found, key=lambda f: -f[0])]


def risk_sentence(h: Header, messages: pd.DataFrame, top: int = 2) -> str:
    """The 评分说明 line in words: the top causes of the risk, or why there is none to name ("" unscored)."""
    if h.risk is None:
        return ""
    causes = risk_causes(h, messages)
    if not causes:
        return f"不满风险 {h.risk:.2f}：没有哪一项超出阈值，分数来自模型对整段对话文字的判断"
    more = f"（另有 {len(causes) - top} 项较轻）" if len(causes) > top else ""
    return "风险主要来自：" + "；".join(causes[:top]) + more


@dataclass(frozen=True)
class Handoff:
    """One agent's part of a conversation: who, and when their first message of that part was sent."""

    agent: str | None
    first_ts: datetime | None


def handoffs(messages: pd.DataFrame, conversation_agent: str | None = None) -> list[Handoff]:
    """The agents who took part, in the order they handled the chat: the segments of ``qa.analytics.segments``,
    so the header names the same agents the scores, the queue and the agents page credit."""
    turns = [Turn(role, None if pd.isna(aid) else int(aid)) for role, aid in zip(messages["role"], messages["agent_id"],
                                                                                  strict=True)]
    names = dict(zip(messages["agent_id"], messages["agent"], strict=True))
    out = []
    for span in spans(turns):
        part = messages.iloc[span.start:span.end]
        sent = part[part["role"] == "agent"]["ts"].dropna()
        name = names.get(span.agent_id) if span.agent_id is not None else conversation_agent
        out.append(Handoff(name, None if sent.empty else sent.iloc[0]))
    return out


def handoffs_text(parts: Sequence[Handoff]) -> str | None:
    """"坐席 小安 → 阿强（10:16 接手）": every agent in order, with the time each later one took over."""
    named = [p for p in parts if p.agent]
    if not named:
        return None
    said = [named[0].agent] + [f"{p.agent}（{p.first_ts:%H:%M} 接手）" if p.first_ts is not None else str(p.agent)
                               for p in named[1:]]
    return "坐席 " + " → ".join(str(s) for s in said)


def header_badges(h: Header) -> list[tuple[str, bool]]:
    """(label, is_bad) pairs for the replay header: CSAT, risk, tone, first response against the SLA."""
    out = []
    if h.csat is not None:
        out.append((f"CSAT {h.csat}", h.csat <= 2))
    if h.risk is not None:
        out.append((f"不满风险 {h.risk:.2f}", h.risk >= RISK_HIGH))
    if h.tone_risk is not None:
        out.append((f"语气风险 {h.tone_risk:.2f}", h.tone_risk >= TONE_FLAG))
    if h.first_response_s is not None:
        late = h.first_sla_s is not None and h.first_response_s > h.first_sla_s
        out.append((f"首次响应 {duration_text(h.first_response_s)}", late))
    if h.replies and not h.rejected_rows:
        out.append((f"SLA 内回复 {h.replies_in_sla}/{h.replies}", (h.replies_in_sla or 0) < h.replies))
    if h.rejected_rows:
        out.append((gap_text(h.rejected_rows), False))
    if h.risk is None:
        out.append(("未评分", False))
    return out
