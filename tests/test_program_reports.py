"""The QA program's exports with the current filters: per-conversation report and reviews with criteria, as CSV
and Excel that Excel opens safely (no formulas, personal data masked)."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from qa.analytics.exports import frame_csv, frames_excel
from qa.analytics.filters import Filters
from qa.models import Conversation
from qa.program import reviews, store
from qa.program.reports import conversation_report, review_report
from qa.program.scorecard import Criterion, Rating, Scorecard, Section
from tests.helpers import read
from tests.seed import seed_small

CARD = Scorecard("售后", (Section("a", "处理", (
    Criterion("ok", "方案正确", weight=3), Criterion("polite", "礼貌", scale="rating"))),))


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_small(engine)
    vid = store.create_scorecard(engine, CARD, "陈经理").version_id
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id == "tm-3"))
    reviews.save_review(engine, cid, vid, {"ok": Rating(0), "polite": Rating(3)}, "王质检",
                        comment="=HYPERLINK(\"http://x\") 顾客电话 13812345678")
    reviews.save_review(engine, cid, vid, {"ok": Rating(1), "polite": Rating(5)}, "李质检")
    return engine


def test_conversation_report_follows_the_filters(db: Engine) -> None:
    df = read(db, conversation_report, Filters(platforms=("天猫",)))
    assert df["会话号"].tolist() == ["tm-1", "tm-2", "tm-3", "tm-4"]
    tm3 = df.set_index("会话号").loc["tm-3"]
    assert (tm3["坐席"], tm3["经手坐席"], tm3["组"], tm3["分类"], tm3["CSAT"]) == ("阿杰", "阿杰", "售后", "退货", 1)
    assert tm3["首次响应（秒）"] == 400 and tm3["不满风险"] == pytest.approx(0.8)
    assert tm3["处理时长（分钟）"] == pytest.approx((400 + 80) / 60, abs=0.05)  # first to last message
    assert tm3["复核次数"] == 2 and tm3["复核得分"] == pytest.approx((12.5 + 100) / 2)
    assert df.set_index("会话号").loc["tm-1", "复核次数"] == 0
    assert read(db, conversation_report, Filters(start=date(2026, 11, 13)))["会话号"].tolist() == ["dy-2"]


def test_review_report_one_row_per_criterion_with_labels(db: Engine) -> None:
    df = read(db, review_report, Filters())
    assert len(df) == 4
    assert sorted(df["评分项"].unique()) == ["方案正确", "礼貌"]
    mine = df[df["复核人"] == "王质检"].set_index("评分项")
    assert mine.loc["方案正确", "评分"] == 0 and mine.loc["礼貌", "评分"] == 3
    assert set(mine["得分"]) == {12.5} and set(df["评分表"]) == {"售后 v1"}
    assert read(db, review_report, Filters(platforms=("京东",))).empty


def test_files_are_safe_to_open(db: Engine) -> None:
    df = read(db, review_report, Filters())
    text = frame_csv(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "13812345678" not in text and "138****5678" in text
    sheet = load_workbook(io.BytesIO(frames_excel({"复核明细": df}))).active
    comments = [row[12] for row in sheet.iter_rows(min_row=2, values_only=True) if row[12]]
    assert comments and all(c.startswith("'=HYPERLINK") and "138****5678" in c for c in comments)
    assert [c.value for c in sheet[1]] == list(df.columns)
    back = pd.read_csv(io.BytesIO(frame_csv(read(db, conversation_report, Filters()))), encoding="utf-8-sig")
    assert len(back) == 8
