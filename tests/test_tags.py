"""The tag tree: edits, keyword and category tagging, storage, and reviewers' confirm/correct."""

from datetime import datetime

import pytest
from sqlalchemy import func, insert, select

from qa.access import AccessDenied
from qa.errors import NotFoundError
from qa.models import Annotation, Conversation, ConversationScore, Message, TagAssignment, TagTreeRecord, User
from qa.program.errors import TagError
from qa.program.tag_store import (
    AssignedTag,
    confirm_tags,
    correct_tags,
    current_tree,
    judge_tag,
    propose_tags,
    save_tree,
    tag_conversations,
    tags_of,
)
from qa.program.tags import (
    Match,
    TagTree,
    add_tag,
    default_tree,
    match_text,
    move_tag,
    remove_tag,
    rename_tag,
    set_rules,
    tag_category,
    tag_text,
    tree_from_json,
    tree_to_json,
)
from qa.review.annotations import add_message_note
from qa.review.message_tags import OwnNote, save_message_tags
from tests.helpers import conv, import_bytes, jsonl


@pytest.fixture
def tree() -> TagTree:
    t, logistics = add_tag(TagTree(), "物流")
    t, speed = add_tag(t, "时效", logistics, ["物流慢", "还没到"], ["赠品/物流"])
    t, broken = add_tag(t, "破损", logistics, ["破损", "压坏"])
    t, service = add_tag(t, "服务", keywords=["客服"])
    t, _attitude = add_tag(t, "态度", service, ["态度差"])
    return t


def test_paths_children_and_ids(tree):
    assert tree.paths() == {1: "物流", 2: "物流 › 时效", 3: "物流 › 破损", 4: "服务", 5: "服务 › 态度"}
    assert [t.name for t in tree.children(1)] == ["时效", "破损"]
    assert tree.subtree(1) == {1, 2, 3}
    assert tree.root_of(3) == 1


def test_edits_keep_ids_and_refuse_bad_names(tree):
    renamed = rename_tag(tree, 2, "配送时效")
    assert renamed.path(2) == "物流 › 配送时效"
    moved = move_tag(tree, 3, 4)
    assert moved.path(3) == "服务 › 破损" and moved.children(1)[0].id == 2
    with pytest.raises(TagError, match="已有标签“破损”"):
        rename_tag(tree, 2, "破损")
    with pytest.raises(TagError, match="自己或它的下级"):
        move_tag(tree, 1, 3)
    with pytest.raises(TagError, match="不能为空"):
        add_tag(tree, "  ", 1)
    smaller = remove_tag(tree, 1)
    assert smaller.paths() == {4: "服务", 5: "服务 › 态度"}
    _t, new_id = add_tag(smaller, "售后")
    assert new_id == 6  # ids are never reused while the largest is in the tree
    assert set_rules(tree, 3, [" 碎了 ", "碎了", ""]).get(3).keywords == ("碎了",)


def test_keyword_tagging_counts_a_child_not_its_parent(tree):
    assert tag_text(tree, "物流慢，而且外箱破损了") == [2, 3]
    assert tag_text(tree, "客服态度差") == [5]  # 服务's own keyword 客服 is covered by its child
    assert tag_text(tree, "找不到客服") == [4]
    assert tag_text(tree, "很好用") == [] and tag_text(tree, None) == []
    assert tag_text(tree, "包装很好，没有破损") == [] and tag_text(tree, "无破损") == []
    assert tag_text(tree, "说是没有破损，结果打开就破损了") == [3]  # one plain mention is enough
    assert tag_category(tree, "赠品/物流") == [2] and tag_category(tree, None) == []


def test_json_round_trip_and_shipped_default(tree):
    assert tree_from_json(tree_to_json(tree)) == tree
    default = default_tree()
    assert {"产品质量 › 做工", "产品质量 › 尺码", "物流 › 时效", "物流 › 破损", "服务 › 态度", "服务 › 响应",
            "售后 › 退款", "售后 › 换货"} <= set(default.paths().values())
    assert [default.path(t) for t in tag_text(default, "快递太慢了，盒子还压坏了")] == ["物流 › 时效", "物流 › 破损"]


def test_a_match_names_its_keyword_and_the_phrase_around_it(tree):
    said = "你好\n我买的杯子到了，打开一看外箱破损了，里面的杯子也碎了一个，怎么办\n在吗"
    assert match_text(tree, said) == [Match(3, "破损", "…的杯子到了，打开一看外箱破损了，里面的杯子也碎了一个…")]
    assert match_text(tree, "没有破损，就是物流慢") == [Match(2, "物流慢", "没有破损，就是物流慢")]  # negation skipped


def _users(engine):
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"name": "质检甲", "role": "reviewer"},
                                               {"name": "主管乙", "role": "qa_manager"},
                                               {"name": "小美", "role": "agent", "agent_name": "小美"},
                                               {"name": "刘总", "role": "executive"}])


