"""Score conversations with every model in one batch: tokenise each message once, one predict per model.

``Scorer.load()`` reads the artifacts of data/models (JSON + .npz, no pickle); a loaded Scorer only reads its
arrays, so one instance can serve many threads. Spreading an archive over processes is ``qa.jobs.scoring``'s
business (``huifang score``), the one parallel path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from scoring.artifacts import (
    DEFAULT_MODELS_DIR,
    ModelMissingError,
    artifacts_version,
    load_artifact,
)
from scoring.batch import SCORED_ROLES, MessageBatch, MessageModel, Signals
from scoring.category import CategoryModel, rule_category
from scoring.dissatisfaction import ConvSignals, DissatisfactionModel
from scoring.lexicon import forbidden_phrases
from scoring.relevance import RelevanceModel
from scoring.responsiveness import (
    Responsiveness,
    gap_text,
    load_sla_rules,
    measure,
    rule_for,
    timing_explanation,
)
from scoring.schema import Conv, ConversationScore, MessageScore
from scoring.sentiment import SentimentModel
from scoring.text import Tokenizer, get_tokenizer
from scoring.tone import ToneModel

__all__ = ["MESSAGE_MODELS", "MODEL_NAMES", "models_version", "Scorer", "compute_signals", "conversation_signals"]

MESSAGE_MODELS: tuple[tuple[str, Callable[[dict, dict[str, np.ndarray]], MessageModel]], ...] = (
    ("sentiment", SentimentModel.from_state), ("relevance", RelevanceModel.from_state), ("tone", ToneModel.from_state))
"""The message models in the order they run (each may read what the earlier ones wrote): artifact name, loader."""
MODEL_NAMES = (*(name for name, _load in MESSAGE_MODELS), "dissatisfaction")
ADAPTED = {"relevance": "relevance_local", "tone": "tone_local", "sentiment": "sentiment_local"}
"""A shipped model and the archive's own version (``huifang train --from-db``), used when its arrays are present."""
LOCAL_MODELS = ("category", "csat_stage", *ADAPTED.values())  # learned from the archive itself: optional


def _adapted(models_dir: Path, name: str) -> str:
    """The archive's own version of model ``name`` when one was promoted (``huifang train --from-db``)."""
    local = ADAPTED.get(name)
    return local if local and (models_dir / f"{local}.npz").exists() else name


def compute_signals(batch: MessageBatch, models: Sequence[MessageModel]) -> Signals:
    """Every message model's scores on ``batch``, in order."""
    signals = Signals(len(batch.roles))
    for model in models:
        model.apply(batch, signals)
    return signals


def conversation_signals(batch: MessageBatch, sig: Signals) -> list[ConvSignals]:
    """Per-conversation inputs of the dissatisfaction model."""
    sentiment, relevance, tone = (sig.column(f) for f in ("sentiment_neg", "relevance", "tone_risk"))
    out = []
    for k in range(len(batch.starts) - 1):
        idx = range(batch.starts[k], batch.starts[k + 1])
        cust = [i for i in idx if batch.roles[i] == "customer" and batch.tokens[i]]
        agent = [i for i in idx if batch.roles[i] == "agent" and batch.tokens[i]]
        rel = relevance[agent] if agent else np.zeros(0)
        talk = [i for i in idx if batch.roles[i] in SCORED_ROLES]
        out.append(ConvSignals(
            customer_tokens=[batch.tokens[i] for i in cust],
            agent_tokens=[batch.tokens[i] for i in agent],
            sentiment=sentiment[cust] if cust else np.zeros(0),
            tone=np.nan_to_num(tone[agent], nan=0.0) if agent else np.zeros(0),
            relevance=rel[~np.isnan(rel)],
            last_is_customer=bool(talk) and batch.roles[talk[-1]] == "customer",
            customer_chars=sum(len(batch.texts[i]) for i in cust),
        ))
    return out


def _rounded(column: np.ndarray) -> list[float | None]:
    """A score column as stored: four decimals, None for NaN (once per batch, not a numpy scalar per message)."""
    return [None if v != v else round(v, 4) for v in column.tolist()]


def models_version(models_dir: Path | None = None) -> str:
    """The version a Scorer loaded from ``models_dir`` would have, without loading the models (a file hash)."""
    d = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    missing = [n for n in MODEL_NAMES if not (d / f"{n}.json").exists() or not (d / f"{n}.npz").exists()]
    if missing:
        raise ModelMissingError(f"找不到模型 {'、'.join(missing)}（目录 {d}）。请先运行 `huifang train`。")
    names = [*MODEL_NAMES, *(n for n in LOCAL_MODELS if (d / f"{n}.npz").exists())]
    return artifacts_version(d, names)


