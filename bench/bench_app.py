"""Page speed and memory of the app on a large archive, measured through Streamlit's AppTest.

Usage: python bench/bench_app.py --db sqlite:////path/to/1M.db
(build one with: DATABASE_URL=sqlite:////tmp/big/huifang.db huifang demo --size 1000000)

For every page, in a session that has just opened the app: the render with empty data caches (the first user
after new data) and with warm caches (every later user), and on the overview and queue a filter change
(platform = 天猫).
Replay: ``load_replay`` for 200 random conversations and the replay page for 20 of them. Memory: the peak RSS
of this process, which hosts the app's script runs exactly as the server would.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["pages/overview.py", "pages/agents.py", "pages/queue.py", "pages/replay.py", "pages/coaching.py",
         "pages/data.py", "pages/models.py"]


def _run(page: str, query: dict[str, str] | None = None, change: tuple[str, list[str]] | None = None,
         cold: bool = False) -> tuple[float, float | None]:
    """Seconds to render ``page`` in a session that has just opened the app (and to apply ``change``).

    The session's first run (the overview) is not timed: it includes AppTest's own start-up, a scan of every
    installed package for components (~0.4 s), which a running server does once, not per page.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if query:
        at.query_params.update(query)
    at.switch_page(page)
    if cold:
        st.cache_data.clear()
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    assert not at.exception, at.exception
    changed = None
    if change:
        key, value = change
        at.multiselect(key=key).set_value(value)
        t = time.perf_counter()
        at.run()
        changed = time.perf_counter() - t
        assert not at.exception, at.exception
    return first, changed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    os.environ["DATABASE_URL"] = args.db
    from sqlalchemy import func, select

    from qa.db import get_engine
    from qa.models import Conversation, Message
    from qa.review.replay import load_replay

    engine = get_engine(args.db)
    with engine.connect() as conn:
        n_conv = conn.scalar(select(func.count()).select_from(Conversation))
        n_msg = conn.scalar(select(func.count()).select_from(Message))
        ids = list(conn.scalars(select(Conversation.id)))
        ext = dict(conn.execute(select(Conversation.id, Conversation.external_id)).all())
    print(f"archive: {n_conv:,} conversations, {n_msg:,} messages ({args.db})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}")
    for page in PAGES:  # import every page's modules once, as a running server has
        _run(page)
    print(f"{'page':<22}{'cold first render':>18}{'warm first render':>18}{'filter change':>15}")
    for page in PAGES:
        change = ("flt_platform", ["天猫"]) if page in ("pages/overview.py", "pages/queue.py") else None
        cold, changed = _run(page, change=change, cold=True)
        warm, _ = _run(page)
        print(f"{page:<22}{cold:>17.2f}s{warm:>17.2f}s{(f'{changed:.2f}s' if changed else '-'):>15}")
    rng = random.Random(7)
    sample = rng.sample(ids, 200)
    times = []
    for cid in sample:
        t = time.perf_counter()
        with engine.connect() as conn:
            load_replay(conn, cid)
        times.append(time.perf_counter() - t)
    page_times = [_run("pages/replay.py", query={"c": ext[cid]})[0] for cid in sample[:20]]
    print(f"replay data (load_replay, 200 random): median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms")
    print(f"replay page (AppTest, 20 random):      median {statistics.median(page_times):.2f} s, "
          f"max {max(page_times):.2f} s")
    print(f"peak memory of the app process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
