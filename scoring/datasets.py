"""Readers for the real training data in ``shared/data`` (reviews, STC-3 dialogues, JD chats) and the tone
labels of ``data/labels`` joined to the texts they label, cleaned once here.

Nothing from the shared files is copied into the repository; training and evaluation read them from ``../shared``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.schema import Conv, Msg

__all__ = [
    "Dialogue",
    "default_shared_dir",
    "load_reviews",
    "load_waimai",
    "load_stc3",
    "dialogue_to_conv",
    "LABELS_DIR",
    "jd_held_out",
    "load_jddc",
    "ToneExamples",
    "tone_examples",
    "tone_probe",
    "tone_probe_groups",
    "load_chat_sentiment",
    "jd_plain_questions",
    "sentiment_corpus",
    "labelled_chat_lines",
    "labelled_training_lines",
    "labelled_chat_utterances",
    "chat_text_key",
]

LABELS_DIR = Path(__file__).resolve().parents[1] / "data" / "labels"
FINE_LABELS = ("polite", "neutral")


def default_shared_dir() -> Path:
    """``../shared`` next to the repository, where the real data lives."""
    return Path(__file__).resolve().parents[2] / "shared"


def _clean_review(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.replace("\ufeff", "", regex=False).str.strip()


def load_reviews(shared_dir: Path) -> pd.DataFrame:
    """Online-shopping reviews (``cat``, ``label`` 1=positive, ``review``), BOMs stripped and duplicates resolved.

    A text that occurs more than once keeps one row when all its labels agree and is dropped when they
    conflict (the label is unknowable, and keeping both would leak between train and test folds).
    """
    return _cleaned(pd.read_csv(shared_dir / "data" / "reviews" / "online_shopping_10_cats.csv"), "review")


def load_waimai(shared_dir: Path) -> pd.DataFrame:
    """Food-delivery reviews (``label`` 1=positive, ``review``), cleaned like ``load_reviews``."""
    return _cleaned(pd.read_csv(shared_dir / "data" / "reviews" / "waimai_10k.csv"), "review")


def _cleaned(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Texts stripped of BOMs and blanks; each text once, and none whose copies disagree on the label."""
    df[column] = _clean_review(df[column])
    df = df[df[column] != ""]
    labels_per_text = df.groupby(column)["label"].nunique()
    df = df[~df[column].isin(labels_per_text[labels_per_text > 1].index)].drop_duplicates(column)
    return df.reset_index(drop=True)


@dataclass(slots=True)
class Dialogue:
    """One STC-3 dialogue: every raw turn as (sender, text) with its utterances joined ("" when only emoji),

    so that ``turns[i]`` is turn ``i`` of the source file (the key used by the tone labels); and its S labels.
    """

    id: str
    turns: list[tuple[str, str]]
    utterances: list[tuple[str, list[str]]]
    s_scores: np.ndarray | None

    @property
    def dissatisfied(self) -> bool | None:
        """At least half of the annotators gave S < 0 (the brief's target, ~22% of dialogues)."""
        if self.s_scores is None:
            return None
        return bool((self.s_scores < 0).mean() >= 0.5)


def load_stc3(shared_dir: Path, labeled: bool = True) -> list[Dialogue]:
    """STC-3 dialogues; empty utterances (dropped emoji/images) are removed from the joined turn text."""
    name = "dialogues_labeled.json" if labeled else "dialogues_unlabeled.json"
    raw = json.loads((shared_dir / "data" / "stc3" / name).read_text(encoding="utf-8"))
    out = []
    for item in raw:
        utterances = [(t["sender"], list(t["utterances"])) for t in item["turns"]]
        turns = [(sender, "，".join(u for u in utts if u.strip())) for sender, utts in utterances]
        anns = item.get("annotations")
        s = np.array([a["quality"]["S"] for a in anns], dtype=float) if anns else None
        out.append(Dialogue(str(item["id"]), turns, utterances, s))
    return out


def dialogue_to_conv(d: Dialogue) -> Conv:
    """An STC-3 dialogue as a scoring ``Conv`` (helpdesk → agent, no timestamps)."""
    msgs = [Msg(role="customer" if snd == "customer" else "agent", text=txt) for snd, txt in d.turns if txt]
    return Conv(key=d.id, messages=msgs)


def jd_held_out(line: int) -> bool:
    """The JD pairs kept out of every training set: blocks of 100 lines, one block in five (lines 0–99, 500–599…).

    Neighbouring lines can come from one conversation, so whole blocks are held out, never single lines.
    """
    return (line // 100) % 5 == 0


@lru_cache(maxsize=2)
def load_jddc(shared_dir: Path) -> tuple[dict, ...]:
    """The JD context → reply pairs, by line number (``context``: earlier turns, roles not marked; ``reply``)."""
    path = shared_dir / "data" / "jddc" / "context_reply_pairs.jsonl"
    with path.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh)


