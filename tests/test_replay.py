"""Replay of one conversation: header, messages with scores and waits, and HTML that never trusts the transcript."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import Engine

from qa.errors import NotFoundError
from qa.review.replay import (
    chat_html,
    header_badges,
    highlight_html,
    load_replay,
    message_html,
    resolve_conversation,
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
