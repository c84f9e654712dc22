"""Scoring throughput on the path ``huifang score`` runs: an archive in SQLite scored by ``score_database`` on
all cores (read, score, write, tag, auto-QA), beside model load time, one core in process, and one conversation
at a time.

Synthetic chat text is generated here (a small template generator with a fixed seed) and imported through the
normal import path; it measures speed only — no accuracy figure is ever computed on it. Its ~80 distinct texts
repeat far more than a real archive's (canned replies are segmented once per batch), so ``--real-text`` keeps the
same conversations, roles and times but draws every customer and agent line from the real JD chats of
../shared (context lines for the customer, replies for the agent; about 60% distinct, and longer): the figure a
real archive should expect. Usage: ``python bench/bench_scoring.py [n_messages] [--real-text]``; figures go to
stdout and, with ``--write``, into the "## Scoring" section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.db import get_engine  # noqa: E402
from qa.ingest.importer import import_path  # noqa: E402
from qa.jobs.scoring import score_database  # noqa: E402
from scoring.datasets import default_shared_dir, load_jddc  # noqa: E402
from scoring.pipeline import Scorer  # noqa: E402
from scoring.schema import Conv, Msg  # noqa: E402

PRODUCTS = ["羽绒服", "连衣裙", "运动鞋", "洗发水", "蓝牙耳机", "电饭煲", "面膜", "手机壳", "床单", "保温杯"]
QUESTIONS = [
    "这款{p}有货吗", "{p}尺码偏大还是偏小", "我身高165穿什么码", "什么时候发货啊", "快递到哪了，三天了还没到",
    "{p}质量太差了，我要退货", "能换个颜色吗", "赠品怎么没收到", "发票怎么开", "可以包邮吗", "运费险怎么用",
    "申请了仅退款怎么还没处理", "你们客服怎么不回消息", "再不处理我就给差评了", "好的谢谢", "在吗", "[图片]",
    "收到了，{p}挺好的", "退款什么时候到账", "我要投诉，太慢了",
]
REPLIES = [
    "亲，在的，请问有什么可以帮您", "您好，这款{p}有现货的，今天下单今天发", "亲，建议您按平时尺码拍哦",
    "亲亲，已经帮您催促快递了，请耐心等待", "非常抱歉给您带来不便，马上为您处理退款", "亲，可以的，七天无理由退换",
    "赠品是随机的，已为您补发", "发票可以在订单详情申请开具", "不知道", "自己看详情页", "您好，已为您登记，稍后回复",
    "好的，还有什么可以帮您的吗", "祝您生活愉快", "抱歉，这个我们也没办法",
]


def make_convs(n_messages: int, seed: int = 7) -> list[Conv]:
    """Realistic-looking conversations (customer/agent turns, some bot lines, timestamps, platforms)."""
    rng = random.Random(seed)
    convs: list[Conv] = []
    total = 0
    while total < n_messages:
        p = rng.choice(PRODUCTS)
        t = datetime(2026, 11, 11, 8, 0) + timedelta(minutes=rng.randrange(0, 14 * 60))
        msgs: list[Msg] = []
        for _ in range(rng.randint(2, 8)):
            t += timedelta(seconds=rng.randint(5, 90))
            msgs.append(Msg("customer", rng.choice(QUESTIONS).format(p=p), t))
            if rng.random() < 0.1:
                msgs.append(Msg("bot", "您好，欢迎光临，客服马上为您服务", t))
            t += timedelta(seconds=rng.choice([10, 30, 60, 150, 400]))
            msgs.append(Msg("agent", rng.choice(REPLIES).format(p=p), t, agent="小美"))
        platform = rng.choice(["天猫", "京东", "抖音", "淘宝"])
        convs.append(Conv(key=f"c{len(convs)}", messages=msgs, platform=platform))
        total += len(msgs)
    return convs


def with_real_text(convs: list[Conv], seed: int = 7) -> list[Conv]:
    """``convs`` with each customer and agent line replaced by a real JD chat line (roles, times kept)."""
    pairs = load_jddc(default_shared_dir())
    replies = [p["reply"] for p in pairs]
    said = [t for p in pairs for t in p["context"]]
    rng = random.Random(seed)
    pick = {"customer": said, "agent": replies}
    return [replace(c, messages=[replace(m, text=rng.choice(pick[m.role])) if m.role in pick else m
                                 for m in c.messages]) for c in convs]


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the scoring workers), user and system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def archive_seconds(convs: list[Conv], cores: int) -> tuple[float, float]:
    """Import ``convs`` into a fresh SQLite archive, then time ``score_database`` on it (as ``huifang score``):
    wall seconds, and CPU seconds of the parent and its workers (steadier than wall time on a shared host)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for c in convs:
                out.write(json.dumps({"conversation_id": c.key, "platform": c.platform, "messages": [
                    {"role": m.role, "text": m.text, "ts": m.ts.isoformat() if m.ts else None, "agent": m.agent}
                    for m in c.messages]}, ensure_ascii=False) + "\n")
        engine = get_engine(f"sqlite:///{tmp}/bench.db")
        import_path(engine, path)
        t, cpu = time.perf_counter(), _cpu_seconds()
        score_database(engine, n_jobs=cores)
        seconds, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
        engine.dispose()
        return seconds, cpu


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} msg/s"


def main() -> None:
    load_avg = os.getloadavg()[0]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 200_000
    real_text = "--real-text" in sys.argv
    convs = with_real_text(make_convs(n)) if real_text else make_convs(n)
    n_msgs = sum(len(c.messages) for c in convs)

    t = time.perf_counter()
    scorer = Scorer.load()
    load_s = time.perf_counter() - t

    scorer.score(convs[:200])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(convs), 2000):
        scorer.score(convs[i : i + 2000])
    one_core = time.perf_counter() - t

    sample = convs[:300]
    sample_msgs = sum(len(c.messages) for c in sample)
    t = time.perf_counter()
    for c in sample:
        scorer.score([c])
    single = time.perf_counter() - t

    cores = os.cpu_count() or 1
    all_cores, cpu_s = archive_seconds(convs, cores)

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    per_million = 1_000_000 / (n_msgs / all_cores)
    lines = [
        f"- Date: {date.today().isoformat()}; machine: {cores} cores (nproc), CPU: {cpu}; scorer version "
        f"{scorer.version}; load average before the run {load_avg:.1f} (other jobs share the cores)",
        f"- Synthetic chat: {len(convs):,} conversations, {n_msgs:,} messages (bench/bench_scoring.py generator"
        + (", every line's text a real JD chat line, --real-text)" if real_text else ", template text)"),
        f"- Model load (Scorer.load, all artifacts): {load_s:.2f} s",
        f"- One core, batches of 2,000 conversations: {_rate(n_msgs, one_core)} ({one_core:.1f} s)",
        f"- `huifang score` path (score_database on a SQLite archive, {cores} cores, read + score + write + daily "
        f"statistics, tagging, auto-QA): {_rate(n_msgs, all_cores)} ({all_cores:.1f} s; CPU {cpu_s:.1f} s over parent and "
        f"workers) → 1,000,000 messages ≈ {per_million:.0f} s",
        f"- One conversation at a time (scorer.score([conv]), {len(sample)} conversations): "
        f"{_rate(sample_msgs, single)}",
    ]
    report = "\n".join(lines)
    print(report)
    if "--write" in sys.argv:
        _write_section(report)


def _write_section(body: str) -> None:
    """Replace (or append) the "## Scoring" section of bench/RESULTS.md, leaving other sections alone."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = f"## Scoring\n\n{body}\n"
    pattern = re.compile(r"## Scoring\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
