"""Store imported product reviews: each once (by ``review_hash``), tagged by the tag tree's keyword rules.

A review's identity is its order, product, time and first text; a later export of the same review, which may
now carry a follow-up (追评) or the shop's reply, fills those in instead of adding it again. Reviews are linked
to conversations and tickets by order id when read (``conversations.order_id``), not here, so a conversation
imported after its review still finds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, select, update

from qa.ingest.loader import Loader
from qa.ingest.normalize import time_stamp
from qa.ingest.records import ReviewRecord
from qa.models import ProductReview
from qa.program.tag_store import current_tree, propose_tags, rule_proposals

__all__ = ["ReviewCounts", "review_hash", "add_reviews"]


@dataclass
class ReviewCounts:
    """What one import did to product reviews."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


def review_hash(r: ReviewRecord) -> str:
    """The review's identity: order, product, SKU, time and first text (not the follow-up or reply, which come later)."""
    parts = (r.order_id or "", r.product or "", r.sku or "", time_stamp(r.reviewed_at), r.text)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def add_reviews(loader: Loader, records: Sequence[ReviewRecord], counts: ReviewCounts) -> None:
    """Insert new reviews (tagging them by keyword rules), fill in follow-ups and replies of known ones."""
    conn = loader.conn
    pr = cast(Table, ProductReview.__table__)
    by_hash = {review_hash(r): r for r in records}
    stored: dict[str, tuple[int, str, str]] = {}
    hashes = list(by_hash)
    for start in range(0, len(hashes), 500):
        stored.update((row.content_hash, (row.id, row.follow_up, row.shop_reply)) for row in conn.execute(
            select(pr.c.content_hash, pr.c.id, pr.c.follow_up, pr.c.shop_reply)
            .where(pr.c.content_hash.in_(hashes[start:start + 500]))))
    new: list[tuple[str, ReviewRecord]] = []
    for digest, r in by_hash.items():
        if digest not in stored:
            new.append((digest, r))
            continue
        review_id, follow_up, reply = stored[digest]
        changes = {k: v for k, v, old in (("follow_up", r.follow_up, follow_up), ("shop_reply", r.shop_reply, reply))
                   if v and v != old}
        if changes:
            conn.execute(update(pr).where(pr.c.id == review_id).values(**changes))
            counts.updated += 1
        else:
            counts.unchanged += 1
    counts.unchanged += len(records) - len(by_hash)  # the same review twice in one file
    if not new:
        return
    rows = []
    for digest, r in new:
        platform_id, shop_id = loader.place(r.platform, r.shop)
        rows.append({"content_hash": digest, "platform_id": platform_id, "shop_id": shop_id, "order_id": r.order_id,
                     "product": r.product, "sku": r.sku, "rating": r.rating, "text": r.text,
                     "follow_up": r.follow_up, "shop_reply": r.shop_reply, "reviewed_at": r.reviewed_at,
                     "import_batch_id": loader.batch_id})
    ids = list(conn.scalars(insert(pr).returning(pr.c.id, sort_by_parameter_order=True), rows))
    counts.added += len(ids)
    tree = current_tree(conn, seed=True)
    propose_tags(conn, "review", rule_proposals(
        tree, ((i, f"{r.text}\n{r.follow_up}") for i, (_d, r) in zip(ids, new))))