@dataclass
class ToneExamples:
    """Replies with a tone label (1 = bad), the customer's words before each, and where each comes from.

    ``groups`` keep a JD block or an STC-3 dialogue in one fold; ``source`` is jd, stc3 or synthetic; ``label`` the
    adjudicated label of a real reply (the kind, for a written one); ``stratum`` the JD sample stratum.
    """

    texts: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    stratum: list[str] = field(default_factory=list)
    subtle: list[bool] = field(default_factory=list)

    def add(self, text: str, context: str, bad: int, group: str, source: str, label: str, stratum: str = "",
            subtle: bool = False) -> None:
        for column, value in zip(("texts", "contexts", "y", "groups", "source", "label", "stratum", "subtle"),
                                 (text, context, bad, group, source, label, stratum, subtle)):
            getattr(self, column).append(value)

    def fine(self) -> np.ndarray:
        """Real replies judged fine (polite or neutral)."""
        return np.array([s != "synthetic" and lab in FINE_LABELS for s, lab in zip(self.source, self.label)])


def _jd_context(pair: dict, turns: int = 2) -> str:
    return " ‖ ".join(pair["context"][-turns:])


def _written_pairs(shared_dir: Path, path: Path, into: ToneExamples) -> ToneExamples:
    jd = load_jddc(shared_dir)
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            line = int(row["line"])
            for column, bad in (("bad_reply", 1), ("good_reply", 0)):
                into.add(row[column], _jd_context(jd[line]), bad, f"jd{line // 100}", "synthetic", row["kind"],
                         subtle=row["subtle"] == "1")
    return into


