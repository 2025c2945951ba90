"""Held-out intervals benchmark (issue 11): the bootstrap over users behind every test interval,
the paired gate and the leak alarm.

A demo-sized held-out split: 20,000 users x 4 weekly test cutoffs = 80,000 rows, 25 % positives
for AUC / PR-AUC and a zero-inflated spend for Gini; 500 replicates (the shipped default).
Timed in-process after one warm-up call (the compiled passes load from numba's cache once per
process), median of 5 runs each, beside the 1-minute load. The reference is sklearn's
`roc_auc_score` with sample weights per replicate, the obvious way to write it (timed on 20
replicates and scaled to 500). SIYU_BENCH_SCALE scales the users.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks._util import load_average, median, scale, write_result
from siyu.evaluation.intervals import bootstrap_interval, paired_difference, user_draws

N_BOOT = 500


def _data(n_users: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    users = np.tile(np.arange(n_users), 4)
    signal = np.repeat(rng.normal(size=n_users), 4) + rng.normal(0, 0.5, 4 * n_users)
    y = (rng.random(4 * n_users) < 1 / (1 + np.exp(-(signal - 1.1)))).astype(float)
    spend = np.where(rng.random(4 * n_users) < 0.2, rng.gamma(2, 80, 4 * n_users) * np.exp(signal / 3), 0.0)
    return users, y, signal + rng.normal(0, 0.7, len(y)), signal + rng.normal(0, 0.9, len(y)), spend


def _timed(fn, repeats: int = 5) -> float:
    fn()  # warm-up: compiled passes loaded
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    n_users = max(1000, int(20_000 * scale()))
    users, y, a, b, spend = _data(n_users)
    rows = len(y)
    rng = lambda: np.random.default_rng(0)  # noqa: E731 - a fresh stream per call
    out = {
        "rows": rows, "users": n_users, "n_boot": N_BOOT, "load_1min": load_average(),
        "auc_interval_s": _timed(lambda: bootstrap_interval("auc", y, a, users, n_boot=N_BOOT, rng=rng())),
        "pr_auc_interval_s": _timed(lambda: bootstrap_interval("pr_auc", y, a, users, n_boot=N_BOOT, rng=rng())),
        "gini_interval_s": _timed(lambda: bootstrap_interval("gini", spend, a, users, n_boot=N_BOOT, rng=rng())),
        "paired_auc_s": _timed(lambda: paired_difference("auc", y, a, b, users, n_boot=N_BOOT, rng=rng())),
    }
    counts = next(user_draws(n_users, 20, rng()))
    codes = users  # users are 0..n-1 already
    start = time.perf_counter()
    for k in range(20):
        roc_auc_score(y, a, sample_weight=counts[codes, k])
    out["sklearn_weighted_auc_500_s"] = (time.perf_counter() - start) * N_BOOT / 20
    out["speedup_vs_sklearn"] = out["sklearn_weighted_auc_500_s"] / out["auc_interval_s"]
    write_result("intervals", out)
    print(f"{rows:,} rows ({n_users:,} users x 4 cutoffs), {N_BOOT} replicates, load {out['load_1min']}")
    for key in ("auc_interval_s", "pr_auc_interval_s", "gini_interval_s", "paired_auc_s",
                "sklearn_weighted_auc_500_s"):
        print(f"  {key:28s} {out[key]:8.3f} s (median of 5)" if key != "sklearn_weighted_auc_500_s"
              else f"  {key:28s} {out[key]:8.3f} s (20 replicates x 25)")
    print(f"  speedup vs sklearn per replicate: {out['speedup_vs_sklearn']:.1f}x")


if __name__ == "__main__":
    main()
