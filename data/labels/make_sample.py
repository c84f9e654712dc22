"""Draw the reproducible sample of STC-3 helpdesk turns labelled in ``stc3_tone_labels.csv``.

The sampling design is described in ``tone_guideline.md`` ("Sampling"). This script only reads
``../shared/data/stc3``; it never writes dialogue text into the repository.

Usage::

    python data/labels/make_sample.py             # key,stratum for every sampled turn (CSV on stdout)
    python data/labels/make_sample.py --show 0 40 # print items 0..39 in labelling order, with context

The labels were made in two rounds: the first 400 turns (``--n-suspicious 200``) in their labelling order, then the
120 turns that ``N_SUSPICIOUS = 320`` adds. Drawing is sequential, so the 400 are a prefix of the 520.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = [
    "SEED",
    "N_UNIFORM",
    "N_SUSPICIOUS",
    "Turn",
    "default_data_dir",
    "load_turns",
    "draw_sample",
    "labelling_order",
    "round_robin",
]

T = TypeVar("T")
SEED = 20261124
N_UNIFORM = 200
N_SUSPICIOUS = 320
SHORT_MAX_CHARS = 15

# Courtesy markers: a reply containing none of these "lacks courtesy words".
COURTESY_RE = re.compile(r"您|请|谢|抱歉|歉意|不好意思|对不起|亲|感谢|麻烦|辛苦|敬请|欢迎|烦请|劳驾")
# Cues that the customer's preceding turn is angry or a complaint escalation.
ANGER_RE = re.compile(
    r"垃圾|骗|投诉|坑|无耻|恶心|气死|滚|太差|差劲|失望|流氓|黑心|凭什么|什么破|妈的|尼玛|靠|12315|工信部"
    r"|忍无可忍|到底|怎么回事|搞什么|再也不|[!！]{2}|[?？]{2}|无语|服了|态度"
)
FILES = ("dialogues_labeled.json", "dialogues_unlabeled.json")


@dataclass(frozen=True, slots=True)
class Turn:
    """One non-empty helpdesk turn with the customer turn before it."""

    dialogue_id: str
    turn_index: int
    text: str
    prev_customer: str
    earlier: tuple[str, ...]
    short: bool
    no_courtesy: bool
    angry_prev: bool

    @property
    def key(self) -> tuple[str, int]:
        return (self.dialogue_id, self.turn_index)


def default_data_dir() -> Path:
    """The STC-3 folder of the shared data, ``../shared/data/stc3`` from the project root."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "stc3"


def _join(utterances: list[str]) -> str:
    return " / ".join(u.strip() for u in utterances if u and u.strip())


def load_turns(data_dir: Path | None = None) -> list[Turn]:
    """All non-empty helpdesk turns of both STC-3 files, in file order."""
    data_dir = data_dir or default_data_dir()
    turns: list[Turn] = []
    for name in FILES:
        dialogues = json.loads((data_dir / name).read_text(encoding="utf-8"))
        for d in dialogues:
            joined = [_join(t["utterances"]) for t in d["turns"]]
            for i, t in enumerate(d["turns"]):
                if t["sender"] != "helpdesk" or not joined[i]:
                    continue
                prev = joined[i - 1] if i > 0 and d["turns"][i - 1]["sender"] == "customer" else ""
                text = joined[i]
                turns.append(
                    Turn(
                        dialogue_id=str(d["id"]),
                        turn_index=i,
                        text=text,
                        prev_customer=prev,
                        earlier=tuple(joined[: max(i - 1, 0)]),
                        short=len(re.sub(r"\s|/", "", text)) <= SHORT_MAX_CHARS,
                        no_courtesy=not COURTESY_RE.search(text),
                        angry_prev=bool(ANGER_RE.search(prev)),
                    )
                )
    return turns


def draw_sample(
    turns: list[Turn], n_uniform: int = N_UNIFORM, n_suspicious: int = N_SUSPICIOUS, seed: int = SEED
) -> list[tuple[Turn, str]]:
    """The sample as ``(turn, stratum)`` pairs, stratum ``uniform`` or ``suspicious``.

    ``uniform`` is a simple random sample of all turns. ``suspicious`` is drawn round-robin from three
    shuffled pools (short replies, replies without courtesy words, replies after an angry customer turn),
    skipping turns already drawn, so that each criterion contributes about a third.
    """
    rng = random.Random(seed)
    uniform = rng.sample(turns, n_uniform)
    pools = [
        [t for t in turns if t.short],
        [t for t in turns if t.no_courtesy],
        [t for t in turns if t.angry_prev],
    ]
    suspicious = round_robin(pools, n_suspicious, {t.key for t in uniform}, lambda t: t.key, rng)
    return [(t, "uniform") for t in uniform] + [(t, "suspicious") for t in suspicious]


def round_robin(pools: list[list[T]], n: int, taken: set, key: Callable[[T], object], rng: random.Random) -> list[T]:
    """``n`` items drawn from the shuffled ``pools`` in turn, skipping items already ``taken`` (updated)."""
    for pool in pools:
        rng.shuffle(pool)
    drawn: list[T] = []
    cursors = [0] * len(pools)
    while len(drawn) < n and any(c < len(p) for c, p in zip(cursors, pools)):
        for k, pool in enumerate(pools):
            while cursors[k] < len(pool) and key(pool[cursors[k]]) in taken:
                cursors[k] += 1
            if cursors[k] < len(pool) and len(drawn) < n:
                drawn.append(pool[cursors[k]])
                taken.add(key(pool[cursors[k]]))
    return drawn


def labelling_order(sample: list[tuple[Turn, str]], seed: int = SEED) -> list[Turn]:
    """The sampled turns shuffled, so that the annotator does not see which stratum an item came from."""
    items = [t for t, _ in sample]
    random.Random(seed + 1).shuffle(items)
    return items


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--n-suspicious", type=int, default=N_SUSPICIOUS)
    parser.add_argument("--show", nargs=2, type=int, metavar=("START", "STOP"))
    args = parser.parse_args(argv)
    sample = draw_sample(load_turns(args.data_dir), n_suspicious=args.n_suspicious)
    if args.show:
        start, stop = args.show
        for n, t in enumerate(labelling_order(sample)[start:stop], start):
            print(f"#{n} {t.dialogue_id} {t.turn_index}")
            for e in t.earlier:
                print(f"   .. {e[:80] or '(emoji only)'}")
            print(f"   C: {t.prev_customer[:400]}")
            print(f"   H: {t.text}")
        return 0
    print("dialogue_id,turn_index,stratum")
    for t, stratum in sorted(sample, key=lambda p: p[0].key):
        print(f"{t.dialogue_id},{t.turn_index},{stratum}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
