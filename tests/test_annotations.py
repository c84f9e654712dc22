"""Annotations: rubric reviews, verdicts, notes on single messages, editing own ones, assignment status."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from qa.access import SYSTEM
from qa.errors import NotFoundError
from qa.models import ReviewAssignment
from qa.review.annotations import (
    RUBRIC,
    VERDICTS,
    AnnotationError,
    Review,
    add_message_note,
    delete_annotation,
    list_annotations,
    my_review,
    review_version,
    save_review,
    update_message_note,
)
from qa.review.queue import QueueQuery, assign
from qa.review.replay import load_replay, resolve_conversation
from qa.review.users import get_or_create_user
from tests.helpers import read
from tests.seed import seed_small


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def _content(review: Review | None) -> tuple | None:
    return None if review is None else (review.scores, review.verdict, review.comment)


def test_vocabulary() -> None:
    assert RUBRIC == ("响应及时", "态度礼貌", "解决问题", "规范用语")
    assert VERDICTS == ("合格", "需改进", "不合格")


def test_save_and_edit_own_review(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-3")
    wang = get_or_create_user(seeded, "王质检")
    review = Review({"响应及时": 2, "态度礼貌": 1, "解决问题": 3, "规范用语": 1}, "不合格", "首响超时且说了禁用语")
    assert save_review(seeded, cid, wang, review, base_version=0) == 1
    assert _content(read(seeded, my_review, cid, wang)) == _content(review)
    df = read(seeded, list_annotations, cid)
    assert list(zip(df["reviewer"], df["target"], df["rubric_item"].fillna("—"), df["score"].fillna(0),
                    df["verdict"].fillna(""), strict=True)) == [
        ("王质检", "整体", "响应及时", 2, ""), ("王质检", "整体", "态度礼貌", 1, ""), ("王质检", "整体", "解决问题", 3, ""),
        ("王质检", "整体", "规范用语", 1, ""), ("王质检", "整体", "—", 0, "不合格")]
    edited = Review({"响应及时": 3}, "需改进", "复核后改为需改进")
    assert save_review(seeded, cid, wang, edited, base_version=1) == 2
    assert _content(read(seeded, my_review, cid, wang)) == _content(edited)
    assert len(read(seeded, list_annotations, cid)) == 2  # dropped rubric items are removed, not left behind
    li = get_or_create_user(seeded, "李质检")
    save_review(seeded, cid, li, Review({"态度礼貌": 2}, "不合格"), base_version=0)
    assert sorted(read(seeded, list_annotations, cid)["reviewer"]) == ["李质检", "李质检", "王质检", "王质检"]
    assert _content(read(seeded, my_review, cid, wang)) == _content(edited)  # another reviewer's review does not touch mine


@pytest.mark.parametrize(("review", "message"), [
    (Review({"态度礼貌": 6}), "“态度礼貌”的评分须在 1–5 之间，收到 6"),
    (Review({"好看": 3}), "未知的评分项“好看”"),
    (Review(verdict="还行"), "未知的结论“还行”，可选：合格、需改进、不合格"),
    (Review(), "评审是空的"),
])
def test_invalid_reviews_are_refused(seeded: Engine, review: Review, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        save_review(seeded, read(seeded, resolve_conversation, "tm-1"), 1, review, base_version=0)
    assert read(seeded, list_annotations, read(seeded, resolve_conversation, "tm-1")).empty


def test_notes_on_single_messages(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-4")
    wang, li = get_or_create_user(seeded, "王质检"), get_or_create_user(seeded, "李质检")
    second = int(read(seeded, load_replay, cid).messages["id"].iloc[1])
    note = add_message_note(seeded, cid, second, wang, "  首响 10 分钟  ", ["超时", "超时", "推诿"])
    df = read(seeded, list_annotations, cid)
    assert (df["target"].iloc[0], df["tags"].iloc[0], df["comment"].iloc[0]) == ("消息 #2", "超时，推诿", "首响 10 分钟")
    with pytest.raises(AnnotationError, match="只能修改或删除自己的批注"):
        update_message_note(seeded, note, li, "改掉", [])
    with pytest.raises(AnnotationError, match="只能修改或删除自己的批注"):
        delete_annotation(seeded, note, li)
    update_message_note(seeded, note, wang, "首响 10 分钟，远超 SLA", ["超时"])
    assert read(seeded, list_annotations, cid)["comment"].iloc[0] == "首响 10 分钟，远超 SLA"
    with pytest.raises(AnnotationError, match="请填写批注内容"):
        add_message_note(seeded, cid, second, wang, " ", [])
    other = int(read(seeded, load_replay, read(seeded, resolve_conversation, "tm-1")).messages["id"].iloc[0])
    with pytest.raises(NotFoundError, match="不属于会话"):
        add_message_note(seeded, cid, other, wang, "错的会话")
    delete_annotation(seeded, note, wang)
    assert read(seeded, list_annotations, cid).empty
    with pytest.raises(NotFoundError):
        delete_annotation(seeded, note, wang)


def test_verdict_completes_the_assignment_and_deleting_it_reopens(seeded: Engine) -> None:
    wang = get_or_create_user(seeded, "王质检")
    assign(seeded, QueueQuery(), wang, limit=1, by=SYSTEM)  # tm-4
    cid = read(seeded, resolve_conversation, "tm-4")

    def status() -> tuple[str, bool]:
        with seeded.connect() as conn:
            row = conn.execute(select(ReviewAssignment.status, ReviewAssignment.done_at)).one()
        return row.status, row.done_at is not None

    save_review(seeded, cid, wang, Review({"态度礼貌": 3}), base_version=0)
    assert status() == ("待审", False)  # scores alone are not a finished review
    save_review(seeded, cid, wang, Review({"态度礼貌": 3}, "需改进"), base_version=1)
    assert status() == ("已完成", True)
    verdict_id = int(read(seeded, list_annotations, cid).dropna(subset=["verdict"])["id"].iloc[0])
    delete_annotation(seeded, verdict_id, wang)
    assert status() == ("待审", False)


def test_review_version_changes_with_every_write(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "dy-1")
    wang = get_or_create_user(seeded, "王质检")
    seen = {read(seeded, review_version)}
    save_review(seeded, cid, wang, Review(verdict="合格"), base_version=0)
    seen.add(read(seeded, review_version))
    save_review(seeded, cid, wang, Review(verdict="需改进"), base_version=1)
    seen.add(read(seeded, review_version))
    assign(seeded, QueueQuery(), wang, limit=2, by=SYSTEM)
    seen.add(read(seeded, review_version))
    assert len(seen) == 4


def test_assigning_skips_what_the_reviewer_has_already_reviewed(seeded: Engine) -> None:
    wang = get_or_create_user(seeded, "王质检")
    done = read(seeded, resolve_conversation, "tm-4")  # first in the queue
    save_review(seeded, done, wang, Review({"态度礼貌": 3}, "合格"), base_version=0)
    assert assign(seeded, QueueQuery(), wang, limit=3, by=SYSTEM) == 2
    with seeded.connect() as conn:
        assigned = set(conn.scalars(select(ReviewAssignment.conversation_id)))
    assert done not in assigned and len(assigned) == 2
