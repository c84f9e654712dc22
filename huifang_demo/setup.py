"""``huifang demo``: generate the demo archive and load it through the same import path users take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from huifang_demo.generate import generate_demo
from huifang_demo.program import MANAGER, seed_program
from qa.ingest.importer import import_path
from qa.jobs.scoring import score_database
from qa.jobs.training import train_from_archive
from qa.program.store import install_default_scorecards
from qa.review.users import ensure_demo_users

__all__ = ["load_demo"]


def load_demo(engine: Engine, out_dir: Path, *, conversations: int = 10_000, messages: int | None = None,
              seed: int = 7, score: bool = True, echo: Callable[[str], None] = print,
              models_dir: Path | None = None) -> None:
    """Write demo files to ``out_dir``, import each, create demo users and scorecards, learn from the archive,
    score everything (auto-QA included), then add the QA program's demo reviews, calibration and disputes."""
    size = f"{messages:,} 条消息" if messages else f"{conversations:,} 个会话"
    echo(f"[1/4] 生成演示数据（约 {size}）…")
    files = generate_demo(out_dir, conversations=conversations, messages=messages, seed=seed)
    echo(f"[2/4] 通过正常导入流程载入 {len(files.paths)} 个文件…")
    for path in files.paths:
        for report in import_path(engine, path):
            echo(report.summary())
    ensure_demo_users(engine)
    # before scoring, so the auto-QA run that follows it scores on them at once instead of twice
    install_default_scorecards(engine, MANAGER)
    echo("[3/4] 从演示档案学习分类与满意度阶段…")
    train_from_archive(engine, models_dir, echo=lambda line: echo(line + "（演示数据上的指标不代表真实效果）"))
    if score:
        echo("[4/4] 为全部会话评分…")
        run = score_database(engine, models_dir=models_dir, progress=_progress(echo))
        echo(f"已评分 {run.scored:,} 个会话（{run.messages:,} 条消息）、{run.reviews:,} 条商品评价，"
             f"自动质检 {run.auto_checked:,} 个，用时 {run.seconds:.1f} 秒")
        seed_program(engine, echo=echo)


def _progress(echo: Callable[[str], None]) -> Callable[[int, int], None]:
    """Report scoring progress every tenth of the way."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth > shown[0]:
            shown[0] = tenth
            echo(f"      {done:,} / {total:,}")

    return report
