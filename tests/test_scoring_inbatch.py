"""Auto-QA and tagging inside the scoring run (from the chunk the worker holds) store exactly what the same steps
store when they read the conversations back from the database, as they did before they ran inside the chunks."""

import json

import pytest
from sqlalchemy import Engine, delete, select

from huifang_demo.generate import generate_demo
from qa.ingest.importer import import_path
from qa.jobs.scoring import score_database
from qa.models import AutoQaCheck, AutoQaScore, Conversation, TagAssignment
from qa.program import store
from qa.program.autoqa import run_auto_qa
from qa.program.scorecard import Criterion, Scorecard, Section
from qa.program.selection import SelectionRule
from qa.program.tag_store import current_tree, tag_conversations
from qa.review.users import ensure_demo_users

CARD = Scorecard("售后", (Section("a", "服务", (
    Criterion("hello", "开场问候", auto_check="greeting"),
    Criterion("fast", "首次响应及时", auto_check="first_response"),
    Criterion("tone", "语气友好", scale="rating", allow_na=True, auto_check="tone"),
    Criterion("forbidden", "禁用语", kind="adjust", points=-5, max_times=2, auto_check="forbidden"),
    Criterion("sorry", "久等致歉", allow_na=True, auto_check="apology_after_wait"),
    Criterion("end", "结束时顾客情绪", auto_check="sentiment_end"),
)),))


def _stored(engine: Engine) -> tuple[list, list, list]:
    a, s, t = AutoQaCheck, AutoQaScore, TagAssignment
    with engine.connect() as conn:
        checks = conn.execute(select(a.conversation_id, a.check_name, a.passed, a.count, a.evidence, a.basis)
                              .order_by(a.conversation_id, a.check_name)).all()
        scores = conn.execute(select(s.conversation_id, s.version_id, s.score, s.fatal_failed, s.criteria)
                              .order_by(s.conversation_id)).all()
        tags = conn.execute(select(t.conversation_id, t.message_id, t.tag_id, t.source, t.evidence, t.confirmed,
                                   t.rejected).where(t.review_id.is_(None)).order_by(t.id)).all()
    return checks, scores, tags


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_checks_and_tags_of_the_scoring_run_equal_those_read_back_from_the_database(
        sqlite_engine: Engine, tmp_path, n_jobs: int) -> None:
    generate_demo(tmp_path, conversations=150, seed=3)
    import_path(sqlite_engine, tmp_path / "conversations.jsonl")
    ensure_demo_users(sqlite_engine, passwords=False)
    store.create_scorecard(sqlite_engine, CARD, "陈经理")
    store.save_selection_rules(sqlite_engine, [SelectionRule("售后", platform="天猫")], "陈经理")
    report = score_database(sqlite_engine, n_jobs=n_jobs, chunk=40)  # several chunks, some across workers
    checks, scores, tags = in_run = _stored(sqlite_engine)
    n = report.scored
    assert n > 100 and report.auto_checked == len(scores) == n and len(checks) == n * 10
    # the archive exercises what the checks and rules look at: failures with evidence, scores, both tag sources
    assert any(c.passed is False and json.loads(c.evidence) for c in checks)
    assert {s.score is None for s in scores} == {True, False}  # only 天猫 has a scorecard
    assert len({s.score for s in scores}) > 3
    assert {t.source for t in tags} == {"model", "rule"}
    assert any(t.message_id is not None for t in tags)  # keyword rules tag the customer message they matched

    with sqlite_engine.begin() as conn:
        for table in (AutoQaCheck, AutoQaScore, TagAssignment):
            conn.execute(delete(table))
    assert run_auto_qa(sqlite_engine).checked == n
    with sqlite_engine.begin() as conn:
        ids = list(conn.scalars(select(Conversation.id).order_by(Conversation.id)))
        tag_conversations(conn, current_tree(conn), ids)
    read_back = _stored(sqlite_engine)
    assert in_run[0] == read_back[0]
    assert in_run[1] == read_back[1]
    # ids (and so the order across conversations) follow the chunks; each conversation's tags come in one order
    assert sorted(in_run[2], key=repr) == sorted(read_back[2], key=repr)
    assert [t for t in in_run[2] if t.conversation_id == ids[0]] == [t for t in read_back[2]
                                                                    if t.conversation_id == ids[0]]
