"""Benchmark: does a booster beat BG/NBD on transaction logs, by a margin a bootstrap can see?

Two generated order histories (purchases only), each run through siyu's own pipeline pieces:
point-in-time features of an order vocabulary (`build_features`) plus the BTYD summaries from
the events (`btyd_summaries`), any-purchase labels over a 28-day horizon (`build_labels`), a
purged split on a 14-day cutoff grid (`split_cutoffs`), and the models with the jobs'
defaults (`make_model`: LightGBM, the recency rule, logistic, BG/NBD), each fitted on train
with validation for early stopping / calibration / the BG/NBD score choice. Test cutoffs are
scored once; each model's AUC carries a 95 % interval over users and its paired difference
against BG/NBD (`paired_difference`, 1,000 user resamples).

- `bgnbd`: drawn from BG/NBD × Gamma-Gamma itself (`siyu.synth.btyd.bgnbd_transaction_log`):
  nothing to gain, so no model should beat BG/NBD beyond its interval;
- `seasonal_dropout`: regular (non-Poisson) purchase rhythm, a yearly season and dropout
  driven by each basket's spend (`seasonal_dropout_log`): the booster should win.

SIYU_BENCH_SCALE scales the number of customers. Writes benchmarks/results/btyd.json.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from benchmarks._util import load_average, scale, write_result

CUSTOMERS, DAYS, ACQUISITION_DAYS = 6000, 730, 365
START = date(2024, 1, 1)
HORIZON = 28
MODELS = ("lightgbm", "rule", "logistic", "bgnbd")


def order_features():
    """An order history's own vocabulary: recency, counts / spend / active days by window, rhythm, RFM."""
    from siyu.features import (
        AOV,
        RFM,
        ActiveDays,
        FeatureSet,
        FirstPurchase,
        InterPurchase,
        Recency,
        Tenure,
        Trend,
        Window,
    )
    from siyu.features.families.btyd import BTYD

    days = (30, 90, 180, 365)
    return FeatureSet((
        Recency(role="purchase"),
        *(Window(d, role="purchase") for d in days),
        *(Window(d, agg="sum", role="purchase") for d in days),
        *(ActiveDays(d, role="purchase") for d in days),
        InterPurchase("mean"), InterPurchase("std"), Tenure(), FirstPurchase(), AOV(90), AOV(365),
        Trend(90, role="purchase"), RFM(), BTYD(),
    ))


def _events(log: pd.DataFrame) -> pd.DataFrame:
    """The clean event contract's columns for a purchases-only log."""
    n = len(log)
    none = pd.Series([None] * n, dtype="string")
    return log.assign(channel=none, item_id=none, category=none, session_id=none,
                      event_id=pd.Series([f"e{i}" for i in range(n)], dtype="string"))


