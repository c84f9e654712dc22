"""Keyword category rules and the forbidden-phrase / courtesy lexicons."""

from __future__ import annotations

import pytest

from scoring.category import OTHER, rule_category
from scoring.lexicon import courtesy_phrases, forbidden_phrases
from scoring.tone import lexicon_risk


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我身高170体重60，穿什么尺码", "产品/尺码咨询"),
        ("不想要了，申请退货退款", "退货"),
        ("能换个大一码吗，想换尺码", "换货"),
        ("赠品没收到，快递到哪了", "赠品/物流"),
        ("质量太差了，我要投诉，给差评", "负面评价"),
        ("发票怎么开，要填税号吗", "发票"),
        ("今天天气不错", OTHER),
    ],
)
def test_rule_category(text: str, category: str) -> None:
    cat, words = rule_category(text)
    assert cat == category
    assert bool(words) is (category != OTHER)


def test_forbidden_phrase_found_with_severity() -> None:
    hits = forbidden_phrases().find("爱买不买，自己查去")
    assert {h.phrase: h.severity for h in hits} == {"爱买不买": 3, "自己查": 2}


def test_courtesy_phrases() -> None:
    kinds = {h.category for h in courtesy_phrases().find("您好，抱歉让您久等了，祝您生活愉快")}
    assert {"greeting", "apology", "closing"} <= kinds


@pytest.mark.parametrize(
    ("worse", "better"),
    [("爱买不买", "您好，这款有货的，欢迎选购"), ("不行", "抱歉，这个暂时不支持，您可以选择换货哦")],
)
def test_lexicon_risk_orders_replies(worse: str, better: str) -> None:
    assert lexicon_risk(worse) > lexicon_risk(better)
