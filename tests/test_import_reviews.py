"""Product-review exports (评价): GBK CSV and XLSX, each marketplace's headers, bad rows, re-import, order-id link."""

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from qa.ingest.formats.reviews import parse_rating
from qa.models import ProductReview, TagAssignment
from qa.program.tag_store import current_tree, tags_of
from tests.helpers import conv, import_bytes, jsonl

TMALL = """订单编号,宝贝名称,SKU信息,评价结果,初次评价,追评,商家回复,评价时间,平台,店铺
4001,连帽卫衣,颜色:黑;尺码:L,差评,物流太慢了，等了好久,收到了但是线头很多,抱歉亲,2026-11-12 10:00:00,天猫,某某旗舰店
4002,连帽卫衣,颜色:白;尺码:M,好评,很好看很舒服,,,2026-11-13 11:00:00,天猫,某某旗舰店
4003,连帽卫衣,颜色:白;尺码:M,五颗心,不错,,,2026-11-13 12:00:00,天猫,某某旗舰店
4004,连帽卫衣,颜色:白;尺码:M,5,不错,,,昨天下午,天猫,某某旗舰店
4005,连帽卫衣,颜色:白;尺码:M,,,,,2026-11-14 09:00:00,天猫,某某旗舰店
4006,连帽卫衣,颜色:白;尺码:M,4,还行,,,,天猫,某某旗舰店
"""

JD = """订单号,商品名称,商品编号,评分,评价内容,追评内容,卖家回复,评价时间
5001,保温杯,100012,1,外包装破损，杯子摔坏了,,,2026/11/15 08:30
5002,保温杯,100012,5星,保温效果好,,,2026/11/15 09:30
"""

DOUYIN = [["订单ID", "商品", "商品评分", "评价内容", "商家回复", "评价时间"],
          ["6001", "蓝牙耳机", 2, "客服态度差，不回复", "已处理", "2026-11-16 20:00:00"],
          ["6002", "蓝牙耳机", "★★★★★", "音质很好", None, "2026-11-16 21:00:00"]]


def _xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _reviews(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(
            ProductReview.order_id, ProductReview.product, ProductReview.sku, ProductReview.rating,
            ProductReview.text, ProductReview.follow_up, ProductReview.shop_reply).order_by(ProductReview.id))]


@pytest.mark.parametrize(("value", "rating"), [("5", 5), ("4.0", 4), ("3星", 3), ("五星", 5), ("★★☆☆☆", 2),
                                               ("差评", 1), ("中评", 3), ("", None)])
def test_rating_spellings(value, rating):
    assert parse_rating(value) == rating


def test_tmall_gbk_csv_keeps_good_rows_and_names_each_bad_one(engine):
    report = import_bytes(engine, "评价.csv", TMALL.encode("gbk"))
    assert report.format == "csv_product_reviews"
    assert (report.reviews.added, report.rejected) == (2, 4)
    from qa.jobs.status import past_imports
    from tests.helpers import read

    assert read(engine, past_imports)[["reviews_added", "rejected"]].values.tolist() == [[2, 4]]
    assert [str(r) for r in report.rejections] == [
        "评价.csv 第 4 行: [评价结果] 无法识别的评分“五颗心”（应为 1–5、五星、★★★★★ 或 好评/中评/差评）；该行未导入",
        "评价.csv 第 5 行: [评价时间] 无法识别的评价时间“昨天下午”（应为 2026-10-07 10:00:00 这类格式）；该行未导入",
        "评价.csv 第 6 行: [初次评价] 评价内容和评分都为空；该行未导入",
        "评价.csv 第 7 行: [评价时间] 评价时间为空；该行未导入",
    ]
    assert _reviews(engine) == [
        ("4001", "连帽卫衣", "颜色:黑;尺码:L", 1, "物流太慢了，等了好久", "收到了但是线头很多", "抱歉亲"),
        ("4002", "连帽卫衣", "颜色:白;尺码:M", 5, "很好看很舒服", "", ""),
    ]
    with engine.connect() as conn:
        tree = current_tree(conn)
        tagged = tags_of(conn, "review", [1, 2], tree)
    assert [tree.path(t.tag_id) for t in tagged[1]] == ["产品质量 › 做工", "物流 › 时效"]  # follow-up counts too
    assert tagged[2] == [] and all(t.source == "rule" for t in tagged[1])