class Scorer:
    """Every model of data/models, ready to score batches of conversations.

    Parameters
    ----------
    models : list of MessageModel
        The message models (``MESSAGE_MODELS``), run in order on every batch.
    dissatisfaction : DissatisfactionModel
        The conversation stage, reading the message models' scores.
    category : CategoryModel or None
        None when no labelled conversations were available: keyword rules are used.
    version : str
        Content hash of the artifacts.
    """

    def __init__(
        self, models: Sequence[MessageModel], dissatisfaction: DissatisfactionModel, category: CategoryModel | None,
        version: str, tokenizer: Tokenizer | None = None,
    ) -> None:
        self.models = list(models)
        self.dissatisfaction = dissatisfaction
        self.category = category
        self._version = version
        self.tokenizer = tokenizer or get_tokenizer()
        self.sla_rules = load_sla_rules()

    @classmethod
    def load(cls, models_dir: Path | None = None) -> Scorer:
        """Load all artifacts from ``models_dir`` (default data/models); the category model is optional."""
        d = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
        models = [load(*load_artifact(d, _adapted(d, name))) for name, load in MESSAGE_MODELS]
        dissat = DissatisfactionModel.from_state(*load_artifact(d, "dissatisfaction"))
        category = None
        if (d / "category.json").exists():
            category = CategoryModel.from_state(*load_artifact(d, "category"))
        if (d / "csat_stage.json").exists():  # fitted on this archive's CSAT: replaces the prior weights
            dissat.responsiveness = dict(load_artifact(d, "csat_stage")[0]["weights"])
        return cls(models, dissat, category, models_version(d))

    @property
    def version(self) -> str:
        """Changes whenever any artifact changes, so stored scores can be told stale."""
        return self._version

    def _prepare(self, convs: Sequence[Conv]) -> tuple:
        batch = MessageBatch.build(convs, self.tokenizer)
        sig = compute_signals(batch, self.models)
        conv_sigs = conversation_signals(batch, sig)
        timings = [measure(c.messages, rule_for(c.platform, self.sla_rules), c.rejected_rows) for c in convs]
        z, _feats, words = self.dissatisfaction.predict_base(conv_sigs)
        breach_share = np.array([
            sum(1 for t in r.replies.values() if t.breach) / len(r.replies) if r.replies else 0.0 for r in timings
        ])
        # Without timestamps "unanswered at end" is only who spoke last, which the model already sees.
        unanswered = np.array([r.unanswered_at_end if r.max_wait_s is not None else 0 for r in timings])
        return batch, sig, timings, z, words, breach_share, unanswered

    def risk_inputs(self, convs: Sequence[Conv]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Base log-odds, share of replies over SLA and unanswered-at-end: what the CSAT stage is fitted on."""
        *_, z, _words, breach_share, unanswered = self._prepare(convs)
        return z, breach_share, unanswered

    def score(self, convs: Sequence[Conv]) -> list[ConversationScore]:
        """Scores of each conversation, in input order."""
        batch, sig, timings, z, words, breach_share, unanswered = self._prepare(convs)
        risk = self.dissatisfaction.adjust(z, breach_share, unanswered)
        categories = self._categories(convs, batch)
        columns = tuple(_rounded(sig.column(f)) for f in ("sentiment_neg", "relevance", "tone_risk"))
        out = []
        for k, conv in enumerate(convs):
            msgs = self._message_scores(batch, sig.words, columns, k, timings[k])
            out.append(self._conversation_score(conv, msgs, timings[k], float(risk[k]), words[k], categories[k],
                                                breach_share[k]))
        return out

    def _categories(self, convs: Sequence[Conv], batch: MessageBatch) -> list[tuple[str, str, list[str]]]:
        out: list[tuple[str, str, list[str]] | None] = [None] * len(convs)
        need_model = []
        for k, conv in enumerate(convs):
            if conv.category:
                out[k] = (conv.category, "given", [])
            elif self.category is None:
                text = "\n".join(m.text for m in conv.messages if m.role == "customer" and m.text)
                cat, kw = rule_category(text)
                out[k] = (cat, "rules", kw)
            else:
                need_model.append(k)
        if need_model and self.category is not None:
            docs = [[t for i in range(batch.starts[k], batch.starts[k + 1]) for t in batch.tokens[i]]
                    for k in need_model]
            cats, _, kws = self.category.predict(docs)
            for k, cat, kw in zip(need_model, cats, kws):
                out[k] = (cat, "model", kw)
        return out  # type: ignore[return-value]

    def _message_scores(self, batch: MessageBatch, words: dict[str, dict[int, list[str]]],
                        columns: tuple[list[float | None], ...], k: int, timing: Responsiveness) -> list[MessageScore]:
        msgs = []
        base = batch.starts[k]
        sentiment, relevance, tone = columns
        sentiment_words, tone_words, relevance_words = words["sentiment_neg"], words["tone_risk"], words["relevance"]
        roles, texts = batch.roles, batch.texts
        find = forbidden_phrases().find
        replies, platform = timing.replies, timing.rule.platform
        for seq, i in enumerate(range(base, batch.starts[k + 1])):
            role = roles[i]
            if role == "customer":
                value = sentiment[i]
                ms = MessageScore(seq, value)
                if value is not None:
                    said = sentiment_words.get(i)
                    ms.explanation = f"负面情绪 {value:.2f}：{'、'.join(said)}" if said else f"负面情绪 {value:.2f}"
            elif role == "agent":
                parts = []
                ms = MessageScore(seq, None, tone[i], relevance[i])
                if ms.tone_risk is not None:
                    reasons = tone_words.get(i)
                    parts.append(f"语气风险 {ms.tone_risk:.2f}（{'；'.join(reasons)}）" if reasons
                                 else f"语气风险 {ms.tone_risk:.2f}")
                    hits = find(texts[i])
                    if hits:
                        ms.rule_hits.extend(f"禁用语:{h.phrase}" for h in hits)
                shared = relevance_words.get(i)
                if ms.relevance is not None:
                    parts.append(f"相关度 {ms.relevance:.2f}（与顾客共有词：{'、'.join(shared)}）" if shared
                                 else f"相关度 {ms.relevance:.2f}")
                elif shared:  # a template reply: neither relevant nor irrelevant
                    parts.append("、".join(shared) + "，不计相关度")
                t = replies.get(seq)
                if t is not None:
                    ms.wait_s = t.wait_s
                    ms.sla_breach = t.breach
                    parts.append(timing_explanation(t, platform))
                    if t.breach:
                        ms.rule_hits.append("超时:SLA")
                ms.explanation = "；".join(parts)
            else:
                ms = MessageScore(seq)
            msgs.append(ms)
        return msgs

    def _conversation_score(
        self, conv: Conv, msgs: list[MessageScore], timing: Responsiveness, risk: float, words: list[str],
        category: tuple[str, str, list[str]], breach_share: float,
    ) -> ConversationScore:
        sents = [m.sentiment_neg for m in msgs if m.sentiment_neg is not None]
        tones = [m.tone_risk for m in msgs if m.tone_risk is not None]
        rels = [m.relevance for m in msgs if m.relevance is not None]
        rel_mean = float(np.mean(rels)) if rels else None
        replies = len(timing.replies)
        parts = [f"不满风险 {risk:.2f}"]
        if sents:
            parts.append(f"顾客情绪 开始 {sents[0]:.2f} → 最差 {max(sents):.2f} → 结束 {sents[-1]:.2f}")
        if tones:
            parts.append(f"客服语气风险最高 {max(tones):.2f}")
        if rel_mean is not None:
            parts.append(f"回复相关度均值 {rel_mean:.2f}")
        if words:
            parts.append("关键词：" + "、".join(words))
        breaches = sum(1 for t in timing.replies.values() if t.breach)
        if breaches:
            parts.append(f"{breaches}/{replies} 次回复超过 SLA（{breach_share:.0%}）")
        if timing.unanswered_at_end:
            parts.append(f"结尾有 {timing.unanswered_at_end} 条顾客消息未回复")
        if timing.rejected_rows:
            parts.append(gap_text(timing.rejected_rows))
        cat, source, kw = category
        why = {"given": "已有分类", "rules": "关键词规则", "model": "分类模型"}[source]
        parts.append(f"分类：{cat}（{why}" + (f"：{'、'.join(kw)}" if kw else "") + "）")
        return ConversationScore(
            key=conv.key,
            dissatisfaction_risk=round(risk, 4),
            tone_risk=round(max(tones), 4) if tones else None,
            relevance=round(rel_mean, 4) if rel_mean is not None else None,
            first_response_s=timing.first_response_s,
            max_wait_s=timing.max_wait_s,
            replies=replies,
            replies_in_sla=timing.replies_in_sla,
            unanswered_at_end=timing.unanswered_at_end,
            sentiment_start=sents[0] if sents else None,
            sentiment_worst=max(sents) if sents else None,
            sentiment_end=sents[-1] if sents else None,
            rule_hits=sum(len(m.rule_hits) for m in msgs),
            category=cat,
            category_source=source,
            explanation="；".join(parts),
            messages=msgs,
        )
