"""Import and scoring speed of two revisions in the same run, so that a refactoring can show it costs nothing.

Usage: python bench/bench_revisions.py BEFORE [AFTER] [--messages 300000] [--rounds 2] [--workdir bench/out]

Each revision is checked out into a temporary git worktree and run through its own command line, the path
users take: ``huifang import`` of the same canonical JSONL and message-per-row CSV, then ``huifang score`` (all
cores) on the archive the JSONL built. Runs alternate between the revisions, so that a machine that gets busier
or quieter during the run affects both alike; the best round of each is printed. AFTER defaults to the work tree
as it is (uncommitted changes included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_import import generate_archive  # noqa: E402

_CLI = "import sys; sys.argv = ['huifang', *sys.argv[1:]]; from qa.cli import main; sys.exit(main())"


def _worktree(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev], check=True,
                   capture_output=True)
    return into


def _timed(tree: Path, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CLI, *args], cwd=tree, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def _round(tree: Path, jsonl: Path, csv_path: Path, work: Path) -> dict[str, float]:
    out = {}
    for kind, source in (("import JSONL", jsonl), ("import CSV", csv_path)):
        db = work / f"{kind.split()[-1].lower()}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
        out[kind] = _timed(tree, "import", str(source))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'jsonl.db'}"
    out["score (all cores)"] = _timed(tree, "score")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after", nargs="?", default=None)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args()
    workdir = Path(args.workdir) / f"revisions_{args.messages}"
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl, csv_path, n = generate_archive(workdir, args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {args.before: _worktree(args.before, Path(tmp) / "before")}
        trees[args.after or "work tree"] = _worktree(args.after, Path(tmp) / "after") if args.after else ROOT
        best: dict[str, dict[str, float]] = {name: {} for name in trees}
        try:
            for _ in range(args.rounds):
                for name, tree in trees.items():
                    for kind, seconds in _round(tree, jsonl, csv_path, workdir).items():
                        best[name][kind] = min(seconds, best[name].get(kind, seconds))
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                                   capture_output=True)
    print(f"{n:,} messages, best of {args.rounds} alternating rounds (seconds, end to end through the CLI):")
    names = list(trees)
    print(f"| path | {' | '.join(names)} | after / before |")
    print("|---|" + "---|" * (len(names) + 1))
    for kind in best[names[0]]:
        a, b = best[names[0]][kind], best[names[1]][kind]
        print(f"| {kind} | {a:.2f} | {b:.2f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
