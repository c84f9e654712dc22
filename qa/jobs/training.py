"""Labelled examples the archive itself holds, and training the models that learn from them.

Two models learn from a shop's own data rather than from ../shared: the category model (conversations whose
category came from a ticket or the export) and the CSAT stage of the dissatisfaction risk (rated conversations
with timestamps: how much slow replies add). Both are written beside the shipped models and kept out of git.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select

from qa.errors import USER_ERRORS
from qa.jobs.scoring import load_chunk
from qa.models import Conversation, Message
from scoring.pipeline import Scorer

__all__ = ["category_examples", "csat_stage_inputs", "train_from_archive"]


def category_examples(engine: Engine, limit: int = 50_000) -> list[tuple[str, str]]:
    """(customer text, category) for conversations whose category came from a ticket or the export itself."""
    c, m = Conversation.__table__, Message.__table__
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            text = func.string_agg(m.c.text, " ")
        else:
            text = func.group_concat(m.c.text, " ")
        rows = conn.execute(
            select(text, c.c.category)
            .select_from(c.join(m, m.c.conversation_id == c.c.id))
            .where(c.c.category.is_not(None), m.c.role == "customer")
            .group_by(c.c.id, c.c.category).order_by(c.c.id).limit(limit)
        ).all()
    return [(t or "", cat) for t, cat in rows]


def csat_stage_inputs(engine: Engine, scorer: Scorer, chunk: int = 2000
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base log-odds, SLA breach share, unanswered at end, CSAT) of every rated conversation with timestamps."""
    c = Conversation.__table__
    with engine.connect() as conn:
        ids = list(conn.scalars(select(c.c.id).where(c.c.csat.is_not(None), c.c.started_at.is_not(None))
                                .order_by(c.c.id)))
        parts = []
        for i in range(0, len(ids), chunk):
            convs, _msg_ids, _hashes = load_chunk(conn, ids[i:i + chunk])
            parts.append((*scorer.risk_inputs(convs), np.array([cv.csat for cv in convs], dtype=float)))
    if not parts:
        return tuple(np.zeros(0) for _ in range(4))  # type: ignore[return-value]
    return tuple(np.concatenate(col) for col in zip(*parts))  # type: ignore[return-value]


def train_from_archive(engine: Engine, models_dir: Path | None = None,
                       echo: Callable[[str], None] = print) -> None:
    """Train the category model and the CSAT stage from the database; say what was skipped and why."""
    from scoring.train import train_category, train_csat_stage

    examples = category_examples(engine)
    try:
        metrics = train_category(examples, models_dir) if examples else None
    except USER_ERRORS as e:
        echo(f"分类模型未训练（{e}），使用关键词规则")
    else:
        echo(f"分类模型：{len(examples):,} 个带分类的会话，5 折交叉验证 macro-F1 {metrics['macro_f1']:.3f}"
             if metrics else "分类模型未训练：没有带分类的会话，使用关键词规则")
    try:
        m = train_csat_stage(*csat_stage_inputs(engine, Scorer.load(models_dir)), models_dir)
    except USER_ERRORS as e:
        echo(f"CSAT 响应阶段未拟合（{e}）")
    else:
        echo(f"CSAT 响应阶段：{m['rated']:,} 个带评价的会话；留出 30% 上 ROC-AUC "
             f"{m['held_out_prior']['roc_auc']:.3f}（默认权重）→ {m['held_out_fitted']['roc_auc']:.3f}（拟合）")

