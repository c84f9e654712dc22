"""Draw the reproducible sample of chat utterances labelled by people for sentiment.

The corpus's own labels (``chat_sentiment_auto_30k.csv``) were assigned automatically and are noisy, so a figure
measured against them says little about how the model agrees with a person. ``chat_utterance_labels.csv`` holds
two independent labellings of 400 distinct utterances drawn (seed 20261204) from the corpus's held-out split only
(md5 of the text ≡ 0 mod 5, the utterances ``huifang evaluate``'s chat figure refits without), so the model that is
measured on them never saw them. The repository keeps the md5 of each text and the labels, never the text.

Usage::

    python data/labels/make_chat_utterance_sample.py               # the md5 key of every sampled utterance
    python data/labels/make_chat_utterance_sample.py --items OUT   # the items in labelling order, as JSONL
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scoring.datasets import chat_text_key, default_shared_dir, load_chat_sentiment  # noqa: E402
from scoring.relevance_fit import md5_bucket  # noqa: E402

__all__ = ["SEED", "N_ITEMS", "draw_sample"]

SEED = 20261204
N_ITEMS = 400


def draw_sample(texts: list[str], n: int = N_ITEMS, seed: int = SEED) -> list[str]:
    """``n`` distinct held-out utterances of ``texts`` (the cleaned corpus): those ``huifang evaluate``'s chat
    figure refits without (``md5_bucket`` 0 of 5)."""
    pool = sorted({t for t in texts if md5_bucket(t, 5) == 0})
    return random.Random(seed).sample(pool, n)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=None)
    args = parser.parse_args(argv)
    sample = draw_sample(load_chat_sentiment(default_shared_dir())["text"].tolist())
    if args.items:
        with args.items.open("w", encoding="utf-8") as out:
            for k, text in enumerate(sample):
                out.write(json.dumps({"item": k, "text": text}, ensure_ascii=False) + "\n")
        return 0
    print("key")
    for text in sample:
        print(chat_text_key(text))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
