"""Workbench chat logs and the JD session sheet through the importer, on SQLite and PostgreSQL."""

from pathlib import Path

from sqlalchemy import select

from qa.models import Conversation, Platform
from tests.helpers import counts, import_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "chatlogs"
SHEET = """咨询时间,顾客,咨询类型,客服,转接后客服,技能组,满意度,是否解决
2026-10-07 10:01:00,j****01,产品/尺码咨询,某店自营客服01,,售前,非常满意,是
2026-10-07 11:02:00,jd_****88,赠品/物流,某店旗舰店_阿杰,,售后,不满意,否
2026-10-09 09:00:00,jd_user01,退货,小李,,售后,满意,是
"""


def test_jd_log_imports_with_platform_and_reimport_adds_nothing(engine):
    data = (FIXTURES / "jd_gbk_crlf.log").read_bytes()
    report = import_bytes(engine, "jd.log", data)
    assert report.format == "chatlog_jd"
    assert report.counts.conversations_added == 3
    before = counts(engine)
    again = import_bytes(engine, "jd-again.log", (FIXTURES / "jd.log").read_bytes())  # same log, UTF-8
    assert (again.counts.conversations_added, again.counts.conversations_unchanged) == (0, 3)
    assert counts(engine) == before
    with engine.connect() as conn:
        assert conn.scalars(select(Platform.name)).all() == ["京东"]


def test_session_sheet_fills_category_csat_team_and_reports_unmatched_rows(engine):
    import_bytes(engine, "jd.log", (FIXTURES / "jd.log").read_bytes())
    report = import_bytes(engine, "会话明细.csv", SHEET.encode("gbk"))
    assert report.format == "csv_jd_sessions"
    assert report.counts.conversations_merged == 2
    assert [(r.row, r.field) for r in report.rejections] == [(4, "咨询时间")]
    with engine.connect() as conn:
        rows = conn.execute(select(Conversation.customer, Conversation.category, Conversation.csat, Conversation.team)
                            .order_by(Conversation.started_at)).all()
    assert [tuple(r) for r in rows] == [("jd_user01", "产品/尺码咨询", 5, "售前"), ("jd_小张88", "赠品/物流", 2, "售后"),
                                        ("jd_user01", None, None, None)]
