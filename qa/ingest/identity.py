"""Which conversation a record is: its platform family and source id, and what contradicts that within one file.

Tmall and Taobao shops are served from one workbench (千牛) and their exports cannot tell the two apart reliably
(``canonical_platform`` guesses from the shop name), so the same conversation arrives under either name: they are
one family, and a conversation's identity is (family, source id). A record with no platform is the stored
conversation of that id when there is exactly one (``qa.ingest.loader``). Within one file, the same id given
two platforms, shops or CSATs is a contradiction the user must see (issue #12), not a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from sys import intern
from typing import NamedTuple, TypeVar

from qa.ingest.normalize import canonical_platform
from qa.ingest.records import Rejection

__all__ = ["FAMILIES", "Claims", "Contradiction", "platform_family", "contradiction_rejection"]

FAMILIES = {"天猫": "淘宝"}
"""Platforms that share conversation ids with another, by the name that stands for the family in keys."""


def platform_family(name: str | None, shop: str | None = None) -> str | None:
    """The family of a platform name as exports write it (天猫 and 淘宝 → 淘宝), or None when there is none."""
    platform = canonical_platform(name, shop)
    return FAMILIES.get(platform, platform) if platform else None


class Claims(NamedTuple):
    """What the records of one conversation in a file said so far about its platform, shop and CSAT, and where.

    A tuple per conversation id held for a whole file, so kept small: each value with the row that first gave it.
    """

    platform: str | None = None
    platform_row: int | None = None
    shop: str | None = None
    shop_row: int | None = None
    csat: int | None = None
    csat_row: int | None = None

    def said(self, row: int | None, platform: str | None, shop: str | None, csat: int | None
             ) -> tuple[Claims, list[Contradiction]]:
        """These claims with one more record's; or unchanged, with what that record contradicts."""
        found = []
        if platform and self.platform and platform_family(platform) != platform_family(self.platform):
            found.append(Contradiction("platform", self.platform, self.platform_row, platform))
        if shop and self.shop and shop != self.shop:
            found.append(Contradiction("shop", self.shop, self.shop_row, shop))
        if csat is not None and self.csat is not None and csat != self.csat:
            found.append(Contradiction("csat", self.csat, self.csat_row, csat))
        if found:
            return self, found
        # interned: a file names a few platforms and shops, and these tuples outlive its records
        return Claims(*_first(self.platform, self.platform_row, platform and intern(platform), row),
                      *_first(self.shop, self.shop_row, shop and intern(shop), row),
                      *_first(self.csat, self.csat_row, csat, row)), []


_V = TypeVar("_V", str | None, int | None)


def _first(old: _V, old_row: int | None, new: _V, row: int | None) -> tuple[_V, int | None]:
    """The value said first and its row: ``old`` if there was one, else ``new`` (no row when it is none either)."""
    if old is not None and old != "":
        return old, old_row
    return (new, row) if new is not None and new != "" else (None, None)


class Contradiction(NamedTuple):
    """A field a record gives otherwise than an earlier record of the same conversation did."""

    field: str
    first: object
    first_row: int | None
    value: object


_LABELS = {"platform": "平台", "shop": "店铺", "csat": "满意度"}


def contradiction_rejection(file: str, row: int | None, conv_id: str, found: Sequence[Contradiction]) -> Rejection:
    """The report of a row or line that contradicts an earlier one of the same conversation; it is not imported."""
    def where(c: Contradiction) -> str:
        return "前面" if c.first_row is None else f"第 {c.first_row} 行"

    what = "；".join(f"{_LABELS[c.field]}此处为“{str(c.value)[:50]}”，{where(c)}为“{str(c.first)[:50]}”" for c in found)
    return Rejection(file, row, "、".join(_LABELS[c.field] for c in found),
                     f"同一会话 {conv_id[:50]} 的信息前后矛盾：{what}。此行未导入，请核对后改正再导入", conv_id)
