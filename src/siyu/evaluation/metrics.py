"""Metrics on the test cutoff: pure functions of outcomes and scores.

Classification: AUC, PR-AUC, log loss, Brier, ECE, lift and capture at the top k %.
LTV: normalized Gini, Spearman, MAE, RMSE, decile capture, total-spend error.
"""

from __future__ import annotations

import numpy as np

TOP_SHARES: tuple[float, ...] = (0.05, 0.10, 0.20)


def _pair(y: object, score: object) -> tuple[np.ndarray, np.ndarray]:
    y_arr, s_arr = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if y_arr.shape != s_arr.shape or y_arr.ndim != 1:
        raise ValueError(f"metrics: y and score must be 1-D of one length, got {y_arr.shape} and {s_arr.shape}")
    if len(y_arr) == 0:
        raise ValueError("metrics: no rows to evaluate")
    if not np.isfinite(s_arr).all():
        raise ValueError(f"metrics: {int((~np.isfinite(s_arr)).sum())} scores are NaN or infinite")
    return y_arr, s_arr


def _top_mask(score: np.ndarray, share: float) -> np.ndarray:
    """The top `share` of rows by score (stable order, so ties break by position)."""
    k = max(1, int(round(share * len(score))))
    order = np.argsort(-score, kind="stable")
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:k]] = True
    return mask


def capture_at(y: object, score: object, share: float) -> float:
    """Share of all positives (or of total value) found in the top `share` of rows by score."""
    y_arr, s_arr = _pair(y, score)
    total = y_arr.sum()
    return float(y_arr[_top_mask(s_arr, share)].sum() / total) if total > 0 else 0.0


def lift_at(y: object, score: object, share: float) -> float:
    """Positive rate in the top `share` of rows divided by the overall positive rate."""
    y_arr, s_arr = _pair(y, score)
    base = y_arr.mean()
    return float(y_arr[_top_mask(s_arr, share)].mean() / base) if base > 0 else 0.0


def expected_calibration_error(y: object, prob: object, n_bins: int = 10) -> float:
    """ECE: row-weighted mean |observed rate - mean probability| over equal-width bins."""
    y_arr, p_arr = _pair(y, prob)
    bins = np.minimum((p_arr * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        ece += in_bin.mean() * abs(y_arr[in_bin].mean() - p_arr[in_bin].mean())
    return float(ece)


def _gini(y: np.ndarray, score: np.ndarray) -> float:
    order = np.lexsort((np.arange(len(score)), -score))
    cum = np.cumsum(y[order]) / y.sum()
    return float(cum.sum() / len(y) - (len(y) + 1) / (2 * len(y)))


def normalized_gini(y: object, score: object) -> float:
    """Gini of the value ranking by score divided by the Gini of the perfect ranking."""
    y_arr, s_arr = _pair(y, score)
    y_pos = np.clip(y_arr, 0, None)
    if y_pos.sum() <= 0:
        return 0.0
    return _gini(y_pos, s_arr) / _gini(y_pos, y_pos)


def decile_capture(y: object, score: object) -> list[float]:
    """Share of total value in each score decile, highest decile first (10 values)."""
    y_arr, s_arr = _pair(y, score)
    order = np.argsort(-s_arr, kind="stable")
    total = np.clip(y_arr, 0, None).sum()
    parts = np.array_split(np.clip(y_arr[order], 0, None), 10)
    return [float(p.sum() / total) if total > 0 else 0.0 for p in parts]


# The point metrics below are written out in numpy rather than imported from scikit-learn and
# scipy: importing those cost about 1 s of every `siyu compare` (tests hold them equal to
# `roc_auc_score`, `average_precision_score`, `log_loss`, `brier_score_loss` and `spearmanr`).
def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return ((last - counts + 1 + last) / 2.0)[inverse]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), as the Mann-Whitney statistic of the positives' ranks."""
    positive = y > 0.5
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((_average_ranks(score)[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Sum over distinct score thresholds (high to low) of precision times the recall gained there."""
    order = np.argsort(-score, kind="stable")
    hits, ranked = (y[order] > 0.5).astype(float), score[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked) != 0), len(ranked) - 1]  # last row of each tie group
    tp = np.cumsum(hits)[ends]
    precision, recall = tp / (ends + 1.0), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def spearman(y: np.ndarray, score: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    return float(np.corrcoef(_average_ranks(y), _average_ranks(score))[0, 1])


def classification_metrics(y: object, prob: object) -> dict[str, float]:
    """auc, pr_auc, log_loss, brier, ece, lift_at_{5,10,20}, capture_at_{5,10,20}, positive_rate."""
    y_arr, p_arr = _pair(y, prob)
    if len(np.unique(y_arr)) < 2:
        raise ValueError(f"classification_metrics: need both classes in y, got only {np.unique(y_arr).tolist()}")
    p_clip = np.clip(p_arr, 1e-7, 1 - 1e-7)
    out = {
        "auc": roc_auc(y_arr, p_arr),
        "pr_auc": average_precision(y_arr, p_arr),
        "log_loss": float(-np.mean(y_arr * np.log(p_clip) + (1 - y_arr) * np.log(1 - p_clip))),
        "brier": float(np.mean((p_clip - y_arr) ** 2)),
        "ece": expected_calibration_error(y_arr, p_clip),
        "positive_rate": float(y_arr.mean()),
    }
    for share in TOP_SHARES:
        pct = int(round(share * 100))
        out[f"lift_at_{pct}"] = lift_at(y_arr, p_arr, share)
        out[f"capture_at_{pct}"] = capture_at(y_arr, p_arr, share)
    return out


def regression_metrics(y: object, pred: object) -> dict[str, float]:
    """gini, spearman, mae, rmse, total_spend_error (relative), capture_at_{10,20}, top_decile_capture."""
    y_arr, p_arr = _pair(y, pred)
    total = y_arr.sum()
    rho = spearman(y_arr, p_arr) if np.std(p_arr) > 0 and np.std(y_arr) > 0 else 0.0
    out = {
        "gini": normalized_gini(y_arr, p_arr),
        "spearman": float(rho),
        "mae": float(np.mean(np.abs(y_arr - p_arr))),
        "rmse": float(np.sqrt(np.mean((y_arr - p_arr) ** 2))),
        "total_spend_error": float((p_arr.sum() - total) / total) if total != 0 else float("nan"),
        "top_decile_capture": decile_capture(y_arr, p_arr)[0],
        "mean_label": float(y_arr.mean()),
    }
    for share in (0.10, 0.20):
        out[f"capture_at_{int(round(share * 100))}"] = capture_at(np.clip(y_arr, 0, None), p_arr, share)
    return out


def task_metrics(kind: str, y: object, score: object) -> dict[str, float]:
    """The metric set of a task kind: classification for 'binary', regression for 'amount'."""
    if kind not in ("binary", "amount"):
        raise ValueError(f"task kind must be 'binary' or 'amount', got {kind!r}")
    return classification_metrics(y, score) if kind == "binary" else regression_metrics(y, score)


# Direction of each headline metric, for leaderboards and the promotion gate.
HIGHER_IS_BETTER: dict[str, bool] = {
    "auc": True, "pr_auc": True, "log_loss": False, "brier": False, "ece": False, "gini": True,
    "spearman": True, "mae": False, "rmse": False,
}
