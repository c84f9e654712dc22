"""Relevance that adapts to a shop's own archive: the reply pairs read from the database, the refusal when there
are too few, and a promoted model being the one the scorer loads."""

from __future__ import annotations

import shutil
from pathlib import Path

from huifang_demo.generate import generate_demo
from qa.ingest.importer import import_path
from qa.jobs.training import archive_reply_pairs
from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact
from scoring.pipeline import Scorer
from scoring.relevance import RelevanceModel
from scoring.relevance_fit import RelevanceParams
from scoring.train import adapt_relevance_model
from tests.helpers import conv, import_bytes, jsonl


def _models(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, models, ignore=shutil.ignore_patterns("relevance_local.*", "category.*",
                                                                              "csat_stage.*"))
    return models


def test_each_reply_is_paired_with_what_it_answers(engine) -> None:
    import_bytes(engine, "a.jsonl", jsonl(conv(
        "a", ("customer", "在吗", None), ("agent", "在的亲", None), ("customer", "这个有货吗", None),
        ("customer", "M码", None), ("agent", "有货的，今天发", None), ("agent", "还有别的吗", None))))
    pairs = archive_reply_pairs(engine)
    assert [(c, r) for c, r in pairs.pairs()] == [
        (["在吗"], "在的亲"), (["在的亲", "这个有货吗", "M码"], "有货的，今天发"),
        (["在的亲", "这个有货吗", "M码"], "还有别的吗")]


def test_too_few_replies_keep_the_shipped_model(engine, tmp_path: Path) -> None:
    import_bytes(engine, "a.jsonl", jsonl(conv("a", ("customer", "在吗", None), ("agent", "在的", None))))
    models = _models(tmp_path)
    figures = adapt_relevance_model(archive_reply_pairs(engine), models, log=lambda _line: None)
    assert not figures["in_use"] and "至少需要" in figures["reason"]
    assert not (models / "relevance_local.npz").exists() and (models / "relevance_local.md").exists()


def test_an_adapted_model_is_used_only_when_it_beats_the_shipped_one(engine, tmp_path: Path) -> None:
    files = generate_demo(tmp_path / "demo", conversations=2500, seed=5)
    for path in files.paths:
        import_path(engine, path)
    models = _models(tmp_path)
    pairs = archive_reply_pairs(engine)
    figures = adapt_relevance_model(pairs, models, log=lambda _line: None,
                                    params=RelevanceParams(epochs=2, epochs_stc=2))
    assert figures["held_out_pairs"] > 100 and {"shipped", "adapted"} <= set(figures)
    assert figures["in_use"] == (figures["adapted"]["roc_auc"] >= figures["shipped"]["roc_auc"] + 0.005)
    assert (models / "relevance_local.npz").exists() == figures["in_use"]
    loaded = next(m for m in Scorer.load(models).models if isinstance(m, RelevanceModel))
    expected = RelevanceModel.from_state(*load_artifact(models, "relevance_local" if figures["in_use"] else "relevance"))
    assert (loaded.coef == expected.coef).all() and loaded.U.shape == expected.U.shape
