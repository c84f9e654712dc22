"""Product-review exports (评价导出) of Tmall/Taobao, JD and Douyin: one review per row, CSV (often GBK) or XLSX.

Each marketplace names the columns its own way (宝贝名称 / 商品名称, 星级 / 评分 / 评价结果, 初次评价 / 评价内容…);
the alias table below is the one place that knows them. A file is a review export when it has a review-text
column and a rating or product column, and is not a message table (which has 内容/消息内容).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from qa.errors import ImportFormatError
from qa.ingest.formats.base import EXCEL_EXTENSIONS, Format, Sample
from qa.ingest.formats.table import map_columns, table_kind
from qa.ingest.normalize import clean_text, parse_csat, parse_time
from qa.ingest.records import Rejection, ReviewRecord
from qa.ingest.rejections import unexpected

__all__ = ["FORMATS", "REVIEW_COLUMNS", "parse_rating", "parse_review_rows", "review_columns"]

REVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("评价内容", "初次评价", "初评内容", "初次评价内容", "首次评价", "评论内容", "买家评价", "评价详情", "商品评价",
             "宝贝评价", "review", "review_text", "comment"),
    "rating": ("评分", "星级", "评价星级", "商品评分", "宝贝评分", "评价等级", "评价结果", "商品星级", "评分等级", "打分",
               "rating", "stars", "star"),
    "order_id": ("订单号", "订单编号", "订单id", "子订单号", "子订单编号", "主订单号", "父订单号", "order_id", "orderid"),
    "product": ("商品名称", "宝贝名称", "商品标题", "宝贝标题", "商品", "宝贝", "商品名", "product", "product_name"),
    "sku": ("sku", "商品sku", "sku信息", "sku名称", "sku属性", "商品规格", "规格", "宝贝sku", "销售属性", "商品编号", "商品id",
            "宝贝id", "sku_id"),
    "follow_up": ("追评", "追评内容", "追加评价", "追加评论", "追评信息", "follow_up"),
    "shop_reply": ("商家回复", "商家回复内容", "卖家回复", "掌柜回复", "回复内容", "客服回复", "解释", "shop_reply", "reply"),
    "reviewed_at": ("评价时间", "评论时间", "初评时间", "初次评价时间", "评价日期", "创建时间", "时间", "reviewed_at", "date"),
    "platform": ("平台", "渠道", "platform"),
    "shop": ("店铺", "店铺名", "店铺名称", "shop"),
}
_LOOKUP = {alias: key for key, aliases in REVIEW_COLUMNS.items() for alias in aliases}
_STAR_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING = re.compile(r"^([1-5])(?:\.0+)?\s*(?:星|分|颗星)?$")
_NO_TEXT = ("此用户没有填写评价", "此用户没有填写评价。", "用户未填写评价内容", "系统默认好评", "该用户未填写评价内容")


def _key(header: object) -> str:
    return clean_text(header).lower().replace(" ", "").replace("（", "(").split("(")[0]


def review_columns(headers: Sequence[object]) -> dict[str, str]:
    """Map review fields to the file's own header names (first match wins)."""
    found: dict[str, str] = {}
    for h in headers:
        key = _LOOKUP.get(_key(h))
        if key and key not in found:
            found[key] = str(h)
    return found


def parse_rating(value: str) -> int | None:
    """A star rating 1–5 from 5 / 5.0 / 5星 / 五星 / ★★★★☆ / 好评·中评·差评 / 满意…; None when empty.

    Raises ValueError for anything else, so the row is reported rather than counted without its rating.
    """
    s = clean_text(value).replace(" ", "")
    if not s or s in ("-", "—"):
        return None
    if m := _RATING.match(s):
        return int(m.group(1))
    if s.strip("★☆") == "" and "★" in s:
        return s.count("★")
    if len(s) >= 2 and s[0] in _STAR_DIGITS and s[1:] in ("星", "颗星", "分"):
        return _STAR_DIGITS[s[0]]
    try:
        rating = parse_csat(s)
    except ValueError:
        rating = None
    if rating is None:
        raise ValueError(f"无法识别的评分“{s[:20]}”（应为 1–5、五星、★★★★★ 或 好评/中评/差评）")
    return rating


