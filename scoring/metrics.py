"""Metrics reported in the model cards: discrimination (ROC-AUC), macro-F1 and calibration (Brier, ECE)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, f1_score, roc_auc_score

__all__ = ["expected_calibration_error", "binary_report"]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE over equal-width probability bins: the mean |observed rate − predicted| weighted by bin size."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def binary_report(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """AUC, macro-F1 at ``threshold``, Brier score, ECE, and the sizes behind them."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    return {
        "n": int(len(y)),
        "positive_rate": round(float(y.mean()), 4),
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "macro_f1": round(float(f1_score(y, p >= threshold, average="macro")), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "ece": round(expected_calibration_error(y, p), 4),
    }