def tone_examples(shared_dir: Path, labels_dir: Path = LABELS_DIR, written: bool = True) -> ToneExamples:
    """The labelled real replies (JD, then STC-3) and, with ``written``, the bad/good pairs written for training."""
    out = ToneExamples()
    jd = load_jddc(shared_dir)
    with (labels_dir / "jd_tone_labels.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            line = int(row["line"])
            out.add(jd[line]["reply"], _jd_context(jd[line]), int(row["bad"]), f"jd{line // 100}", "jd",
                    row["label"], row["stratum"])
    dialogues = {d.id: d for d in load_stc3(shared_dir) + load_stc3(shared_dir, labeled=False)}
    with (labels_dir / "stc3_tone_labels.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            d, k = dialogues[row["dialogue_id"]], int(row["turn_index"])
            customer = next((text for sender, text in reversed(d.turns[:k]) if sender == "customer"), "")
            out.add(d.turns[k][1], customer, int(row["bad"]), f"stc{d.id}", "stc3", row["label"])
    if written:
        _written_pairs(shared_dir, labels_dir / "tone_synthetic_train.csv", out)
    return out


def tone_probe(shared_dir: Path, labels_dir: Path = LABELS_DIR) -> ToneExamples:
    """The probe set: bad and good replies written into held-out JD contexts, for measuring only."""
    return _written_pairs(shared_dir, labels_dir / "tone_probe.csv", ToneExamples())


def tone_probe_groups(labels_dir: Path = LABELS_DIR) -> frozenset[str]:
    """The ``ToneExamples`` groups (JD blocks) of the probe's contexts: the shipped tone model never trains on a
    real reply of these blocks, so the probe measures it on contexts it has not seen."""
    with (labels_dir / "tone_probe.csv").open(encoding="utf-8", newline="") as fh:
        return frozenset(f"jd{int(row['line']) // 100}" for row in csv.DictReader(fh))


def load_chat_sentiment(shared_dir: Path) -> pd.DataFrame:
    """Short human–machine chat utterances (``label`` 1=positive, ``text``; automatic, noisy labels), cleaned."""
    return _cleaned(pd.read_csv(shared_dir / "data" / "chat_sentiment" / "chat_sentiment_auto_30k.csv"), "text")


def jd_plain_questions(shared_dir: Path, is_plain: Callable[[str], bool]) -> list[str]:
    """Distinct chat lines of the JD training blocks that ``is_plain`` takes for a greeting or plain question."""
    seen: dict[str, None] = {}
    for line, pair in enumerate(load_jddc(shared_dir)):
        if not jd_held_out(line):
            for text in pair["context"]:
                text = text.strip()
                if text and is_plain(text):
                    seen.setdefault(text)
    return list(seen)


def sentiment_corpus(shared_dir: Path, is_plain: Callable[[str], bool]) -> pd.DataFrame:
    """Every text the sentiment model learns from: ``text``, ``negative`` (0/1) and ``domain`` — each shopping
    category, 外卖 (food delivery), 聊天 (chat utterances), and, never held out, 提问 (plain JD questions) and
    京东标注 (labelled JD customer lines of the training blocks)."""
    reviews, waimai, chat = load_reviews(shared_dir), load_waimai(shared_dir), load_chat_sentiment(shared_dir)
    plain = jd_plain_questions(shared_dir, is_plain)
    labelled = labelled_training_lines(shared_dir)
    frames = [
        pd.DataFrame({"text": reviews["review"], "negative": 1 - reviews["label"], "domain": reviews["cat"]}),
        pd.DataFrame({"text": waimai["review"], "negative": 1 - waimai["label"], "domain": "外卖"}),
        pd.DataFrame({"text": chat["text"], "negative": 1 - chat["label"], "domain": "聊天"}),
        pd.DataFrame({"text": plain, "negative": 0, "domain": "提问"}),
        pd.DataFrame({"text": labelled["text"], "negative": labelled["negative"], "domain": "京东标注"}),
    ]
    return pd.concat(frames, ignore_index=True).drop_duplicates("text", keep="last").reset_index(drop=True)


def labelled_training_lines(shared_dir: Path, labels_dir: Path = LABELS_DIR) -> pd.DataFrame:
    """Customer lines of the JD training blocks that both labellers took for the customer's and agreed on
    (``data/labels/jd_sentiment_train_labels.csv``): ``text`` and ``negative``."""
    labels = pd.read_csv(labels_dir / "jd_sentiment_train_labels.csv")
    agreed = labels[(labels["speaker_a"] == "customer") & (labels["speaker_b"] == "customer")
                    & (labels["negative_a"] == labels["negative_b"])]
    jd = load_jddc(shared_dir)
    return pd.DataFrame({"text": [jd[line]["context"][turn].strip() for line, turn in zip(agreed["line"], agreed["turn"])],
                         "negative": agreed["negative_a"].to_numpy()})


def labelled_chat_lines(shared_dir: Path, labels_dir: Path = LABELS_DIR) -> pd.DataFrame | None:
    """The real JD chat lines both labellers took for the customer's, with the adjudicated ``negative`` label
    (``data/labels/jd_sentiment_labels.csv``); ``attrs["kappa"]`` is the labellers' κ on those lines."""
    path = labels_dir / "jd_sentiment_labels.csv"
    if not path.exists():
        return None
    from sklearn.metrics import cohen_kappa_score

    labels = pd.read_csv(path)
    labels = labels[labels["speaker"] == "customer"].reset_index(drop=True)
    jd = load_jddc(shared_dir)
    labels["text"] = [jd[line]["context"][turn].strip() for line, turn in zip(labels["line"], labels["turn"])]
    labels.attrs["kappa"] = round(float(cohen_kappa_score(labels["negative_a"], labels["negative_b"])), 4)
    return labels


def chat_text_key(text: str) -> str:
    """The key a labelled chat utterance is stored under: the md5 of its cleaned text (its evaluation split is the
    same digest modulo 5, ``scoring.relevance_fit.md5_bucket``), so the repository never holds the text."""
    return hashlib.md5(text.encode()).hexdigest()


def labelled_chat_utterances(shared_dir: Path, labels_dir: Path = LABELS_DIR) -> pd.DataFrame | None:
    """Held-out chat utterances labelled by people (``data/labels/chat_utterance_labels.csv``, keyed by
    ``chat_text_key``): ``text``, ``sentiment`` (negative/neutral/positive, adjudicated), ``negative`` (0/1) and the
    corpus's own ``automatic_negative``; ``attrs["kappa"]`` is the two labellings' κ on negative-or-not. None when
    the labels are absent."""
    from sklearn.metrics import cohen_kappa_score

    path = labels_dir / "chat_utterance_labels.csv"
    if not path.exists():
        return None
    labels = pd.read_csv(path)
    chat = load_chat_sentiment(shared_dir)
    chat.index = chat["text"].map(chat_text_key)
    labels = labels[labels["key"].isin(chat.index)].reset_index(drop=True)
    labels["text"] = chat.loc[labels["key"], "text"].to_numpy()
    labels["automatic_negative"] = 1 - chat.loc[labels["key"], "label"].to_numpy()
    labels["negative"] = (labels["sentiment"] == "negative").astype(int)
    labels.attrs["kappa"] = round(float(cohen_kappa_score(labels["sentiment_a"] == "negative",
                                                          labels["sentiment_b"] == "negative")), 4)
    return labels
