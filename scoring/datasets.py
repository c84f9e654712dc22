"""Readers for the real training data in ``shared/data`` (reviews and STC-3 dialogues), cleaned once here.

Nothing from these files is copied into the repository; training and evaluation read them from ``../shared``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
]


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
    df = pd.read_csv(shared_dir / "data" / "reviews" / "online_shopping_10_cats.csv")
    df["review"] = _clean_review(df["review"])
    df = df[df["review"] != ""]
    labels_per_text = df.groupby("review")["label"].nunique()
    conflicting = labels_per_text[labels_per_text > 1].index
    df = df[~df["review"].isin(conflicting)].drop_duplicates("review")
    return df.reset_index(drop=True)


def load_waimai(shared_dir: Path) -> pd.DataFrame:
    """Food-delivery reviews (``label`` 1=positive, ``review``), cleaned like ``load_reviews``."""
    df = pd.read_csv(shared_dir / "data" / "reviews" / "waimai_10k.csv")
    df["review"] = _clean_review(df["review"])
    df = df[df["review"] != ""]
    labels_per_text = df.groupby("review")["label"].nunique()
    df = df[~df["review"].isin(labels_per_text[labels_per_text > 1].index)].drop_duplicates("review")
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
