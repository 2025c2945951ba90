"""Benchmark: model training time at scale.

Three measurements, each in a fresh child process (peak RSS belongs to it alone):

- `lightgbm_1m`, `xgboost_1m`: fit siyu's LightGBMClassifier / XGBoostClassifier with the
  defaults the jobs train with (early stopping on a later "valid" block, a refit on train +
  valid for the stopped rounds, isotonic calibration, 2 threads) on 1M training rows x the full
  feature set: 150 numeric float64 columns + 4 pandas-category columns (about the width of
  configs/features.yaml), plus 200k validation rows. Time covers fit (Dataset / DMatrix
  construction, boosting, calibration), not the synthetic frame.
- `optuna_30`: one Optuna study of 30 trials (TPE seeded, median pruner through the LightGBM
  callback; `run_study` fits trials without the refit) on 100k training + 50k validation rows of
  the same width.

SIYU_BENCH_SCALE scales the row counts. The load average is printed beside the figures; the
machine is shared.
"""

from __future__ import annotations

import json

from benchmarks._util import load_average, run_measured, scale, write_result

N_TRAIN, N_VALID = 1_000_000, 200_000
N_TUNE_TRAIN, N_TUNE_VALID, N_TRIALS = 100_000, 50_000, 30
N_NUMERIC, CATEGORIES = 150, {"lifecycle_stage": 5, "rfm_segment": 6, "source_channel": 7, "member_level": 4}

_FRAME = f"""
import json, time
import numpy as np
import pandas as pd

def frame(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, {N_NUMERIC})), columns=[f"num_{{i:03d}}" for i in range({N_NUMERIC})])
    for name, k in {CATEGORIES!r}.items():
        X[name] = pd.Categorical.from_codes(rng.integers(0, k, n), categories=[f"{{name}}_{{j}}" for j in range(k)])
    logit = (0.8 * X["num_000"] - 0.6 * X["num_001"] + 0.4 * X["num_002"] * X["num_003"]
             + 0.3 * X["lifecycle_stage"].cat.codes - 1.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, y.to_numpy()
"""


def _fit_code(cls: str, n_train: int, n_valid: int) -> str:
    return _FRAME + f"""
from siyu.models import {cls}
X, y = frame({n_train}, 0)
Xv, yv = frame({n_valid}, 1)
model = {cls}(n_jobs=2, random_state=0)
start = time.perf_counter()
model.fit(X, y, X_valid=Xv, y_valid=yv)
fit_s = time.perf_counter() - start
start = time.perf_counter()
model.predict_score(Xv)
predict_s = time.perf_counter() - start
print(json.dumps({{"fit_s": fit_s, "predict_valid_s": predict_s, "rounds": int(model.best_iteration_)}}))
"""


def _study_code(n_train: int, n_valid: int, n_trials: int) -> str:
    return _FRAME + f"""
from sklearn.metrics import roc_auc_score
from siyu.models import LightGBMClassifier
from siyu.models.tuning import SEARCH_SPACES, run_study
X, y = frame({n_train}, 0)
Xv, yv = frame({n_valid}, 1)
start = time.perf_counter()
study = run_study(lambda: LightGBMClassifier(n_jobs=2),
                  "lightgbm", SEARCH_SPACES["lightgbm"], X_train=X, y_train=y, X_valid=Xv, y_valid=yv,
                  score=roc_auc_score, binary=True, n_trials={n_trials}, timeout_s=None, seed=0,
                  study_name="bench")
study_s = time.perf_counter() - start
pruned = sum(t.state.name == "PRUNED" for t in study.trials)
print(json.dumps({{"study_s": study_s, "trials": len(study.trials), "pruned": pruned,
                  "best_valid_auc": study.best_value}}))
"""


def main() -> None:
    s = scale()
    n_train, n_valid = max(int(N_TRAIN * s), 2000), max(int(N_VALID * s), 1000)
    n_tune, n_tune_valid = max(int(N_TUNE_TRAIN * s), 2000), max(int(N_TUNE_VALID * s), 1000)
    width = N_NUMERIC + len(CATEGORIES)
    results: dict = {"scale": s, "features": width, "load_average_before": load_average()}
    for step, code in (
        ("lightgbm_1m", _fit_code("LightGBMClassifier", n_train, n_valid)),
        ("xgboost_1m", _fit_code("XGBoostClassifier", n_train, n_valid)),
        ("optuna_30", _study_code(n_tune, n_tune_valid, N_TRIALS)),
    ):
        wall, peak_mb, out = run_measured(code)
        figures = json.loads(out.strip().splitlines()[-1])
        results[step] = {"wall_s": round(wall, 1), "peak_mb": round(peak_mb), **figures,
                         "load_average": load_average()}
    results["rows"] = {"train": n_train, "valid": n_valid, "tune_train": n_tune, "tune_valid": n_tune_valid}
    print(f"training benchmark (scale {s}, {width} features, load average {results['load_average_before']})")
    for step in ("lightgbm_1m", "xgboost_1m"):
        r = results[step]
        print(f"  {step:12s} {n_train:>9,} rows: fit {r['fit_s']:7.1f} s ({r['rounds']} rounds), "
              f"predict {n_valid:,} rows {r['predict_valid_s']:.1f} s, peak {r['peak_mb']} MB, load {r['load_average']}")
    r = results["optuna_30"]
    print(f"  optuna_30    {n_tune:>9,} rows: {r['trials']} trials in {r['study_s']:.1f} s "
          f"({r['pruned']} pruned), best valid AUC {r['best_valid_auc']:.4f}, peak {r['peak_mb']} MB, "
          f"load {r['load_average']}")
    write_result("training", results)


if __name__ == "__main__":
    main()
