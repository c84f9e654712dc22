"""Chat-log layouts: detection, messages and roles, conversation splits, ids and rejections, on fixture files.

The fixtures under fixtures/chatlogs keep the real exports' structure, encodings and line endings with invented
content; each layout is checked message by message, as a reviewer would read it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ImportFormatError
from qa.ingest.formats.chatlog import detect_chatlog, parse_chatlog
from qa.ingest.formats.chatlog_collect import numbered_lines
from qa.ingest.normalize import decode_bytes
from qa.ingest.records import ConversationRecord

FIXTURES = Path(__file__).parent / "fixtures" / "chatlogs"
NO_HEADER = "这一行前面没有“发送者 + 时间”的消息头，无法归入任何消息"


def load(name: str) -> str:
    return decode_bytes((FIXTURES / name).read_bytes(), name)


def parse(name: str, **kwargs: str) -> tuple[list[ConversationRecord], list]:
    return parse_chatlog(load(name), name, **kwargs)


def summary(convs: list[ConversationRecord]) -> list[tuple]:
    """Per conversation: first line, customer, shop, and each message as (role, who, time, text)."""
    return [
        (c.source_row, c.customer, c.shop,
         [(m.role, m.agent or m.sender, f"{m.ts:%Y-%m-%d %H:%M:%S}" if m.ts else None, m.text) for m in c.messages])
        for c in convs
    ]


JD = [
    (2, "jd_user01", None, [
        ("customer", "jd_user01", "2026-10-07 10:00:00", "这个有货吗"),
        ("agent", "某店自营客服01", "2026-10-07 10:00:20", "您好，有货的"),
    ]),
    (9, "jd_小张88", None, [
        ("bot", "jimi_vender_889", "2026-10-07 11:00:00", "【此消息为欢迎卡片】欢迎光临某店自营，请问有什么可以帮您？"),
        ("system", "jd_小张88", "2026-10-07 11:00:05", "您选择了一个订单进行咨询\n订单号:2026100711223344"),
        ("system", "jd_小张88", "2026-10-07 11:00:10", "用户发起转人工"),
        ("agent", "某店旗舰店_阿杰", "2026-10-07 11:01:00",
         "亲，订单已经发货了\nhttps://img30.360buyimg.com/popWaterMark/jfs/t1/a1b2.jpg"),
        ("customer", "jd_小张88", "2026-10-07 11:01:30", "好的谢谢"),
    ]),
    (23, "jd_user01", None, [
        ("customer", "jd_user01", "2026-10-08 09:00:00", "[图片]"),
        ("agent", "小李", "2026-10-08 09:00:40", "亲，这边帮您查一下"),
        ("agent", "小李", "2026-10-08 09:01:10", "<script>alert(1)</script>"),
    ]),
]
JD_BROKEN = [
    (7, "jd_user07", None, [
        ("customer", "jd_user07", "2026-10-07 10:01:00", "那我重新问一下"),
        ("agent", "某店自营客服02", "2026-10-07 10:01:30", "好的"),
    ]),
    (15, "jd_user08", None, [("customer", "jd_user08", "2026-10-07 11:00:00", "没有结束标记的会话")]),
]
SHOP = "adidas官方旗舰店"
TXT = [
    (7, "tb_buyer01", SHOP, [
        ("agent", "小美", "2017-04-01 10:00:01", "亲，在的"),
        ("customer", "tb_buyer01", "2017-04-01 10:00:30",
         "这双有40码吗\n还有别的颜色吗\nhttp://item.taobao.com/item.htm?id=5412345678"),
        ("agent", "小美", "2017-04-01 10:01:02", "有的亲\n￥AbCd1234￥"),
        ("system", "系统提示", "2017-04-01 10:01:05", "买家已下单"),
    ]),
    (15, "tb_buyer01", SHOP, [
        ("customer", "tb_buyer01", "2017-04-03 15:20:00", "订单号:1234567890123\n共1件商品\n交易时间:2017-04-03 15:00:00"),
        ("agent", SHOP, "2017-04-03 15:21:00", "亲，帮您查询一下物流"),
        ("customer", "tb_buyer01", "2017-04-03 15:22:10", "[图片]"),
    ]),
    (24, "小红ABC", SHOP, [
        ("customer", "小红ABC", "2017-04-05 08:00:00", "在吗"),
        ("agent", "小丽", "2017-04-05 08:00:09", "在的亲"),
    ]),
]
TXT2 = [
    (4, "tb_buyer01", SHOP, [
        ("agent", "小美", "2017-04-01 10:00:01", "亲，在的"),
        ("customer", "tb_buyer01", "2017-04-01 10:00:30", "这双有40码吗\n还有别的颜色吗"),
        ("agent", "小美", "2017-04-01 10:01:02", "有的亲：黑色和白色"),
    ]),
    (9, "tb_buyer01", SHOP, [
        ("customer", "tb_buyer01", "2017-04-02 09:00:00", "发货了吗"),
        ("agent", "小美", "2017-04-02 09:05:00", "今天发"),
    ]),
    (11, "tb_buyer02", SHOP, [
        ("customer", "tb_buyer02", "2017-04-02 09:40:00", "你好"),
        ("agent", "小美", "2017-04-02 09:41:00", "您好"),
    ]),
    (13, "tb_buyer02", SHOP, [("customer", "tb_buyer02", "2017-04-02 11:00:00", "还在吗")]),
]
COPY = [
    (1, "tb_buyer01", SHOP, [
        ("customer", "tb_buyer01", "2026-11-11 09:05:03", "在吗"),
        ("agent", "小美", "2026-11-11 09:05:20", "亲，在的，请问有什么可以帮您"),
        ("customer", "tb_buyer01", "2026-11-11 09:06:00",
         "这个链接的鞋子有40码吗 https://item.taobao.com/item.htm?id=5412345678"),
        ("system", "tb_buyer01", None, "tb_buyer01撤回了一条消息"),
        ("customer", "tb_buyer01", "2026-11-11 09:07:15", "[图片]"),
        ("system", None, None, "由 服务助手 转交给 adidas官方旗舰店:小丽"),
        ("system", None, None, "原因：【离线留言自动分配】"),
        ("agent", "小丽", "2026-11-11 09:30:00", "亲，40码有货的"),
    ]),
    (18, "tb_buyer01", SHOP, [("customer", "tb_buyer01", "2026-11-11 10:45:00", "好的，我下单了")]),
]
WEB = [
    (2, "tb_buyer01", SHOP, [
        ("agent", "小美", "2017-04-01 10:00:01", "亲，在的"),
        ("customer", "tb_buyer01", "2017-04-01 10:00:30", "这双有40码吗\n还有别的颜色吗"),
        ("agent", "小美", "2017-04-01 10:01:02", "请在客户端查看原始聊天记录，网页版无法展示"),
    ]),
    (13, "tb_buyer01", SHOP, [("customer", "tb_buyer01", "2017-04-02 09:00:00", "")]),
]
WEB_ROWS = [
    (2, "tb_buyer01", SHOP, [
        ("agent", "小美", "2017-04-01 10:00:01", "亲，在的"),
        ("customer", "tb_buyer01", "2017-04-01 10:00:30", "这双有40码吗"),
        ("customer", "tb_buyer01", "2017-04-01 10:00:45", "[表情]"),
    ]),
]
DOUYIN = [
    (2, "用户9***8", None, [
        ("customer", "用户9***8", "2026-11-09 20:15:00", "这个还有货吗"),
        ("agent", "小鹿旗舰店-阿紫", "2026-11-09 20:15:40", "有的亲"),
    ]),
    (7, "用户9***8", None, [
        ("customer", "用户9***8", "2026-11-10 10:02:00", "什么时候发货"),
        ("system", "小鹿旗舰店-阿紫", None, "小鹿旗舰店-阿紫撤回了一条消息"),
        ("agent", "小鹿旗舰店-阿紫", "2026-11-10 10:03:00", "48小时内发货哦"),
    ]),
    (12, "用户9***8", None, [("customer", "用户9***8", "2026-11-11 09:30:00", "收到了，谢谢")]),
]

CASES = [
    ("jd.log", "jd", JD),
    ("jd_bom_crlf.log", "jd", JD),
    ("jd_gbk_crlf.log", "jd", JD),
    ("jd_broken.log", "jd", JD_BROKEN),
    ("qianniu_txt_gbk.txt", "qianniu_txt", TXT),
    ("qianniu_txt_utf8.txt", "qianniu_txt", TXT),
    ("qianniu_txt2_gbk.txt", "qianniu_txt2", TXT2),
    ("qianniu_copy_crlf.txt", "qianniu_copy", COPY),
    ("qianniu_copy_gbk.txt", "qianniu_copy", COPY),
    ("qianniu_web_bom.txt", "qianniu_web", WEB),
    ("qianniu_web_rows.txt", "qianniu_web", WEB_ROWS),
    ("douyin_copy.txt", "generic", DOUYIN),
    ("relative_only.txt", "generic", []),
]


@pytest.mark.parametrize("name, layout, expected", CASES, ids=[c[0] for c in CASES])
def test_fixture_is_detected_and_parsed_message_by_message(name: str, layout: str, expected: list[tuple]) -> None:
    assert detect_chatlog(load(name)) == layout
    convs, _ = parse(name)
    assert summary(convs) == expected


REJECTIONS = {
    "jd_broken.log": [
        (1, None, NO_HEADER),
        (2, None, "会话结束标记前没有对应的“以下为一通会话”开始标记"),
        (4, "时间", "时间“2026-13-45 10:00:00”不是有效的日期时间；该条消息（第 4–6 行）未导入"),
        (12, None, "这通会话中没有任何消息"),
    ],
    "qianniu_web_bom.txt": [(15, "时间", "时间“25:61:00”不是有效的日期时间；该条消息（第 15–17 行）未导入")],
    "relative_only.txt": [
        (1, "时间", "相对日期“昨天”无法换算：文件中没有任何完整日期；该条消息（第 1–2 行）未导入"),
        (3, "时间", "相对日期“昨天”无法换算：文件中没有任何完整日期；该条消息（第 3–4 行）未导入"),
    ],
}


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_every_unplaced_line_is_rejected_with_its_line_number(name: str) -> None:
    _, rejections = parse(name)
    assert [(r.file, r.row, r.field, r.reason) for r in rejections] == [
        (name, *expected) for expected in REJECTIONS.get(name, [])
    ]


@pytest.mark.parametrize("name, platform", [
    ("jd.log", "jd"),
    ("qianniu_txt_gbk.txt", "taobao"),
    ("qianniu_copy_crlf.txt", "taobao"),
    ("qianniu_web_rows.txt", "taobao"),
    ("douyin_copy.txt", None),
])
def test_platform_follows_the_layout_unless_given(name: str, platform: str | None) -> None:
    assert {c.platform for c in parse(name)[0]} == {platform}
    assert {c.platform for c in parse(name, platform="douyin")[0]} == {"douyin"}


def test_sub_account_is_split_into_shop_and_agent() -> None:
    convs, _ = parse("qianniu_copy_crlf.txt")
    agent = convs[0].messages[1]
    assert (agent.role, agent.sender, agent.agent, convs[0].shop) == ("agent", "adidas官方旗舰店:小美", "小美", SHOP)


def test_shop_argument_names_the_shop_and_makes_its_bare_account_the_seller() -> None:
    text = "用户5***2 2026-11-11 10:00:00\n在吗\n小鹿的店 2026-11-11 10:00:30\n在的亲\n"
    alone, _ = parse_chatlog(text, "paste.txt")
    assert [(c.customer, len(c.messages)) for c in alone] == [("用户5***2", 1), ("小鹿的店", 1)]
    given, _ = parse_chatlog(text, "paste.txt", shop="小鹿的店")
    assert summary(given) == [(1, "用户5***2", "小鹿的店", [
        ("customer", "用户5***2", "2026-11-11 10:00:00", "在吗"),
        ("agent", "小鹿的店", "2026-11-11 10:00:30", "在的亲"),
    ])]


def test_jd_account_without_keyword_is_agent_even_when_it_speaks_first() -> None:
    sessions = [
        f"/*****************以下为一通会话****/\njd_pin{i} 2026-10-07 1{i}:00:00\n问题{i}\n"
        f"阿珍 2026-10-07 1{i}:00:30\n回答{i}\n/*****************会话结束_时间：2026-10-07 1{i}:05:00****/\n"
        for i in range(9)
    ]
    sessions.append("/*****************以下为一通会话****/\n阿珍 2026-10-07 19:00:00\n您的订单已发货\n"
                    "jd_pin9 2026-10-07 19:01:00\n好的\n/*****************会话结束_时间：2026-10-07 19:05:00****/\n")
    convs, rejections = parse_chatlog("".join(sessions), "jd.log")
    assert rejections == []
    assert [c.customer for c in convs] == [f"jd_pin{i}" for i in range(10)]
    assert [m.role for m in convs[-1].messages] == ["agent", "customer"]
    assert {m.agent for c in convs for m in c.messages if m.role == "agent"} == {"阿珍"}


def test_external_id_is_stable_across_overlapping_exports() -> None:
    text = load("qianniu_copy_crlf.txt")
    earlier = "tb_buyer01 2026-11-10 20:00:00\r\n昨天问过的问题\r\n"
    overlapping = earlier + text.split("tb_buyer01 2026-11-11 10:45:00")[0]
    first, _ = parse_chatlog(text, "a.txt")
    second, _ = parse_chatlog(overlapping, "b.txt")
    assert [len(c.messages) for c in second] == [1, 8]
    assert second[1].external_id == first[0].external_id
    assert len({c.external_id for c in first + second}) == 3
    assert all(c.external_id.startswith("qianniu_copy-") for c in first)


def test_hostile_text_is_cleaned_and_long_lines_kept() -> None:
    long_body, parens = "好" * 100_000, "(" * 50_000
    text = "\n".join([
        "x" * 100_000,
        "tb_bu\x00yer01 2026-11-11 9:05:03",
        "<script>alert('x')</script>\x07",
        long_body,
        parens,
        "adidas官方旗舰店:小美 2026-11-11 9:05:20",
        "\u200b好的\u00a0",
    ])
    convs, rejections = parse_chatlog(text, "hostile.txt")
    assert [(r.row, r.reason) for r in rejections] == [(1, NO_HEADER)]
    customer, agent = convs[0].messages
    # Compared as a flag: on failure pytest would otherwise diff 150,000-character strings.
    kept_whole = customer.text == f"<script>alert('x')</script>\n{long_body}\n{parens}"
    assert kept_whole
    assert [(c.source_row, c.customer, c.shop) for c in convs] == [(2, "tb_buyer01", SHOP)]
    assert [(m.role, m.sender, m.agent) for m in (customer, agent)] == [
        ("customer", "tb_buyer01", None), ("agent", "adidas官方旗舰店:小美", "小美")]
    assert agent.text == "好的"


def test_header_like_card_lines_stay_in_the_message_body() -> None:
    text = ("tb_buyer01 2026-11-11 9:05:03\n订单号:1234567890\n交易时间:2026-11-11 9:00:00\n"
            "下单时间 2026-11-11 8:59:00\n共1件商品\nadidas官方旗舰店:小美 2026-11-11 9:05:20\n收到\n")
    convs, rejections = parse_chatlog(text, "cards.txt")
    assert rejections == []
    assert [m.text for m in convs[0].messages] == [
        "订单号:1234567890\n交易时间:2026-11-11 9:00:00\n下单时间 2026-11-11 8:59:00\n共1件商品", "收到"]


@pytest.mark.parametrize("text, layout", [
    ("", None),
    ("\n\n   \n", None),
    ("今天天气不错。\n我们去公园吧，顺便买点水果。\n晚上早点回来。\n", None),
    ('{"conversation_id": "c1"}\n', None),
    ("tb_buyer01 2026-11-11 9:05:03\n在吗\n", "qianniu_copy"),
    ("2026/11/11 10:00 小王\n你好\n2026/11/11 10:01 用户1**2\n在吗\n", "generic"),
    ("10:00:01\t在吗\ttb_buyer01\n10:00:09\t在的\t店:小美\n", "qianniu_web"),
])
def test_detection_of_small_texts(text: str, layout: str | None) -> None:
    assert detect_chatlog(text) == layout


@pytest.mark.parametrize("name", ["not_chat.csv", "not_chat.jsonl"])
def test_tables_and_json_lines_are_not_chat_logs(name: str) -> None:
    text = load(name)
    assert detect_chatlog(text) is None
    with pytest.raises(ImportFormatError, match="不像聊天记录"):
        parse_chatlog(text, name)


def test_lines_are_numbered_as_an_editor_shows_them() -> None:
    assert list(numbered_lines("a\r\nb\rc\n\n d\x00 \nNone")) == [(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d"),
                                                                  (6, "None")]


@pytest.mark.parametrize("text, stamp", [
    ("jd_user07 2126-10-07 10:00:00\n这条消息的年份不对\njd_user07 2026-10-07 10:01:00\n那我重新问一下\n"
     "某店自营客服02 2026-10-07 10:01:30\n好的\n", "2126-10-07 10:00:00"),
    ("tb_buyer01(1899-11-11 10:00:00):在吗\nadidas官方旗舰店:小美(2026-11-11 10:00:30):在的亲\n"
     "tb_buyer01(2026-11-11 10:01:00):好的\n", "1899-11-11 10:00:00"),
])
def test_a_time_in_an_impossible_year_says_so_and_the_rest_is_kept(text: str, stamp: str) -> None:
    convs, rejections = parse_chatlog(text, "years.txt")
    year = int(stamp[:4])
    assert [(r.row, r.field) for r in rejections] == [(1, "时间")]
    assert f"时间“{stamp}”的年份 {year} 不在 1990–2100 年之间" in rejections[0].reason
    assert "第 1" in rejections[0].reason
    assert sum(len(c.messages) for c in convs) == 2
