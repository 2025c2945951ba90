"""Held-out evaluation over several test cutoffs: metrics pooled and per cutoff, and the
headline metrics' 95 % intervals from a bootstrap over users."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siyu.evaluation.intervals import bootstrap_interval
from siyu.evaluation.metrics import task_metrics


def interval_metrics(kind: str) -> tuple[str, ...]:
    """The metrics that get an interval: AUC and PR-AUC for binary tasks, Gini for amounts."""
    return ("auc", "pr_auc") if kind == "binary" else ("gini",)


def heldout_metrics(kind: str, y: object, score: object, users: object, *, n_boot: int,
                    seed: int) -> dict[str, float]:
    """The metrics of a task `kind` on all held-out rows, plus `<metric>_ci_low` / `<metric>_ci_high`
    for each interval metric (95 %, users resampled with all their cutoffs)."""
    out = task_metrics(kind, y, score)
    rng = np.random.default_rng(seed)
    for metric in interval_metrics(kind):
        interval = bootstrap_interval(metric, y, score, users, n_boot=n_boot, rng=rng)
        out |= {f"{metric}_ci_low": interval.low, f"{metric}_ci_high": interval.high}
    return out


def metrics_by_cutoff(kind: str, y: object, score: object, cutoffs: object) -> dict[str, dict[str, float]]:
    """{cutoff ISO date: the metrics of a task `kind` on that cutoff's rows}; a cutoff whose rows hold
    one class only (nothing to rank) is left out."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "score": np.asarray(score, dtype=float),
                          "cutoff": pd.to_datetime(np.asarray(cutoffs))})
    out = {}
    for cutoff, part in frame.groupby("cutoff", sort=True):
        try:
            out[cutoff.date().isoformat()] = task_metrics(kind, part["y"].to_numpy(), part["score"].to_numpy())
        except ValueError:
            continue
    return out
