"""The seeded demo data: formats the importer reads, determinism, and the patterns the dashboards are meant to show."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from huifang_demo.chat import PLATFORMS, ROSTER, TEAMS, agents_for
from huifang_demo.generate import TICKET_COLUMNS, DemoFiles, generate_demo
from huifang_demo.phrases import FORBIDDEN, INTENTS
from huifang_demo.setup import load_demo
from qa.ingest.importer import import_path
from qa.ingest.records import ROLES
from qa.models import Conversation, ProductReview, Ticket
from qa.program import calibration
from scoring.artifacts import DEFAULT_MODELS_DIR

CSAT_WORDS = {"非常满意", "满意", "一般", "不满意", "非常不满意", ""}
KEYS = {"conversation_id", "platform", "shop", "category", "csat", "ticket_id", "order_id", "customer", "team",
        "messages"}
JD_OPEN = "/*****************以下为一通会话"
JD_HEADER = re.compile(r"^(\S+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$")
QIANNIU_HEADER = re.compile(r"^(.+?)\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\): ")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_demo(tmp_path_factory.mktemp("demo"), conversations=1500)


@pytest.fixture(scope="module")
def conversations(demo: DemoFiles) -> list[dict]:
    with open(demo.conversations_jsonl, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def tickets(demo: DemoFiles) -> list[dict[str, str]]:
    with open(demo.tickets_csv, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _max_wait(conversation: dict) -> float | None:
    """Longest time a customer waited for an agent's next message, in seconds (None: no agent answered)."""
    waiting_since, longest = None, None
    for m in conversation["messages"]:
        if m["role"] == "customer" and waiting_since is None:
            waiting_since = _ts(m["ts"])
        elif m["role"] == "agent" and waiting_since is not None:
            wait = (_ts(m["ts"]) - waiting_since).total_seconds()
            longest = wait if longest is None else max(longest, wait)
            waiting_since = None
    return longest


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", conversations=300, seed=11)
    again = generate_demo(tmp_path / "b", conversations=300, seed=11)
    other = generate_demo(tmp_path / "c", conversations=300, seed=12)
    for a, b, c in zip(first.paths, again.paths, other.paths):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.read_bytes() != c.read_bytes(), a.name


def test_counts_add_up_to_what_was_asked(demo: DemoFiles, conversations: list[dict], tickets: list[dict]) -> None:
    assert demo.conversations == 1500
    assert demo.jsonl_conversations + demo.jd_sessions + demo.qianniu_sessions == 1500
    assert len(conversations) == demo.jsonl_conversations
    assert len(tickets) == demo.tickets
    assert demo.messages >= sum(len(c["messages"]) for c in conversations)
    assert 10 <= demo.messages / demo.conversations <= 15


def test_messages_sizes_the_data_by_messages(tmp_path: Path) -> None:
    files = generate_demo(tmp_path, messages=20_000)
    assert 18_000 <= files.messages <= 22_000


