"""The tag tree and tag assignments in the database: the tree in use, rule proposals, reviewers' corrections.

The tree is saved whole, a new row per save (``tag_trees``), so an edit never rewrites history and the newest row
is the tree in use; an archive with none gets the shipped default on first use. Assignments say where a tag
came from (``rule``: a keyword rule; ``model``: the category model's category; ``reviewer``) with its evidence
(the keyword and the phrase it was found in, or the category), and whether a reviewer confirmed it; a tag a
reviewer took off stays stored as rejected, so running the rules again never puts it back. Reviewers' changes
check the ``review`` permission here, so an agent or an executive cannot tag.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate, groupby
from operator import itemgetter
from typing import Literal, cast

import pandas as pd
from sqlalchemy import Column, Connection, Engine, Table, insert, select, update

from qa.bulk import bound, insert_rows
from qa.busy import retry_when_busy
from qa.db import transaction
from qa.models import ConversationScore, Message, ProductReview, TagAssignment, TagTreeRecord
from qa.program.people import acting_id
from qa.program.tags import Match, TagTree, default_tree, match_text, tag_category, tree_from_json, tree_to_json

__all__ = ["Target", "Proposal", "AssignedTag", "SOURCES", "current_tree", "save_tree", "propose_tags", "tags_of",
           "correct_tags", "confirm_tags", "judge_tag", "tag_filter", "rule_proposals", "tag_conversations",
           "conversation_proposals",
           "retag_reviews"]

Target = Literal["review", "conversation", "message"]
Proposal = tuple[int, int, str, str | None]
"""(target id, tag id, source, evidence)"""
SOURCES = {"rule": "规则", "model": "分类模型", "reviewer": "质检员"}
_EVIDENCE_LEN = 200  # tag_assignments.evidence
_ta = cast(Table, TagAssignment.__table__)
_COLUMN: dict[str, Column] = {"review": _ta.c.review_id, "conversation": _ta.c.conversation_id,
                              "message": _ta.c.message_id}


@dataclass(frozen=True)
class AssignedTag:
    """A tag on one review, conversation or message, as shown to a reviewer."""

    tag_id: int
    source: str
    confirmed: bool
    evidence: str | None = None


def current_tree(conn: Connection, seed: bool = False) -> TagTree:
    """The tree in use: the newest saved one, else the shipped default (saved now when ``seed``, inside the
    caller's transaction: the default's ids are the same every time it is read, so reads need not write)."""
    definition = conn.scalar(select(TagTreeRecord.definition).order_by(TagTreeRecord.id.desc()).limit(1))
    if definition is not None:
        return tree_from_json(definition)
    tree = default_tree()
    if seed:
        conn.execute(insert(TagTreeRecord).values(definition=tree_to_json(tree), created_at=datetime.now()))
    return tree


@retry_when_busy
def save_tree(engine: Engine, tree: TagTree, actor: str | None = None) -> int:
    """Save ``tree`` as the tree in use; returns the saved version's id."""
    with engine.begin() as conn:
        by = acting_id(conn, actor, "manage_program") if actor else None
        return conn.execute(insert(TagTreeRecord).values(
            definition=tree_to_json(tree), created_by=by, created_at=datetime.now()).returning(TagTreeRecord.id)
        ).scalar_one()


