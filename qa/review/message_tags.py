"""One tag picker per message: the tag tree's tags and the reviewer's note tags (语气生硬, 禁用语…) chosen together.

The two kinds are stored where they always were, so nothing is migrated: tree tags on the message in
``tag_assignments`` (shared by every reviewer, as on conversations; a tag taken off stays rejected so the rules
never bring it back), note tags on the reviewer's own notes in ``annotations`` (they feed the models through
``qa.review.labels``). A picker value names its kind: ``tree:<id>`` or ``note:<tag>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from qa.busy import retry_when_busy
from qa.program.tag_store import AssignedTag, correct_tags
from qa.program.tags import SEPARATOR, TagTree
from qa.review.annotations import MESSAGE_TAGS, add_message_note, delete_annotation, update_message_note

__all__ = ["NOTE_GROUP", "OwnNote", "NotePlan", "chosen_now", "picker_options", "plan_notes", "save_message_tags"]

NOTE_GROUP = "质检"
"""The group the note tags are listed under in the picker: 质检 › 语气生硬."""


@dataclass(frozen=True)
class OwnNote:
    """One of the reviewer's notes on the message."""

    id: int
    comment: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class NotePlan:
    """What a save does to the reviewer's notes: notes whose tags change, notes left empty, and a new note."""

    updates: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
    deletes: tuple[int, ...] = ()
    new: tuple[str, tuple[str, ...]] | None = None


def picker_options(tree: TagTree) -> dict[str, str]:
    """Every choice of the picker with its label: the note tags first, then the tree's tags by full path."""
    notes = {f"note:{t}": f"{NOTE_GROUP}{SEPARATOR}{t}" for t in MESSAGE_TAGS}
    return notes | {f"tree:{tag_id}": path for tag_id, path in tree.paths().items()}


def chosen_now(tree: TagTree, on_message: Sequence[AssignedTag], own: Sequence[OwnNote]) -> list[str]:
    """What the picker opens with: the reviewer's note tags and the message's tree tags still in the tree."""
    notes = dict.fromkeys(f"note:{t}" for n in own for t in n.tags if t in MESSAGE_TAGS)
    live = {t.id for t in tree.tags}
    return [*notes, *(f"tree:{t.tag_id}" for t in on_message if t.tag_id in live)]


def plan_notes(own: Sequence[OwnNote], note_tags: Iterable[str], comment: str) -> NotePlan:
    """How the reviewer's notes change so that together they carry exactly ``note_tags``, with ``comment`` (if
    any) as a new note: a dropped tag leaves every note carrying it (a note left with neither text nor tags is
    deleted); an added tag goes on the new note, else on the reviewer's latest note, else on a note of its own."""
    wanted = list(dict.fromkeys(note_tags))
    had = {t for n in own for t in n.tags}
    added = tuple(t for t in wanted if t not in had)
    updates, deletes = [], []
    for n in own:
        kept = tuple(t for t in n.tags if t in wanted)
        if kept != n.tags:
            if n.comment.strip() or kept:
                updates.append((n.id, n.comment, kept))
            else:
                deletes.append(n.id)
    comment = comment.strip()
    remaining = [n for n in own if n.id not in deletes]
    if comment or (added and not remaining):
        return NotePlan(tuple(updates), tuple(deletes), (comment, added))
    if added:  # onto the reviewer's latest note
        latest = remaining[-1]
        current = next((tags for note_id, _c, tags in updates if note_id == latest.id), latest.tags)
        updates = [u for u in updates if u[0] != latest.id] + [(latest.id, latest.comment, (*current, *added))]
    return NotePlan(tuple(updates), tuple(deletes), None)


@retry_when_busy
def save_message_tags(engine: Engine, conversation_id: int, message_id: int, reviewer_id: int, actor: str,
                      chosen: Iterable[str], comment: str, on_message: Sequence[AssignedTag],
                      own: Sequence[OwnNote]) -> None:
    """Save the picker: the message's tree tags become the chosen ones (only when they changed, so opening and
    saving a note does not confirm the rules' tags), the reviewer's notes carry the chosen note tags, and
    ``comment`` becomes a new note. Each store checks the reviewer's role itself; all of it is one transaction, so
    a refused step (a note deleted meanwhile in another tab, a role taken away) leaves nothing half saved."""
    chosen = list(chosen)
    tree_ids = [int(c.removeprefix("tree:")) for c in chosen if c.startswith("tree:")]
    plan = plan_notes(own, [c.removeprefix("note:") for c in chosen if c.startswith("note:")], comment)
    with engine.begin() as conn:
        if set(tree_ids) != {t.tag_id for t in on_message}:
            correct_tags(conn, "message", message_id, tree_ids, actor)
        for note_id, text, tags in plan.updates:
            update_message_note(conn, note_id, reviewer_id, text, tags)
        for note_id in plan.deletes:
            delete_annotation(conn, note_id, reviewer_id)
        if plan.new is not None:
            add_message_note(conn, conversation_id, message_id, reviewer_id, *plan.new)
