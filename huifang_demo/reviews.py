"""Demo product reviews (评价): a Tmall-style review export, GBK CSV as the seller back office gives it.

Some buyers who chatted with service review their order (linked by its order id), many more never chatted; those
whose chat was about a return or exchange, or who left a low CSAT, review badly more often. One product
(``WORSENING``) starts shipping with loose threads in the last four weeks, so "what got worse" has something true
to find. Reviews draw on their own random stream, so adding them changed none of the other demo files.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, time, timedelta
from typing import TextIO

from huifang_demo.phrases import CATALOGUE, DEFECTS, SHOPS, Product
from qa.ingest.records import ConversationRecord

__all__ = ["REVIEWS_FILE", "REVIEW_COLUMNS", "WORSENING", "ReviewWriter"]

REVIEWS_FILE = "product_reviews.csv"
REVIEW_COLUMNS = ("订单编号", "宝贝名称", "SKU信息", "评分", "初次评价", "追评", "商家回复", "评价时间", "平台", "店铺")
WORSENING = "加绒连帽卫衣"
_LINKED_SHARE = 0.35  # of conversations about an order, how many the buyer reviews afterwards
_UNLINKED_PER_CONVERSATION = 1.2  # reviews from buyers who never chatted, per conversation
_NEGATIVE = {"after_sales": 0.55, "low_csat": 0.7, "other": 0.12, "silent": 0.07}

_POSITIVE = ("质量很好，穿着很舒服", "物流很快，第二天就到了", "客服态度很好，耐心解答", "性价比高，会回购的",
             "和图片一样，很满意", "做工精细，没有线头", "尺码标准，按平时的码买就行", "包装很严实，很好用",
             "颜色很正，好评", "第二次买了，一如既往的好")
_NEGATIVE_TEXTS = (
    ("物流太慢了，等了一个多星期才到", "发货慢，催了好几次", "快递迟迟不发货，物流慢"),
    ("外包装破损，盒子都压坏了", "收到的时候外包装破了，东西摔坏了"),
    ("客服态度差，问了半天爱答不理", "找客服一直不回复，体验很差", "客服敷衍，问题没解决"),
    ("尺码偏小，建议拍大一码", "尺码不对，太大了", "码数偏大，穿着不合身"),
    ("退款拖了好久才到账", "申请退货一直不处理，不给退"),
    ("色差太大，和图片不一样", "与描述不符，感觉不是正品"),
)
_FOLLOW_BAD = ("用了一周就坏了，质量不行", "洗了一次就起球了", "穿了几天就开线了")
_FOLLOW_GOOD = ("用了一段时间了，还是很好", "回购了，家人也很喜欢")
_REPLY = "亲，非常抱歉给您带来不好的体验，已安排专人联系您处理，请留意来电~"
_THANKS = "感谢亲的认可，期待您再次光临~"


class ReviewWriter:
    """Writes a review row for some of the conversations it is shown, and reviews by buyers who never chatted."""

    def __init__(self, out: TextIO, seed: int, end: date) -> None:
        self.rng = random.Random(f"reviews-{seed}")
        self.rows = csv.writer(out)
        self.rows.writerow(REVIEW_COLUMNS)
        self.end = end
        self.worse_from = end - timedelta(days=27)
        self.reviews = self.linked = 0

    def add(self, c: ConversationRecord) -> None:
        """Maybe a review of this conversation's order, and some unlinked reviews around the same day."""
        rng = self.rng
        when = next((m.ts for m in reversed(c.messages) if m.ts), None)
        if when is None or not c.platform:
            return
        if c.order_id and rng.random() < _LINKED_SHARE:
            mood = "after_sales" if c.category in ("退货", "换货") else ("low_csat" if (c.csat or 5) <= 2 else "other")
            self._write(c.order_id, c.platform, when, mood)
            self.linked += 1
        for _ in range(int(_UNLINKED_PER_CONVERSATION) + (rng.random() < _UNLINKED_PER_CONVERSATION % 1)):
            order = str(rng.randrange(10 ** 15, 10 ** 16))
            self._write(order, c.platform, when + timedelta(hours=rng.randrange(-72, 72)), "silent")

    def _write(self, order_id: str, platform: str, when: datetime, mood: str) -> None:
        rng = self.rng
        product = rng.choice(CATALOGUE)
        day = min((when + timedelta(days=rng.randrange(2, 9))).date(), self.end)  # the export is taken at the end
        reviewed = datetime.combine(day, time(rng.randrange(8, 24), rng.randrange(60), rng.randrange(60)))
        p_negative = _NEGATIVE[mood]
        worsening = product.name == WORSENING and reviewed.date() >= self.worse_from
        if worsening:
            p_negative = min(0.9, p_negative + 0.45)
        negative = rng.random() < p_negative
        if negative:
            rating = rng.choice((1, 1, 2, 2, 3))
            text = "线头特别多，做工粗糙" if worsening and rng.random() < 0.7 else self._complaint(product)
        else:
            rating, text = rng.choice((5, 5, 5, 5, 4)), rng.choice(_POSITIVE)
        follow_up = ""
        if rng.random() < 0.15:
            follow_up = rng.choice(_FOLLOW_BAD if negative or rng.random() < 0.2 else _FOLLOW_GOOD)
        reply = _REPLY if negative and rng.random() < 0.6 else (_THANKS if rng.random() < 0.1 else "")
        sku = "；".join(filter(None, (f"颜色分类:{rng.choice(product.colours)}",
                                      f"尺码:{rng.choice(product.sizes)}" if product.sizes else "")))
        self.rows.writerow((order_id, product.name, sku, rating, text, follow_up, reply,
                            reviewed.isoformat(" "), platform, SHOPS.get(platform, "")))
        self.reviews += 1

    def _complaint(self, product: Product) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            return f"收到就{rng.choice(DEFECTS[product.kind])}，质量差"
        return rng.choice(rng.choice(_NEGATIVE_TEXTS))
