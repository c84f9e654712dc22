"""Removing a stored conversation (issue #12, case 5): it goes with everything that depends on it, in one
transaction; the others and the daily statistics are as if it had never been imported."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from qa.access import SYSTEM, AccessDenied, principal_of
from qa.analytics.filters import day_range
from qa.analytics.stats import rebuild_daily_stats
from qa.audit import audit_trail
from qa.cli import main
from qa.db import make_engine
from qa.errors import NotFoundError
from qa.ingest.removal import delete_conversations
from qa.models import Annotation, Conversation, ConversationScore, DailyStat, Message, MessageScore
from qa.review.users import create_user, get_or_create_user
from tests.helpers import conv, counts, import_bytes, jsonl

T = "2026-11-11T10:00:00+08:00"


def _stored_year_9999(engine: Engine) -> dict[str, int]:
    """Two conversations, one of them moved to year 9999 (as an import before the time check could store it),
    reviewed and scored; returns their ids by conversation id."""
    import_bytes(engine, "a.jsonl", jsonl(conv("bad", ("customer", "在吗", T), ("agent", "在的", T), platform="京东"),
                                          conv("good", ("customer", "发货了吗", T), platform="京东")))
    reviewer = get_or_create_user(engine, "质检员甲")
    with engine.begin() as conn:
        ids = dict(conn.execute(select(Conversation.external_id, Conversation.id)).all())
        conn.execute(update(Conversation).where(Conversation.id == ids["bad"]).values(started_at=datetime(9999, 12, 31)))
        first = conn.scalar(select(Message.id).where(Message.conversation_id == ids["bad"]).order_by(Message.seq))
        now = datetime(2026, 11, 20)
        for cid in ids.values():
            conn.execute(insert(ConversationScore).values(
                conversation_id=cid, model_version="t", content_hash="h", scored_at=now, dissatisfaction_risk=0.5,
                tone_risk=0.1, relevance=0.8, replies=1, replies_in_sla=1, unanswered_at_end=0, category="物流",
                category_source="given", rule_hits=0, explanation=""))
        conn.execute(insert(MessageScore).values(message_id=first, conversation_id=ids["bad"], model_version="t"))
        conn.execute(insert(Annotation).values(conversation_id=ids["bad"], message_id=first, reviewer_id=reviewer,
                                               verdict="不合格", created_at=now, updated_at=now))
        rebuild_daily_stats(conn)
    return ids


def test_a_conversation_goes_with_its_messages_scores_and_reviews(engine: Engine) -> None:
    ids = _stored_year_9999(engine)
    removal = delete_conversations(engine, ["京东|bad"], by=SYSTEM)
    assert removal.conversations == ["京东|bad"]
    assert removal.rows["messages"] == 2 and removal.rows["annotations"] == 1 and removal.rows["message_scores"] == 1
    assert counts(engine) == {"conversations": 1, "messages": 1, "tickets": 0, "annotations": 0}
    with engine.connect() as conn:
        assert conn.scalars(select(ConversationScore.conversation_id)).all() == [ids["good"]]
        assert conn.scalar(select(func.max(DailyStat.day))).year == 2026


@pytest.mark.parametrize("name", ["bad", "id"])
def test_a_conversation_is_named_by_its_id_in_the_file_or_in_the_database(engine: Engine, name: str) -> None:
    ids = _stored_year_9999(engine)
    delete_conversations(engine, [ids["bad"] if name == "id" else "bad"], by=SYSTEM)
    with engine.connect() as conn:
        assert conn.scalars(select(Conversation.external_id)).all() == ["good"]


def test_an_unknown_or_ambiguous_name_removes_nothing(engine: Engine) -> None:
    _stored_year_9999(engine)
    import_bytes(engine, "b.jsonl", jsonl(conv("good", ("customer", "在吗", T), platform="抖音")))
    with pytest.raises(NotFoundError, match="找不到会话“nope”"):
        delete_conversations(engine, ["bad", "nope"], by=SYSTEM)
    with pytest.raises(NotFoundError, match="会话ID“good”对应多个会话"):
        delete_conversations(engine, ["good"], by=SYSTEM)
    assert counts(engine)["conversations"] == 3


def test_a_stored_year_9999_conversation_leaves_the_date_range_on_the_real_days(engine: Engine) -> None:
    _stored_year_9999(engine)
    with engine.connect() as conn:
        assert day_range(conn) == (date(2026, 11, 11), date(2026, 11, 11))


def test_only_an_admin_deletes_and_each_deletion_is_in_the_audit_trail(engine: Engine) -> None:
    ids = _stored_year_9999(engine)
    reviewer = create_user(engine, SYSTEM, "质检员乙", "reviewer", "password-1")
    with engine.connect() as conn:
        who = principal_of(conn, reviewer)
    for by in (None, who):
        with pytest.raises(AccessDenied, match="没有权限删除数据|请先登录"):
            delete_conversations(engine, ["bad"], by=by)
    assert counts(engine)["conversations"] == 2
    delete_conversations(engine, ["bad"], by=SYSTEM)
    with engine.connect() as conn:
        trail = audit_trail(conn, SYSTEM, entity="conversation")
    assert trail[["action", "entity_id"]].values.tolist() == [["delete", str(ids["bad"])]]
    assert '"source_key": "京东|bad"' in trail.loc[0, "before"] and "9999-12-31" in trail.loc[0, "before"]


def test_the_cli_deletes_a_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert main(["--db", url, "import", str(_write(tmp_path))]) == 0
    assert main(["--db", url, "delete", "--conversation", "bad"]) == 0
    assert "已删除 1 个会话：京东|bad（连同 消息 2 条）" in capsys.readouterr().out
    assert main(["--db", url, "delete", "--conversation", "bad"]) == 1
    assert "错误：找不到会话“bad”" in capsys.readouterr().err
    assert counts(make_engine(url))["conversations"] == 1


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(conv("bad", ("customer", "在吗", T), ("agent", "在的", T), platform="京东"),
                           conv("good", ("customer", "发货了吗", T), platform="京东")))
    return path
