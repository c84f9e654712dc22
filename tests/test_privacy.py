"""Personal data masked in message text at import and in exports; order ids, tracking numbers, prices and dates not."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from sqlalchemy import Engine, insert, select

from qa.analytics.exports import annotations_query, iter_rows
from qa.cli import main
from qa.db import get_engine
from qa.ingest.privacy import ALL_KINDS, SETTING, PrivacySettingError, mask_text, mask_texts, parse_kinds
from qa.models import Annotation, Conversation, Message
from qa.review.coaching import add_to_new_list, export_excel, export_html, export_markdown
from qa.review.users import get_or_create_user
from tests.helpers import conv, counts, import_bytes, jsonl, read, write


def _trainer(engine: Engine) -> int:
    return get_or_create_user(engine, "张培训", "trainer")


def _admin(engine: Engine) -> int:
    return get_or_create_user(engine, "演示管理员", "admin")


# (message as a customer or agent writes it in a shop chat, what is stored)
MASKED = [
    ("我的手机号13812345678，麻烦快递到了打我电话", "我的手机号138****5678，麻烦快递到了打我电话"),
    ("电话：+86 139-1234-5678", "电话：+86 139****5678"),
    ("联系 158 1234 5678 谢谢", "联系 158****5678 谢谢"),
    ("收件人换成我老公，手机8619912345678", "收件人换成我老公，手机86199****5678"),
    ("清关需要身份证号：330106199003071236", "清关需要身份证号：330***********1236"),
    ("身份证11010519851212009X，姓名张三", "身份证110***********009X，姓名张三"),
    ("身份证 110105 19851212 0022", "身份证 110***********0022"),
    ("退款直接退到我的银行卡6222021234567890128吧，户名张三",
     "退款直接退到我的银行卡6222***********0128吧，户名张三"),
    ("卡号 6222 0212 3456 7890 128", "卡号 6222***********0128"),
    ("信用卡4367421234567896可以吗", "信用卡4367********7896可以吗"),
    ("收货地址改成浙江省杭州市西湖区文三路478号华星时代广场A座1203室，谢谢",
     "收货地址改成浙江省杭州市西湖区****，谢谢"),
    ("地址：北京市朝阳区建国路88号SOHO现代城5号楼1801 张三 13812345678",
     "地址：北京市朝阳区**** 张三 138****5678"),
    ("浙江省 杭州市 西湖区 三墩镇 西园八路2号 请尽快发货", "浙江省 杭州市 西湖区 **** 请尽快发货"),
    ("好的，已经备注新地址：广东省深圳市南山区科技园科苑路15号6栋2单元501",
     "好的，已经备注新地址：广东省深圳市南山区****"),
    ("送到阳光花园3栋2单元501，放门口就行", "送到阳光花园****，放门口就行"),
    ("退货地址：浙江省嘉兴市南湖区科技大道88号沐禾电商仓3号库\n收件人：沐禾售后部",
     "退货地址：浙江省嘉兴市南湖区****\n收件人：沐禾售后部"),
    ("我家在文三路478号明天在家", "我家在文三路****明天在家"),
    ("发票发我邮箱zhangsan_88@163.com", "发票发我邮箱z***@163.com"),
    ("13812345678@qq.com 发一下电子发票", "1***@qq.com 发一下电子发票"),
]

# (what must stay as written, why)
KEPT = [
    ("订单号：2847563928173645196 麻烦查一下", "Taobao order id after 订单号 (passes Luhn)"),
    ("2847563928173645196这个单还没发", "Taobao order id, no card issuer prefix"),
    ("6912345678901234564这个单还没发", "Douyin order id, no card issuer prefix"),
    ("订单6222021234567890128怎么还没发货", "a card-shaped number written as an order number"),
    ("订单号13512345678怎么还没发货", "an 11-digit JD order id that looks like a mobile number"),
    ("京东订单281234567890已签收", "JD order id"),
    ("单号 330106199003071236", "ID-shaped number written as a ticket number"),
    ("顺丰单号SF1234567890123", "SF tracking number"),
    ("运单号YT1381234567812", "YTO tracking number holding a mobile-shaped run"),
    ("中通75123456789012", "ZTO tracking number"),
    ("宝贝链接 https://item.jd.com/14569607426.html", "a product link"),
    ("身份证 11010519851212002X 是我的", "no valid check digit"),
    ("330106199013071236", "no real birth date"),
    ("付款1299.00元，优惠券满300减50", "prices"),
    ("2026-11-11 10:01:00下的单，11月11号能到吗", "dates"),
    ("麻烦11号之前发货，我12号出门", "days of the month"),
    ("我穿42号的，有没有5号色", "sizes and colours"),
    ("有两室一厅的吗，3室2厅", "flat layouts"),
    ("1号线地铁站出口", "a metro line"),
    ("400-820-8820 是客服热线，座机0571-88888888", "hotline and landline"),
    ("魅族三单元耳机 动铁", "earphone drivers"),
    ("亲，在的，请问有什么可以帮您", "a plain line"),
]


@pytest.mark.parametrize("text, expected", MASKED)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert mask_text(expected) == expected  # masked text is never masked again


@pytest.mark.parametrize("text, why", KEPT)
def test_order_ids_tracking_numbers_prices_and_dates_are_kept(text: str, why: str) -> None:
    assert mask_text(text) == text, why


def test_batch_masking_is_text_by_text_masking() -> None:
    texts = [t for pair in zip([t for t, _ in MASKED], [t for t, _ in KEPT]) for t in pair] + ["", "在吗"]
    assert mask_texts(texts) == [mask_text(t) for t in texts]


def test_only_the_chosen_kinds_are_masked() -> None:
    text = "手机13812345678，邮箱zhangsan_88@163.com，地址杭州市西湖区文三路478号"
    assert mask_text(text, {"phone"}) == "手机138****5678，邮箱zhangsan_88@163.com，地址杭州市西湖区文三路478号"
    assert mask_text(text, {"email", "address"}) == "手机13812345678，邮箱z***@163.com，地址杭州市西湖区****"
    assert mask_text(text, set()) == text


@pytest.mark.parametrize("setting, kinds", [
    (None, ALL_KINDS), ("", ALL_KINDS), ("all", ALL_KINDS), ("off", frozenset()), ("none", frozenset()),
    ("phone,email", {"phone", "email"}), ("手机号、身份证号", {"phone", "id_card"}), (" Bank_Card ", {"bank_card"}),
])
def test_setting(setting: str | None, kinds: frozenset[str]) -> None:
    assert parse_kinds(setting) == kinds


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(PrivacySettingError, match="未知的脱敏类型“phones”：可选 all、off 或 phone（手机号）"):
        parse_kinds("phones,email")


CHAT = conv("tb-1",
            ("customer", "你好，地址改成浙江省杭州市西湖区文三路478号华星时代广场A座1203室，手机13812345678",
             "2026-11-11T10:00:00+08:00"),
            ("agent", "好的亲，订单号2847563928173645196已备注", "2026-11-11T10:00:30+08:00"),
            platform="天猫", order_id="2847563928173645196")
MASKED_CHAT = ["你好，地址改成浙江省杭州市西湖区****，手机138****5678", "好的亲，订单号2847563928173645196已备注"]
RAW_CHAT = [m["text"] for m in CHAT["messages"]]


def _texts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Message.text).order_by(Message.conversation_id, Message.seq)))


def test_import_masks_message_text_by_default(engine: Engine) -> None:
    import_bytes(engine, "a.jsonl", jsonl(CHAT))
    assert _texts(engine) == MASKED_CHAT
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.order_id)) == "2847563928173645196"


def test_masking_off_stores_the_text_as_written(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "off")
    import_bytes(engine, "a.jsonl", jsonl(CHAT))
    assert _texts(engine) == RAW_CHAT


@pytest.mark.parametrize("first, then", [("off", "all"), ("all", "off"), ("phone", "all")])
def test_reimport_under_another_setting_adds_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                     first: str, then: str) -> None:
    """An archive imported before masking existed (or with other kinds) takes the same export again as known."""
    monkeypatch.setenv(SETTING, first)
    import_bytes(engine, "a.jsonl", jsonl(CHAT))
    stored, before = _texts(engine), counts(engine)
    monkeypatch.setenv(SETTING, then)
    report = import_bytes(engine, "b.jsonl", jsonl(CHAT))
    assert (report.counts.conversations_unchanged, report.counts.messages_added) == (1, 0)
    assert counts(engine) == before and _texts(engine) == stored


def test_a_file_parsed_in_the_worker_process_is_masked_alike(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.ingest.parse_worker.PARALLEL_MIN_BYTES", 0)
    import_bytes(engine, "a.jsonl", jsonl(CHAT))
    monkeypatch.setenv(SETTING, "off")
    import_bytes(engine, "b.jsonl", jsonl({**CHAT, "conversation_id": "tb-2"}))
    assert _texts(engine) == MASKED_CHAT + RAW_CHAT


@pytest.mark.parametrize("in_worker", [False, True])
def test_a_setting_naming_no_kind_stops_the_import_with_its_message(sqlite_engine: Engine, in_worker: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload in the app reads HUIFANG_MASK: a typo there is said plainly, and nothing is stored unmasked."""
    if in_worker:
        monkeypatch.setattr("qa.ingest.parse_worker.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv(SETTING, "phone,adress")
    with pytest.raises(PrivacySettingError, match="未知的脱敏类型“adress”"):
        import_bytes(sqlite_engine, "a.jsonl", jsonl(CHAT))
    assert counts(sqlite_engine)["messages"] == 0


def _annotated_archive(engine: Engine) -> int:
    """A conversation stored unmasked (as before masking existed) with a reviewer's note quoting a phone number."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SETTING, "off")
        import_bytes(engine, "a.jsonl", jsonl(CHAT))
    uid = get_or_create_user(engine, "王质检")
    with engine.begin() as conn:
        cid, mid = conn.execute(select(Message.conversation_id, Message.id).order_by(Message.seq)).first()
        conn.execute(insert(Annotation).values(conversation_id=cid, message_id=mid, reviewer_id=uid, tags="",
                                               comment="顾客留的13912345678打不通", created_at=datetime.now(),
                                               updated_at=datetime.now()))
    return cid


def test_exports_mask_text_stored_unmasked_unless_asked(engine: Engine) -> None:
    _annotated_archive(engine)
    header, row = list(iter_rows(engine, annotations_query()))
    cells = dict(zip(header, row))
    assert (cells["message_text"], cells["comment"]) == (MASKED_CHAT[0], "顾客留的139****5678打不通")
    assert cells["conversation_id"] == "tb-1"
    header, row = list(iter_rows(engine, annotations_query(), mask=False))
    assert dict(zip(header, row))["message_text"] == RAW_CHAT[0]


def test_coaching_exports_are_masked(engine: Engine) -> None:
    cid = _annotated_archive(engine)
    list_id = add_to_new_list(engine, "地址变更话术", cid, kind="good", note="客户手机13812345678", user_id=_trainer(engine))
    for export in (export_markdown, export_html):
        text = read(engine, export, list_id)
        assert "13812345678" not in text and "文三路478号" not in text
        assert "138\\*\\*\\*\\*5678" in text or "138****5678" in text
    assert b"13812345678" not in export_excel_strings(read(engine, export_excel, list_id))


def export_excel_strings(data: bytes) -> bytes:
    """Every text of an .xlsx workbook (its shared strings), as bytes to search."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))


def test_cli_import_flags_and_export_unmasked(tmp_path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    path = write(tmp_path, "a.jsonl", jsonl(CHAT))
    assert main(["--db", db, "import", "--mask", "phone", str(path)]) == 0
    assert "脱敏：手机号" in capsys.readouterr().err
    assert _texts(get_engine(db)) == ["你好，地址改成浙江省杭州市西湖区文三路478号华星时代广场A座1203室，手机138****5678",
                                      RAW_CHAT[1]]
    assert main(["--db", db, "import", "--mask", "phones", str(path)]) == 1
    assert "错误：未知的脱敏类型“phones”" in capsys.readouterr().err

    db2 = f"sqlite:///{tmp_path / 'raw.db'}"
    assert main(["--db", db2, "import", "--no-mask", str(path)]) == 0
    assert "脱敏：关闭" in capsys.readouterr().err
    assert _texts(get_engine(db2)) == RAW_CHAT
    uid = get_or_create_user(get_engine(db2), "王质检")
    with get_engine(db2).begin() as conn:
        conn.execute(insert(Annotation).values(conversation_id=1, message_id=1, reviewer_id=uid, tags="", comment="",
                                               created_at=datetime.now(), updated_at=datetime.now()))
    out = tmp_path / "a.csv"
    assert main(["--db", db2, "export", "annotations", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig") as f:
        assert [r["message_text"] for r in csv.DictReader(f)] == [MASKED_CHAT[0]]
    assert main(["--db", db2, "export", "annotations", "--out", str(out), "--unmasked"]) == 0
    assert "未脱敏" in capsys.readouterr().err
    with open(out, encoding="utf-8-sig") as f:
        assert [r["message_text"] for r in csv.DictReader(f)] == [RAW_CHAT[0]]