@pytest.mark.parametrize("kwargs", [{"conversations": 0}, {"messages": 0}, {"months": 0}])
def test_sizes_below_one_are_refused(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_demo(tmp_path, **kwargs)


def test_every_jsonl_line_is_canonical(demo: DemoFiles, conversations: list[dict]) -> None:
    ids = [c["conversation_id"] for c in conversations]
    assert len(set(ids)) == len(ids)
    for c in conversations:
        assert set(c) <= KEYS and c["messages"], c["conversation_id"]
        assert c["platform"] in PLATFORMS
        assert "csat" not in c or c["csat"] in (1, 2, 3, 4, 5)
        assert "category" not in c or c["category"] in INTENTS
        previous = None
        for m in c["messages"]:
            assert m["role"] in ROLES and isinstance(m["text"], str) and m["text"]
            assert m["ts"].endswith("+08:00")
            ts = _ts(m["ts"])
            assert previous is None or ts >= previous, c["conversation_id"]
            previous = ts
            assert ("agent" in m) == (m["role"] == "agent")
    lines = demo.conversations_jsonl.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(lines[:-1])


def test_category_on_most_and_csat_on_a_minority(conversations: list[dict]) -> None:
    n = len(conversations)
    assert 0.5 <= sum("category" in c for c in conversations) / n <= 0.7
    assert 0.15 <= sum("csat" in c for c in conversations) / n <= 0.3


def test_tickets_are_after_sales_and_reference_existing_conversations(
        demo: DemoFiles, conversations: list[dict], tickets: list[dict[str, str]]) -> None:
    raw = demo.tickets_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert tuple(next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == TICKET_COLUMNS
    by_id = {c["conversation_id"]: c for c in conversations}
    for t in tickets:
        conversation = by_id[t["会话ID"]]
        assert conversation["ticket_id"] == t["工单号"] and conversation.get("order_id") == t["订单号"]
        assert conversation["category"] == t["工单类型"] != "产品/尺码咨询"
        assert t["满意度"] in CSAT_WORDS
        assert (t["状态"], bool(t["关闭时间"])) in {("已关闭", True), ("处理中", False)}
        assert (t["处理结果"] == "处理中") == (t["状态"] == "处理中")
        assert t["关闭时间"] == "" or t["关闭时间"] > t["创建时间"]
    assert sum(bool(c.get("ticket_id")) for c in conversations) == len(tickets)


def test_double_eleven_peak_then_an_after_sales_wave(conversations: list[dict]) -> None:
    per_day = Counter(c["messages"][0]["ts"][:10] for c in conversations)
    assert per_day["2026-11-11"] > 2 * statistics.median(per_day.values())
    after_sales = {"退货", "换货", "赠品/物流", "负面评价"}

    def after_sales_share(first: str, last: str) -> float:
        tagged = [c["category"] for c in conversations
                  if "category" in c and first <= c["messages"][0]["ts"][:10] <= last]
        return sum(cat in after_sales for cat in tagged) / len(tagged)

    assert after_sales_share("2026-11-12", "2026-11-20") > after_sales_share("2026-07-01", "2026-09-30") + 0.15


def test_evenings_are_busier_and_nights_are_left_to_the_bot(conversations: list[dict]) -> None:
    hours = Counter(int(c["messages"][0]["ts"][11:13]) for c in conversations)
    assert hours[21] > 2 * hours[10] / 1.5 and hours[21] > 10 * hours[4]
    night = [c for c in conversations if 2 <= int(c["messages"][0]["ts"][11:13]) < 8]
    assert night and all(m["role"] != "agent" for c in night for m in c["messages"])


def test_waits_grow_at_the_peak_and_csat_falls_with_them(conversations: list[dict]) -> None:
    waits = {c["conversation_id"]: _max_wait(c) for c in conversations}
    peak = [w for c in conversations if c["messages"][0]["ts"].startswith("2026-11-11")
            and (w := waits[c["conversation_id"]]) is not None]
    normal = [w for c in conversations if c["messages"][0]["ts"][:7] in ("2026-07", "2026-08")
              and (w := waits[c["conversation_id"]]) is not None]
    assert statistics.median(peak) > 1.5 * statistics.median(normal)
    assert max(peak) >= 600
    quick = [c["csat"] for c in conversations if "csat" in c and (waits[c["conversation_id"]] or 0) < 120]
    slow = [c["csat"] for c in conversations if "csat" in c and (waits[c["conversation_id"]] or 0) >= 180]
    assert len(slow) >= 20
    assert statistics.mean(slow) < statistics.mean(quick) - 0.7


def test_agent_profiles_show_in_the_text(conversations: list[dict]) -> None:
    said, flagged = Counter(), Counter()
    for c in conversations:
        for m in c["messages"]:
            if m["role"] == "agent":
                said[m["agent"]] += 1
                flagged[m["agent"]] += m["text"].startswith(FORBIDDEN)

    def rate(rude: bool) -> float:
        names = [a.name for a in ROSTER if (a.profile.label == "forbidden") == rude]
        return sum(flagged[n] for n in names) / sum(said[n] for n in names)

    assert 0.03 < rate(rude=True) < 0.3  # occasionally, not always
    assert rate(rude=False) < rate(rude=True) / 5


def test_some_chats_are_transferred_and_some_end_unanswered(conversations: list[dict]) -> None:
    transferred = [c for c in conversations if any("转接至" in m["text"] for m in c["messages"] if m["role"] == "system")]
    assert 0.01 <= len(transferred) / len(conversations) <= 0.08
    assert all(len({m["agent"] for m in c["messages"] if m["role"] == "agent"}) == 2 for c in transferred)
    unanswered = [c for c in conversations if c["messages"][-1]["role"] == "customer"
                  and c["messages"][-1]["text"].endswith(("？", "?"))
                  and any(m["role"] == "agent" for m in c["messages"])]
    assert unanswered


def test_workbench_files_use_their_encodings_and_hold_other_conversations(
        demo: DemoFiles, conversations: list[dict]) -> None:
    jd_text = demo.jd_log.read_bytes().decode("utf-8")
    qianniu_bytes = demo.qianniu_txt.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        qianniu_bytes.decode("utf-8")
    qianniu_text = qianniu_bytes.decode("gb18030")
    assert jd_text.count(JD_OPEN) == demo.jd_sessions > 20
    assert qianniu_text.count("\r\n" + "-" * 20 + "\r\n") == demo.qianniu_sessions > 20

    in_jsonl = {(c.get("customer"), m["ts"][:19].replace("T", " "))
                for c in conversations for m in c["messages"] if m["role"] == "customer"}
    jd_customer_lines = {m.groups() for line in jd_text.split("\r\n") if (m := JD_HEADER.match(line))
                         and m.group(1).startswith("jd_")}
    qianniu_customer_lines = {m.groups() for line in qianniu_text.split("\r\n") if (m := QIANNIU_HEADER.match(line))
                              and ":" not in m.group(1)}
    assert jd_customer_lines and qianniu_customer_lines
    assert not (jd_customer_lines | qianniu_customer_lines) & in_jsonl


def test_text_varies_like_real_chat(conversations: list[dict]) -> None:
    first_thousand = conversations[:1000]
    agent = {m["text"] for c in first_thousand for m in c["messages"] if m["role"] == "agent"}
    customer = {m["text"] for c in first_thousand for m in c["messages"] if m["role"] == "customer"}
    assert len(agent) >= 2000
    assert len(customer) >= 1000


def test_roster_covers_every_team_on_every_platform() -> None:
    assert len(ROSTER) == 40 and len({a.name for a in ROSTER}) == 40
    assert all(agents_for(team, platform) for team in TEAMS for platform in PLATFORMS)
    assert all(1 <= len(a.platforms) <= 2 for a in ROSTER)


def test_demo_files_import_through_the_real_import_path(tmp_path: Path, sqlite_engine: Engine) -> None:
    files = generate_demo(tmp_path, conversations=300, end=date(2026, 11, 20))
    reports = [r for path in files.paths for r in import_path(sqlite_engine, path)]
    assert [r.rejected for r in reports] == [0, 0, 0, 0, 0]
    assert reports[-1].format == "csv_product_reviews" and reports[-1].reviews.added == files.reviews
    with sqlite_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Conversation)) == files.conversations
        assert conn.scalar(select(func.count()).select_from(Ticket)) == files.tickets
        linked = conn.scalar(select(func.count(func.distinct(ProductReview.id))).join(
            Conversation, Conversation.order_id == ProductReview.order_id))
    assert 0 < linked <= files.linked_reviews < files.reviews


