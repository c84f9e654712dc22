"""Personal data in message text — mobile numbers, ID numbers, bank cards, addresses, e-mail — masked.

A QA archive is read by reviewers, trainers and managers who need what was said, not the customer's phone number
or front door; and exports leave the building. So text is masked where every import format meets (staging,
before content hashes), and again in every export. Masks keep the shape a reader expects (``138****5678``,
``浙江省杭州市西湖区****``) so the conversation still reads.

What is deliberately *not* masked, because QA needs it and it identifies no person: order ids, tracking numbers
(``SF1234567890123``), prices, dates, sizes (``42号``), landline and hotline numbers (shops' own 400 numbers).
Every rule errs towards leaving an order id alone: a number written right after 订单号/单号/运单号 is never
masked, an 18-digit number is an ID number only with a real birth date and a valid check digit, and a 16–19
digit number is a bank card only with a valid Luhn digit and a card-issuer prefix (Taobao and Douyin order ids are
19 digits too, and one in ten passes Luhn alone).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from datetime import date
from itertools import accumulate

from qa.errors import HuifangError

__all__ = ["KINDS", "ALL_KINDS", "SETTING", "PrivacySettingError", "parse_kinds", "import_kinds", "mask_text",
           "mask_texts", "comparable"]

KINDS: dict[str, str] = {"phone": "手机号", "id_card": "身份证号", "bank_card": "银行卡号", "address": "地址",
                         "email": "邮箱"}
"""Every kind of personal data masked, with the name users see."""
ALL_KINDS = frozenset(KINDS)
SETTING = "HUIFANG_MASK"
"""The environment variable that chooses what an import masks: all (default), off, or kinds like phone,email."""

_OFF = frozenset({"off", "none", "no", "false", "0", "关", "关闭", "不脱敏"})
_ON = frozenset({"", "all", "on", "yes", "true", "1", "全部"})


class PrivacySettingError(HuifangError):
    """A masking setting that names no known kind of personal data."""


def parse_kinds(value: str | None) -> frozenset[str]:
    """The kinds a setting names: ``all``/empty → every kind, ``off`` → none, else a comma list of kinds.

    Kinds may be given by code (``phone``) or by their Chinese name (``手机号``).
    """
    text = (value or "").strip().lower()
    if text in _ON:
        return ALL_KINDS
    if text in _OFF:
        return frozenset()
    by_name = {**{k: k for k in KINDS}, **{v: k for k, v in KINDS.items()}}
    words = [w.strip() for w in re.split(r"[,，、\s]+", text) if w.strip()]
    unknown = [w for w in words if w not in by_name]
    if unknown:
        choices = "、".join(f"{k}（{v}）" for k, v in KINDS.items())
        raise PrivacySettingError(f"未知的脱敏类型“{'、'.join(unknown)}”：可选 all、off 或 {choices}，用逗号分隔")
    return frozenset(by_name[w] for w in words)


def import_kinds() -> frozenset[str]:
    """What an import masks, from ``HUIFANG_MASK`` (every kind when unset).

    Read from the environment so that the setting reaches a parse worker process as it is (``huifang import
    --mask`` sets it for its run).
    """
    return parse_kinds(os.environ.get(SETTING))


# -- the rules ---------------------------------------------------------------------------------------------------
# Numbers are ASCII digits (what input methods type); a number glued to letters or digits is part of an id
# (SF1381234567812, a longer order number), and one after / = . _ is part of a link (item.jd.com/14569607426.html,
# a product number): neither is ever a match.
_ORDER_CONTEXT = re.compile(
    r"(?:订单|单号|订单号|订单编号|运单|运单号|快递单号?|物流单号?|工单号?|售后单号?|退款单号?|交易号|流水号|"
    r"order(?:\s*(?:id|no\.?|number))?)\s*(?:号码|号|编号)?\s*(?:是|为|[:：#])?\s*$", re.IGNORECASE)
_SEP = r"[ \-]?"

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_ID_CARD = re.compile(rf"(?<![0-9A-Za-z/=._])([1-9]\d{{5}}){_SEP}((?:19|20)\d{{2}})(\d{{2}})(\d{{2}}){_SEP}(\d{{3}}[0-9Xx])"
                      r"(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z/=._])(\d(?:[ \-]?\d){15,18})(?![0-9])")
_PHONE = re.compile(rf"(?<![0-9A-Za-z+/=._])((?:\+|00)?86{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?![0-9])")

_CN_NUM = "一二三四五六七八九十百零〇两"
_ROAD_NUMBER = re.compile(rf"(?<=[\u4e00-\u9fff])(?:路|街|大道|大街|巷|弄|胡同)\s?([0-9{_CN_NUM}]+(?:[-－][0-9]+)?)\s?[号弄]")
_BUILDING = re.compile(r"(?<![0-9A-Za-z第])(\d{1,4}|[A-Za-z]\d{0,3})\s?(?:号楼|号院|栋|幢|单元)|(?<![0-9])(\d{2,5})\s?室")
_UNIT = re.compile(rf"[0-9A-Za-z{_CN_NUM}]+\s?(?:号楼|号院|号库|号铺|号|栋|幢|单元|室|楼|层|座|户|铺)(?:[0-9A-Za-z]+(?![号栋幢单元室楼层座户铺]))?")
_ADMIN = re.compile(r"(?:省|自治区|(?<![超菜夜集门股])市|自治州|(?<![小社园校景厂矿片营商学])区|县|旗|盟)")
_ADDRESS_RUN = re.compile(r"[\u4e00-\u9fff0-9A-Za-z#\-－—()（） ]+")
_ADMIN_REACH = 16  # most characters between a district and the house number it holds ("三墩镇西园八路")
_UNIT_GAP = 12  # most characters of name ("华星时代广场") between two parts of one address

_CANDIDATE = re.compile(rf"@|\d[\d \-]{{9,}}|[0-9A-Za-z{_CN_NUM}]\s?(?:号|栋|幢|单元|室)")
"""A cheap first look: text matching none of these holds nothing any rule masks (most chat lines)."""


def _order_number(text: str, start: int) -> bool:
    """Whether the number starting at ``start`` is written as an order, tracking or ticket number."""
    return _ORDER_CONTEXT.search(text, max(0, start - 12), start) is not None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(r"62\d{14,17}|60\d{14,17}|9\d{18}|4\d{15}|5[1-5]\d{14}|2[2-7]\d{14}|35\d{14}")
"""Issuer prefixes and lengths of the cards Chinese customers give: UnionPay 62/60 (16–19), old domestic debit 9
(19), Visa 4, Mastercard 51–55 and 22–27, JCB 35 (16)."""


def _id_checksum_ok(id17: str, check: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(id17, weights)) % 11] == check.upper()


def _mask_email(text: str) -> str:
    return _EMAIL.sub(lambda m: f"{m[1][0]}***@{m[2]}", text)


def _mask_id_card(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        region, year, month, day, tail = m.groups()
        try:
            born = date(int(year), int(month), int(day))
        except ValueError:
            return m[0]
        if born > date.today() or not _id_checksum_ok(region + year + month + day + tail[:3], tail[3]) \
                or _order_number(text, m.start()):
            return m[0]
        return f"{region[:3]}{'*' * 11}{tail[-4:]}"
    return _ID_CARD.sub(one, text)


def _mask_bank_card(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        digits = re.sub(r"[ \-]", "", m[1])
        if not (_CARD_PREFIX.fullmatch(digits) and _luhn(digits)) or _order_number(text, m.start()):
            return m[0]
        return f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}"
    return _CARD.sub(one, text)


def _mask_phone(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        prefix, head, _middle, tail = m.groups()
        if _order_number(text, m.start()):
            return m[0]
        return f"{prefix or ''}{head}****{tail}"
    return _PHONE.sub(one, text)


def _mask_address(text: str) -> str:
    """The detailed part of an address — street, house number, building, room — as ``****``.

    An address is a run of text without punctuation that holds a house number (文三路478号) or a building, unit or
    room (3栋, 2单元, 1203室). What comes up to its last administrative unit (省, 市, 区, 县) is kept, so the city
    still reads; without one, the road or estate name is kept and the numbers from there on are masked. The mask
    ends after the last unit of the address (1203室, 501), so what the customer writes after it stays.
    """
    numbers = sorted((m.start(1) if m[1] is not None else m.start(2), m.start())
                     for pattern in (_ROAD_NUMBER, _BUILDING) for m in pattern.finditer(text))
    if not numbers:  # most texts the first look lets through: a date (3号), a size (42号)
        return text
    out: list[str] = []
    done = 0
    for run in _ADDRESS_RUN.finditer(text):
        inside = [(number, at) for number, at in numbers if run.start() <= at < run.end()]
        if not inside:
            continue
        number_at, at = inside[0]
        admin = [m.end() for m in _ADMIN.finditer(text, max(run.start(), at - _ADMIN_REACH), at)]
        begin = admin[-1] if admin else number_at
        while begin < run.end() and text[begin] == " ":
            begin += 1
        end = begin
        for unit in _UNIT.finditer(text, begin, run.end()):
            if unit.start() - end > _UNIT_GAP and end > begin:
                break
            end = unit.end()
        if end > begin:
            out += [text[done:begin], "****"]
            done = end
    return "".join(out) + text[done:] if out else text


_RULES: tuple[tuple[str, Callable[[str], str]], ...] = (
    # e-mail first (13812345678@163.com is an address, not a phone), ID numbers before cards (18 digits both)
    ("email", _mask_email), ("id_card", _mask_id_card), ("bank_card", _mask_bank_card), ("phone", _mask_phone),
    ("address", _mask_address),
)


def mask_text(text: str, kinds: Collection[str] = ALL_KINDS) -> str:
    """``text`` with the personal data of ``kinds`` masked; idempotent (masked text is never masked again)."""
    if not kinds or not text or _CANDIDATE.search(text) is None:
        return text
    return _apply(text, kinds)


def _apply(text: str, kinds: Collection[str]) -> str:
    for kind, rule in _RULES:
        if kind in kinds:
            text = rule(text)
    return text


def mask_texts(texts: Sequence[str], kinds: Collection[str] = ALL_KINDS) -> list[str]:
    """``mask_text`` of each text, with one scan of them all for the few that may hold personal data.

    The import's hot path: a batch's texts are joined and searched once by ``_CANDIDATE`` (C speed), and only the
    texts it points at go through the rules.
    """
    out = list(texts)
    if not kinds or not out:
        return out
    joined = "\x00".join(out)  # cleaned text holds no NUL, and no rule matches across it
    first = _CANDIDATE.search(joined)
    if first is None:
        return out
    ends = list(accumulate(len(t) + 1 for t in out))
    for i in {bisect_right(ends, m.start()) for m in _CANDIDATE.finditer(joined, first.start())}:
        out[i] = _apply(out[i], kinds)
    return out


def comparable(text: str) -> str:
    """A message's text as it compares with another export of the same message, masked or not: every kind masked.

    The same message imported before masking existed, or with other kinds chosen, is then still the same message.
    """
    return mask_text(text, ALL_KINDS)
