"""Message-per-row and ticket tables (CSV in several encodings, XLSX), on SQLite and PostgreSQL."""

import io
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from qa.errors import ImportFormatError
from qa.models import Conversation, Message, Ticket
from tests.helpers import conv, counts, import_bytes, jsonl

CN_CSV = """会话ID,发送时间,发送方,客服昵称,消息内容,平台,店铺,满意度,咨询类型
s1,2026-11-11 10:00:00,顾客,,这件有M码吗,天猫,某某旗舰店,满意,产品/尺码咨询
s1,2026-11-11 10:00:40,客服,小美,"亲，有的，M码有货哦",天猫,某某旗舰店,,
s2,2026/11/12 09:00,买家,,我要退货,京东,某某自营店,,退货
s2,2026/11/12 09:05,客服,阿杰,好的亲，已为您登记,京东,某某自营店,不满意,
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_header_csv_in_each_encoding(engine, encoding):
    report = import_bytes(engine, "消息.csv", CN_CSV.encode(encoding))
    assert report.format == "csv_messages"
    assert (report.counts.conversations_added, report.counts.messages_added, report.rejected) == (2, 4, 0)
    with engine.connect() as conn:
        rows = conn.execute(select(Conversation.external_id, Conversation.csat, Conversation.category)
                            .order_by(Conversation.external_id)).all()
        texts = conn.scalars(select(Message.text).order_by(Message.id)).all()
    assert [tuple(r) for r in rows] == [("s1", 4, "产品/尺码咨询"), ("s2", 2, "退货")]
    assert texts[1] == "亲，有的，M码有货哦"


def test_english_headers_and_taobao_subaccount_roles(engine):
    data = ("conversation_id,timestamp,sender,text\n"
            "t1,2026-11-11 10:00:00,tb_buyer01,这双有40码吗\n"
            "t1,2026-11-11 10:00:05,adidas官方旗舰店:小美,亲，在的\n").encode()
    report = import_bytes(engine, "en.csv", data)
    assert report.rejected == 0
    with engine.connect() as conn:
        roles = conn.execute(select(Message.role, Message.sender).order_by(Message.seq)).all()
        customer = conn.scalar(select(Conversation.customer))
    assert [tuple(r) for r in roles] == [("customer", "tb_buyer01"), ("agent", "adidas官方旗舰店:小美")]
    assert customer == "tb_buyer01"


def test_mixed_good_and_bad_rows(engine):
    data = CN_CSV + "\n".join([
        ",2026-11-11 10:00:00,顾客,,没有会话ID,天猫,店,,",
        "s3,2026-11-11 25:99:00,顾客,,时间坏了,天猫,店,,",
        "s3,2026-11-11 10:00:00,老板,,角色不认识,天猫,店,,",
        "s3,2026-11-11 10:00:00,顾客,,满意度坏了,天猫,店,七分,",
        "s4,2026-11-11 10:00:00,顾客,,正常的一行,天猫,店,,",
        "s4,2026-11-11 10:00:00,顾客,,多了一列,天猫,店,,,多余",
    ]) + "\n"
    report = import_bytes(engine, "mixed.csv", data.encode())
    assert report.counts.conversations_added == 3
    assert [(r.row, r.field) for r in report.rejections] == [
        (6, "会话ID"), (7, "发送时间"), (8, "发送方"), (9, "满意度"), (11, None)]
    assert "列" in report.rejections[-1].reason


def test_missing_required_columns_changes_nothing(engine):
    import_bytes(engine, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None))))
    before = counts(engine)
    with pytest.raises(ImportFormatError, match="缺少必需的列：会话ID"):
        import_bytes(engine, "bad.csv", "发送方,消息内容\n顾客,你好\n".encode())
    with pytest.raises(ImportFormatError, match="无法识别的表格"):
        import_bytes(engine, "what.csv", b"a,b\n1,2\n")
    assert counts(engine) == before


def test_unreadable_file_changes_nothing(engine):
    import_bytes(engine, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None))))
    before = counts(engine)
    for name, data in [("x.xlsx", b"PK\x03\x04 not really a zip"), ("empty.csv", b""),
                       ("bin.csv", "会话ID,内容\n".encode() + b"\x81 \x81 \xff\xfe\x00")]:
        with pytest.raises(ImportFormatError) as e:
            import_bytes(engine, name, data)
        assert name in str(e.value)
    assert counts(engine) == before


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_messages(engine):
    data = _xlsx([["会话编号", "时间", "角色", "内容", "订单号"],
                  ["x1", "2026-11-11 10:00:00", "顾客", "发货了吗", "123456789012345678"],
                  ["x1", "2026-11-11 10:02:00", "客服", "亲，今天发", None],
                  ["x2", datetime(2026, 11, 11, 11, 0), "顾客", "在吗", 201234567890]])
    report = import_bytes(engine, "导出.xlsx", data)
    assert (report.format, report.counts.messages_added, report.rejected) == ("xlsx_messages", 3, 0)
    with engine.connect() as conn:
        rows = conn.execute(select(Conversation.order_id, Conversation.started_at).order_by(Conversation.id)).all()
    assert [tuple(r) for r in rows] == [("123456789012345678", datetime(2026, 11, 11, 10, 0)),
                                        ("201234567890", datetime(2026, 11, 11, 11, 0))]


TICKETS = """工单号,会话ID,订单号,平台,工单类型,状态,创建时间,关闭时间,处理结果,满意度
T1,s2,,京东,退货,已完结,2026-11-12 09:10:00,2026-11-13 10:00:00,退款成功,非常满意
T2,,O-9,天猫,换货,处理中,2026-11-12 10:00:00,,,
T3,,,天猫,发票,处理中,明天,,,
"""


def test_tickets_link_to_conversations_by_id_and_order(engine):
    import_bytes(engine, "消息.csv", CN_CSV.encode())
    import_bytes(engine, "o.jsonl", jsonl(conv("o1", ("customer", "换个尺码", None), platform="天猫", order_id="O-9")))
    report = import_bytes(engine, "工单.csv", TICKETS.encode("utf-8-sig"))
    assert (report.format, report.counts.tickets_added) == ("csv_tickets", 2)
    assert [(r.row, r.field) for r in report.rejections] == [(4, "创建时间")]
    with engine.connect() as conn:
        linked = dict(conn.execute(select(Conversation.external_id, Ticket.external_id)
                                   .join(Ticket, Ticket.id == Conversation.ticket_id)).all())
        o1 = conn.execute(select(Conversation.category).where(Conversation.external_id == "o1")).scalar_one()
        s2 = conn.execute(select(Conversation.csat).where(Conversation.external_id == "s2")).scalar_one()
    assert linked == {"s2": "T1", "o1": "T2"}
    assert o1 == "换货"  # category filled from the ticket
    assert s2 == 2  # CSAT given in the chat export wins over the ticket's


def test_ticket_reimport_updates_status_without_duplicates(engine):
    import_bytes(engine, "t.csv", TICKETS.encode())
    report = import_bytes(engine, "t.csv", TICKETS.replace("T2,,O-9,天猫,换货,处理中", "T2,,O-9,天猫,换货,已完结").encode())
    assert (report.counts.tickets_added, report.counts.tickets_updated) == (0, 1)
    with engine.connect() as conn:
        assert conn.scalars(select(Ticket.status).order_by(Ticket.external_id)).all() == ["已完结", "已完结"]
