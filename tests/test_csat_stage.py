"""The CSAT stage: fitted on an archive's rated conversations, measured held out, picked up by the Scorer."""

import shutil

import numpy as np
import pytest

from qa.jobs.training import csat_stage_inputs, train_from_archive
from scoring.artifacts import DEFAULT_MODELS_DIR
from scoring.dissatisfaction import RESPONSIVENESS_PRIOR
from scoring.errors import ScoringError
from scoring.pipeline import MODEL_NAMES, Scorer, models_version
from scoring.train import train_csat_stage
from tests.helpers import conv, import_bytes, jsonl


@pytest.fixture
def models_dir(tmp_path):
    """A copy of the shipped models, so fitting a stage never touches data/models."""
    d = tmp_path / "models"
    d.mkdir()
    for name in MODEL_NAMES:
        for suffix in (".json", ".npz", ".md"):
            shutil.copy(DEFAULT_MODELS_DIR / f"{name}{suffix}", d)
    return d


def test_stage_learns_that_slow_replies_dissatisfy_and_scorer_uses_it(models_dir):
    rng = np.random.default_rng(0)
    n = 1000
    z = rng.normal(-1.5, 1.0, n)
    breach = rng.uniform(0, 1, n)
    unanswered = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(0.5 * z + 3.0 * breach - 2.0)))
    csat = np.where(rng.uniform(size=n) < p, 1, 5)
    before = models_version(models_dir)
    metrics = train_csat_stage(z, breach, unanswered, csat, models_dir)
    assert metrics["rated"] == n and metrics["held_out_fitted"]["n"] == 300
    assert metrics["held_out_fitted"]["roc_auc"] > 0.7
    scorer = Scorer.load(models_dir)
    weights = scorer.dissatisfaction.responsiveness
    assert weights != RESPONSIVENESS_PRIOR and weights["breach_share"] > 1.0
    assert scorer.version == models_version(models_dir) != before
    assert (models_dir / "csat_stage.md").read_text(encoding="utf-8").count("held_out_prior") == 1


def test_too_few_rated_conversations_is_a_clear_error(models_dir):
    with pytest.raises(ScoringError, match="至少需要 300 个"):
        train_csat_stage(np.zeros(10), np.zeros(10), np.zeros(10), np.full(10, 5.0), models_dir)


def test_inputs_come_from_rated_timed_conversations_and_small_archives_keep_the_prior(sqlite_engine, models_dir):
    import_bytes(sqlite_engine, "a.jsonl", jsonl(
        conv("r1", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:05:00"), csat=1,
             platform="天猫"),
        conv("r2", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:10"), csat=5,
             platform="天猫"),
        conv("untimed", ("customer", "在吗", None), ("agent", "在的", None), csat=3),
        conv("unrated", ("customer", "在吗", "2026-11-11 10:00:00"), ("agent", "在的", "2026-11-11 10:00:10")),
    ))
    z, breach, unanswered, csat = csat_stage_inputs(sqlite_engine, Scorer.load(models_dir))
    assert list(csat) == [1.0, 5.0] and list(breach) == [1.0, 0.0] and len(z) == 2
    lines: list[str] = []
    train_from_archive(sqlite_engine, models_dir, echo=lines.append)
    assert any(line.startswith("CSAT 响应阶段未拟合") for line in lines)
    assert not (models_dir / "csat_stage.json").exists()