def test_loading_the_demo_says_what_it_is_doing_at_each_step(engine, tmp_path: Path) -> None:
    lines: list[str] = []
    models = tmp_path / "models"  # what the demo learns from its archive stays out of the shipped folder
    shutil.copytree(DEFAULT_MODELS_DIR, models)
    load_demo(engine, tmp_path / "demo", conversations=300, echo=lines.append, models_dir=models)
    assert (models / "relevance_local.json").exists() and not (DEFAULT_MODELS_DIR / "relevance_local.json").exists()
    steps = [line.split("]")[0] + "]" for line in lines if line.startswith("[")]
    assert steps == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert any("/ 300" in line for line in lines)
    scored = next(line for line in lines if line.startswith("已评分 300 个会话"))
    assert "自动质检 300 个" in scored  # auto-QA ran with the demo scorecards, installed before scoring
    # then the QA program's reviews, reviewers' tag confirmations, calibration session and disputes
    assert lines[-3].startswith("演示评审 ") and lines[-2].startswith("演示标签确认 ")
    assert lines[-1].startswith("演示预警规则 3 条，触发 ")  # so the 预警 page opens with rules (and firings)
    assert not any(line.startswith("自动质检 0 ") for line in lines)  # no second, empty auto-QA line
    with engine.connect() as conn:
        assert calibration.list_sessions(conn)["closed_at"].notna().all()


def test_some_chats_are_transferred_after_a_slow_first_agent(conversations: list[dict]) -> None:
    """The demo shows attribution (issue #13.2): chats handed from one agent to another, some after the first agent
    kept the customer waiting past the SLA (3 minutes here), so the agents page must not blame the second."""
    transferred, slow_first = 0, 0
    for c in conversations:
        agents = [m["agent"] for m in c["messages"] if m["role"] == "agent"]
        if len(set(agents)) < 2:
            continue
        transferred += 1
        talk = [m for m in c["messages"] if m["role"] in ("customer", "agent")]
        asked = next((m for m in talk if m["role"] == "customer"), None)
        reply = next((m for m in talk if m["role"] == "agent"), None)
        if asked and reply and _ts(reply["ts"]) - _ts(asked["ts"]) > timedelta(minutes=3):
            slow_first += 1
    assert transferred >= 20 and slow_first >= 1
