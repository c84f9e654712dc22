from datetime import datetime

import pytest

from qa.errors import ImportFormatError
from qa.ingest.normalize import (
    canonical_platform,
    clean_text,
    decode_bytes,
    parse_csat,
    parse_role,
    parse_stamp,
    parse_time,
    time_stamp,
)


@pytest.mark.parametrize("value, expected", [
    ("2026-11-11 10:00:05", datetime(2026, 11, 11, 10, 0, 5)),
    ("2026-11-11 9:05", datetime(2026, 11, 11, 9, 5)),
    ("2026/11/11 09:05:00", datetime(2026, 11, 11, 9, 5)),
    ("2026-11-11T10:00:05+08:00", datetime(2026, 11, 11, 10, 0, 5)),
    ("2026-11-11T02:00:05Z", datetime(2026, 11, 11, 10, 0, 5)),
    ("2026年11月11日 10:05", datetime(2026, 11, 11, 10, 5)),
    ("2026年11月11日 10时05分30秒", datetime(2026, 11, 11, 10, 5, 30)),
    ("2026-1-2 3:04:05", datetime(2026, 1, 2, 3, 4, 5)),
    ("20261111 10:00:00", datetime(2026, 11, 11, 10, 0, 0)),
    ("", None),
    (None, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["昨天下午", "2026-13-45 10:00", "abc"])
def test_parse_time_rejects_with_reason(value):
    with pytest.raises(ValueError, match="无法识别的时间"):
        parse_time(value)


@pytest.mark.parametrize("value", [
    "2026-11-11T10:00:05+08:00", "2026-11-11 10:00:05", "2026-11-11T10:00:05", "2026-11-11T02:00:05+00:00",
    "2026-11-11T02:00:05Z", "2026-W46-3T10:00:05+08:00", "2026-11-11 10:00:05.123", "2026/11/11 09:05:00",
    "2026-11-11 9:05", "2026年11月11日 10:05", "", None, datetime(2026, 11, 11, 10, 0, 5, 999), 1762826405,
])
def test_parse_stamp_is_the_stamp_of_parse_time(value):
    """The sliced fast path and the general one agree on every layout, including look-alikes of the fast one."""
    assert parse_stamp(value) == time_stamp(parse_time(value))


@pytest.mark.parametrize("value", ["2026-13-11 10:00:05", "2026-02-30T10:00:05+08:00", "2026-11-11 25:00:00"])
def test_parse_stamp_rejects_like_parse_time(value):
    with pytest.raises(ValueError, match="无法识别的时间"):
        parse_stamp(value)


@pytest.mark.parametrize("value, expected", [
    ("5", 5), ("1", 1), (4.0, 4), ("非常满意", 5), ("满意", 4), ("一般", 3), ("不满意", 2), ("非常不满意", 1),
    ("", None), (None, None), ("未评价", None),
])
def test_parse_csat(value, expected):
    assert parse_csat(value) == expected


@pytest.mark.parametrize("value", ["6", "0", "2.5", "还行吧"])
def test_parse_csat_rejects(value):
    with pytest.raises(ValueError):
        parse_csat(value)


@pytest.mark.parametrize("word, sender, expected", [
    ("客服", None, "agent"), ("顾客", None, "customer"), ("买家", None, "customer"), ("机器人", None, "bot"),
    ("系统", None, "system"), ("Agent", None, "agent"), ("customer", None, "customer"),
    ("", "adidas官方旗舰店:小美", "agent"), ("", "jimi_vender_123", "bot"), ("", "tb_buyer01", None),
    ("", "沐禾官方旗舰店:店小蜜", "bot"), ("", "服务助手", "bot"),
    ("老板", None, None),
])
def test_parse_role(word, sender, expected):
    assert parse_role(word, sender) == expected


def test_clean_text_strips_control_and_nbsp():
    assert clean_text("\ufeff你好\x00\u00a0亲\r\n在吗\x07") == "你好 亲\n在吗"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_decode_bytes(encoding):
    assert decode_bytes("会话ID,内容\n1,亲在吗".encode(encoding), "f.csv") == "会话ID,内容\n1,亲在吗"


def test_decode_bytes_unknown_encoding_names_file_and_fix():
    with pytest.raises(ImportFormatError, match="f.csv.*无法识别文件编码"):
        decode_bytes("内容".encode() + b"\x81 \x81 ", "f.csv")


@pytest.mark.parametrize("name, shop, expected", [
    ("jd", None, "京东"), ("京东商城", None, "京东"), ("Tmall", None, "天猫"), ("taobao", "某某官方旗舰店", "天猫"),
    ("taobao", "小王的杂货铺", "淘宝"), ("抖店", None, "抖音"), ("", None, None), ("唯品会", None, "唯品会"),
])
def test_canonical_platform(name, shop, expected):
    assert canonical_platform(name, shop) == expected