def trainset(log: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Features (the BTYD summaries among them) + labels at every cutoff of the purged split."""
    from siyu.config import TaskConfig, TrainsetConfig
    from siyu.features import build_features
    from siyu.labels import build_labels
    from siyu.trainsets import assemble_trainset, cutoff_grid, split_cutoffs

    task = TaskConfig(name="purchase_28d", horizon_days=HORIZON, label="any_purchase")
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("events", _events(log))
    end = START + timedelta(days=DAYS)
    grid = cutoff_grid(START, end, horizon_days=HORIZON, step_days=14, min_history_days=180)
    splits = split_cutoffs(grid, TrainsetConfig(step_days=14, n_train_cutoffs=12, n_valid_cutoffs=3,
                                                n_test_cutoffs=4), horizon_days=HORIZON)
    cuts = sorted(c for part in splits.values() for c in part)
    features = build_features(con, order_features(), "events", None, cuts)
    labels = build_labels(con, task, "events", None, cuts, data_end=end)
    frame = assemble_trainset(features, labels, splits)
    return frame, {k: [c.isoformat() for c in v] for k, v in splits.items()}


def leaderboard(frame: pd.DataFrame, seed: int = 0) -> list[dict]:
    """One row per model: valid AUC, test AUC with its interval, and (model - BG/NBD) paired on test."""
    from sklearn.metrics import roc_auc_score

    from siyu.config import TaskConfig
    from siyu.evaluation import bootstrap_interval, paired_difference
    from siyu.models import make_model

    task = TaskConfig(name="purchase_28d", horizon_days=HORIZON, label="any_purchase")
    ids = ["user_id", "cutoff", "split", "label"]
    part = {s: frame[frame["split"] == s] for s in ("train", "valid", "test")}
    X = {s: p.drop(columns=ids) for s, p in part.items()}
    y = {s: p["label"].to_numpy(float) for s, p in part.items()}
    scores, rows = {}, []
    for name in MODELS:
        started = time.perf_counter()
        model = make_model(name, task, random_state=seed, n_jobs=2)
        model.fit(X["train"], y["train"], X_valid=X["valid"], y_valid=y["valid"])
        valid = model.valid_scores_ if getattr(model, "valid_scores_", None) is not None else model.predict_score(X["valid"])
        scores[name] = model.predict_score(X["test"])
        test = bootstrap_interval("auc", y["test"], scores[name], part["test"]["user_id"], n_boot=1000,
                                  rng=np.random.default_rng(seed))
        rows.append({"model": name, "valid_auc": round(float(roc_auc_score(y["valid"], valid)), 4),
                     "test_auc": round(test.value, 4), "test_auc_ci": [round(test.low, 4), round(test.high, 4)],
                     "fit_seconds": round(time.perf_counter() - started, 1),
                     **({"btyd_score": model.score_, "btyd_params": vars(model.params_)} if name == "bgnbd" else {})})
    for row in rows:
        if row["model"] != "bgnbd":
            d = paired_difference("auc", y["test"], scores[row["model"]], scores["bgnbd"], part["test"]["user_id"],
                                  n_boot=1000, rng=np.random.default_rng(seed))
            row["minus_bgnbd"] = [round(d.value, 4), round(d.low, 4), round(d.high, 4)]
    return sorted(rows, key=lambda r: -r["valid_auc"])


def main() -> None:
    from siyu.models.btyd import BGNBDParams, GammaGammaParams
    from siyu.synth.btyd import bgnbd_transaction_log, seasonal_dropout_log

    n = max(500, int(CUSTOMERS * scale()))
    logs = {
        "bgnbd": bgnbd_transaction_log(BGNBDParams(0.8, 40.0, 0.6, 2.5), GammaGammaParams(6.0, 4.0, 150.0),
                                       customers=n, start=START, days=DAYS, acquisition_days=ACQUISITION_DAYS,
                                       rng=np.random.default_rng(1)),
        "seasonal_dropout": seasonal_dropout_log(customers=n, start=START, days=DAYS,
                                                 acquisition_days=ACQUISITION_DAYS, rng=np.random.default_rng(2)),
    }
    out = {"customers": n, "days": DAYS, "horizon_days": HORIZON, "load_average": load_average()}
    for name, log in logs.items():
        frame, splits = trainset(log)
        board = leaderboard(frame)
        out[name] = {"orders": len(log), "rows": {s: int((frame["split"] == s).sum()) for s in ("train", "valid", "test")},
                     "label_rate_test": round(float(frame.loc[frame["split"] == "test", "label"].mean()), 4),
                     "cutoffs": splits, "leaderboard": board}
        print(f"\n{name}: {len(log)} orders, test label rate {out[name]['label_rate_test']}")
        for r in board:
            print(f"  {r['model']:<9} valid {r['valid_auc']:.4f}  test {r['test_auc']:.4f} {r['test_auc_ci']}"
                  f"  - bgnbd {r.get('minus_bgnbd', '')}")
    print(write_result("btyd", out))


if __name__ == "__main__":
    main()
