"""How far to trust the models: their cards, and agreement of model flags and of reviewers with each other.

Model cards are the Markdown files the trainer writes to ``data/models/<name>.md``; the figures behind each card
come from the machine-readable ``metrics`` entry of ``<name>.json`` (held-out results on real data). Agreement is
measured on the archive: the model's flag (risk ≥ RISK_HIGH) against reviewers' 不合格 verdicts, and reviewers
against each other on the conversations two or more of them reviewed. Annotations are few (thousands, not
millions), so they are read whole and paired in pandas.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import Connection, select
from sqlalchemy.orm import InstrumentedAttribute

from qa.analytics.filters import Filters, apply_to_conversations
from qa.models import Annotation, Conversation, ConversationScore
from qa.review.annotations import RUBRIC_SCALE, VERDICTS
from scoring.artifacts import DEFAULT_MODELS_DIR
from scoring.schema import RISK_HIGH

__all__ = [
    "MIN_N",
    "MODELS_DIR",
    "FlagAgreement",
    "ModelCard",
    "ReviewerAgreement",
    "cards_version",
    "relevance_in_use",
    "flag_vs_verdict",
    "flatten_metrics",
    "kappa_label",
    "metrics_table",
    "model_cards",
    "reviewer_agreement",
]

MODELS_DIR = DEFAULT_MODELS_DIR
MIN_N = 30  # below this many pairs a kappa swings by ±0.2 from one case: report it as 数据不足
FAIL = VERDICTS[-1]
_LEADING_COLUMNS = ("n", "positive_rate", "roc_auc", "accuracy", "macro_f1")


@dataclass(frozen=True)
class ModelCard:
    """One model's card: its Markdown text and the metrics recorded with the trained artifact."""

    name: str
    title: str
    markdown: str
    trained: str | None
    headline: dict[str, float]  # top-level figures, e.g. {"loco_mean_auc": 0.93}
    notes: dict[str, str]  # top-level text and lists, e.g. {"fold_auc": "[0.898, 0.9077, …]"}
    metrics: pd.DataFrame  # one row per evaluation (e.g. "loco_pooled"), one column per figure (n, roc_auc, …)


def flatten_metrics(metrics: dict, prefix: str = "") -> list[tuple[str, float | str]]:
    """Nested metric dicts as (dotted path, value) pairs, in the order the trainer wrote them."""
    rows: list[tuple[str, float | str]] = []
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten_metrics(value, path + "."))
        elif isinstance(value, (list, tuple)):
            rows.append((path, json.dumps(value, ensure_ascii=False)))
        else:
            rows.append((path, value))
    return rows


