"""The replay's one tag picker per message: how a save changes the reviewer's notes (pure), table-driven."""

from __future__ import annotations

import pytest

from qa.program.tag_store import AssignedTag
from qa.program.tags import tree_from_nested
from qa.review.message_tags import NotePlan, OwnNote, chosen_now, picker_options, plan_notes

SAID = OwnNote(1, "首响太慢", ("超时",))
TAGGED = OwnNote(2, "", ("推诿", "语气生硬"))


@pytest.mark.parametrize(("own", "tags", "comment", "plan"), [
    ((), [], "", NotePlan()),  # nothing to do
    ((), ["推诿"], "", NotePlan(new=("", ("推诿",)))),  # a tag alone makes a note of its own
    ((), ["推诿"], " 答非所问 ", NotePlan(new=("答非所问", ("推诿",)))),
    ((SAID,), ["超时", "推诿"], "", NotePlan(updates=((1, "首响太慢", ("超时", "推诿")),))),  # onto the latest
    ((SAID,), ["超时", "推诿"], "再看", NotePlan(new=("再看", ("推诿",)))),  # onto the new note
    ((SAID,), [], "", NotePlan(updates=((1, "首响太慢", ()),))),  # the text stays
    ((SAID, TAGGED), ["超时"], "", NotePlan(deletes=(2,))),  # a note left empty goes
    ((SAID, TAGGED), ["超时", "推诿", "禁用语"], "",
     NotePlan(updates=((2, "", ("推诿", "禁用语")),))),  # 语气生硬 off the latest note, 禁用语 onto it
    ((SAID, TAGGED), ["超时", "禁用语"], "", NotePlan(updates=((1, "首响太慢", ("超时", "禁用语")),), deletes=(2,))),
])
def test_plan_notes(own: tuple[OwnNote, ...], tags: list[str], comment: str, plan: NotePlan) -> None:
    assert plan_notes(own, tags, comment) == plan


def test_the_picker_lists_note_tags_then_the_tree_and_opens_with_what_is_there() -> None:
    tree = tree_from_nested([{"name": "物流", "children": [{"name": "时效"}]}])
    options = picker_options(tree)
    assert options["note:推诿"] == "质检 › 推诿" and list(options)[-2:] == ["tree:1", "tree:2"]
    assert options["tree:2"] == "物流 › 时效"
    on_message = [AssignedTag(2, "rule", False), AssignedTag(9, "rule", False)]  # 9: no longer in the tree
    assert chosen_now(tree, on_message, [SAID, TAGGED]) == ["note:超时", "note:推诿", "note:语气生硬", "tree:2"]