def tag_filter(tree: TagTree, tag_ids: Iterable[int]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``Filters.tags`` for the chosen tags: each with its full path and its subtree's ids, so choosing 物流
    also lists conversations tagged 物流 › 破损."""
    return tuple((tree.path(t), tuple(sorted(tree.subtree(t)))) for t in tag_ids)


def _known(conn: Connection, target: Target, ids: Sequence[int]) -> set[tuple[int, int]]:
    column = _COLUMN[target]
    known: set[tuple[int, int]] = set()
    for start in range(0, len(ids), 500):
        known.update((row[0], row[1]) for row in conn.execute(
            select(column, _ta.c.tag_id).where(column.in_(ids[start:start + 500]))))
    return known


def propose_tags(conn: Connection, target: Target, proposals: Iterable[Proposal]) -> int:
    """Store proposals not already there in any state; returns how many were added."""
    column = _COLUMN[target]
    proposals = list(proposals)
    known = _known(conn, target, sorted({p[0] for p in proposals}))
    now = bound(conn, _ta.c.created_at, datetime.now().replace(microsecond=0))
    rows = []
    for target_id, tag_id, source, evidence in proposals:
        if (target_id, tag_id) not in known:
            known.add((target_id, tag_id))
            rows.append((target_id, tag_id, source, False, False, now, now,
                         evidence[:_EVIDENCE_LEN] if evidence else None))
    insert_rows(conn, "tag_assignments", (column.key, "tag_id", "source", "confirmed", "rejected", "created_at",
                                          "updated_at", "evidence"), rows)
    return len(rows)


def rule_proposals(tree: TagTree, texts: Iterable[tuple[int, str]]) -> Iterator[Proposal]:
    """A "rule" proposal for each keyword rule that matches each (id, text), with the keyword and its phrase."""
    for target_id, text in texts:
        for m in match_text(tree, text):
            yield target_id, m.tag_id, "rule", _rule_evidence(m)


def _rule_evidence(match: Match) -> str:
    """What a keyword rule's tag says it was found on: the keyword and the phrase around it."""
    return f"关键词“{match.keyword}”：{match.phrase}"


def tags_of(conn: Connection, target: Target, ids: Sequence[int], tree: TagTree | None = None
            ) -> dict[int, list[AssignedTag]]:
    """The tags on each target, not counting rejected ones nor (given ``tree``) tags no longer in it."""
    column = _COLUMN[target]
    live = None if tree is None else {t.id for t in tree.tags}
    out: dict[int, list[AssignedTag]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(column, _ta.c.tag_id, _ta.c.source, _ta.c.confirmed, _ta.c.evidence)
                                .where(column.in_(ids[start:start + 500]), _ta.c.rejected.is_(False))
                                .order_by(_ta.c.id)):
            if live is None or row.tag_id in live:
                out[row[0]].append(AssignedTag(row.tag_id, row.source, bool(row.confirmed), row.evidence))
    return out


@retry_when_busy
def correct_tags(engine: Engine | Connection, target: Target, target_id: int, tag_ids: Iterable[int], actor: str) -> None:
    """A reviewer's say on a target's tags: ``tag_ids`` are right (confirmed; added if new), every other tag on it
    is wrong (rejected, kept so the rules do not bring it back)."""
    column = _COLUMN[target]
    chosen = set(tag_ids)
    now = datetime.now().replace(microsecond=0)
    with transaction(engine) as conn:
        reviewer = acting_id(conn, actor, "review")
        stored = {row.tag_id: row.id for row in conn.execute(select(_ta.c.id, _ta.c.tag_id).where(column == target_id))}
        mine = {"reviewer_id": reviewer, "updated_at": now}
        if chosen & stored.keys():
            conn.execute(update(_ta).where(_ta.c.id.in_([stored[t] for t in chosen & stored.keys()]))
                         .values(confirmed=True, rejected=False, **mine))
        if stored.keys() - chosen:
            conn.execute(update(_ta).where(_ta.c.id.in_([stored[t] for t in stored.keys() - chosen]))
                         .values(confirmed=False, rejected=True, **mine))
        new = sorted(chosen - stored.keys())
        if new:
            conn.execute(insert(_ta), [{column.key: target_id, "tag_id": t, "source": "reviewer", "confirmed": True,
                                        "rejected": False, "created_at": now, **mine} for t in new])


@retry_when_busy
def judge_tag(engine: Engine, target: Target, target_id: int, tag_id: int, right: bool, actor: str) -> None:
    """A reviewer's say on one tag of a target: right (confirmed; added as the reviewer's when it was not there)
    or wrong (rejected, kept so the rules do not bring it back). The tag must be in the tree in use."""
    column = _COLUMN[target]
    now = datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        reviewer = acting_id(conn, actor, "review")
        current_tree(conn).get(tag_id)
        stored = conn.scalar(select(_ta.c.id).where(column == target_id, _ta.c.tag_id == tag_id))
        mine = {"reviewer_id": reviewer, "updated_at": now}
        if stored is not None:
            conn.execute(update(_ta).where(_ta.c.id == stored).values(confirmed=right, rejected=not right, **mine))
        elif right:
            conn.execute(insert(_ta).values({column.key: target_id, "tag_id": tag_id, "source": "reviewer",
                                             "confirmed": True, "rejected": False, "created_at": now, **mine}))


def confirm_tags(engine: Engine, target: Target, target_id: int, actor: str) -> None:
    """A reviewer agrees with every tag now on the target."""
    with engine.connect() as conn:
        current = [t.tag_id for t in tags_of(conn, target, [target_id])[target_id]]
    correct_tags(engine, target, target_id, current, actor)


def _line_ends(texts: Sequence[str], joined: str) -> list[int]:
    """Where each of ``texts`` ends in ``joined`` (them joined by newlines) once casefolded, which keeps every
    length but for a few letters (ß → ss): a mention's place there tells its message (``bisect_right``)."""
    same = len(joined.casefold()) == len(joined)
    return list(accumulate((len(t) if same else len(t.casefold())) + 1 for t in texts))


def tag_conversations(conn: Connection, tree: TagTree, conversation_ids: Sequence[int]) -> int:
    """Propose tags on stored conversations and their customers' messages (``conversation_proposals`` on what is
    stored for them); returns how many were added."""
    cs, m = ConversationScore.__table__, Message.__table__
    added = 0
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start:start + 500]
        conversations = pd.DataFrame.from_records(conn.execute(
            select(cs.c.conversation_id, cs.c.category).where(cs.c.conversation_id.in_(chunk))).all(),
            columns=["conversation_id", "category"])
        messages = pd.DataFrame.from_records(conn.execute(
            select(m.c.conversation_id, m.c.id, m.c.role, m.c.text).where(m.c.conversation_id.in_(chunk))
            .order_by(m.c.conversation_id, m.c.seq)).all(), columns=["conversation_id", "message_id", "role", "text"])
        on_conversations, on_messages = conversation_proposals(tree, conversations, messages)
        added += propose_tags(conn, "conversation", on_conversations) + propose_tags(conn, "message", on_messages)
    return added


