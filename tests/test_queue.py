"""The review queue on tests/seed.py: ranking, reasons, filters, paging, seeded samples, assignment, prev/next."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select, update

from qa.access import SYSTEM
from qa.analytics.filters import Filters
from qa.models import Conversation, ConversationScore, Message, MessageScore, ReviewAssignment
from qa.program.tag_store import current_tree, judge_tag, tag_filter
from qa.review.annotations import Review, save_review
from qa.review.queue import (
    QueueQuery,
    assign,
    conversation_reasons,
    forbidden_phrase,
    neighbours,
    page_ids,
    platform_sla,
    queue_count,
    queue_page,
    review_state,
)
from qa.review.replay import resolve_conversation
from qa.review.users import get_or_create_user
from tests.helpers import conv, import_bytes, jsonl, read
from tests.seed import seed_small

DRAWN_7 = ["tm-4", "jd-2"]  # the same on SQLite and PostgreSQL: the seeded hash is portable SQL
RANKED = ["tm-4", "tm-3", "dy-1", "jd-2", "jd-1", "tm-2", "tm-1", "dy-2"]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def _ext(engine: Engine, ids: list[int]) -> list[str]:
    with engine.connect() as conn:
        names = dict(conn.execute(select(Conversation.id, Conversation.external_id)).all())
    return [names[i] for i in ids]


def _page(engine: Engine, q: QueueQuery, page: int = 1, size: int = 50) -> list[str]:
    return list(read(engine, queue_page, q, page, size)["external_id"])


def test_ranking_priorities_and_reasons(seeded: Engine) -> None:
    df = read(seeded, queue_page, QueueQuery(), 1)
    assert list(df["external_id"]) == RANKED
    assert list(df["priority"]) == [2.6, 2.5, 1.6, 0.9, 0.3, 0.2, 0.1, 0.05]
    reasons = dict(zip(df["external_id"], df["reasons"], strict=True))
    assert reasons["tm-4"] == ("慢：首次响应 10 分，超过 SLA 3 分；禁用语：“不知道”；客户情绪：最负面 0.90；差评：CSAT 2；"
                               "预测不满 0.90")
    assert reasons["tm-3"] == ("慢：首次响应 6 分 40 秒，超过 SLA 3 分；禁用语：“不知道”；客户情绪：最负面 0.80；"
                               "差评：CSAT 1；预测不满 0.80")
    assert reasons["dy-1"] == "客户情绪：最负面 0.70；差评：CSAT 2；预测不满 0.70"
    assert reasons["jd-2"] == "慢：首次响应 45 秒，超过 SLA 30 秒；预测不满 0.60"  # 京东's first-reply SLA is 30 s
    assert reasons["jd-1"] == reasons["tm-1"] == ""
    first = df.iloc[0]
    assert (first["platform"], first["shop"], first["agent"], first["team"], first["category"], first["csat"],
            first["risk"], first["reviewed"], first["assigned"]) == (
        "天猫", "某某官方旗舰店", "阿杰", "售后", "退货", 2, 0.9, False, "")


def test_one_conversations_reasons_are_the_queues(seeded: Engine) -> None:
    df = read(seeded, queue_page, QueueQuery(), 1)
    for cid, said in zip(df["id"], df["reasons"], strict=True):  # the replay repeats them word for word
        assert read(seeded, conversation_reasons, int(cid)) == said


@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(platforms=("天猫",)), ["tm-4", "tm-3", "tm-2", "tm-1"]),
    (Filters(agents=("小李",)), ["jd-2", "jd-1"]),
    (Filters(teams=("评价",)), ["dy-1", "dy-2"]),
    (Filters(categories=("退货",)), ["tm-4", "tm-3"]),
    (Filters(csat_max=2), ["tm-4", "tm-3", "dy-1"]),
    (Filters(min_risk=0.6, max_risk=0.8), ["tm-3", "dy-1", "jd-2"]),
    (Filters(min_tone_risk=0.4), ["tm-4", "tm-3", "dy-1"]),
    (Filters(min_first_response_s=90), ["tm-4", "tm-3", "dy-1"]),
    (Filters(start=date(2026, 11, 12), end=date(2026, 11, 12)), ["tm-4", "dy-1", "jd-2"]),
    (Filters(text="jd-1"), ["jd-1"]),
])
def test_filters_narrow_the_queue(seeded: Engine, filters: Filters, expected: list[str]) -> None:
    q = QueueQuery(filters)
    assert _page(seeded, q) == expected
    assert read(seeded, queue_count, q) == len(expected)


def test_the_tag_filter_lists_conversations_tagged_or_with_a_tagged_message(seeded: Engine) -> None:
    with seeded.begin() as conn:
        tree = current_tree(conn, seed=True)
    ids = {path: tag_id for tag_id, path in tree.paths().items()}
    cids = {key: read(seeded, resolve_conversation, key) for key in ("tm-3", "jd-1", "dy-1")}
    with seeded.connect() as conn:
        dy1_message = conn.scalar(select(Message.id).where(Message.conversation_id == cids["dy-1"]).limit(1))
    judge_tag(seeded, "conversation", cids["tm-3"], ids["物流 › 破损"], True, "王质检")
    judge_tag(seeded, "message", dy1_message, ids["物流 › 破损"], True, "王质检")  # one message of dy-1
    judge_tag(seeded, "conversation", cids["jd-1"], ids["物流 › 时效"], True, "王质检")
    judge_tag(seeded, "conversation", cids["jd-1"], ids["物流 › 破损"], True, "王质检")
    judge_tag(seeded, "conversation", cids["jd-1"], ids["物流 › 破损"], False, "王质检")  # taken off again

    def listed(*paths: str) -> list[str]:
        q = QueueQuery(Filters(tags=tag_filter(tree, [ids[p] for p in paths])))
        assert read(seeded, queue_count, q) == len(_page(seeded, q))
        return _page(seeded, q)

    assert listed("物流 › 破损") == ["tm-3", "dy-1"]
    assert listed("物流") == ["tm-3", "dy-1", "jd-1"]  # a parent lists its children's conversations
    assert listed("物流 › 时效", "售后 › 退款") == ["jd-1"]
    assert Filters(tags=tag_filter(tree, [ids["物流 › 破损"]])).describe() == "标签：物流 › 破损"


def test_server_side_paging(seeded: Engine) -> None:
    q = QueueQuery()
    assert read(seeded, queue_count, q) == 8
    assert _page(seeded, q, 2, 3) == ["jd-2", "jd-1", "tm-2"]
    assert _page(seeded, q, 3, 3) == ["tm-1", "dy-2"]
    assert _page(seeded, q, 4, 3) == []
    assert _ext(seeded, read(seeded, page_ids, q, 1, 3)) == ["tm-4", "tm-3", "dy-1"]


def test_samples_are_seeded_and_identical_on_both_databases(seeded: Engine) -> None:
    random_half = QueueQuery(mode="random", rate=0.5, seed=7)
    assert _page(seeded, random_half) == ["tm-4", "dy-1", "jd-2", "tm-2", "dy-2"]
    assert _page(seeded, random_half) == _page(seeded, random_half)
    assert read(seeded, queue_count, random_half) == 5
    assert _page(seeded, QueueQuery(mode="quota", quota=1, seed=7)) == ["tm-4", "jd-2", "tm-2", "dy-2"]
    assert _page(seeded, QueueQuery(mode="risk", rate=0.5, seed=7)) == ["tm-4", "tm-3", "dy-1", "jd-2", "tm-2"]
    assert random_half.describe_sample() == "随机 50% · 抽样编号 7"
    assert QueueQuery(mode="quota", quota=3, seed=2).describe_sample() == "每坐席 3 条 · 抽样编号 2"
    assert QueueQuery(mode="risk", rate=0.2, seed=9).describe_sample() == "风险加权 20% · 抽样编号 9"
    assert QueueQuery().describe_sample() == "按优先级"


def test_draw_takes_n_at_random_from_the_filtered_conversations(seeded: Engine) -> None:
    after_sales = Filters(teams=("售后",))
    drawn = [_page(seeded, QueueQuery(after_sales, "draw", quota=2, seed=s)) for s in range(1, 8)]
    assert all(len(d) == 2 and set(d) <= {"tm-3", "tm-4", "jd-1", "jd-2"} for d in drawn)
    assert len({frozenset(d) for d in drawn}) > 1  # another seed, another draw
    assert _page(seeded, QueueQuery(after_sales, "draw", quota=2, seed=7)) == DRAWN_7
    assert read(seeded, queue_count, QueueQuery(after_sales, "draw", quota=10, seed=1)) == 4  # fewer match than N
    assert QueueQuery(mode="draw", quota=5, seed=42).describe_sample() == "随机抽取 5 条 · 抽样编号 42"


def test_quota_takes_k_per_agent(seeded: Engine) -> None:
    for seed in range(1, 6):
        df = read(seeded, queue_page, QueueQuery(mode="quota", quota=1, seed=seed), 1)
        assert sorted(df["agent"]) == ["小李", "小王", "小美", "阿杰"]
    assert read(seeded, queue_count, QueueQuery(mode="quota", quota=2, seed=1)) == 8


def test_risk_weighted_sample_keeps_every_risk_above_the_mean_at_full_rate(seeded: Engine) -> None:
    # mean risk is 0.45625: at rate 100 % those at or above it are drawn with probability 1, the rest with risk/mean
    for seed in range(1, 8):
        drawn = set(_page(seeded, QueueQuery(mode="risk", rate=1.0, seed=seed)))
        assert {"tm-4", "tm-3", "dy-1", "jd-2"} <= drawn


def test_random_rate_is_respected_on_many_conversations(sqlite_engine: Engine) -> None:
    convs = [conv(f"c{i}", ("customer", "在吗", "2026-11-11T10:00:00")) for i in range(1000)]
    import_bytes(sqlite_engine, "many.jsonl", jsonl(*convs))
    counts = [read(sqlite_engine, queue_count, QueueQuery(mode="random", rate=0.1, seed=s)) for s in (1, 2, 3)]
    assert all(70 <= n <= 130 for n in counts), counts
    samples = [set(read(sqlite_engine, page_ids, QueueQuery(mode="random", rate=0.1, seed=s), 1, 200)) for s in (1, 2)]
    assert len(samples[0] & samples[1]) < 40  # another seed is another sample, not a shifted copy
    assert read(sqlite_engine, queue_count, QueueQuery(mode="random", rate=1.0, seed=1)) == 1000


def test_assign_my_queue_and_status(seeded: Engine) -> None:
    wang = get_or_create_user(seeded, "王质检")
    assert assign(seeded, QueueQuery(), wang, limit=3, by=SYSTEM) == 3
    assert assign(seeded, QueueQuery(), wang, limit=3, by=SYSTEM) == 0  # already assigned: not duplicated
    assert assign(seeded, QueueQuery(mode="random", rate=0.5, seed=7), wang, by=SYSTEM) == 3  # tm-4 was already there
    with seeded.connect() as conn:
        modes = sorted(conn.scalars(select(ReviewAssignment.sample_mode)))
    assert modes == ["按优先级"] * 3 + ["随机 50% · 抽样编号 7"] * 3
    mine = QueueQuery(reviewer_id=wang, status="待审")
    assert _page(seeded, mine) == ["tm-4", "tm-3", "dy-1", "jd-2", "tm-2", "dy-2"]
    tm4 = read(seeded, page_ids, QueueQuery(), 1, 1)[0]
    save_review(seeded, tm4, wang, Review({"态度礼貌": 2}, "不合格", "语气差"), base_version=0)
    assert read(seeded, queue_count, mine) == 5
    assert _page(seeded, QueueQuery(reviewer_id=wang, status="已完成")) == ["tm-4"]
    assert read(seeded, queue_count, QueueQuery(reviewer_id=get_or_create_user(seeded, "李质检"))) == 0
    df = read(seeded, queue_page, QueueQuery(), 1)
    assert list(df["assigned"][:3]) == ["王质检·已完成", "王质检·待审", "王质检·待审"]
    assert list(df["reviewed"][:2]) == [True, False]
    assert list(df["review"][:3]) == ["已复核；王质检·已完成", "王质检·待审", "王质检·待审"]
    assert read(seeded, queue_count, QueueQuery(Filters(reviewed=False))) == 7


def test_neighbours_cross_page_boundaries(seeded: Engine) -> None:
    q = QueueQuery()
    page1, page2 = read(seeded, page_ids, q, 1, 3), read(seeded, page_ids, q, 2, 3)
    dy1, jd2 = page1[2], page2[0]
    n = read(seeded, neighbours, q, 1, page1, dy1, page_size=3)
    assert (n.prev, n.next, n.position) == ((page1[1], 1), (jd2, 2), 3)
    n = read(seeded, neighbours, q, 2, page2, jd2, page_size=3)
    assert (n.prev, n.position) == ((dy1, 1), 4)
    first = read(seeded, neighbours, q, 1, page1, page1[0], page_size=3)
    assert first.prev is None
    page3 = read(seeded, page_ids, q, 3, 3)
    last = read(seeded, neighbours, q, 3, page3, page3[-1], page_size=3)
    assert (last.next, last.position) == (None, 8)
    assert read(seeded, neighbours, q, 1, page1, page3[0], page_size=3).position is None


def test_a_late_reply_alone_is_not_a_forbidden_phrase(seeded: Engine) -> None:
    jd2 = read(seeded, page_ids, QueueQuery(Filters(text="jd-2")), 1)[0]
    with seeded.begin() as conn:  # as the scorer stores it: one "超时:SLA" hit for the late first reply
        conn.execute(update(ConversationScore).where(ConversationScore.conversation_id == jd2).values(rule_hits=1))
        conn.execute(update(MessageScore).where(MessageScore.conversation_id == jd2, MessageScore.sla_breach.is_(True))
                     .values(rule_hits="超时:SLA"))
    df = read(seeded, queue_page, QueueQuery(Filters(text="jd-2")), 1)
    assert list(df["reasons"]) == ["慢：首次响应 45 秒，超过 SLA 30 秒；预测不满 0.60"]


@pytest.mark.parametrize(("hit", "phrase"), [("禁用语:不知道", "不知道"), ("超时:SLA", None), ("不知道", "不知道"),
                                             ("", None), ("禁用语:", None)])
def test_forbidden_phrase_of_a_rule_hit(hit: str, phrase: str | None) -> None:
    assert forbidden_phrase(hit) == phrase




def test_platform_sla_from_rules() -> None:
    assert platform_sla("天猫") == (180.0, 180.0)
    assert platform_sla("京东") == (30.0, None)
    assert platform_sla(None) == (180.0, 180.0)


@pytest.mark.parametrize(("reviewed", "assigned", "shown"), [
    (False, "", "未复核"), (True, "", "已复核"), (False, "王质检·待审", "王质检·待审"),
    (True, "王质检·已完成，李质检·待审", "已复核；王质检·已完成，李质检·待审")])
def test_review_state_in_one_cell(reviewed: bool, assigned: str, shown: str) -> None:
    assert review_state(reviewed, assigned) == shown
