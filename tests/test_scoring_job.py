"""Scoring what is in the database: every message scored, incremental reruns, parallel workers."""

from sqlalchemy import func, select, update

from qa.jobs.scoring import pending_count, pending_ids, score_database
from qa.models import ConversationScore, DailyStat, Message, MessageScore
from qa.program.autoqa import auto_results
from tests.helpers import conv, import_bytes, jsonl

CONVS = [
    conv("a", ("customer", "在吗？我的快递三天了还没到", "2026-11-11 10:00:00"),
         ("agent", "亲，帮您查一下物流哦", "2026-11-11 10:00:20"), platform="天猫"),
    conv("b", ("customer", "你们这什么破服务，等了半天没人理", "2026-11-11 11:00:00"),
         ("agent", "不知道", "2026-11-11 11:09:00"), ("customer", "我要投诉", "2026-11-11 11:10:00"), platform="京东"),
    conv("c", ("customer", "开发票", None), ("agent", "好的亲，请提供抬头和税号", None)),
]


def _scored(engine):
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(ConversationScore)),
                conn.scalar(select(func.count()).select_from(MessageScore)))


def test_every_message_scored_and_rerun_is_incremental(engine):
    import_bytes(engine, "a.jsonl", jsonl(*CONVS))
    report = score_database(engine, n_jobs=1)
    assert (report.pending, report.scored, report.messages) == (3, 3, 7)
    assert _scored(engine) == (3, 7)
    with engine.connect() as conn:
        b = conn.execute(select(ConversationScore).join(Message, Message.conversation_id ==
                                                        ConversationScore.conversation_id)
                         .where(Message.text == "不知道")).first()
        assert conn.scalar(select(func.sum(DailyStat.scored))) == 2  # "c" has no time, so no day
    assert b.first_response_s == 540 and b.replies_in_sla == 0 and b.unanswered_at_end == 1
    assert score_database(engine, n_jobs=1).pending == 0
    with engine.connect() as conn:
        assert pending_count(conn, report.model_version) == 0

    import_bytes(engine, "more.jsonl", jsonl(conv("a", ("customer", "好的谢谢", "2026-11-11 10:01:00"), platform="天猫")))
    with engine.connect() as conn:
        assert pending_count(conn, report.model_version) == len(pending_ids(conn, report.model_version)) == 1
    again = score_database(engine, n_jobs=1)
    assert (again.pending, again.messages) == (1, 3)
    assert _scored(engine) == (3, 8)


def test_model_upgrade_rescores_everything(engine):
    import_bytes(engine, "a.jsonl", jsonl(*CONVS))
    score_database(engine, n_jobs=1)
    with engine.begin() as conn:
        conn.execute(update(ConversationScore).values(model_version="old"))
    assert score_database(engine, n_jobs=1).pending == 3


def test_parallel_workers_write_the_same_scores(engine):
    import_bytes(engine, "a.jsonl", jsonl(*CONVS))
    serial = score_database(engine, n_jobs=1)
    with engine.connect() as conn:
        before = sorted(conn.execute(select(MessageScore.message_id, MessageScore.tone_risk)).all())
    parallel = score_database(engine, n_jobs=2, rescore_all=True, chunk=1)
    with engine.connect() as conn:
        after = sorted(conn.execute(select(MessageScore.message_id, MessageScore.tone_risk)).all())
    assert (parallel.scored, parallel.messages) == (serial.scored, serial.messages)
    assert after == before


def test_scoring_runs_auto_qa_on_what_it_scored(engine):
    import_bytes(engine, "a.jsonl", jsonl(*CONVS))
    assert score_database(engine, n_jobs=1).auto_checked == 3
    with engine.connect() as conn:
        b = conn.scalar(select(Message.conversation_id).where(Message.text == "不知道"))
        results = auto_results(conn, b)
    assert results["first_response"].passed is False  # 9 minutes against 京东's 30 s, read from the new scores
    assert results["forbidden"].evidence[0].phrase == "不知道"
    assert score_database(engine, n_jobs=1).auto_checked == 0  # incremental like scoring
