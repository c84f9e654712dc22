"""Reviews hold together (issue #12, case 3): one review per reviewer and conversation, stale saves refused with
the newer change shown, deletes kept as history, and an append-only audit trail written with every change."""

from __future__ import annotations

import io
import json
import threading

import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from qa.access import SYSTEM
from qa.audit import audit_trail, describe_change
from qa.ingest.importer import import_stream
from qa.models import Annotation, AuditEntry, ReviewRecord
from qa.review.annotations import (
    Review,
    StaleReviewError,
    add_message_note,
    delete_annotation,
    list_annotations,
    my_review,
    save_review,
    update_message_note,
)
from qa.review.coaching import add_item, create_list, delete_list, remove_item
from qa.review.replay import load_replay, resolve_conversation
from qa.review.users import get_or_create_user
from tests.helpers import read
from tests.seed import seed_small


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def _review_rows(engine: Engine, cid: int, rid: int) -> list[tuple[str | None, float | None, str | None]]:
    a = Annotation
    with engine.connect() as conn:
        return sorted(conn.execute(select(a.rubric_item, a.score, a.verdict).where(
            a.conversation_id == cid, a.reviewer_id == rid, a.message_id.is_(None), a.deleted_at.is_(None))).all(),
            key=lambda r: (r[0] is not None, r[0] or ""))