def test_jd_csv_and_douyin_xlsx_headers(engine):
    assert import_bytes(engine, "jd.csv", JD.encode("gbk")).reviews.added == 2
    report = import_bytes(engine, "douyin.xlsx", _xlsx(DOUYIN))
    assert (report.format, report.reviews.added, report.rejected) == ("xlsx_product_reviews", 2, 0)
    assert [r[:5] for r in _reviews(engine)] == [
        ("5001", "保温杯", "100012", 1, "外包装破损，杯子摔坏了"), ("5002", "保温杯", "100012", 5, "保温效果好"),
        ("6001", "蓝牙耳机", None, 2, "客服态度差，不回复"), ("6002", "蓝牙耳机", None, 5, "音质很好")]


def test_reimport_adds_nothing_and_a_later_export_fills_in_the_reply(engine):
    import_bytes(engine, "jd.csv", JD.encode("gbk"))
    again = import_bytes(engine, "jd-again.csv", JD.encode("utf-8-sig"))
    assert (again.reviews.added, again.reviews.unchanged) == (0, 2)
    later = JD.replace("摔坏了,,,", "摔坏了,,已补发新杯子,")
    report = import_bytes(engine, "jd-later.csv", later.encode("gbk"))
    assert (report.reviews.added, report.reviews.updated, report.reviews.unchanged) == (0, 1, 1)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ProductReview)) == 2
        assert conn.scalar(select(func.count()).select_from(TagAssignment)) == 1  # 破损, once
    assert _reviews(engine)[0][6] == "已补发新杯子"


def test_reviews_link_to_conversations_by_order_id(engine):
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "杯子摔坏了", None), order_id="5001")))
    import_bytes(engine, "jd.csv", JD.encode("gbk"))
    from qa.models import Conversation

    with engine.connect() as conn:
        linked = conn.execute(select(ProductReview.text, Conversation.external_id).join(
            Conversation, Conversation.order_id == ProductReview.order_id)).all()
    assert [tuple(r) for r in linked] == [("外包装破损，杯子摔坏了", "c1")]


def test_a_message_table_is_not_taken_for_reviews(engine):
    data = "会话ID,发送时间,发送方,消息内容,评价\ns1,2026-11-11 10:00:00,顾客,评价内容在哪写,满意\n"
    assert import_bytes(engine, "m.csv", data.encode()).format == "csv_messages"


def test_scoring_run_gives_reviews_sentiment_and_conversations_tags(sqlite_engine):
    from qa.jobs.scoring import score_database
    from qa.models import Conversation

    engine = sqlite_engine
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "快递太慢了，外包装破损", None),
                                               ("agent", "抱歉亲，马上为您补发", None), order_id="5001")))
    import_bytes(engine, "jd.csv", JD.encode("gbk"))
    report = score_database(engine, n_jobs=1)
    assert report.reviews == 2
    with engine.connect() as conn:
        neg = dict(conn.execute(select(ProductReview.order_id, ProductReview.sentiment_neg)).all())
        tree = current_tree(conn)
        cid = conn.scalar(select(Conversation.id))
        conv_tags = {tree.path(t.tag_id) for t in tags_of(conn, "conversation", [cid], tree)[cid]}
    assert neg["5001"] > 0.5 > neg["5002"]
    assert {"物流 › 破损"} <= conv_tags
    assert score_database(engine, n_jobs=1).reviews == 0  # scored once per model version


def test_cli_imports_a_review_export(tmp_path, capsys):
    from qa.cli import main
    from tests.helpers import write

    path = write(tmp_path, "评价.csv", TMALL.encode("gbk"))
    assert main(["--db", f"sqlite:///{tmp_path / 'cli.db'}", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "评价.csv（CSV 商品评价表）： 新增商品评价 2，补充追评/回复 0，已存在未变 0 拒绝 4 行" in out
    assert "拒绝：评价.csv 第 7 行: [评价时间] 评价时间为空；该行未导入" in out
