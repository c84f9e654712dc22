"""The labelled tone sets in ``data/labels``: their shape, the agreement of the two labellings, the probe set, and
that every key points at a real reply (STC-3 helpdesk turn, JD pair line)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABELS_DIR = ROOT / "data" / "labels"
CSV_PATH = LABELS_DIR / "stc3_tone_labels.csv"
GUIDELINE_PATH = LABELS_DIR / "tone_guideline.md"
STC3_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "stc3"

COLUMNS = ["dialogue_id", "turn_index", "label_a", "label_b", "label", "bad", "note"]
JD_COLUMNS = ["line", "stratum", "label_a", "label_b", "label", "bad", "note"]
JD_PATH = LABELS_DIR / "jd_tone_labels.csv"
PROBE_PATH = LABELS_DIR / "tone_probe.csv"
JDDC = Path(__file__).resolve().parents[2] / "shared" / "data" / "jddc" / "context_reply_pairs.jsonl"
LABELS = {"polite", "neutral", "curt", "perfunctory", "blaming", "rude"}
BAD_LABELS = {"curt", "perfunctory", "blaming", "rude"}

needs_stc3 = pytest.mark.skipif(
    not (STC3_DIR / "dialogues_labeled.json").is_file(),
    reason=f"STC-3 data not found at {STC3_DIR} (../shared is not part of the repository)",
)


def _script(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A sampling script of data/labels loaded as a module."""
    spec = importlib.util.spec_from_file_location(f"_tone_{name}", LABELS_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class is being built.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def _read(path: Path, columns: list[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == columns
        return list(reader)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _read(CSV_PATH, COLUMNS)


def test_at_least_300_rows(rows):
    assert len(rows) >= 300


def test_keys_are_well_formed_and_unique(rows):
    keys = [(r["dialogue_id"], r["turn_index"]) for r in rows]
    assert all(re.fullmatch(r"\d+", d) and re.fullmatch(r"\d+", t) for d, t in keys)
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    assert duplicates == []


def test_labels_are_in_the_label_set(rows):
    assert {r[k] for r in rows for k in ("label_a", "label_b", "label")} <= LABELS


@pytest.fixture(scope="module")
def jd_rows() -> list[dict[str, str]]:
    return _read(JD_PATH, JD_COLUMNS)


def _kappa(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected)


def test_every_reply_is_labelled_twice_and_disagreements_adjudicated(rows, jd_rows):
    both = rows + jd_rows
    assert len(both) >= 1500
    for r in both:
        if r["label_a"] == r["label_b"]:
            assert r["label"] == r["label_a"]
        else:
            assert r["note"] == "adjudicated"
    assert [r["bad"] == ("1" if r["label"] in BAD_LABELS else "0") for r in jd_rows].count(False) == 0


@pytest.mark.parametrize("which", ["stc3", "jd"])
def test_the_two_labellings_agree_on_bad(rows, jd_rows, which):
    labelled = rows if which == "stc3" else jd_rows
    kappa = _kappa([r["label_a"] in BAD_LABELS for r in labelled], [r["label_b"] in BAD_LABELS for r in labelled])
    assert kappa >= 0.6


def test_jd_sample_has_both_strata_and_unique_lines(jd_rows):
    assert Counter(r["stratum"] for r in jd_rows) == {"uniform": 400, "suspicious": 600}
    assert len({r["line"] for r in jd_rows}) == 1000


def test_probe_set_covers_every_kind_half_subtle_in_held_out_contexts():
    probe = _read(PROBE_PATH, ["line", "kind", "subtle", "bad_reply", "good_reply"])
    assert len(probe) >= 240
    kinds = Counter((r["kind"], r["subtle"]) for r in probe)
    for kind in ("rude", "sarcastic", "blaming", "curt", "dismissive", "shifting"):
        assert kinds[(kind, "1")] == kinds[(kind, "0")] >= 20
    assert all((int(r["line"]) // 100) % 5 == 0 and r["bad_reply"] and r["good_reply"] for r in probe)


@pytest.mark.real_data
@pytest.mark.skipif(not JDDC.is_file(), reason=f"JD pairs not found at {JDDC} (../shared is not part of the repository)")
def test_jd_sample_script_reproduces_the_labelled_lines(jd_rows, monkeypatch):
    make_jd_sample = _script("make_jd_sample", monkeypatch)
    sample = make_jd_sample.draw_sample(make_jd_sample.load_replies(JDDC))
    assert {(str(r.line), stratum) for r, stratum in sample} == {(r["line"], r["stratum"]) for r in jd_rows}


def test_bad_is_consistent_with_label(rows):
    wrong = [r for r in rows if r["bad"] != ("1" if r["label"] in BAD_LABELS else "0")]
    assert wrong == []


def test_enough_bad_items(rows):
    assert sum(r["bad"] == "1" for r in rows) >= 60


def test_notes_do_not_quote_the_dialogues(rows):
    # Notes are short English reasons; a run of Chinese characters would be quoted text.
    quoting = [r["note"] for r in rows if re.search(r"[\u4e00-\u9fff]{5,}", r["note"]) or len(r["note"]) > 120]
    assert quoting == []


def test_guideline_defines_every_label():
    text = GUIDELINE_PATH.read_text(encoding="utf-8")
    assert all(f"`{label}`" in text for label in LABELS)


@pytest.mark.real_data
@needs_stc3
def test_every_key_is_a_non_empty_helpdesk_turn(rows):
    dialogues = {}
    for name in ("dialogues_labeled.json", "dialogues_unlabeled.json"):
        for d in json.loads((STC3_DIR / name).read_text(encoding="utf-8")):
            dialogues[str(d["id"])] = d["turns"]
    problems = []
    for r in rows:
        turns = dialogues.get(r["dialogue_id"])
        i = int(r["turn_index"])
        if turns is None or i >= len(turns):
            problems.append((r["dialogue_id"], i, "missing"))
        elif turns[i]["sender"] != "helpdesk":
            problems.append((r["dialogue_id"], i, turns[i]["sender"]))
        elif not "".join(turns[i]["utterances"]).strip():
            problems.append((r["dialogue_id"], i, "empty"))
    assert problems == []


@pytest.mark.real_data
@needs_stc3
def test_sample_script_reproduces_the_labelled_keys(rows, monkeypatch):
    make_sample = _script("make_sample", monkeypatch)
    sample = make_sample.draw_sample(make_sample.load_turns(STC3_DIR))
    drawn = {(t.dialogue_id, str(t.turn_index)) for t, _ in sample}
    assert drawn == {(r["dialogue_id"], r["turn_index"]) for r in rows}
    assert Counter(stratum for _, stratum in sample) == {"uniform": 200, "suspicious": 320}
