"""The tag tree (标签树): hierarchical tags with keyword rules, and tagging a text or a category by them.

Everything here is pure: a tree is an immutable value, every edit returns a new tree, so the page can preview an
edit and the store saves whole trees (``qa.program.tag_store``). A tag's id never changes once given, so a
rename or a move keeps every assignment made under the old name; a removed tag's assignments are simply no
longer shown. A rule matches a text that contains any of its keywords (case-insensitive) other than right after a negation
(没有/没/无/不/未); a parent tag with its
own keywords matches on its own, and a text matched by a child is not also counted under the parent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from qa.program.errors import TagError

__all__ = [
    "DEFAULT_TREE_PATH",
    "SEPARATOR",
    "Match",
    "Tag",
    "TagTree",
    "add_tag",
    "default_tree",
    "match_text",
    "move_tag",
    "remove_tag",
    "rename_tag",
    "set_rules",
    "tag_category",
    "tag_text",
    "tree_from_json",
    "tree_from_nested",
    "tree_to_json",
]

DEFAULT_TREE_PATH = Path(__file__).resolve().parents[2] / "data" / "tags" / "default.json"
SEPARATOR = " › "


@dataclass(frozen=True)
class Tag:
    """One tag: ``keywords`` tag a text containing any of them; ``categories`` are the category model's
    categories (``conversation_scores.category``) that tag a conversation with it."""

    id: int
    name: str
    parent: int | None = None
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagTree:
    """Tags in display order (a parent before its children, siblings in the order they were added)."""

    tags: tuple[Tag, ...] = ()

    def get(self, tag_id: int) -> Tag:
        """The tag with this id; TagError when the tree has none."""
        for tag in self.tags:
            if tag.id == tag_id:
                return tag
        raise TagError(f"标签 #{tag_id} 不存在（可能已被删除）")

    def children(self, parent: int | None) -> list[Tag]:
        return [t for t in self.tags if t.parent == parent]

    def path(self, tag_id: int) -> str:
        """The tag's full name, e.g. 物流 › 时效."""
        names: list[str] = []
        current: int | None = tag_id
        while current is not None:
            tag = self.get(current)
            names.append(tag.name)
            current = tag.parent
        return SEPARATOR.join(reversed(names))

    def paths(self) -> dict[int, str]:
        """Every tag's full name by id, in display order."""
        return {t.id: self.path(t.id) for t in self.ordered()}

    def ordered(self) -> list[Tag]:
        """Depth-first: each tag followed by its subtree."""
        return list(self._ordered)

    @cached_property
    def _ordered(self) -> tuple[Tag, ...]:
        # kept on the (immutable) tree: tagging asks for the order once per text, a million times in a run
        out: list[Tag] = []

        def walk(parent: int | None) -> None:
            for tag in self.children(parent):
                out.append(tag)
                walk(tag.id)

        walk(None)
        return tuple(out)

    @cached_property
    def folded_keywords(self) -> frozenset[str]:
        """Every tag's keywords, case-folded."""
        return frozenset(w.casefold() for t in self.tags for w in t.keywords)

    def subtree(self, tag_id: int) -> set[int]:
        """The tag and all tags under it."""
        ids = {tag_id}
        for child in self.children(tag_id):
            ids |= self.subtree(child.id)
        return ids

    def root_of(self, tag_id: int) -> int:
        """The top-level tag above this one (itself when it is top-level)."""
        tag = self.get(tag_id)
        while tag.parent is not None:
            tag = self.get(tag.parent)
        return tag.id


def _words(values: Iterable[str]) -> tuple[str, ...]:
    """Keywords trimmed, blanks and repeats dropped, order kept."""
    return tuple(dict.fromkeys(w.strip() for w in values if w and w.strip()))