def test_tree_seeded_on_first_use_then_saved_versions(engine):
    with engine.connect() as conn:
        first = current_tree(conn)
        assert conn.scalar(select(func.count()).select_from(TagTreeRecord)) == 0  # reading never writes
    with engine.begin() as conn:
        assert current_tree(conn, seed=True) == first == default_tree()
        assert conn.scalar(select(func.count()).select_from(TagTreeRecord)) == 1
    _users(engine)
    edited, new_id = add_tag(first, "包装", None, ["包装"])
    save_tree(engine, edited, "主管乙")  # editing the tree is a QA manager's (qa.access)
    with engine.connect() as conn:
        assert current_tree(conn).path(new_id) == "包装"


def test_confirm_and_correct_conversation_tags(engine, tree):
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "物流慢，盒子破损了", None), ("agent", "抱歉", None))))
    _users(engine)
    with engine.begin() as conn:
        assert tag_conversations(conn, tree, [1]) == 4  # 时效 and 破损, on the conversation and on its message
        assert tag_conversations(conn, tree, [1]) == 0  # proposing again adds nothing
    with engine.connect() as conn:
        assert [(t.tag_id, t.source, t.confirmed) for t in tags_of(conn, "conversation", [1])[1]] == [
            (2, "rule", False), (3, "rule", False)]
        assert [t.evidence for t in tags_of(conn, "conversation", [1])[1]] == [
            "关键词“物流慢”：物流慢，盒子破损了", "关键词“破损”：物流慢，盒子破损了"]
    correct_tags(engine, "conversation", 1, [3, 5], "质检甲")  # 时效 is wrong, 态度 was missing
    with engine.begin() as conn:
        assert [(t.tag_id, t.source, t.confirmed) for t in tags_of(conn, "conversation", [1])[1]] == [
            (3, "rule", True), (5, "reviewer", True)]
        assert propose_tags(conn, "conversation", [(1, 2, "rule", None)]) == 0  # a rejected tag is not proposed again
    confirm_tags(engine, "conversation", 1, "质检甲")
    with engine.connect() as conn:
        assert {t.tag_id for t in tags_of(conn, "conversation", [1], remove_tag(tree, 4))[1]} == {3}


def test_conversation_tags_come_from_rules_and_the_category_model_with_their_evidence(engine):
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "我要退货，东西压坏了", None),
                                               ("agent", "亲，破损可以退的", None))))
    with engine.begin() as conn:
        cid = conn.scalar(select(Conversation.id))
        conn.execute(insert(ConversationScore).values(
            conversation_id=cid, model_version="t", content_hash="", scored_at=datetime(2026, 12, 1), category="换货",
            dissatisfaction_risk=0.5, category_source="model"))
        tree = current_tree(conn, seed=True)
        tag_conversations(conn, tree, [cid])
        shown = [(tree.path(t.tag_id), t.source, t.evidence) for t in tags_of(conn, "conversation", [cid], tree)[cid]]
    # the customer's words only (the agent's 破损 is not a complaint), and the category's tag
    assert shown == [("售后 › 换货", "model", "分类“换货”"), ("物流 › 破损", "rule", "关键词“压坏”：我要退货，东西压坏了"),
                     ("售后 › 退款", "rule", "关键词“退货”：我要退货，东西压坏了")]


def _tagged_message(engine) -> tuple[TagTree, int, dict[str, int]]:
    """One customer message "物流慢，盒子破损了", tagged by the rules: the tree, the message id, tag ids by path."""
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "物流慢，盒子破损了", None))))
    _users(engine)
    with engine.begin() as conn:
        tree = current_tree(conn, seed=True)
        tag_conversations(conn, tree, [1])
        message = conn.scalar(select(Message.id))
    return tree, message, {path: tag_id for tag_id, path in tree.paths().items()}


def test_a_reviewer_confirms_removes_and_adds_single_tags(engine):
    tree, message, ids = _tagged_message(engine)
    judge_tag(engine, "conversation", 1, ids["物流 › 破损"], True, "质检甲")  # confirm a rule's proposal
    judge_tag(engine, "conversation", 1, ids["物流 › 时效"], False, "质检甲")  # remove one
    judge_tag(engine, "conversation", 1, ids["服务 › 态度"], True, "质检甲")  # add one from the tree
    judge_tag(engine, "message", message, ids["物流 › 破损"], True, "质检甲")  # a tag on the single message
    judge_tag(engine, "conversation", 1, ids["售后 › 退款"], False, "质检甲")  # removing one not there: nothing
    with engine.begin() as conn:
        on_conv = [(tree.path(t.tag_id), t.source, t.confirmed) for t in tags_of(conn, "conversation", [1], tree)[1]]
        on_msg = [(tree.path(t.tag_id), t.source, t.confirmed)
                  for t in tags_of(conn, "message", [message], tree)[message]]
        assert tag_conversations(conn, tree, [1]) == 0  # the removed 时效 is not proposed again
        reviewer = conn.scalar(select(User.id).where(User.name == "质检甲"))
        by = set(conn.scalars(select(TagAssignment.reviewer_id).where(TagAssignment.conversation_id == 1)))
    assert on_conv == [("物流 › 破损", "rule", True), ("服务 › 态度", "reviewer", True)]
    assert on_msg == [("物流 › 时效", "rule", False), ("物流 › 破损", "rule", True)]  # the rules tagged it too
    assert by == {reviewer}
    with pytest.raises(TagError, match="标签 #999 不存在"):
        judge_tag(engine, "conversation", 1, 999, True, "质检甲")


