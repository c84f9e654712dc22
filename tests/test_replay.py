"""Replay of one conversation: header, messages with scores and waits, and HTML that never trusts the transcript."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import Engine

from qa.errors import NotFoundError
from qa.review.replay import (
    Handoff,
    Header,
    MessageNote,
    chat_html,
    handoffs,
    handoffs_text,
    header_badges,
    highlight_html,
    load_replay,
    message_html,
    play_times,
    resolve_conversation,
    risk_causes,
    risk_sentence,
    shown_at,
)
from tests.helpers import conv, import_bytes, jsonl, read
from tests.seed import seed_small


def _values(column: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in column]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def test_header_and_messages(seeded: Engine) -> None:
    rp = read(seeded, load_replay, read(seeded, resolve_conversation, "tm-3"))
    h = rp.header
    assert (h.external_id, h.platform, h.shop, h.agent, h.team, h.category, h.csat, h.message_count) == (
        "tm-3", "天猫", "某某官方旗舰店", "阿杰", "售后", "退货", 1, 4)
    assert (h.risk, h.tone_risk, h.first_response_s, h.replies, h.replies_in_sla) == (0.8, 0.7, 400, 2, 1)
    assert (h.first_sla_s, h.reply_sla_s, h.explanation) == (180, 180, "等待 400 秒")
    m = rp.messages
    assert list(m["role"]) == ["customer", "agent", "customer", "agent"]
    assert list(m["agent"].fillna("")) == ["", "阿杰", "", "阿杰"]
    assert _values(m["wait_s"]) == [None, 400, None, 20]
    assert _values(m["sla_s"]) == [None, 180, None, 180]
    assert list(m["sla_breach"]) == [None, True, None, False]
    assert list(m["offset_s"]) == [0, 400, 460, 480]
    assert list(m["rule_hits"]) == [[], ["不知道"], [], ["不知道"]]
    assert header_badges(h) == [("CSAT 1", True), ("不满风险 0.80", True), ("语气风险 0.70", True),
                                ("首次响应 6 分 40 秒", True), ("SLA 内回复 1/2", True)]


def test_jd_later_replies_have_no_sla(seeded: Engine) -> None:
    m = read(seeded, load_replay, read(seeded, resolve_conversation, "jd-1")).messages
    assert _values(m["sla_s"]) == [None, 30, None, None]


def test_resolve_by_external_or_internal_id(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "dy-1")
    assert read(seeded, resolve_conversation, str(cid)) == cid
    assert read(seeded, resolve_conversation, "  dy-1 ") == cid
    with pytest.raises(NotFoundError, match="找不到会话“nope”"):
        read(seeded, resolve_conversation, "nope")
    with pytest.raises(NotFoundError, match="会话 99999 不存在"):
        read(seeded, load_replay, 99999)


def test_unscored_conversation_replays_without_scores(sqlite_engine: Engine) -> None:
    import_bytes(sqlite_engine, "one.jsonl", jsonl(conv("x-1", ("customer", "在吗", "2026-11-11T10:00:00"),
                                                        ("agent", "在的", None), ("system", "会话结束", None))))
    rp = read(sqlite_engine, load_replay, read(sqlite_engine, resolve_conversation, "x-1"))
    assert rp.header.risk is None
    assert header_badges(rp.header) == [("未评分", False)]
    assert rp.messages["wait_s"].isna().all()
    html = chat_html(rp.messages)
    assert "会话结束" in html and "等待" not in html and "无时间" in html


def test_hostile_text_is_escaped_and_phrases_marked() -> None:
    text = '<script>alert("x")</script>你不知道吗 <img src=x onerror=1>'
    out = highlight_html(text, ["不知道", "<img"])
    assert "<script" not in out and "<img" not in out
    assert out.startswith("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;你")
    assert '<mark style="background:#ffd6d6;color:#a00;padding:0 2px">不知道</mark>' in out
    assert '<mark style="background:#ffd6d6;color:#a00;padding:0 2px">&lt;img</mark>' in out


def _msg(**kw: object) -> pd.Series:
    base = {"id": 1, "seq": 1, "ts": pd.Timestamp("2026-11-11 10:06:40"), "role": "agent", "sender": None,
            "agent": "阿杰", "text": "我不知道<b>", "sentiment_neg": math.nan, "tone_risk": 0.9, "relevance": 0.2,
            "wait_s": 400.0, "sla_breach": True, "rule_hits": ["禁用语:不知道"], "explanation": "命中<禁用语>",
            "sla_s": 180.0, "offset_s": 400.0}
    return pd.Series({**base, **kw})


def test_agent_bubble_with_wait_bar_badges_and_highlight() -> None:
    out = message_html(_msg(), scale_s=400)
    assert "#2 · 阿杰 · 11-11 10:06:40" in out
    assert "等待 6 分 40 秒（SLA 3 分，超时）" in out
    assert "width:100.0%" in out and "left:45.0%" in out  # bar to scale, SLA marker at 180/400
    assert "我<mark" in out and "不知道</mark>&lt;b&gt;" in out
    assert "语气 0.90" in out and "相关 0.20" in out and "禁用语：不知道" in out
    assert "命中&lt;禁用语&gt;" in out and "<b>" not in out
    ok = message_html(_msg(wait_s=20.0, sla_breach=False), scale_s=400)
    assert "等待 20 秒（SLA 3 分）" in ok and "width:5.0%" in ok and "#2ca02c" in ok


def test_customer_left_bot_centred() -> None:
    customer = message_html(_msg(role="customer", agent=None, sender="买家A", wait_s=math.nan, tone_risk=math.nan,
                                 relevance=math.nan, sentiment_neg=0.8, rule_hits=[], explanation=""), scale_s=1)
    assert customer.startswith('<div style="margin-right:30%') and "买家A" in customer and "情绪 0.80" in customer
    bot = message_html(_msg(role="bot", agent=None, wait_s=math.nan, rule_hits=[], explanation=""), scale_s=1)
    assert bot.startswith('<div style="text-align:center;color:#999') and "机器人" in bot


def test_step_through_shows_the_first_messages(seeded: Engine) -> None:
    m = read(seeded, load_replay, read(seeded, resolve_conversation, "tm-1")).messages
    two = chat_html(m, 2)
    assert "#1 · " in two and "#2 · " in two and "#3 · " not in two
    assert chat_html(m).count("#") >= 4


def test_notes_show_in_full_under_their_message_and_escaped() -> None:
    notes = [MessageNote("王质检", "超时，语气生硬", "首响 10 分钟 <script>x</script> **粗** [链接](http://a.b)\n第二行"),
             MessageNote("李<质检>", "", "")]
    out = message_html(_msg(), scale_s=400, notes=notes)
    assert out.index("我<mark") < out.index("批注 · 王质检")  # under the bubble, inside the message's block
    assert "[超时，语气生硬]" in out
    assert "首响 10 分钟 &lt;script&gt;x&lt;/script&gt; **粗** [链接](http://a.b)<br>第二行" in out
    assert "<script>" not in out and "批注 · 李&lt;质检&gt;</b></div>" in out
    assert "批注" not in message_html(_msg(), scale_s=400)
    bot = message_html(_msg(role="bot", agent=None, wait_s=math.nan, rule_hits=[], explanation=""), 1, notes[:1])
    assert "批注 · 王质检" in bot


def test_an_empty_bracket_in_a_stored_explanation_is_not_shown() -> None:
    out = message_html(_msg(explanation="语气风险 0.58（）；相关度 0.40（与顾客共有词：退货）"), scale_s=400)
    assert "语气风险 0.58；相关度 0.40（与顾客共有词：退货）" in out


def test_the_wait_is_said_once_in_minutes_above_the_bubble() -> None:
    stored = "语气风险 0.12；相关度 0.55；首次响应 1119 秒，超过天猫 SLA 180 秒"  # as scored before durations in minutes
    out = message_html(_msg(wait_s=1119.0, explanation=stored), scale_s=1200)
    assert "等待 18 分 39 秒（SLA 3 分，超时）" in out and "语气风险 0.12；相关度 0.55</div>" in out
    assert "1119" not in out and "180 秒" not in out
    alone = message_html(_msg(wait_s=22.0, sla_breach=False, explanation="等待 22 秒，符合天猫 SLA 3 分"), 1200)
    assert alone.count("22 秒") == 1
    untimed = message_html(_msg(wait_s=math.nan, explanation="语气风险 0.12；等待时间未知"), 1200)
    assert "语气风险 0.12；等待时间未知" in untimed  # no wait bar: the explanation keeps its words


def _frame(*rows: tuple[str, str, float | None, float | None, float | None, float | None, float | None]
           ) -> pd.DataFrame:
    """Messages as (role, text, wait_s, sla_s, tone_risk, sentiment_neg, relevance)."""
    cols = ["role", "text", "wait_s", "sla_s", "tone_risk", "sentiment_neg", "relevance"]
    df = pd.DataFrame(rows, columns=cols, dtype=object).astype(
        {c: float for c in cols[2:]})
    df["rule_hits"] = [[] for _ in rows]
    return df


def _header(**kw: object) -> Header:
    base = dict(id=1, external_id="JD1", platform="京东", shop=None, agent=None, team=None, category=None,
                customer=None, order_id=None, started_at=None, ended_at=None, csat=None, message_count=4, risk=0.8,
                tone_risk=None, relevance=None, sentiment_worst=None, first_response_s=None, max_wait_s=None,
                replies=None, replies_in_sla=None, unanswered_at_end=0, explanation="", model_version=None,
                first_sla_s=30.0, reply_sla_s=None)
    return Header(**{**base, **kw})  # type: ignore[arg-type]


N = None


def test_the_risk_said_in_words_with_its_two_worst_causes() -> None:
    msgs = _frame(("customer", "在吗", N, N, N, 0.3, N),
                  ("agent", "说", 840.0, 30.0, 0.58, N, 0.5),
                  ("customer", "你这什么态度，我要投诉你们！！", N, N, N, 0.82, N),
                  ("agent", "好的亲", 100.0, 60.0, 0.1, N, 0.03))
    assert risk_causes(_header(), msgs) == [
        "首次响应 14 分（超出 SLA 30 秒）", "坐席答非所问（“好的亲”）", "顾客情绪很负面（“你这什么态度，我要投诉你…”）",
        "回复等待最长 1 分 40 秒（超出 SLA 1 分）", "坐席回复语气生硬（“说”）"]
    assert risk_sentence(_header(), msgs) == (
        "风险主要来自：首次响应 14 分（超出 SLA 30 秒）；坐席答非所问（“好的亲”）（另有 3 项较轻）")


def test_a_forbidden_phrase_counts_as_the_worst_tone() -> None:
    msgs = _frame(("customer", "在吗", N, N, N, N, N), ("agent", "我不知道，你自己查", 20.0, 30.0, 0.55, N, N))
    msgs.at[1, "rule_hits"] = ["禁用语:不知道"]
    assert risk_sentence(_header(), msgs) == "风险主要来自：坐席用了禁用语（“不知道”）"
    assert risk_causes(_header(unanswered_at_end=2), msgs)[-1] == "结尾有 2 条顾客消息没有回复"


@pytest.mark.parametrize(("risk", "said"), [
    (None, ""),
    (0.12, "不满风险 0.12：没有哪一项超出阈值，分数来自模型对整段对话文字的判断"),
])
def test_no_cause_to_name(risk: float | None, said: str) -> None:
    msgs = _frame(("customer", "在吗", N, N, N, 0.2, N), ("agent", "在的", 10.0, 30.0, 0.1, N, 0.9))
    assert risk_sentence(replace(_header(), risk=risk), msgs) == said


def test_play_times_follow_the_real_gaps_at_speed_with_a_cap() -> None:
    msgs = pd.DataFrame({"offset_s": [0.0, 30.0, 870.0, 900.0, math.nan]})
    assert play_times(msgs, 60, 2.0) == [0.0, 0.5, 2.5, 3.0, 5.0]  # 14 min is cut to 2 s; no time: the cap
    assert play_times(msgs, 600, 2.0) == [0.0, 0.05, 1.45, 1.5, 3.5]


@pytest.mark.parametrize(("start", "elapsed", "shown"), [
    (1, 0.0, 1), (1, 0.49, 1), (1, 0.5, 2), (1, 2.6, 3), (1, 99.0, 5),
    (3, 0.0, 3), (3, 0.5, 4), (5, 0.0, 5),
])
def test_shown_at(start: int, elapsed: float, shown: int) -> None:
    assert shown_at([0.0, 0.5, 2.5, 3.0, 5.0], start, elapsed) == shown


def test_handoffs_follow_the_agent_segments() -> None:
    ts = pd.to_datetime(["2026-11-08 10:00:00", "2026-11-08 10:14:00", "2026-11-08 10:15:55", "2026-11-08 10:16:15",
                         "2026-11-08 10:17:00", "2026-11-08 10:20:00"])
    msgs = pd.DataFrame({"role": ["customer", "agent", "system", "agent", "agent", "agent"],
                         "agent_id": [None, 1, None, 2, None, 1], "agent": [None, "小安", None, "阿强", None, "小安"],
                         "ts": ts})
    parts = handoffs(msgs, "阿强")
    assert parts == [Handoff("小安", ts[1]), Handoff("阿强", ts[3]), Handoff("小安", ts[5])]
    assert handoffs_text(parts) == "坐席 小安 → 阿强（10:16 接手） → 小安（10:20 接手）"
    alone = msgs.iloc[:2].assign(agent_id=[None, None], agent=[None, None])  # no agent named on the message
    assert handoffs_text(handoffs(alone, "阿杰")) == "坐席 阿杰"
    assert handoffs_text(handoffs(alone)) is None