def metrics_table(metrics: dict) -> tuple[dict[str, float], dict[str, str], pd.DataFrame]:
    """Recorded metrics as top-level figures, top-level notes, and a table: a row per evaluation, a column per figure.

    ``{"loco_mean_auc": 0.93, "loco_pooled": {"roc_auc": 0.96, "n": 62705}}`` becomes the headline
    ``{"loco_mean_auc": 0.93}`` and a row "loco_pooled" with columns n and roc_auc: readable where a flat
    list of 60 dotted paths is not. Sizes and rates come first, then the scores, whatever order the file has.
    """
    headline: dict[str, float] = {}
    notes: dict[str, str] = {}
    rows: dict[str, dict[str, float | str]] = {}
    for path, value in flatten_metrics(metrics):
        group, _, leaf = path.rpartition(".")
        if group:
            rows.setdefault(group, {})[leaf] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            headline[leaf] = value
        else:
            notes[leaf] = str(value)
    table = pd.DataFrame.from_dict(rows, orient="index")
    first = [c for c in _LEADING_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return headline, notes, table.rename_axis("evaluation").reset_index()


def _title(markdown: str, name: str) -> str:
    return next((line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")), name)


def model_cards(models_dir: Path | None = None) -> list[ModelCard]:
    """Every ``*.md`` card in ``models_dir`` (default data/models) with the metrics from its ``*.json``, by name."""
    cards = []
    for md in sorted((models_dir or MODELS_DIR).glob("*.md")):
        text = md.read_text(encoding="utf-8")
        meta_path = md.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        headline, notes, table = metrics_table(meta.get("metrics") or {})
        cards.append(ModelCard(md.stem, _title(text, md.stem), text, meta.get("trained"), headline, notes, table))
    return cards


def cards_version(models_dir: Path | None = None) -> str:
    """Changes whenever a card or its metrics file is written: the cache key for ``model_cards``."""
    models_dir = models_dir or MODELS_DIR
    files = sorted([*models_dir.glob("*.md"), *models_dir.glob("*.json")])
    return "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in files)


def kappa_label(kappa: float | None) -> str:
    """Landis & Koch's words for a kappa (as shown, to two decimals), so a reader need not know the scale."""
    if kappa is None:
        return "无法计算"
    shown = round(kappa, 2)
    if shown < 0:
        return "差于随机"
    for bound, word in ((0.2, "轻微一致"), (0.4, "一般"), (0.6, "中等"), (0.8, "较强")):
        if shown <= bound:
            return word
    return "几乎完全一致"


def _kappa(a: list, b: list, labels: list | None = None, weights: str | None = None) -> float | None:
    """Cohen's kappa, or None where it is undefined (no pairs, or one label everywhere)."""
    if not a or len(set(a) | set(b)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score(a, b, labels=labels, weights=weights)
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class FlagAgreement:
    """Model flag (risk ≥ threshold) against reviewers' 不合格, one pair per reviewed conversation and reviewer."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    kappa: float | None

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def enough(self) -> bool:
        return self.n >= MIN_N

    @property
    def precision(self) -> float | None:
        """Of the conversations the model flagged, the share reviewers judged 不合格."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Of the conversations reviewers judged 不合格, the share the model had flagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def confusion(self) -> pd.DataFrame:
        """The 2×2 table as a reader expects it: rows = model, columns = reviewer."""
        return pd.DataFrame([[self.tp, self.fp], [self.fn, self.tn]],
                            index=["模型：高风险", "模型：未标记"],
                            columns=[f"复核：{FAIL}", f"复核：非{FAIL}"])


@dataclass(frozen=True)
class ReviewerAgreement:
    """Reviewers against each other, over every pair of reviewers who judged the same thing."""

    conversations: int  # conversations with verdicts from two or more reviewers
    verdict_pairs: pd.DataFrame  # conversation_id, reviewer_a, reviewer_b, verdict_a, verdict_b
    verdict_kappa: float | None
    score_pairs: pd.DataFrame  # conversation_id, message_id, rubric_item, reviewer_a, reviewer_b, score_a, score_b
    score_kappa: float | None  # quadratic-weighted: a 4 against a 5 is a smaller disagreement than 1 against 5
    by_item: pd.DataFrame  # rubric_item, pairs, exact (share equal), kappa

    @property
    def verdict_n(self) -> int:
        return len(self.verdict_pairs)

    @property
    def score_n(self) -> int:
        return len(self.score_pairs)

    @property
    def verdict_exact(self) -> float | None:
        """Share of pairs that gave the same verdict."""
        p = self.verdict_pairs
        return float((p["verdict_a"] == p["verdict_b"]).mean()) if len(p) else None

    def verdict_table(self) -> pd.DataFrame:
        """Counts of verdict A (rows) against verdict B (columns), over the fixed vocabulary."""
        p = self.verdict_pairs
        table = pd.crosstab(p["verdict_a"], p["verdict_b"]) if len(p) else pd.DataFrame()
        return table.reindex(index=list(VERDICTS), columns=list(VERDICTS), fill_value=0)


def _annotations(conn: Connection, f: Filters, column: InstrumentedAttribute, whole_conversation: bool
                 ) -> pd.DataFrame:
    """Annotations in scope with ``column`` set, oldest first, with the conversation's predicted risk."""
    a, c, s = Annotation, Conversation, ConversationScore
    query = (
        select(a.conversation_id, a.message_id, a.rubric_item, a.reviewer_id, a.verdict, a.score,
               s.dissatisfaction_risk.label("risk"))
        .select_from(a).join(c, c.id == a.conversation_id)
        .outerjoin(s, s.conversation_id == c.id)
        .where(column.is_not(None))
        .order_by(a.updated_at, a.id)
    )
    if whole_conversation:
        query = query.where(a.message_id.is_(None))
    query = apply_to_conversations(query, f)
    result = conn.execute(query)
    df = pd.DataFrame(result.all(), columns=list(result.keys()))
    df["message_id"] = df["message_id"].fillna(-1).astype(int)
    df["rubric_item"] = df["rubric_item"].fillna("")
    return df


def flag_vs_verdict(conn: Connection, f: Filters, threshold: float = RISK_HIGH) -> FlagAgreement:
    """Agreement of the model's flag with reviewers' verdicts on the scored, reviewed conversations in ``f``.

    Each reviewer's latest verdict on a whole conversation is one case (a later verdict replaces an earlier one);
    需改进 counts as "not 不合格"; conversations not yet scored are left out.
    """
    df = _annotations(conn, f, Annotation.verdict, whole_conversation=True)
    df = df.drop_duplicates(["conversation_id", "reviewer_id"], keep="last").dropna(subset=["risk"])
    flagged = df["risk"].astype(float) >= threshold
    failed = df["verdict"] == FAIL
    kappa = _kappa(list(flagged), list(failed))
    return FlagAgreement(threshold, int((flagged & failed).sum()), int((flagged & ~failed).sum()),
                         int((~flagged & failed).sum()), int((~flagged & ~failed).sum()), kappa)


def _pairs(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Every pair of different reviewers' latest ``value`` on the same ``keys`` (lower reviewer id first)."""
    latest = df.drop_duplicates([*keys, "reviewer_id"], keep="last")[[*keys, "reviewer_id", value]]
    both = latest.merge(latest, on=keys, suffixes=("_a", "_b"))
    both = both[both["reviewer_id_a"] < both["reviewer_id_b"]].sort_values([*keys, "reviewer_id_a", "reviewer_id_b"])
    both = both.rename(columns={"reviewer_id_a": "reviewer_a", "reviewer_id_b": "reviewer_b"})
    return both[[*keys, "reviewer_a", "reviewer_b", f"{value}_a", f"{value}_b"]].reset_index(drop=True)


def reviewer_agreement(conn: Connection, f: Filters) -> ReviewerAgreement:
    """Cohen's kappa between reviewers on verdicts and on rubric scores, over every pair that judged the same.

    Pairs from different reviewer couples are pooled, the lower reviewer id as rater A: with a handful of QA
    staff this reads as "how often do two of us agree", which is the question a QA manager asks.
    """
    verdicts = _annotations(conn, f, Annotation.verdict, whole_conversation=True)
    v_pairs = _pairs(verdicts, ["conversation_id"], "verdict")
    scores = _annotations(conn, f, Annotation.score, whole_conversation=False)
    s_pairs = _pairs(scores, ["conversation_id", "message_id", "rubric_item"], "score")
    # the whole scale as labels, so that a 2 against a 5 counts as three steps apart even if nobody gave a 3 or 4
    scale = sorted(set(range(RUBRIC_SCALE[0], RUBRIC_SCALE[1] + 1)) | set(s_pairs["score_a"]) | set(s_pairs["score_b"]))

    def score_kappa(pairs: pd.DataFrame) -> float | None:
        return _kappa(list(pairs["score_a"]), list(pairs["score_b"]), labels=scale, weights="quadratic")

    items = [(item or "（总分）", len(group), float((group["score_a"] == group["score_b"]).mean()), score_kappa(group))
             for item, group in s_pairs.groupby("rubric_item", sort=True)]
    return ReviewerAgreement(
        conversations=int(v_pairs["conversation_id"].nunique()) if len(v_pairs) else 0,
        verdict_pairs=v_pairs,
        verdict_kappa=_kappa(list(v_pairs["verdict_a"]), list(v_pairs["verdict_b"]), labels=list(VERDICTS)),
        score_pairs=s_pairs,
        score_kappa=score_kappa(s_pairs),
        by_item=pd.DataFrame(items, columns=["rubric_item", "pairs", "exact", "kappa"]),
    )


def relevance_in_use(models_dir: Path | None = None) -> str:
    """Which relevance model scores replies, and why: the shipped one, or the one learned from this archive."""
    path = (models_dir or MODELS_DIR) / "relevance_local.json"
    if not path.exists():
        return "相关度：使用随附模型（尚未用本店档案训练；运行 `huifang train --from-db` 可训练并与之比较）"
    figures = json.loads(path.read_text(encoding="utf-8")).get("metrics") or {}
    which = "本店档案训练的模型" if figures.get("in_use") else "随附模型"
    return f"相关度：使用{which}（{figures.get('reason', '')}）"