@pytest.mark.parametrize("who", ["小美", "刘总"])
def test_agents_and_executives_cannot_tag(engine, who):
    import_bytes(engine, "c.jsonl", jsonl(conv("c1", ("customer", "物流慢", None))))
    _users(engine)
    with pytest.raises(AccessDenied):
        judge_tag(engine, "conversation", 1, 2, True, who)
    with pytest.raises(AccessDenied):
        correct_tags(engine, "message", 1, [2], who)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(TagAssignment)) == 0


def test_keyword_rules_tag_the_customer_message_they_matched(engine):
    import_bytes(engine, "c.jsonl", jsonl(conv(
        "c1", ("customer", "ẞ 在吗", None), ("agent", "在的", None), ("customer", "快递三天了还没到", None),
        ("customer", "而且盒子压坏了", None), ("agent", "抱歉，马上处理", None))))
    _users(engine)
    with engine.begin() as conn:
        tree = current_tree(conn, seed=True)
        messages = list(conn.scalars(select(Message.id).order_by(Message.seq)))
        tag_conversations(conn, tree, [1])
        on = tags_of(conn, "message", messages, tree)
    shown = {messages.index(mid): [(tree.path(t.tag_id), t.source, t.evidence) for t in tags]
             for mid, tags in on.items() if tags}
    # each tag on the line that said it (ẞ folds to two letters: positions are counted in the folded text)
    assert shown == {2: [("物流 › 时效", "rule", "关键词“还没到”：快递三天了还没到")],
                     3: [("物流 › 破损", "rule", "关键词“压坏”：而且盒子压坏了")]}
    judge_tag(engine, "message", messages[3], on[messages[3]][0].tag_id, False, "质检甲")
    with engine.begin() as conn:
        assert tag_conversations(conn, tree, [1]) == 0  # a message tag taken off is not put back
        assert tags_of(conn, "message", [messages[3]])[messages[3]] == []


def test_the_message_tag_picker_saves_all_or_nothing(engine):
    """Tree tags, note edits and a new note are one transaction: a step refused half-way (here a note deleted
    meanwhile in another tab) leaves the message's tags and notes as they were."""
    _tree, message, ids = _tagged_message(engine)
    with engine.connect() as conn:
        reviewer = conn.scalar(select(User.id).where(User.name == "质检甲"))
    note = add_message_note(engine, 1, message, reviewer, "首响太慢", ["超时"])

    def state():
        with engine.connect() as conn:
            tags = conn.execute(select(TagAssignment.tag_id, TagAssignment.confirmed, TagAssignment.rejected)
                                .where(TagAssignment.message_id == message).order_by(TagAssignment.tag_id)).all()
            notes = conn.execute(select(Annotation.id, Annotation.comment, Annotation.tags, Annotation.deleted_at)
                                 .where(Annotation.message_id == message).order_by(Annotation.id)).all()
        return [tuple(t) for t in tags], [tuple(n) for n in notes]

    before = state()
    on_message = [AssignedTag(ids["物流 › 时效"], "rule", False), AssignedTag(ids["物流 › 破损"], "rule", False)]
    chosen = [f"tree:{ids['物流 › 破损']}", "note:超时"]
    gone = OwnNote(note + 100, "", ("推诿",))  # deleted in another tab: the plan deletes it, which is refused
    with pytest.raises(NotFoundError):
        save_message_tags(engine, 1, message, reviewer, "质检甲", chosen, "再看一下", on_message, [OwnNote(note, "首响太慢", ("超时",)), gone])
    assert state() == before  # the tree correction before the refused step was rolled back, no new note either

    save_message_tags(engine, 1, message, reviewer, "质检甲", chosen, "再看一下", on_message, [OwnNote(note, "首响太慢", ("超时",))])
    tags, notes = state()
    assert tags == [(ids["物流 › 时效"], False, True), (ids["物流 › 破损"], True, False)]
    assert [(n[1], n[2]) for n in notes] == [("首响太慢", "超时"), ("再看一下", "")]
