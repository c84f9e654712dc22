"""The huifang command: exact output users read and exit codes."""

import csv
import io
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from qa.cli import main
from qa.db import get_engine
from qa.models import Annotation, Conversation, ConversationScore
from qa.review.users import get_or_create_user
from tests.helpers import conv, jsonl, write


def test_import_prints_report_and_rejections(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    path = write(tmp_path, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None))) + b"{oops\n")
    assert main(["--db", db, "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a.jsonl（JSONL 会话）： 新增会话 1，合并 0，已存在未变 0，新增消息 1 拒绝 1 行" in out
    assert "拒绝：a.jsonl 第 2 行: 不是有效的 JSON" in out


def test_import_unreadable_file_exits_nonzero(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    path = write(tmp_path, "x.csv", b"a,b\n1,2\n")
    assert main(["--db", db, "import", str(path), str(tmp_path / "missing.csv")]) == 1
    err = capsys.readouterr().err
    assert "错误：x.csv: 无法识别的表格" in err
    assert "错误：找不到文件" in err


def test_export_annotations_csv(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    main(["--db", db, "import", str(write(tmp_path, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None)))))])
    engine = get_engine(db)
    uid = get_or_create_user(engine, "王质检")
    with engine.begin() as conn:
        cid = conn.scalar(select(Conversation.id))
        t = datetime(2026, 11, 20, 10, 0)
        conn.execute(insert(Annotation).values(conversation_id=cid, reviewer_id=uid, verdict="不合格",
                                               comment="首响太慢", created_at=t, updated_at=t))
    out = tmp_path / "ann.csv"
    assert main(["--db", db, "export", "annotations", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["conversation_id"], r["reviewer"], r["verdict"], r["comment"]) for r in rows] == [
        ("c1", "王质检", "不合格", "首响太慢")]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"点我\")", "+86 138", "-1", "@SUM(A1)", "\t=1"])
def test_exported_cells_never_run_as_formulas(tmp_path, text):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    main(["--db", db, "import", str(write(tmp_path, "a.jsonl", jsonl(conv(text, ("customer", "在吗", None)))))])
    engine = get_engine(db)
    uid = get_or_create_user(engine, "王质检")
    with engine.begin() as conn:
        t = datetime(2026, 11, 20, 10, 0)
        cid = conn.scalar(select(Conversation.id))
        conn.execute(insert(Annotation).values(conversation_id=cid, reviewer_id=uid, comment=text, created_at=t,
                                               updated_at=t))
        conn.execute(insert(ConversationScore).values(
            conversation_id=cid, model_version="t", content_hash="h", scored_at=t, dissatisfaction_risk=0.5,
            tone_risk=0.1, relevance=0.8, replies=0, replies_in_sla=0, unanswered_at_end=1, category=text,
            category_source="model", rule_hits=0, explanation=text))
    out = tmp_path / "ann.csv"
    assert main(["--db", db, "export", "annotations", "--out", str(out)]) == 0
    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    assert row["comment"] == "'" + text and row["conversation_id"] == "'" + text.strip()
    assert main(["--db", db, "export", "scores", "--out", str(out)]) == 0
    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    assert row["conversation_id"] == "'" + text.strip() and row["category"] == "'" + text


def test_score_file_writes_conversation_and_message_rows(tmp_path, capsys):
    data = jsonl(
        conv("c1", ("customer", "我的快递怎么还没到", "2026-11-11 10:00:00"),
             ("agent", "亲，物流显示明天送到哦", "2026-11-11 10:04:00"), platform="天猫"),
        conv("c2", ("customer", "开发票", None), ("agent", "好的亲，请提供抬头", None)),
    ) + b"{broken\n"
    src = write(tmp_path, "in.jsonl", data)
    out = tmp_path / "conv.csv"
    assert main(["score-file", str(src), "--out", str(out)]) == 0
    assert "已评分 2 个会话" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["conversation_id"] for r in rows] == ["c1", "c2"]
    assert rows[0]["first_response_s"] == "240.0" and rows[1]["first_response_s"] == ""
    assert all(0 <= float(r["dissatisfaction_risk"]) <= 1 and r["category"] for r in rows)

    out_m = tmp_path / "msg.csv"
    assert main(["score-file", str(src), "--out", str(out_m), "--level", "message"]) == 0
    msgs = list(csv.DictReader(io.StringIO(out_m.read_text(encoding="utf-8-sig"))))
    assert [(m["conversation_id"], m["seq"], m["role"]) for m in msgs] == [
        ("c1", "0", "customer"), ("c1", "1", "agent"), ("c2", "0", "customer"), ("c2", "1", "agent")]
    assert msgs[0]["sentiment_neg"] and msgs[0]["tone_risk"] == "" and msgs[1]["tone_risk"] and msgs[1]["relevance"]
    assert msgs[1]["wait_s"] == "240.0" and msgs[3]["wait_s"] == ""


def test_export_scores_csv(tmp_path):
    from tests.seed import seed_small

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    seed_small(get_engine(db))
    out = tmp_path / "scores.csv"
    assert main(["--db", db, "export", "scores", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 8
    tm4 = next(r for r in rows if r["conversation_id"] == "tm-4")
    assert (tm4["platform"], tm4["agent"], tm4["category"], float(tm4["dissatisfaction_risk"])) == (
        "天猫", "阿杰", "退货", 0.9)


def test_export_conversation_report_csv_and_excel(tmp_path, capsys):
    from openpyxl import load_workbook

    from tests.seed import seed_small

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    seed_small(get_engine(db))
    out = tmp_path / "report.csv"
    assert main(["--db", db, "export", "conversations", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["会话号"] for r in rows][:2] == ["tm-1", "tm-2"] and len(rows) == 8
    assert "已导出 8 行" in capsys.readouterr().err
    xlsx = tmp_path / "reviews.xlsx"
    assert main(["--db", db, "export", "reviews", "--out", str(xlsx)]) == 0
    assert next(load_workbook(xlsx).active.iter_rows(max_row=1, values_only=True))[:3] == ("复核号", "会话号", "坐席")


def test_alerts_after_import_are_printed(tmp_path, capsys):
    from qa.program.alerts import AlertRule, add_rule
    from tests.seed import seed_small

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = get_engine(db)
    seed_small(engine)
    add_rule(engine, AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3, min_volume=1),
             "陈经理")
    path = write(tmp_path, "a.jsonl", jsonl(conv("c1", ("customer", "在吗", None))))
    assert main(["--db", db, "import", str(path)]) == 0
    assert "预警：【退货不满】分类 退货 的高风险会话占比近 7 天为 100.0%，高于预警线 30.0%（2 个已评分会话）" in \
        capsys.readouterr().out
