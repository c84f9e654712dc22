"""Draw the reproducible sample of real JD agent replies labelled in ``jd_tone_labels.csv``.

The sampling design is in ``tone_guideline.md`` (§8). This script only reads ``../shared/data/jddc``; the
repository keeps line numbers and labels, never the text.

Usage::

    python data/labels/make_jd_sample.py               # line,stratum for every sampled reply (CSV on stdout)
    python data/labels/make_jd_sample.py --items OUT   # the items in labelling order, with context, as JSONL
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_sample import round_robin  # noqa: E402  (the same drawing as the STC-3 sample)

__all__ = ["SEED", "N_UNIFORM", "N_SUSPICIOUS", "Reply", "default_path", "load_replies", "draw_sample"]

SEED = 20261202
N_UNIFORM = 400
N_SUSPICIOUS = 600
SHORT_MAX_CHARS = 8
CONTEXT_TURNS = 6

COURTESY_RE = re.compile(r"您|请|谢|抱歉|歉意|不好意思|对不起|亲|感谢|麻烦|辛苦|敬请|欢迎|烦请|劳驾|哈|哦|呢")
# Words of refusal, pushing away or blame in the reply itself.
PUSH_RE = re.compile(
    r"不行|不能|不可以|没办法|无法|办不了|自己|不是我们|不归|找快递|找商家|联系商家|没有办法|规定|只能|"
    r"不清楚|不知道|你|怎么|早说|看清|系统显示|不支持"
)
# Cues that the customer's preceding turns are angry or pressing.
ANGER_RE = re.compile(
    r"垃圾|骗|投诉|坑|无耻|恶心|气死|滚|太差|差劲|失望|流氓|黑心|凭什么|什么破|妈的|靠|12315|"
    r"忍无可忍|到底|怎么回事|搞什么|再也不|[!！]{2}|[?？]{2}|无语|服了|态度|催|还没|几天了|急"
)
_PLACEHOLDER_RE = re.compile(r"#E-s\[数字x\]|\[[^\]]*x\]|\s|[,，.。!！?？~]")


@dataclass(frozen=True, slots=True)
class Reply:
    """One JD context → reply pair, by its line number in ``context_reply_pairs.jsonl`` (0-based)."""

    line: int
    context: tuple[str, ...]
    text: str
    short: bool
    no_courtesy: bool
    pushing: bool
    angry_context: bool


def default_path() -> Path:
    """``../shared/data/jddc/context_reply_pairs.jsonl`` from the project root."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "jddc" / "context_reply_pairs.jsonl"


def load_replies(path: Path | None = None) -> list[Reply]:
    """Every pair whose reply says something (not only emoji or placeholders), first of each (context, reply)."""
    seen: set[tuple[str, str]] = set()
    replies: list[Reply] = []
    with (path or default_path()).open(encoding="utf-8") as fh:
        for line, raw in enumerate(fh):
            row = json.loads(raw)
            text, context = row["reply"].strip(), tuple(row["context"])
            last = context[-1] if context else ""
            if not _PLACEHOLDER_RE.sub("", text) or (last, text) in seen:
                continue
            seen.add((last, text))
            recent = " ".join(context[-3:])
            replies.append(
                Reply(
                    line=line,
                    context=context,
                    text=text,
                    short=len(_PLACEHOLDER_RE.sub("", text)) <= SHORT_MAX_CHARS,
                    no_courtesy=not COURTESY_RE.search(text),
                    pushing=bool(PUSH_RE.search(text)),
                    angry_context=bool(ANGER_RE.search(recent)),
                )
            )
    return replies


def draw_sample(
    replies: list[Reply], n_uniform: int = N_UNIFORM, n_suspicious: int = N_SUSPICIOUS, seed: int = SEED
) -> list[tuple[Reply, str]]:
    """``(reply, stratum)`` pairs: a simple random ``uniform`` stratum, then ``suspicious`` drawn round-robin.

    The four suspicious pools (short, no courtesy word, words of refusal or blame, an angry customer just before)
    oversample the replies most likely to be bad; only the uniform stratum estimates the archive's share.
    """
    rng = random.Random(seed)
    uniform = rng.sample(replies, n_uniform)
    pools = [
        [r for r in replies if r.short],
        [r for r in replies if r.no_courtesy],
        [r for r in replies if r.pushing],
        [r for r in replies if r.angry_context],
    ]
    suspicious = round_robin(pools, n_suspicious, {r.line for r in uniform}, lambda r: r.line, rng)
    return [(r, "uniform") for r in uniform] + [(r, "suspicious") for r in suspicious]


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--items", type=Path, default=None, help="write the items to label, shuffled, as JSONL")
    args = parser.parse_args(argv)
    sample = draw_sample(load_replies(args.path))
    if args.items:
        items = [r for r, _ in sample]
        random.Random(SEED + 1).shuffle(items)
        with args.items.open("w", encoding="utf-8") as out:
            for n, r in enumerate(items):
                item = {"item": n, "line": r.line, "context": list(r.context[-CONTEXT_TURNS:]), "reply": r.text}
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        return 0
    print("line,stratum")
    for r, stratum in sorted(sample, key=lambda p: p[0].line):
        print(f"{r.line},{stratum}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
