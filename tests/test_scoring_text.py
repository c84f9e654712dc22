"""Tokenisation: user dictionary, rjieba/jieba agreement, stop words and normalisation."""

from __future__ import annotations

import pytest

from scoring.text import (
    Tokenizer,
    get_tokenizer,
    is_content_token,
    load_stopwords,
    normalize,
    unspaced,
)

SENTENCES = [
    "亲，支持七天无理由，运费险包邮，仅退款还是退货退款都可以",
    "快递三天了还没到，我要给差评",
    "这件衣服尺码偏大，可以换货吗",
    "已经帮您补发了，请注意查收",
    "发票什么时候能开？",
]


@pytest.mark.parametrize("word", ["七天无理由", "运费险", "仅退款", "退货退款", "包邮", "差评", "补发"])
def test_user_dictionary_terms_stay_whole(word: str) -> None:
    tokens = [t for s in SENTENCES for t in get_tokenizer().tokenize(s)]
    assert word in tokens


def test_rjieba_and_jieba_agree_with_the_user_dictionary() -> None:
    pytest.importorskip("rjieba")
    fast, slow = Tokenizer(backend="rjieba"), Tokenizer(backend="jieba")
    assert fast.backend == "rjieba" and slow.backend == "jieba"
    assert fast.tokenize_many(SENTENCES) == slow.tokenize_many(SENTENCES)


def test_tokenize_many_reuses_identical_texts() -> None:
    memo: dict[str, list[str]] = {}
    out = get_tokenizer().tokenize_many(["您好", "您好", "在吗"], memo)
    assert out[0] is out[1] and set(memo) == {"您好", "在吗"}


@pytest.mark.parametrize(
    ("token", "content"),
    [("退款", True), ("的", False), ("，", False), ("123", False), ("不", True), ("iphone", True)],
)
def test_content_tokens(token: str, content: bool) -> None:
    assert is_content_token(token, load_stopwords()) is content


def test_normalize_folds_full_width_letters_but_keeps_chinese_punctuation() -> None:
    assert normalize("ＯＫ！Ａ１") == "ok！a1"


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
def test_whitespace_of_any_kind_never_becomes_a_token(backend: str) -> None:
    if backend == "rjieba":
        pytest.importorskip("rjieba")
    tok = Tokenizer(backend=backend)
    for text in ["快递 三天\t还没到\n我要退货", "\u3000亲\u00a0在吗\u2003", "发票什么时候能开？"]:
        tokens = tok.tokenize(text)
        assert tokens and not any(t.isspace() or not t for t in tokens)
        assert "".join(tokens) == "".join(normalize(text).split())


def test_a_word_segmented_conversation_is_joined_again() -> None:
    segmented = ["我 的 快递 怎么 还 没 到 ？", "好 的", "亲 , 已经 帮 您 催 了 iPhone 15 pro 的 单 [ 数字x ]"]
    assert unspaced(segmented) == ["我的快递怎么还没到？", "好的", "亲,已经帮您催了iPhone 15 pro的单[数字x]"]


@pytest.mark.parametrize("conversation", [
    ["亲 我们尽快查看一下吧", "卸载过好多次了 一样的 关键是两个游戏都这样"],  # spaces typed as pauses (STC-3)
    ["我的快递怎么还没到", "嗯 好的 谢谢", "已经为您催促快递了，请耐心等待"],  # one spaced line in an ordinary chat
    ["买的 iPhone 15 pro max 什么时候到"],  # spaces around Latin words
    ["", "   ", "好 的"],  # too few spaces to tell
])
def test_ordinary_text_keeps_its_spaces(conversation: list[str]) -> None:
    assert unspaced(conversation) == conversation
