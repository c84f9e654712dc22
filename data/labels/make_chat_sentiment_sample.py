"""Draw the reproducible samples of JD chat lines labelled for customer sentiment.

``jd_sentiment_labels.csv`` (500 lines, seed 20261203) comes from the contexts of the held-out JD blocks only
(``scoring.datasets.jd_held_out``), so no model that trains on the other blocks has seen it: it measures.
``jd_sentiment_train_labels.csv`` (800 lines, ``--train``, seed 20261204) comes from the training blocks only: the
model learns from it. Roles are not marked in the JD data: the labellers also say whether a
line is the customer's. The repository keeps (line, turn) keys and labels, never the text.

Usage::

    python data/labels/make_chat_sentiment_sample.py               # line,turn for every sampled chat line
    python data/labels/make_chat_sentiment_sample.py --items OUT   # the items in labelling order, as JSONL
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

__all__ = ["SEED", "N_ITEMS", "TRAIN_SEED", "N_TRAIN_ITEMS", "draw_sample"]

SEED = 20261203
N_ITEMS = 500
TRAIN_SEED = 20261204
N_TRAIN_ITEMS = 800
_PLACEHOLDER_ONLY = re.compile(r"^(#E-s\[数字x\]|\[[^\]]*x\]|[\s,，.。!！?？~])*$")


def default_path() -> Path:
    """``../shared/data/jddc/context_reply_pairs.jsonl`` from the project root."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "jddc" / "context_reply_pairs.jsonl"


def draw_sample(path: Path | None = None, n: int = N_ITEMS, seed: int = SEED, held_out: bool = True
                ) -> list[tuple[int, int, str, list[str]]]:
    """``(line, turn, text, the two turns before it)`` for ``n`` distinct chat lines of held-out (or training) JD
    contexts."""
    seen: set[str] = set()
    pool = []
    with (path or default_path()).open(encoding="utf-8") as fh:
        for line, raw in enumerate(fh):
            if ((line // 100) % 5 == 0) != held_out:
                continue
            context = json.loads(raw)["context"]
            for turn, text in enumerate(context):
                text = text.strip()
                if text and not _PLACEHOLDER_ONLY.match(text) and text not in seen:
                    seen.add(text)
                    pool.append((line, turn, text, context[max(0, turn - 2):turn]))
    return random.Random(seed).sample(pool, n)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=None)
    parser.add_argument("--train", action="store_true", help="the training sample instead of the held-out one")
    args = parser.parse_args(argv)
    sample = draw_sample(n=N_TRAIN_ITEMS, seed=TRAIN_SEED, held_out=False) if args.train else draw_sample()
    if args.items:
        with args.items.open("w", encoding="utf-8") as out:
            for k, (line, turn, text, before) in enumerate(sample):
                out.write(json.dumps({"item": k, "line": line, "turn": turn, "before": before, "text": text},
                                     ensure_ascii=False) + "\n")
        return 0
    print("line,turn")
    for line, turn, _text, _before in sorted(sample):
        print(f"{line},{turn}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