def conversation_proposals(tree: TagTree, conversations: pd.DataFrame, messages: pd.DataFrame
                           ) -> tuple[list[Proposal], list[Proposal]]:
    """Tags for conversations from their category (the category model's, ``model``) and from keyword rules on the
    customer's messages (``rule``), and each rule's tag on the customer message it was found in: (on
    conversations, on messages), to store with ``propose_tags(conn, "conversation" / "message", …)``.

    ``conversations`` has ``conversation_id`` and ``category`` (the scored one); ``messages`` has
    ``conversation_id``, ``message_id``, ``role`` and ``text``, in seq order. Pure: the scoring job passes the
    chunk it has just scored and stores the result with its scores, so nothing is read back. The rules run once
    per conversation over its customer's lines joined; only a conversation with a match locates the message of
    each mention (by its place in the joined text), so tagging messages costs nothing where no rule matches.
    """
    proposals: list[Proposal] = [
        (int(cid), tag_id, "model", f"分类“{category}”")
        for cid, category in zip(conversations["conversation_id"].tolist(), conversations["category"].tolist())
        for tag_id in tag_category(tree, category)]
    on_messages: list[Proposal] = []
    said = messages[messages["role"] == "customer"]
    # grouped in Python: pandas joins strings group by group through a slow generic path (~1.6 s per 40k rows)
    rows = zip(said["conversation_id"].tolist(), said["message_id"].tolist(), said["text"].tolist())
    for cid, group in groupby(rows, key=itemgetter(0)):
        _cids, ids, texts = zip(*group)
        joined = "\n".join(texts)
        hits = match_text(tree, joined)
        ends = _line_ends(texts, joined) if hits else []
        for hit in hits:
            evidence = _rule_evidence(hit)
            proposals.append((cid, hit.tag_id, "rule", evidence))
            on_messages.append((ids[bisect_right(ends, hit.start)], hit.tag_id, "rule", evidence))
    return proposals, on_messages


@retry_when_busy
def retag_reviews(engine: Engine) -> int:
    """Run the tree's keyword rules over every stored review again (after an edit): adds what the rules now
    match, never a tag a reviewer took off, and leaves tags the rules no longer match for reviewers to judge."""
    pr = ProductReview.__table__
    with engine.begin() as conn:
        tree = current_tree(conn, seed=True)
        texts = [(r.id, f"{r.text}\n{r.follow_up}") for r in conn.execute(select(pr.c.id, pr.c.text, pr.c.follow_up))]
        return propose_tags(conn, "review", rule_proposals(tree, texts))
