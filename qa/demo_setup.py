"""``huifang demo``: generate the demo archive and load it through the same import path users take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from qa.demo import generate_demo
from qa.errors import HuifangError
from qa.importer import import_path
from qa.training_data import category_examples
from qa.users import ensure_demo_users
from scoring.train import train_category

__all__ = ["load_demo"]


def load_demo(engine: Engine, out_dir: Path, *, conversations: int = 10_000, messages: int | None = None,
              seed: int = 7, score: bool = True, echo: Callable[[str], None] = print) -> None:
    """Write demo files to ``out_dir``, import each, create demo users, learn categories, then score everything."""
    files = generate_demo(out_dir, conversations=conversations, messages=messages, seed=seed)
    for path in files.paths:
        for report in import_path(engine, path):
            echo(report.summary())
    ensure_demo_users(engine)
    examples = category_examples(engine)
    try:
        train_category(examples)
        echo(f"分类模型：用 {len(examples):,} 个带分类的会话训练（指标见“模型”页；演示数据上的指标不代表真实效果）")
    except HuifangError as e:
        echo(f"分类模型未训练（{e}），使用关键词规则")
    if score:
        from qa.scoring_job import score_database

        report = score_database(engine)
        echo(f"已评分 {report.scored:,} 个会话（{report.messages:,} 条消息），用时 {report.seconds:.1f} 秒")
