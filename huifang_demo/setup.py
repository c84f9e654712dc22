"""``huifang demo``: generate the demo archive and load it through the same import path users take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from huifang_demo.generate import generate_demo
from qa.ingest.importer import import_path
from qa.jobs.training import train_from_archive
from qa.review.users import ensure_demo_users

__all__ = ["load_demo"]


def load_demo(engine: Engine, out_dir: Path, *, conversations: int = 10_000, messages: int | None = None,
              seed: int = 7, score: bool = True, echo: Callable[[str], None] = print) -> None:
    """Write demo files to ``out_dir``, import each, create demo users, learn from the archive, then score everything."""
    files = generate_demo(out_dir, conversations=conversations, messages=messages, seed=seed)
    for path in files.paths:
        for report in import_path(engine, path):
            echo(report.summary())
    ensure_demo_users(engine)
    train_from_archive(engine, echo=lambda line: echo(line + "（演示数据上的指标不代表真实效果）"))
    if score:
        from qa.jobs.scoring import score_database

        run = score_database(engine)
        echo(f"已评分 {run.scored:,} 个会话（{run.messages:,} 条消息），用时 {run.seconds:.1f} 秒")
