"""From raw chat-log messages to ConversationRecords: roles, agent/shop split, conversation boundaries, ids.

Roles need the whole file (a sub-account ``店铺:客服`` anywhere names the shop, a JD shop account recurs across
sessions), so they are settled here, after the single pass over the text, in linear time over the messages.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from qa.ingest.formats.chatlog_collect import Block, RawMessage
from qa.ingest.normalize import parse_role
from qa.ingest.records import ConversationRecord, MessageRecord

__all__ = ["GAP", "assemble", "external_id"]

GAP = timedelta(minutes=30)

_PLATFORMS = {"jd": "jd", "qianniu_txt": "taobao", "qianniu_txt2": "taobao", "qianniu_copy": "taobao",
              "qianniu_web": "taobao"}

# JD cards and hand-over notices are written under a person's account but are not that person speaking.
_JD_CARD_ROLES = (
    ("【此消息为欢迎卡片", "bot"),
    ("您选择了一个订单进行咨询", "system"),
    ("订单号:", "system"),
    ("订单号：", "system"),
    ("商品ID:", "system"),
    ("商品ID：", "system"),
    ("用户发起转人工", "system"),
)


def assemble(blocks: list[Block], layout: str, *, platform: str | None, shop: str | None,
             split_by_gap: bool) -> list[ConversationRecord]:
    """Turn blocks of raw messages into conversations, splitting by buyer (and by gaps when asked)."""
    shops = _seller_shops(blocks, shop)
    fixed: dict[str, str | None] = {}
    for block in blocks:
        for msg in block.messages:
            if msg.sender is not None and msg.sender not in fixed:
                fixed[msg.sender] = _fixed_role(msg.sender, shops, shop)
    jd = layout == "jd"
    customers = _jd_customers(blocks, fixed) if jd else [None] * len(blocks)
    platform = platform or _PLATFORMS.get(layout)
    convs: list[ConversationRecord] = []
    for block, customer in zip(blocks, customers):
        records = [(m.line, _message(m, fixed, customer, jd)) for m in block.messages]
        block.messages = []  # free the raw copies as we go, lowering peak memory on large logs
        groups = [records] if jd else _split(records, split_by_gap)
        for group in groups:
            convs.append(_conversation(group, layout, platform, shop, shops))
    return convs


def external_id(layout: str, customer: str | None, first: MessageRecord) -> str:
    """Stable id from what any export of the same conversation shares: layout, buyer, first message."""
    when = first.ts.isoformat() if first.ts else ""
    key = "\x1f".join((layout, customer or "", when, first.text))
    return f"{layout}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:20]}"


def _seller_shops(blocks: Iterable[Block], shop: str | None) -> frozenset[str]:
    """Shop names known from sub-accounts (``店铺:客服``), so that the bare shop account is also the seller."""
    names = {m.sender.partition(":")[0] for b in blocks for m in b.messages if m.sender and ":" in m.sender}
    if shop:
        names.add(shop)
    return frozenset(n for n in names if n)


def _fixed_role(sender: str, shops: frozenset[str], shop: str | None) -> str | None:
    """The role a sender name alone tells (keywords, sub-account, shop account); None for a bare nick."""
    role = parse_role(None, sender)
    if role is not None:
        return role
    if sender in shops or (shop and sender.startswith(shop)):
        return "agent"
    return None


def _jd_customers(blocks: list[Block], fixed: dict[str, str | None]) -> list[str | None]:
    """Each JD session's customer: its first unlabelled speaker, passing over accounts seen in many sessions.

    JD shop accounts do not always carry 自营/客服 in their name, but they recur across a log's sessions while a
    customer's pin rarely does; in small logs, where counts say nothing, the customer is who opened the session.
    """
    unknown = [_unique(m.sender for m in b.messages if m.sender is not None and fixed[m.sender] is None)
               for b in blocks]
    sessions = Counter(s for senders in unknown for s in senders)
    frequent = max(3, len(blocks) // 10)
    picked: list[str | None] = []
    for senders in unknown:
        rare = [s for s in senders if sessions[s] < frequent] or senders
        picked.append(rare[0] if rare else None)
    return picked


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _message(raw: RawMessage, fixed: dict[str, str | None], customer: str | None, jd: bool) -> MessageRecord:
    """One MessageRecord with its role; in JD logs an unlabelled sender other than the customer is the shop."""
    text = raw.text
    sender = raw.sender
    if raw.role is not None:
        role = raw.role
    elif sender is None:
        role = "system"
    else:
        role = fixed[sender] or ("agent" if jd and sender != customer else "customer")
        if jd:
            role = next((r for prefix, r in _JD_CARD_ROLES if text.startswith(prefix)), role)
    agent = None
    if role == "agent" and sender is not None:
        agent = sender.partition(":")[2] or sender
    return MessageRecord(role=role, text=text, ts=raw.ts, agent=agent, sender=sender)


Numbered = list[tuple[int, MessageRecord]]


def _split(records: Numbered, split_by_gap: bool) -> list[Numbered]:
    """Start a new conversation when another buyer speaks, or after a silence longer than GAP."""
    groups: list[Numbered] = []
    current: Numbered = []
    buyer: str | None = None
    last_ts = None
    for line, msg in records:
        new_buyer = msg.role == "customer" and buyer is not None and msg.sender != buyer
        gap = split_by_gap and msg.ts is not None and last_ts is not None and msg.ts - last_ts > GAP
        if current and (new_buyer or gap):
            groups.append(current)
            current, buyer = [], None
        current.append((line, msg))
        if msg.role == "customer" and buyer is None:
            buyer = msg.sender
        if msg.ts is not None:
            last_ts = msg.ts
    if current:
        groups.append(current)
    return groups


def _conversation(group: Numbered, layout: str, platform: str | None, shop: str | None,
                  shops: frozenset[str]) -> ConversationRecord:
    messages = [m for _, m in group]
    customer = next((m.sender for m in messages if m.role == "customer"), None)
    return ConversationRecord(
        external_id=external_id(layout, customer, messages[0]),
        messages=messages,
        platform=platform,
        shop=shop or _shop_of(messages, shops) or (next(iter(shops)) if len(shops) == 1 else None),
        customer=customer,
        source_row=group[0][0],
    )


def _shop_of(messages: list[MessageRecord], shops: frozenset[str]) -> str | None:
    """The shop of the first seller-side sender (``店铺:客服`` or the bare shop account) in the conversation."""
    for m in messages:
        if m.role == "agent" and m.sender:
            name = m.sender.partition(":")[0]
            if name in shops:
                return name
    return None
