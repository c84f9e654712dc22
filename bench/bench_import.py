"""Import throughput and peak memory on a generated archive, beside the naive pandas path.

Usage: python bench/bench_import.py [--messages 1000000] [--workdir bench/out]

Each path runs in its own subprocess so that peak memory (ru_maxrss) is that path's alone:
- huifang JSONL: ``import_path`` on the canonical conversation-per-line file (parse, normalise, dedupe, store);
  its peak memory is the importing process's plus its parse worker's (``qa.ingest.parse_worker``);
- huifang CSV: the same archive as a message-per-row CSV with Chinese headers;
- huifang re-import: the JSONL imported a second time into the archive it built (nothing new to store);
- naive: ``pandas.read_csv`` + ``DataFrame.to_sql`` of that CSV into one table (no roles, no dedup, no
  conversations — what a user would write first);
- raw: ``sqlite3.executemany`` of ready-made message tuples into a bare table (no indexes, nothing parsed):
  the ceiling of this machine at this moment, printed so that figures from runs on a busier or quieter
  machine can be compared (the issue measured ~300k rows/s here on a quiet day);
- core, to_sql, orm: the issue's other reference paths on the same tuples and table (SQLAlchemy Core
  ``insert()`` executemany, ``DataFrame.to_sql`` alone, ORM ``add_all`` of the first 200,000), so that each run
  says how this machine compares with the one the issue measured them on. The hosts of this kind differ by
  workload, not by one factor: pure SQLite work (raw) and Python-heavy work (the others) scale differently.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate_archive(workdir: Path, messages: int) -> tuple[Path, Path, int]:
    """The demo archive of ``messages`` messages as canonical JSONL and as a message-per-row CSV (made once)."""
    from huifang_demo.generate import generate_demo

    jsonl = workdir / "demo" / "conversations.jsonl"
    if not jsonl.exists():
        generate_demo(workdir / "demo", messages=messages, seed=7)
    csv_path = workdir / "messages.csv"
    n = 0
    with open(jsonl, encoding="utf-8") as src, open(csv_path, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["会话ID", "平台", "店铺", "发送时间", "发送方", "客服昵称", "消息内容"])
        for line in src:
            c = json.loads(line)
            for m in c["messages"]:
                role = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}[m["role"]]
                w.writerow([c["conversation_id"], c.get("platform", ""), c.get("shop", ""), m.get("ts", ""), role,
                            m.get("agent", ""), m["text"]])
                n += 1
    return jsonl, csv_path, n


def _run_child(kind: str, path: Path, db: Path) -> None:
    db.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    if kind in _REFERENCE:
        _run_reference(kind, path, db)
        return
    t0 = time.perf_counter()
    if kind == "naive":
        import pandas as pd
        from sqlalchemy import create_engine

        df = pd.read_csv(path)
        df.to_sql("messages", create_engine(f"sqlite:///{db}"), index=False, chunksize=50_000)
    else:
        from qa.db import get_engine
        from qa.ingest.importer import import_path

        engine = get_engine(f"sqlite:///{db}")
        t0 = time.perf_counter()  # schema creation is not import work
        import_path(engine, path)
        if kind == "again":  # the same file once more: every conversation is found unchanged
            t0 = time.perf_counter()
            import_path(engine, path)
    seconds = time.perf_counter() - t0
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
               + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


_REFERENCE = {"raw": 300_000, "core": 170_000, "to_sql": 110_000, "orm": 18_000}
"""The issue's rows/s for each reference path, measured on its 2-core machine."""
ORM_ROWS = 200_000  # add_all of a million objects would take a minute; its rate is steady well before


def _run_reference(kind: str, path: Path, db: Path) -> None:
    """One of the issue's reference paths: ready tuples into a bare five-column table, timed with the commit."""
    import sqlite3

    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [(i, cid, ts, role, text) for i, (cid, _p, _s, ts, role, _a, text) in enumerate(reader)]
    if kind == "orm":
        rows = rows[:ORM_ROWS]
    ddl = "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation TEXT, ts TEXT, role TEXT, text TEXT)"
    if kind == "raw":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(ddl)
        t0 = time.perf_counter()
        conn.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
    else:
        import pandas as pd
        from sqlalchemy import (
            Column,
            Integer,
            MetaData,
            Table,
            Text,
            create_engine,
            insert,
        )
        from sqlalchemy.orm import DeclarativeBase, Session

        engine = create_engine(f"sqlite:///{db}")
        names = ("id", "conversation", "ts", "role", "text")
        table = Table("messages", MetaData(), Column("id", Integer, primary_key=True),
                      *(Column(n, Text) for n in names[1:]))
        table.create(engine)
        if kind == "core":
            dicts = [dict(zip(names, r)) for r in rows]
            t0 = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(insert(table), dicts)
        elif kind == "to_sql":
            df = pd.DataFrame(rows, columns=list(names))
            t0 = time.perf_counter()
            df.to_sql("messages", engine, index=False, if_exists="append")
        else:
            class Base(DeclarativeBase):
                pass

            class Row(Base):
                __table__ = table

            t0 = time.perf_counter()
            with Session(engine) as session:
                session.add_all([Row(**dict(zip(names, r))) for r in rows])
                session.commit()
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rows": len(rows),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _run_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jsonl, csv_path, n = generate_archive(workdir, args.messages)
    print(f"generated {n:,} messages in {time.perf_counter() - t0:.1f} s "
          f"(JSONL {jsonl.stat().st_size / 2**20:.0f} MB, CSV {csv_path.stat().st_size / 2**20:.0f} MB)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'path':<28}{'seconds':>10}{'messages/s':>14}{'peak MB':>10}")
    rates: dict[str, float] = {}  # rows/s by label
    ratios: dict[str, float] = {}  # this machine ÷ the issue's, by reference path
    for label, kind, path in [("huifang import (JSONL)", "huifang", jsonl), ("huifang import (CSV)", "huifang", csv_path),
                              ("huifang re-import (JSONL)", "again", jsonl),
                              ("naive read_csv + to_sql", "naive", csv_path), ("raw executemany (ceiling)", "raw", csv_path),
                              ("reference: Core insert()", "core", csv_path), ("reference: to_sql alone", "to_sql", csv_path),
                              (f"reference: ORM add_all {ORM_ROWS // 1000}k", "orm", csv_path)]:
        out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), str(workdir / f"{kind}.db")],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rates[label] = rate = r.get("rows", n) / r["seconds"]
        if kind in _REFERENCE:
            ratios[kind] = rate / _REFERENCE[kind]
        print(f"{label:<28}{r['seconds']:>10.1f}{rate:>14,.0f}{r['peak_mb']:>10,.0f}")
    print("\nthis machine against the issue's (rows/s here ÷ the issue's figure for the same path):")
    print("  " + ", ".join(f"{kind} {ratio:.2f}×" for kind, ratio in ratios.items()))
    for label in ("huifang import (JSONL)", "huifang import (CSV)"):
        low, high = rates[label] / max(ratios.values()), rates[label] / min(ratios.values())
        print(f"  {label} on the issue's machine, scaled by those: {low:,.0f}–{high:,.0f} messages/s")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