def _check_name(tree: TagTree, name: str, parent: int | None, own_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise TagError("标签名不能为空")
    if SEPARATOR.strip() in name:
        raise TagError(f"标签名“{name}”不能包含“{SEPARATOR.strip()}”")
    if any(t.name == name and t.id != own_id for t in tree.children(parent)):
        where = tree.path(parent) if parent is not None else "顶层"
        raise TagError(f"“{where}”下已有标签“{name}”")
    return name


def add_tag(tree: TagTree, name: str, parent: int | None = None, keywords: Sequence[str] = (),
            categories: Sequence[str] = ()) -> tuple[TagTree, int]:
    """The tree with a new tag, and the new tag's id (one more than the largest ever in the tree)."""
    if parent is not None:
        tree.get(parent)
    name = _check_name(tree, name, parent)
    new_id = max((t.id for t in tree.tags), default=0) + 1
    tag = Tag(new_id, name, parent, _words(keywords), _words(categories))
    return TagTree((*tree.tags, tag)), new_id


def _replace(tree: TagTree, tag: Tag) -> TagTree:
    return TagTree(tuple(tag if t.id == tag.id else t for t in tree.tags))


def rename_tag(tree: TagTree, tag_id: int, name: str) -> TagTree:
    tag = tree.get(tag_id)
    return _replace(tree, replace(tag, name=_check_name(tree, name, tag.parent, tag_id)))


def set_rules(tree: TagTree, tag_id: int, keywords: Sequence[str], categories: Sequence[str] | None = None) -> TagTree:
    """The tree with the tag's keyword rules (and, when given, its categories) replaced."""
    tag = tree.get(tag_id)
    new = replace(tag, keywords=_words(keywords))
    if categories is not None:
        new = replace(new, categories=_words(categories))
    return _replace(tree, new)


def move_tag(tree: TagTree, tag_id: int, parent: int | None) -> TagTree:
    """The tree with the tag (and its subtree) under ``parent`` (None: top level); never under itself."""
    tag = tree.get(tag_id)
    if parent is not None:
        tree.get(parent)
        if parent in tree.subtree(tag_id):
            raise TagError(f"不能把“{tree.path(tag_id)}”移到它自己或它的下级“{tree.path(parent)}”之下")
    _check_name(tree, tag.name, parent, tag_id)
    moved = replace(tag, parent=parent)
    return TagTree((*(t for t in tree.tags if t.id != tag_id), moved))


def remove_tag(tree: TagTree, tag_id: int) -> TagTree:
    """The tree without the tag and everything under it."""
    gone = tree.subtree(tree.get(tag_id).id)
    return TagTree(tuple(t for t in tree.tags if t.id not in gone))


@dataclass(frozen=True)
class Match:
    """A keyword rule that matched: the tag, its keyword found, and the phrase around it — the evidence a
    reviewer reads to judge the tag."""

    tag_id: int
    keyword: str
    phrase: str
    # where the mention begins in the text, casefolded (lines keep their places); not part of what matched
    start: int = field(default=0, compare=False)


def match_text(tree: TagTree, text: str | None) -> list[Match]:
    """The tags whose keywords occur in ``text``, in tree order, each with its first plain mention; a parent is
    left out when one of its children matched, so a complaint about 破损 counts once, under 物流 › 破损, not also
    under 物流."""
    if not text:
        return []
    folded = text.casefold()
    shown = text if len(folded) == len(text) else folded  # positions found in the folded text hold in it
    present = {w for w in tree.folded_keywords if w in folded}  # one C-level scan per keyword, then work on those only
    hits: list[Match] = []
    for tag in tree.ordered():
        for word in tag.keywords:
            if word.casefold() not in present:
                continue
            at = _mention(folded, word.casefold())
            if at != -1:
                hits.append(Match(tag.id, word, _phrase(shown, at, len(word)), at))
                break
    covered = {a for h in hits for a in _ancestors(tree, h.tag_id)}
    return [h for h in hits if h.tag_id not in covered]


def tag_text(tree: TagTree, text: str | None) -> list[int]:
    """Ids of the tags whose keywords occur in ``text`` (see ``match_text``)."""
    return [m.tag_id for m in match_text(tree, text)]


_NEGATIONS = ("没有", "没", "无", "不", "未")
_PHRASE_CONTEXT = 12  # characters kept on each side of a keyword in its evidence


def _mention(text: str, word: str) -> int:
    """Where ``word`` first occurs in ``text`` not right after a negation (-1: nowhere): "没有线头" is praise, not a
    做工 complaint."""
    start = text.find(word)
    while start != -1:
        if not any(text.endswith(n, 0, start) for n in _NEGATIONS):
            return start
        start = text.find(word, start + 1)
    return -1


def _phrase(text: str, at: int, length: int) -> str:
    """The words around a mention, within its line, with … where they were cut."""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line_end = len(text) if line_end == -1 else line_end
    start, end = max(line_start, at - _PHRASE_CONTEXT), min(line_end, at + length + _PHRASE_CONTEXT)
    return ("…" if start > line_start else "") + text[start:end].strip() + ("…" if end < line_end else "")


def tag_category(tree: TagTree, category: str | None) -> list[int]:
    """Ids of the tags the category model's ``category`` maps to."""
    if not category:
        return []
    return [t.id for t in tree.ordered() if category in t.categories]


def _ancestors(tree: TagTree, tag_id: int) -> list[int]:
    out: list[int] = []
    parent = tree.get(tag_id).parent
    while parent is not None:
        out.append(parent)
        parent = tree.get(parent).parent
    return out


def tree_from_nested(nodes: Sequence[dict[str, Any]]) -> TagTree:
    """A tree from nested ``{"name", "keywords", "categories", "children"}`` dicts (the shipped default's
    layout), ids given in reading order."""
    tree = TagTree()

    def walk(items: Sequence[dict[str, Any]], parent: int | None) -> None:
        nonlocal tree
        for item in items:
            tree, new_id = add_tag(tree, str(item["name"]), parent, item.get("keywords", ()),
                                   item.get("categories", ()))
            walk(item.get("children", ()), new_id)

    walk(nodes, None)
    return tree


def default_tree(path: Path = DEFAULT_TREE_PATH) -> TagTree:
    """The tree shipped in data/tags/default.json, seeded on first use."""
    return tree_from_nested(json.loads(path.read_text(encoding="utf-8"))["tags"])


def tree_to_json(tree: TagTree) -> str:
    """The stored form: a flat list of tags with their ids (so ids survive a save and load)."""
    return json.dumps({"tags": [{"id": t.id, "name": t.name, "parent": t.parent, "keywords": list(t.keywords),
                                 "categories": list(t.categories)} for t in tree.tags]}, ensure_ascii=False)


def tree_from_json(text: str) -> TagTree:
    """A tree stored by ``tree_to_json``."""
    return TagTree(tuple(Tag(int(t["id"]), t["name"], t.get("parent"), tuple(t.get("keywords", ())),
                             tuple(t.get("categories", ()))) for t in json.loads(text)["tags"]))
