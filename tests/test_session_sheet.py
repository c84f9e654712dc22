"""JD session sheet: reading rows (with Excel's own cell types) and attaching them to the parsed 咚咚 log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from qa.errors import ImportFormatError
from qa.ingest.formats.chatlog import parse_chatlog
from qa.ingest.formats.session_sheet import parse_session_sheet
from qa.ingest.normalize import decode_bytes
from qa.ingest.session_match import attach_sessions

JD_LOG = Path(__file__).parent / "fixtures" / "chatlogs" / "jd.log"

ROWS = [
    # row 2: 90 s after the first session of jd.log
    {"咨询时间": "2026-10-07 10:01:30", "顾客": "jd_user01", "咨询类型": "库存咨询", "客服": "某店自营客服01",
     "技能组": "售前组", "商品编号": 100012345678.0, "首次响应时间": 20, "平均响应时间(S)": 20.5, "会话时长(M)": 5,
     "客户消息数": 1, "客服消息数": 1, "满意度": "非常满意", "是否解决": "是"},
    # row 3: masked pin, two minutes after the second session (a transfer re-stamps the sheet)
    {"咨询时间": pd.Timestamp("2026-10-07 11:02:00"), "顾客": "j****88", "咨询类型": "物流", "转接后客服": "某店旗舰店_阿杰",
     "技能组": "售后组", "满意度": "不满意", "是否解决": "否"},
    # row 4: four minutes after the third session: outside the window
    {"咨询时间": "2026-10-08 09:04:00", "顾客": "jd_user01", "咨询类型": "催发货", "满意度": 3},
    {"咨询时间": "2026-13-01 10:00:00", "顾客": "jd_x"},
    {"咨询时间": None, "顾客": "jd_y"},
    {"咨询时间": "2026-10-07 10:00:00", "顾客": None},
    # row 8: 30 s after the third session, with two unreadable values
    {"咨询时间": "2026-10-08 09:00:30", "顾客": "jd_user01", "满意度": "超级满意", "客户消息数": "两条"},
]


def sheet() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["咨询时间", "顾客", "咨询类型", "客服", "转接后客服", "技能组", "商品编号", "商品名称",
                                       "首次响应时间", "平均响应时间(S)", "会话时长(M)", "客户消息数", "客服消息数", "满意度",
                                       "是否解决"])


def test_rows_are_read_with_their_spreadsheet_row_numbers() -> None:
    rows, _ = parse_session_sheet(sheet(), "会话.xlsx")
    assert [(r["row"], r["start"], r["customer"], r["csat"], r["resolved"]) for r in rows] == [
        (2, datetime(2026, 10, 7, 10, 1, 30), "jd_user01", 5, True),
        (3, datetime(2026, 10, 7, 11, 2), "j****88", 2, False),
        (4, datetime(2026, 10, 8, 9, 4), "jd_user01", 3, None),
        (8, datetime(2026, 10, 8, 9, 0, 30), "jd_user01", None, None),
    ]
    assert rows[0] == {
        "row": 2, "start": datetime(2026, 10, 7, 10, 1, 30), "customer": "jd_user01", "category": "库存咨询",
        "agent": "某店自营客服01", "transfer_agent": None, "team": "售前组", "sku": "100012345678", "product": None,
        "avg_response_s": 20.5, "duration_min": 5.0, "customer_messages": 1, "agent_messages": 1,
        "first_response": 20.0, "csat": 5, "resolved": True,
    }


def test_bad_rows_and_values_are_rejected_with_row_and_column() -> None:
    _, rejections = parse_session_sheet(sheet(), "会话.xlsx")
    assert [(r.file, r.row, r.field, r.reason) for r in rejections] == [
        ("会话.xlsx", 5, "咨询时间", "无法识别的咨询时间“2026-13-01 10:00:00”（应为 2026-10-07 10:00:00 这类格式）；该行未导入"),
        ("会话.xlsx", 6, "咨询时间", "咨询时间为空；该行未导入"),
        ("会话.xlsx", 7, "顾客", "顾客为空；该行未导入"),
        ("会话.xlsx", 8, "客户消息数", "“两条”不是整数，已留空"),
        ("会话.xlsx", 8, "满意度", "无法识别的满意度“超级满意”（应为 1–5 或 非常满意/满意/一般/不满意/非常不满意），已留空"),
    ]


def test_headers_survive_spaces_and_full_width_brackets() -> None:
    df = pd.DataFrame([{" 咨询时间 ": "2026-10-07 10:00:00", "顾客": "jd_a", "平均响应时间（s）": "12"}])
    rows, rejections = parse_session_sheet(df, "会话.xlsx")
    assert rejections == []
    assert (rows[0]["start"], rows[0]["avg_response_s"], rows[0]["csat"]) == (datetime(2026, 10, 7, 10), 12.0, None)


def test_missing_required_column_is_a_file_error() -> None:
    df = pd.DataFrame([{"咨询时间": "2026-10-07 10:00:00", "客服": "小李"}])
    with pytest.raises(ImportFormatError, match="会话表缺少必需的列：顾客（表中的列：咨询时间、客服）"):
        parse_session_sheet(df, "会话.xlsx")


def test_excel_round_trip_reads_timestamps_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "会话.xlsx"
    df = sheet().iloc[:3].copy()
    df["咨询时间"] = pd.to_datetime(df["咨询时间"])
    df.to_excel(path, index=False)
    rows, rejections = parse_session_sheet(pd.read_excel(path), path.name)
    assert rejections == []
    assert [(r["row"], r["start"], r["transfer_agent"], r["sku"]) for r in rows] == [
        (2, datetime(2026, 10, 7, 10, 1, 30), None, "100012345678"),
        (3, datetime(2026, 10, 7, 11, 2), "某店旗舰店_阿杰", None),
        (4, datetime(2026, 10, 8, 9, 4), None, None),
    ]


def test_sessions_attach_by_time_window_and_masked_customer() -> None:
    convs, _ = parse_chatlog(decode_bytes(JD_LOG.read_bytes(), JD_LOG.name), JD_LOG.name)
    rows, _ = parse_session_sheet(sheet(), "会话.xlsx")
    assert attach_sessions(convs, rows) == 3
    assert [(c.customer, c.category, c.csat, c.team) for c in convs] == [
        ("jd_user01", "库存咨询", 5, "售前组"),
        ("jd_小张88", "物流", 2, "售后组"),
        ("jd_user01", None, None, None),
    ]


@pytest.mark.parametrize("customer, start, matched", [
    ("jd_user01", "2026-10-07 09:57:00", True),
    ("jd_user01", "2026-10-07 09:56:59", False),
    ("jd****01", "2026-10-07 10:00:00", True),
    ("jd****02", "2026-10-07 10:00:00", False),
    ("jd_user0", "2026-10-07 10:00:00", False),
])
def test_match_needs_customer_and_three_minute_window(customer: str, start: str, matched: bool) -> None:
    convs, _ = parse_chatlog(decode_bytes(JD_LOG.read_bytes(), JD_LOG.name), JD_LOG.name)
    rows, _ = parse_session_sheet(pd.DataFrame([{"咨询时间": start, "顾客": customer, "咨询类型": "库存咨询"}]), "s")
    assert attach_sessions(convs, rows) == int(matched)
    assert convs[0].category == ("库存咨询" if matched else None)


def test_a_session_takes_the_nearest_free_conversation() -> None:
    log = "".join(
        f"/*****************以下为一通会话****/\njd_user01 2026-10-07 10:0{minute}:00\n在吗\n"
        f"/*****************会话结束_时间：2026-10-07 10:0{minute}:30****/\n"
        for minute in (0, 2)
    )
    convs, _ = parse_chatlog(log, "jd.log")
    df = pd.DataFrame([
        {"咨询时间": "2026-10-07 10:01:50", "顾客": "jd_user01", "咨询类型": "第一行"},
        {"咨询时间": "2026-10-07 10:01:50", "顾客": "jd_user01", "咨询类型": "第二行"},
        {"咨询时间": "2026-10-07 10:01:50", "顾客": "jd_user01", "咨询类型": "第三行"},
    ])
    rows, _ = parse_session_sheet(df, "s")
    assert attach_sessions(convs, rows) == 2
    assert [c.category for c in convs] == ["第二行", "第一行"]