def test_a_stale_save_is_refused_and_shows_the_newer_change(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-3")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review({"态度礼貌": 4}, "合格"), base_version=0)
    # two tabs opened on version 1; the first saves 不合格, the second (stale) tries 合格 again
    save_review(seeded, cid, wang, Review({"态度礼貌": 1}, "不合格", "说了禁用语"), base_version=1)
    with pytest.raises(StaleReviewError) as caught:
        save_review(seeded, cid, wang, Review({"态度礼貌": 5}, "合格"), base_version=1)
    message = str(caught.value)
    assert "你打开表单后已被修改" in message and "第 2 版，你的表单基于第 1 版" in message
    assert "结论 不合格；态度礼貌 1 分；评语“说了禁用语”" in message and "你的修改没有保存" in message
    kept = read(seeded, my_review, cid, wang)
    assert (kept.verdict, kept.scores, kept.version) == ("不合格", {"态度礼貌": 1}, 2)
    with pytest.raises(StaleReviewError):  # a fresh form (version 0) cannot overwrite an existing review either
        save_review(seeded, cid, wang, Review(verdict="合格"), base_version=0)


def test_two_saves_at_once_never_leave_duplicate_rows(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-4")
    wang = get_or_create_user(seeded, "王质检")
    for round_ in range(4):
        base = read(seeded, my_review, cid, wang)
        version = base.version if base else 0
        start, outcomes = threading.Barrier(2), []

        def save(verdict: str, score: int) -> None:
            start.wait()
            try:
                save_review(seeded, cid, wang, Review({"态度礼貌": score, "解决问题": score}, verdict),
                            base_version=version)  # noqa: B023 - read after the barrier, in this round
                outcomes.append("saved")
            except StaleReviewError:
                outcomes.append("stale")

        threads = [threading.Thread(target=save, args=args) for args in (("合格", 5), ("不合格", 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["saved", "stale"], round_
        rows = _review_rows(seeded, cid, wang)
        assert [r[0] for r in rows] == [None, "态度礼貌", "解决问题"]  # one verdict row, one row per item
        assert read(seeded, my_review, cid, wang).version == version + 1
    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ReviewRecord)) == 1


def test_the_database_refuses_a_second_live_row_for_one_item(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-1")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review({"态度礼貌": 4}, "合格"), base_version=0)
    for item in ("态度礼貌", None):
        with pytest.raises(IntegrityError), seeded.begin() as conn:
            conn.execute(insert(Annotation).values(
                conversation_id=cid, reviewer_id=wang, rubric_item=item, score=3, tags="", comment="",
                created_at=func.now(), updated_at=func.now()))
    with pytest.raises(IntegrityError), seeded.begin() as conn:
        conn.execute(insert(ReviewRecord).values(conversation_id=cid, reviewer_id=wang, version=1,
                                                 updated_at=func.now()))


def test_deletes_are_soft_and_a_deleted_review_can_be_written_afresh(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-2")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review(verdict="需改进"), base_version=0)
    verdict_id = int(read(seeded, list_annotations, cid)["id"].iloc[0])
    delete_annotation(seeded, verdict_id, wang)
    assert read(seeded, list_annotations, cid).empty and read(seeded, my_review, cid, wang) is None
    with seeded.connect() as conn:
        kept = conn.execute(select(Annotation.verdict, Annotation.deleted_at).where(Annotation.id == verdict_id)).one()
        head = conn.execute(select(ReviewRecord.version, ReviewRecord.deleted_at)).one()
    assert kept.verdict == "需改进" and kept.deleted_at is not None
    assert head.version == 2 and head.deleted_at is not None
    with pytest.raises(StaleReviewError, match="这份评审已被删除"):  # a tab opened before the delete
        save_review(seeded, cid, wang, Review(verdict="合格"), base_version=1)
    assert save_review(seeded, cid, wang, Review(verdict="合格"), base_version=0) == 3
    assert read(seeded, my_review, cid, wang).verdict == "合格"


def test_every_change_is_in_the_audit_trail_with_before_and_after(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-3")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review({"态度礼貌": 4}, "合格"), base_version=0)
    save_review(seeded, cid, wang, Review({"态度礼貌": 2}, "不合格"), base_version=1)
    message = int(read(seeded, load_replay, cid).messages["id"].iloc[1])
    note = add_message_note(seeded, cid, message, wang, "语气生硬", ["语气生硬"])
    update_message_note(seeded, note, wang, "语气很生硬", ["语气生硬"])
    delete_annotation(seeded, note, wang)
    trainer, admin = get_or_create_user(seeded, "张培训"), get_or_create_user(seeded, "演示管理员")
    list_id = create_list(seeded, "话术", user_id=trainer)
    item = add_item(seeded, list_id, cid, kind="bad", user_id=trainer)
    remove_item(seeded, item, user_id=trainer)
    delete_list(seeded, list_id, user_id=admin)
    trail = read(seeded, audit_trail, SYSTEM).iloc[::-1]
    trail = trail[trail["entity"] != "import_batch"]  # the seed's own imports
    assert list(zip(trail["action"], trail["entity"], strict=True)) == [
        ("create", "review"), ("update", "review"), ("create", "note"), ("update", "note"), ("delete", "note"),
        ("create", "coaching_list"), ("create", "coaching_item"), ("delete", "coaching_item"),
        ("delete", "coaching_list")]
    assert list(trail["user_name"]) == ["王质检"] * 5 + ["张培训"] * 3 + ["演示管理员"]
    update_row = trail.iloc[1]
    assert json.loads(update_row["before"])["verdict"] == "合格"
    assert json.loads(update_row["after"]) == {"comment": "", "scores": {"态度礼貌": 2}, "verdict": "不合格",
                                               "version": 2}
    assert json.loads(trail.iloc[4]["before"])["comment"] == "语气很生硬" and pd.isna(trail.iloc[4]["after"])


def test_a_failed_write_leaves_no_audit_entry(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-3")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review(verdict="合格"), base_version=0)
    with pytest.raises(StaleReviewError):
        save_review(seeded, cid, wang, Review(verdict="不合格"), base_version=0)
    assert len(read(seeded, audit_trail, SYSTEM, entity="review")) == 1


def test_the_audit_trail_cannot_be_edited_or_deleted(seeded: Engine) -> None:
    cid = read(seeded, resolve_conversation, "tm-3")
    wang = get_or_create_user(seeded, "王质检")
    save_review(seeded, cid, wang, Review(verdict="合格"), base_version=0)
    for statement in (update(AuditEntry).values(user_name="别人"), text("DELETE FROM audit_log")):
        with pytest.raises(DBAPIError, match="append-only"), seeded.begin() as conn:
            conn.execute(statement)
    assert list(read(seeded, audit_trail, SYSTEM, entity="review")["user_name"]) == ["王质检"]


def test_an_import_is_in_the_audit_trail(engine: Engine) -> None:
    line = {"conversation_id": "a-1", "platform": "天猫", "messages": [{"role": "customer", "text": "在吗"}]}
    import_stream(engine, "a.jsonl", io.BytesIO(json.dumps(line, ensure_ascii=False).encode()), by=SYSTEM)
    entry = read(engine, audit_trail, SYSTEM).iloc[0]
    assert (entry["action"], entry["entity"]) == ("import", "import_batch")
    after = json.loads(entry["after"])
    assert (after["file"], after["conversations_added"], after["messages_added"]) == ("a.jsonl", 1, 1)


def test_the_migration_keeps_the_newest_of_duplicate_review_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from qa.db import _alembic_config, init_db, make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _alembic_config(eng)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.execute(text("INSERT INTO users (id, name, role) VALUES (1, '王质检', 'qa'), (2, '陈经理', 'manager')"))
        conn.execute(text("INSERT INTO conversations (id, source_key, external_id, message_count, content_hash) "
                          "VALUES (1, 'k', 'c-1', 0, 'h')"))
        rows = [(10, "态度礼貌", 4, None), (11, "态度礼貌", 2, None), (12, None, None, "合格"), (13, None, None, "不合格")]
        for aid, item, score, verdict in rows:  # two saves at once, before this version
            conn.execute(text(
                "INSERT INTO annotations (id, conversation_id, reviewer_id, rubric_item, score, verdict, tags, "
                "comment, created_at, updated_at) VALUES (:id, 1, 1, :item, :score, :verdict, '', '', "
                "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"),
                {"id": aid, "item": item, "score": score, "verdict": verdict})
    init_db(eng)
    with eng.connect() as conn:
        live = conn.execute(text("SELECT id FROM annotations WHERE deleted_at IS NULL ORDER BY id")).scalars().all()
        kept = conn.execute(text("SELECT count(*) FROM annotations")).scalar()
        heads = conn.execute(text("SELECT conversation_id, reviewer_id, version FROM reviews")).all()
        roles = conn.execute(text("SELECT name, role FROM users ORDER BY id")).all()
    assert live == [11, 13] and kept == 4  # the newest of each; the others soft-deleted, not lost
    assert heads == [(1, 1, 1)]
    assert roles == [("王质检", "reviewer"), ("陈经理", "qa_manager")]
    assert read(eng, my_review, 1, 1).verdict == "不合格"
    eng.dispose()


@pytest.mark.parametrize(("action", "before", "after", "said"), [
    ("import", float("nan"), '{"file": "a.jsonl", "format": "jsonl", "conversations_added": 2864, "rejected": 0}',
     "文件 a.jsonl；格式 jsonl；新增会话 2,864"),
    ("create", None, '{"name": "王质检", "role": "reviewer", "agent_name": null}', "名称 王质检；角色 质检员"),
    ("update", None, '{"password": "changed"}', "密码 已修改"),
    ("update", '{"score": 85.71428571428571, "comment": "", "ratings": {"a": 0.0, "b": 1.0}}',
     '{"score": 100.0, "comment": "首响慢", "ratings": {"a": 1.0, "b": 1.0}}', "得分 85.7 → 100；评语 空 → 首响慢；各项评分改了 1 项"),
    ("delete", '{"name": "首响与话术", "items": [{}, {}]}', None, "名称 首响与话术；案例 2 项"),
])
def test_audit_entries_are_said_in_words(action: str, before: object, after: str | None, said: str) -> None:
    assert describe_change(action, before, after) == said
