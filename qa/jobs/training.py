"""Labelled examples the archive itself holds, and training the models that learn from them.

Models that learn from a shop's own data rather than from ../shared: the category model (conversations whose
category came from a ticket or the export), the CSAT stage of the dissatisfaction risk (rated conversations
with timestamps: how much slow replies add), an adapted relevance model (the shop's own replies against
replies of other conversations, used only when it beats the shipped one on held-out conversations), and tone,
sentiment and relevance retrained with the reviewers' labels (``qa.review.labels``; promoted only when better on
their held-out labels and no worse on the shared held-out sets, ``scoring.reviewed``). All are written beside the
shipped models and kept out of git.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select

from qa.errors import USER_ERRORS
from qa.jobs.scoring import load_chunk
from qa.models import Conversation, Message
from qa.review.labels import labelled_messages
from scoring.artifacts import DEFAULT_MODELS_DIR
from scoring.batch import reply_contexts
from scoring.pipeline import Scorer
from scoring.relevance_fit import PairSet, pair_set
from scoring.reviewed import ReviewerLabels, learn_relevance, learn_sentiment, learn_tone
from scoring.text import unspaced

__all__ = ["category_examples", "csat_stage_inputs", "archive_reply_pairs", "reviewer_labels", "learn_from_reviewers",
           "train_from_archive"]

REVIEWED = (("tone", "tone_risk", learn_tone), ("sentiment", "sentiment_neg", learn_sentiment),
            ("relevance", "relevance", learn_relevance))
"""The models reviewers' labels retrain: artifact name, the score reviewers judge, how to refit it."""


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


def archive_reply_pairs(engine: Engine, limit: int = 20_000, chunk: int = 2000) -> PairSet:
    """Every agent reply of the archive's latest ``limit`` conversations with what it answers: the customer
    messages since the previous agent message, and that message (as the shipped model reads them, a word-segmented
    conversation joined again)."""
    c = Conversation.__table__
    contexts: list[list[str]] = []
    replies: list[str] = []
    groups: list[int] = []
    with engine.connect() as conn:
        ids = sorted(conn.scalars(select(c.c.id).order_by(c.c.id.desc()).limit(limit)))
        for i in range(0, len(ids), chunk):
            convs, _msg_ids, _hashes = load_chunk(conn, ids[i:i + chunk])
            for conv in convs:
                texts = unspaced([m.text or "" for m in conv.messages])  # as scoring reads them
                roles = [m.role for m in conv.messages]
                for j, said in reply_contexts(roles).items():
                    before = [k for k in range(said[0]) if roles[k] == "agent" and texts[k]][-1:]
                    context = [texts[k] for k in [*before, *said] if texts[k]]
                    if context and texts[j]:
                        contexts.append(context)
                        replies.append(texts[j])
                        groups.append(int(conv.key))
    return pair_set(contexts, replies, groups)


def reviewer_labels(engine: Engine, field: str) -> ReviewerLabels:
    """The messages reviewers labelled for ``field`` (majority of reviewers), as training input."""
    with engine.connect() as conn:
        df = labelled_messages(conn, field)
    return ReviewerLabels(df["text"].tolist(), df["context"].tolist(), df["flagged"].to_numpy(dtype=int),
                          df["conversation_id"].tolist())


def learn_from_reviewers(engine: Engine, shared_dir: Path, models_dir: Path | None = None,
                         echo: Callable[[str], None] = print) -> dict[str, dict]:
    """Retrain tone, sentiment and relevance with the reviewers' labels; each is promoted only when it wins (see
    ``scoring.reviewed``). Needs ../shared: the candidate is the shipped recipe plus the labels. Runs after the
    archive adaptation, whose relevance model (when promoted) is the one the reviewers' labels refine."""
    from scoring.train import save_adapted

    models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    if not (shared_dir / "data").is_dir():
        echo(f"复核标注未用于训练：找不到共享训练数据 {shared_dir / 'data'}（用 --shared 指定）")
        return {}
    out = {}
    for name, field, learn in REVIEWED:
        labels = reviewer_labels(engine, field)
        if len(labels.y) == 0:
            echo(f"{name}：还没有复核标注（在回放页对预警点“确认/误报”，或给消息打语气类标签）")
            continue
        model, figures = learn(shared_dir, models_dir, labels)
        save_adapted(models_dir, f"{name}_local", model, figures)
        echo(f"{name}：{len(labels.y)} 条复核标注；{figures['reason']}")
        out[name] = figures
    return out


def train_from_archive(engine: Engine, models_dir: Path | None = None, shared_dir: Path | None = None,
                       echo: Callable[[str], None] = print) -> None:
    """Train the category model, the CSAT stage and the adapted relevance model from the database, and retrain
    tone, sentiment and relevance with the reviewers' labels when ``shared_dir`` is given; say what was skipped
    and why."""
    from scoring.train import adapt_relevance_model, train_category, train_csat_stage

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

    figures = adapt_relevance_model(archive_reply_pairs(engine), models_dir, log=lambda _line: None)
    echo(f"相关度模型：{'使用本店档案训练的模型' if figures['in_use'] else '使用随附模型'}（{figures['reason']}）")
    if shared_dir is not None:
        learn_from_reviewers(engine, shared_dir, models_dir, echo)