def parse_review_rows(headers: list[str], rows: Iterable[tuple[int, Sequence[str]]], cols: dict[str, str], file: str
                      ) -> Iterator[ReviewRecord | Rejection]:
    """One ReviewRecord per valid row; a row with no time, an unreadable time or rating, or neither text nor
    rating, is reported with its row number and why, and so is a row that raises what no check foresaw."""
    index = {key: headers.index(header) for key, header in cols.items()}
    for row, cells in rows:
        if not any(clean_text(c) for c in cells):
            continue
        try:
            review = _review(row, _cells(index, cells), cols, file)
        except Exception as e:  # one row, not the file (issue #12)
            review = unexpected(file, row, e)
        yield review


def _cells(index: dict[str, int], cells: Sequence[str]) -> Callable[[str], str]:
    """A row's cleaned cell by field ("" for a field the file or the row lacks)."""
    return lambda key: clean_text(cells[index[key]]) if key in index and index[key] < len(cells) else ""


def _review(row: int, cell: Callable[[str], str], cols: dict[str, str], file: str) -> ReviewRecord | Rejection:
    """One review row (``cell`` gives its cleaned cell by field) as a record, or the rejection of the row."""
    text = cell("text")
    if text in _NO_TEXT:
        text = ""
    try:
        rating = parse_rating(cell("rating"))
    except ValueError as e:
        return Rejection(file, row, cols.get("rating"), f"{e}；该行未导入")
    if not text and rating is None:
        return Rejection(file, row, cols.get("text"), "评价内容和评分都为空；该行未导入")
    stamp = cell("reviewed_at")
    try:
        reviewed_at = parse_time(stamp) if stamp else None
    except ValueError:
        return Rejection(file, row, cols.get("reviewed_at"),
                         f"无法识别的评价时间“{stamp[:40]}”（应为 2026-10-07 10:00:00 这类格式）；该行未导入")
    if reviewed_at is None:
        return Rejection(file, row, cols.get("reviewed_at", "评价时间"), "评价时间为空；该行未导入")

    def short(key: str, limit: int) -> str | None:
        return cell(key)[:limit] or None

    return ReviewRecord(
        text=text, reviewed_at=reviewed_at, rating=rating, order_id=short("order_id", 100),
        product=short("product", 300), sku=short("sku", 200), follow_up=cell("follow_up"),
        shop_reply=cell("shop_reply"), platform=short("platform", 50), shop=short("shop", 200), source_row=row)


def _is_review_export(excel: bool) -> Callable[[Sample], bool]:
    def detect(sample: Sample) -> bool:
        if sample.excel != excel:
            return False
        headers = sample.table.headers
        cols = review_columns(headers)
        return ("text" in cols and ("rating" in cols or "product" in cols)
                and table_kind(map_columns(headers)) != "messages")
    return detect


def _parse(sample: Sample) -> Iterator[ReviewRecord | Rejection]:
    table = sample.table
    cols = review_columns(table.headers)
    if "reviewed_at" not in cols:
        raise ImportFormatError(sample.name, "评价表缺少“评价时间”列；请导出含评价时间的评价表后再试。"
                                             f"已识别的列：{'、'.join(cols.values())}")
    return parse_review_rows(table.headers, table.rows, cols, sample.name)


FORMATS = (
    Format("csv_product_reviews", "CSV 商品评价表", (".csv",), _is_review_export(excel=False), _parse),
    Format("xlsx_product_reviews", "Excel 商品评价表", EXCEL_EXTENSIONS, _is_review_export(excel=True), _parse),
)
