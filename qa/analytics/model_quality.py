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
    "term",
    "evaluation_label",
    "TERMS",
    "MODEL_SUMMARIES",
    "adapted_in_use",
    "flag_vs_verdict",
    "flatten_metrics",
    "kappa_label",
    "display_tables",
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
        elif isinstance(value, (list, tuple)):  # e.g. each fold's AUC, read as a list, not as Python's repr
            rows.append((path, "、".join(str(v) for v in value)))
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
            notes[leaf] = {True: "是", False: "否"}.get(value, str(value)) if isinstance(value, bool) else str(value)
    table = pd.DataFrame.from_dict(rows, orient="index")
    first = [c for c in _LEADING_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return headline, notes, table.rename_axis("evaluation").reset_index()


WIDE = 8
"""A row with more figures than this is shown as a column of its own: a screen shows ~8 columns at 1440 px."""


def display_tables(table: pd.DataFrame) -> list[pd.DataFrame]:
    """``metrics_table``'s table cut into tables that fit the page: rows that record the same figures together,
    in the order they first appear, and a row with many figures of its own (the sample lines' scores, the
    training rows per domain) turned into one ``value`` column, its evaluations named ``row.figure``."""
    if table.empty:
        return []
    figures = table.drop(columns="evaluation")
    filled = figures.notna().to_numpy()
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(filled):
        groups.setdefault(tuple(figures.columns[row]), []).append(i)
    out = []
    for columns, rows in groups.items():
        part = table.iloc[rows][["evaluation", *columns]].reset_index(drop=True)
        if len(part) == 1 and len(columns) > WIDE:
            name = part["evaluation"].iloc[0]
            part = pd.DataFrame({"evaluation": [f"{name}.{c}" for c in columns],
                                 "value": [part[c].iloc[0] for c in columns]})
        out.append(part)
    return out


def _title(markdown: str, name: str) -> str:
    if name in MODEL_SUMMARIES:
        return MODEL_SUMMARIES[name][0]
    return next((line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")), name)


MODEL_SUMMARIES: dict[str, tuple[str, str]] = {
    "sentiment": ("顾客情绪", "每条顾客消息是负面（不满、抱怨）的概率；普通提问和问候最多 0.15。"),
    "relevance": ("回复相关度", "客服回复是否回答了顾客刚说的话（0–1）；问候、请稍等等模板回复不计。"),
    "relevance_local": ("本店档案训练的相关度", "用本店会话自己训练的相关度模型；只有在留出的会话上胜过随附模型时才使用。"),
    "tone_local": ("结合复核标注的语气模型", "加入复核员标注重新训练的语气模型；只有在留出的复核标注上更好、且在共享留出集上不变差时才使用。"),
    "sentiment_local": ("结合复核标注的情绪模型", "加入复核员标注重新训练的情绪模型；只有在留出的复核标注上更好、且在共享留出集上不变差时才使用。"),
    "tone": ("客服语气风险", "质检主管会要求修改这条回复的概率（粗鲁、讽刺、推责、生硬、敷衍）；0.5 为预警线。"),
    "dissatisfaction": ("会话不满风险", "顾客在会话结束时不满意的概率，综合情绪、语气、相关度与响应速度。"),
    "category": ("会话分类", "按本店已有分类的会话训练的咨询类型模型；没有时使用关键词规则。"),
    "csat_stage": ("满意度响应阶段", "用本店带评价的会话拟合“回复慢、结尾未回复”对不满风险的影响。"),
}
"""What each model is, in Chinese, for the Models page (the Markdown cards are the engineers' English record)."""

TERMS: dict[str, tuple[str, str]] = {
    "n": ("样本数", "参与评估的条数"),
    "value": ("数值", "该项记录的数值：条数，或示例语句的得分"),
    "positive_rate": ("阳性比例", "样本中阳性（负面、不合格、真实回复等）所占比例"),
    "roc_auc": ("ROC-AUC", "随机取一正一负，模型把正的排在前面的概率；0.5 为瞎猜，1 为完美"),
    "macro_f1": ("macro-F1", "以 0.5 为界时两类 F1 的平均，兼顾查全与查准"),
    "accuracy": ("准确率", "以 0.5 为界判断正确的比例"),
    "brier": ("Brier", "概率与真实结果之差的平方均值，越小越好"),
    "ece": ("ECE", "预测概率与实际比例的平均偏差（校准误差），越小越好"),
    "false_alarms_on_fine": ("误报率", "人工判为合格的回复中被模型预警的比例"),
    "false_alarms_on_good": ("误报率（好回复）", "同一语境下写的好回复被预警的比例"),
    "caught_bad": ("检出率", "不合格回复中被模型预警（≥0.5）的比例"),
    "caught_obvious": ("检出率（明显）", "明显粗鲁、生硬的不合格回复的检出率"),
    "caught_subtle": ("检出率（隐晦）", "措辞客气但实质不当的回复的检出率"),
    "kappa_bad": ("κ（合格/不合格）", "两位标注者在合格与否上的一致性，扣除偶然一致；0.6 以上为较好"),
    "kappa_labels": ("κ（六类标签）", "两位标注者在六类语气标签上的一致性"),
    "kappa": ("κ", "两位标注者的一致性，扣除偶然一致"),
    "adjudicated": ("裁定数", "两位标注者不一致、由第三方裁定的条数"),
    "flagged_share": ("预警比例", "模型判为负面（≥0.5）的比例"),
    "labelled_negative_share": ("人工负面比例", "人工标注为负面的比例"),
    "automatic_labels_agree": ("自动标签一致率", "语料自带的自动标签与人工标注一致的比例"),
    "negative": ("负面", "人工标注为负面的比例"),
    "neutral": ("中性", "人工标注为中性的比例"),
    "positive": ("正面", "人工标注为正面的比例"),
    "fold_auc_mean": ("各折 AUC 均值", "交叉验证各折 ROC-AUC 的平均"),
    "loco_review_domains_mean_auc": ("留一领域 AUC 均值", "每次留出一个评论领域，其余训练，留出领域上的 AUC 平均"),
    "loco_review_domains_min_auc": ("留一领域 AUC 最低", "表现最差的评论领域"),
    "template_share_jd_test": ("模板回复比例", "京东留出回复中被判为模板（不计相关度）的比例"),
    "threshold": ("预警线", "相关度低于此线的回复标为答非所问"),
    "true_replies_flagged": ("真实回复被预警", "真实的下一条回复被标为答非所问的比例（误报，不含模板回复）"),
    "swapped_replies_caught": ("错配回复检出", "从别的会话取来的回复被标为答非所问的比例（不含模板回复）"),
    "jd_uniform_flagged_share": ("随机样本预警比例", "京东随机抽样回复中被预警的比例"),
    "jd_uniform_labelled_bad_share": ("随机样本不合格比例", "京东随机抽样回复中人工判为不合格的比例"),
    "lexicon_only_roc_auc": ("仅禁用语 AUC", "只用禁用语词表时的 ROC-AUC（对照）"),
    "in_use": ("在用", "是否用它替代随附模型"),
    "rated": ("带评价会话", "本店档案中有顾客评价（CSAT）、用于拟合的会话数"),
    "dissatisfied_rate": ("不满比例", "带评价会话中顾客不满意（CSAT ≤ 2）的比例"),
    "archive_pairs": ("档案回复数", "从本店档案中取出的回复对"),
    "training_pairs": ("训练回复数", "用于训练的回复对"),
    "held_out_pairs": ("留出回复数", "用于比较的留出回复对"),
    "real": ("真实回复", "人工标注的真实回复条数"),
    "real_bad": ("其中不合格", "人工标注为不合格的条数"),
    "written_pairs": ("写作样本", "为训练写入真实语境的好/坏回复对数"),
    "n_pairs": ("探针对数", "探针集中好/坏回复对的数量"),
    "fold_auc": ("各折 AUC", "交叉验证每一折的 ROC-AUC"),
    "folds": ("折数", "交叉验证的折数"),
    "reason": ("原因", "为什么使用或不使用它"),
    "set": ("数据集", "比较所用的留出数据"),
    "candidate": ("重训模型", "加入复核标注后重新训练的模型"),
    "train": ("训练用", "用于训练的复核标注条数"),
    "held_out": ("留出", "留出比较、不参与训练的复核标注条数"),
    "held_out_flag_right": ("留出中应预警", "留出的复核标注中，复核员认为应当预警的条数"),
    "rude": ("粗鲁", "探针集中粗鲁回复的检出率"),
    "sarcastic": ("讽刺", "探针集中讽刺、挖苦回复的检出率"),
    "blaming": ("指责顾客", "探针集中指责顾客回复的检出率"),
    "curt": ("生硬", "探针集中生硬、光秃秃拒绝回复的检出率"),
    "dismissive": ("敷衍", "探针集中套话敷衍回复的检出率"),
    "shifting": ("推卸责任", "探针集中推卸责任回复的检出率"),
}
"""Chinese names of the figures the cards record, each with a one-line explanation."""

_EVALUATIONS = {
    "loco_per_domain": "留出领域", "chat_held_out": "聊天语句（留出）",
    "jd_labelled_customer_lines": "京东顾客消息（人工标注，留出）", "chat_people_labelled": "聊天语句（人工标注）",
    "negative_vs_rest": "负面对其余", "negative_vs_positive": "负面对正面", "shares": "人工标注占比", "real_out_of_fold": "真实回复（交叉验证）",
    "real_out_of_fold.by_source": "真实回复·来源", "probe": "探针集（留出语境）", "probe.caught_by_kind": "探针集·各类检出率",
    "labellers": "标注者一致性", "jd_random": "京东留出·随机负例", "jd_random_nontemplate": "京东留出·随机负例（不含模板）",
    "jd_hard": "京东留出·同类话题负例", "jd_hard_nontemplate": "京东留出·同类话题负例（不含模板）",
    "stc_random": "STC-3 留出·随机负例", "stc_hard": "STC-3 留出·同类话题负例",
    "jd_at_flag_line": "京东留出·答非所问预警线", "stc_at_flag_line": "STC-3 留出·答非所问预警线", "cv_pooled": "五折交叉验证（合并）",
    "held_out_fitted": "留出 30%·按本店评价拟合的权重", "held_out_prior": "留出 30%·默认先验权重",
    "shipped": "随附模型", "adapted": "本店档案模型", "reviewer_labels": "复核标注",
    "shared_held_out": "共享留出集（ROC-AUC）", "reviewers_held_out": "留出的复核标注（ROC-AUC）", "training_rows": "训练条数", "plain_and_complaint_lines": "示例语句",
}


def term(key: str) -> str:
    """The Chinese name of a recorded figure (the key itself when it has none)."""
    return TERMS.get(key, (key, ""))[0]


def evaluation_label(path: str) -> str:
    """The Chinese name of an evaluation row, e.g. ``loco_per_domain.书籍`` → ``留出领域：书籍``."""
    if path in _EVALUATIONS:
        return _EVALUATIONS[path]
    group, _, leaf = path.rpartition(".")
    if group in _EVALUATIONS:
        return f"{_EVALUATIONS[group]}：{_EVALUATIONS.get(leaf, term(leaf))}"
    return path


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
        .where(column.is_not(None), a.deleted_at.is_(None))
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


ADAPTED_NAMES = {"relevance_local": ("相关度", "本店档案训练的模型", "用本店档案训练并与之比较"),
                 "tone_local": ("语气", "结合复核标注重新训练的模型", "用复核员的确认/误报与标签重新训练并与之比较"),
                 "sentiment_local": ("顾客情绪", "结合复核标注重新训练的模型", "用复核员的确认/误报重新训练并与之比较")}


def adapted_in_use(models_dir: Path | None = None) -> list[str]:
    """For each model with an archive-adapted version: which one scores messages, and why."""
    lines = []
    for name, (what, adapted, how) in ADAPTED_NAMES.items():
        path = (models_dir or MODELS_DIR) / f"{name}.json"
        if not path.exists():
            lines.append(f"{what}：使用随附模型（尚未{how}；运行 `huifang train --from-db`）")
            continue
        figures = json.loads(path.read_text(encoding="utf-8")).get("metrics") or {}
        which = adapted if figures.get("in_use") else "随附模型"
        lines.append(f"{what}：使用{which}（{figures.get('reason', '')}）")
    return lines
