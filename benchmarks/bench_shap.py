"""SHAP benchmark (issue 6): exact TreeSHAP and reason codes for 1M users, one churn-like model.

The model: siyu's churn LightGBM (`siyu.models.boosting.LightGBMClassifier`, its defaults: up to
400 trees, learning rate 0.08, 31 leaves, early stopping on a validation split) on 150 features
(147 numeric, 3 categorical), trained on 50K + 20K rows of a synthetic frame whose label depends
on a dozen features. Then, each step in its own
child process (`run_measured`: wall time and peak RSS of that step alone, input frame included):

- predict: `predict_score` of the 1M users (the reference the SHAP cost is compared with);
- native: `siyu.explain.shap_contributions` (LightGBM `pred_contrib`, batches of 100K rows);
- reasons: `siyu.explain.top_reasons` (native SHAP + top-3 sentences per user, zh);
- shap_python: `shap.TreeExplainer(booster)(X)` on a 1% slice, extrapolated per row, to show
  why the native path is used.

SIYU_BENCH_SCALE scales the number of users (0.05 -> 50K).
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks._util import load_average, run_measured, scale, write_result

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "data" / "bench"
MODEL = BENCH / "shap_lightgbm.pkl"
N_FEATURES = 150
N_TRAIN = 50_000

# Shared by the parent and every child: a deterministic frame and a tiny model wrapper.
PRELUDE = f'''
import json, time
import numpy as np
import pandas as pd

N_FEATURES = {N_FEATURES}
STAGES = ["new", "active", "silent", "churned"]

def frame(n, seed):
    rng = np.random.default_rng(seed)
    num = rng.gamma(1.5, 10.0, size=(n, N_FEATURES - 3)).astype(np.float64)
    num[rng.random((n, N_FEATURES - 3)) < 0.05] = np.nan
    X = pd.DataFrame(num, columns=[f"feature_{{i:03d}}_30d" for i in range(N_FEATURES - 3)])
    X["lifecycle_stage"] = pd.Categorical(rng.choice(STAGES, n), categories=STAGES)
    X["rfm_segment"] = pd.Categorical(rng.choice(["champions", "loyal", "at_risk", "hibernating"], n))
    X["source_channel"] = pd.Categorical(rng.choice(["group", "live", "app", "store"], n))
    signal = np.nan_to_num(num[:, :12], nan=15.0)
    weights = np.linspace(0.12, -0.08, 12)
    logit = (signal - 15.0) @ weights + 0.8 * (X["lifecycle_stage"] == "silent").to_numpy() - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y

def catalog(X):
    from dataclasses import dataclass, field
    @dataclass(frozen=True)
    class Info:
        name: str
        family: str
        dtype: str
        unit: str
        desc_zh: str
        desc_en: str
        params: dict = field(default_factory=dict)
    units = ["days", "count", "amount", "ratio", "share"]
    out = [Info(c, "window", "numeric", units[i % 5], f"特征 {{i}} (近 30 天)", f"feature {{i}}, last 30 days", {{"window_days": 30}})
           for i, c in enumerate(X.columns[:-3])]
    return out + [Info(c, "attribute", "categorical", "category", c, c) for c in X.columns[-3:]]

def load(n):
    import pickle
    X, _ = frame(n, seed=1)
    with open("{MODEL}", "rb") as fh:
        return pickle.load(fh), X
'''

TRAIN = PRELUDE + '''
import pickle
from siyu.models.boosting import LightGBMClassifier
X, y = frame(N_TRAIN_ROWS, seed=0)
Xv, yv = frame(20_000, seed=2)
model = LightGBMClassifier(random_state=0).fit(X, y, X_valid=Xv, y_valid=yv)
with open("MODEL_PATH", "wb") as fh:
    pickle.dump(model, fh)
print(json.dumps({"trees": model.tree_model_.num_trees()}))
'''

STEPS = {
    "predict": '''
model, X = load(N_USERS)
t = time.perf_counter(); s = model.predict_score(X); sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rows": len(X)}))
''',
    "native": '''
from siyu.explain import iter_contributions
model, X = load(N_USERS)
t = time.perf_counter(); worst = 0.0
for c in iter_contributions(model, X, batch_rows=100_000):
    worst = max(worst, float(np.abs(c.margin - model.margin(c.data)).max()))
sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rows": len(X), "max_additivity_error": worst}))
''',
    "reasons": '''
from siyu.explain import top_reasons
model, X = load(N_USERS)
cat = catalog(X)
t = time.perf_counter(); r = top_reasons(model, X, cat, lang="zh", k=3); sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rows": len(X), "example": r.iloc[0].tolist()}, ensure_ascii=False))
''',
    "shap_python": '''
import shap
model, X = load(N_USERS)
part = X.iloc[: max(1000, len(X) // 100)]
t = time.perf_counter(); v = shap.TreeExplainer(model.tree_model_)(part); sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rows": len(part)}))
''',
}


def _run(code: str, n_users: int) -> tuple[float, float, dict]:
    wall, peak, out = run_measured(code.replace("N_USERS", str(n_users)))
    return wall, peak, json.loads(out.strip().splitlines()[-1])


def main() -> dict:
    n_users = int(1_000_000 * scale())
    BENCH.mkdir(parents=True, exist_ok=True)
    train_code = TRAIN.replace("N_TRAIN_ROWS", str(N_TRAIN)).replace("MODEL_PATH", str(MODEL))
    wall, _, out = run_measured(train_code)
    trees = json.loads(out.strip().splitlines()[-1])["trees"]
    print(f"trained siyu's churn LightGBM ({trees} trees after early stopping, {N_FEATURES} features) "
          f"on {N_TRAIN:,} rows in {wall:.0f} s")
    results = {"users": n_users, "features": N_FEATURES, "trees": trees, "load_before": load_average()}
    for name, body in STEPS.items():
        wall, peak, payload = _run(PRELUDE + body, n_users)
        per_row = payload["seconds"] / payload["rows"]
        results[name] = {**payload, "wall_s": round(wall, 1), "peak_rss_mb": round(peak), "us_per_row": round(per_row * 1e6, 1)}
        print(f"{name:12s} rows {payload['rows']:>9,}  step {payload['seconds']:8.1f} s  "
              f"({per_row * 1e6:7.1f} us/user)  peak RSS {peak:7.0f} MB  load {load_average()}")
    native, python, predict = results["native"], results["shap_python"], results["predict"]
    results["ratio_shap_python_vs_native_per_row"] = round(python["us_per_row"] / native["us_per_row"], 1)
    results["ratio_native_vs_predict"] = round(native["us_per_row"] / predict["us_per_row"], 1)
    results["load_after"] = load_average()
    print(f"shap's Python TreeExplainer is {results['ratio_shap_python_vs_native_per_row']}x slower per user than the "
          f"native path; native SHAP costs {results['ratio_native_vs_predict']}x a prediction")
    write_result("shap", results)
    return results


if __name__ == "__main__":
    main()
