"""Benchmark: does a booster beat BG/NBD on transaction logs, by a margin a bootstrap can see?

Two generated order histories (purchases only), each run through siyu's own pipeline pieces:
point-in-time features of an order vocabulary (`build_features`) plus the BTYD summaries from
the events (`btyd_summaries`), any-purchase labels over a 28-day horizon (`build_labels`), a
purged split on a 14-day cutoff grid (`split_cutoffs`), and the models with the jobs'
defaults (`make_model`: LightGBM alone and with the BTYD outputs as features, `lightgbm+btyd`,
the recency rule, logistic, BG/NBD), each fitted on train with validation for early stopping /
calibration / the BG/NBD score choice. Test cutoffs are scored once; each model's AUC carries a
95 % interval over users and its paired difference against BG/NBD (`paired_difference`, 1,000
user resamples). The champion booster is the one with the best validation AUC (as `siyu train`
chooses), and the done-when of issue 19 reads its interval against BG/NBD.

- `bgnbd`: drawn from BG/NBD × Gamma-Gamma itself (`siyu.synth.btyd.bgnbd_transaction_log`):
  nothing to gain, so no model should beat BG/NBD beyond its interval;
- `seasonal_dropout`: regular (non-Poisson) purchase rhythm, a yearly season and dropout
  driven by each basket's spend (`seasonal_dropout_log`): the booster should win;
- `transactions_fixture`: the order history of tests/foreign/test_transactions_log.py (a BG/NBD
  draw of 1,500 customers over 400 days, written as whitespace-separated text without a header)
  read through configs/datasets/transactions.yaml, validated and built into the
  `purchase_intent` training set by siyu's own jobs with the default feature specs (whatever the
  data's vocabulary resolves them to), 28-day horizon on a weekly grid. Not scaled.

SIYU_BENCH_SCALE scales the number of customers. Writes benchmarks/results/btyd.json.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks._util import load_average, scale, write_result

CUSTOMERS, DAYS, ACQUISITION_DAYS = 6000, 730, 365
START = date(2024, 1, 1)
HORIZON = 28
# (leaderboard row, model, BTYD outputs as features)
MODELS = (("lightgbm", "lightgbm", False), ("lightgbm+btyd", "lightgbm", True), ("rule", "rule", False),
          ("logistic", "logistic", False), ("bgnbd", "bgnbd", False))
BOOSTERS = ("lightgbm", "lightgbm+btyd")


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


def leaderboard(frame: pd.DataFrame, seed: int = 0, *, inputs=None) -> list[dict]:  # noqa: ANN001
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
    for name, kind, btyd in MODELS:
        started = time.perf_counter()
        model = make_model(kind, task, random_state=seed, n_jobs=2, inputs=inputs, btyd_features=btyd)
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


def champion_booster(board: list[dict]) -> dict:
    """The booster `siyu train` would pick (best validation AUC) and its test difference with BG/NBD."""
    best = max((r for r in board if r["model"] in BOOSTERS), key=lambda r: r["valid_auc"])
    low = best["minus_bgnbd"][1]
    return {"model": best["model"], "minus_bgnbd": best["minus_bgnbd"], "beats_bgnbd": low > 0}


def fixture_orders(root) -> tuple:  # noqa: ANN001 - a Path
    """The transactions-only fixture of tests/foreign/test_transactions_log.py (same draw, same
    layout): `root/orders.txt` and the dataset mapping of configs/datasets/transactions.yaml."""
    import yaml

    from siyu.models.btyd import BGNBDParams, GammaGammaParams
    from siyu.synth.btyd import bgnbd_transaction_log

    log = bgnbd_transaction_log(BGNBDParams(r=0.8, alpha=40.0, a=0.6, b=2.5), GammaGammaParams(p=6.0, q=4.0, gamma=150.0),
                                customers=1500, start=date(2024, 1, 1), days=400, acquisition_days=120,
                                rng=np.random.default_rng(4))
    qty = np.random.default_rng(5).integers(1, 4, len(log))
    lines = [f"{u}  {t:%Y%m%d}  {q}  {a:.2f}" for u, t, q, a in zip(log["user_id"], log["ts"], qty, log["amount"], strict=True)]
    (root / "orders.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    repo = Path(__file__).resolve().parents[1]
    dataset = yaml.safe_load((repo / "configs" / "datasets" / "transactions.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "orders.txt")
    config = {
        "dataset": dataset, "feature_specs_path": str(repo / "configs" / "features.yaml"),
        "paths": {"world": str(root / "none"), "work": str(root / "work")},
        "tasks": [{"name": "purchase_intent", "horizon_days": HORIZON}],
        "trainset": {"step_days": 7, "n_train_cutoffs": 8, "n_valid_cutoffs": 2, "n_test_cutoffs": 3},
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path, len(lines)


def fixture_trainset() -> tuple[pd.DataFrame, dict, int, object]:
    """The fixture validated and built into the purchase_intent training set by siyu's jobs:
    (frame, cutoffs per split, orders, the specs' column roles)."""
    import tempfile

    from siyu.cli._config import load_config
    from siyu.features import parse_feature_specs
    from siyu.jobs.trainsets import build_trainset
    from siyu.jobs.validate import validate_dataset
    from siyu.trainsets import load_trainset

    with tempfile.TemporaryDirectory(prefix="bench-btyd-") as tmp:
        path, orders = fixture_orders(Path(tmp))
        cfg = load_config(path)
        validate_dataset(cfg)
        summary = build_trainset(cfg, "purchase_intent")
        frame, manifest = load_trainset(summary.path)
    inputs = parse_feature_specs(manifest["feature_specs"]).roles()
    return frame, summary.cutoffs, orders, inputs


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
    built = {name: (*trainset(log), len(log), None) for name, log in logs.items()}
    built["transactions_fixture"] = fixture_trainset()
    for name, (frame, splits, orders, inputs) in built.items():
        board = leaderboard(frame, inputs=inputs)
        split = frame["split"].astype(str)
        out[name] = {"orders": orders, "rows": {s: int((split == s).sum()) for s in ("train", "valid", "test")},
                     "label_rate_test": round(float(frame.loc[split == "test", "label"].mean()), 4),
                     "cutoffs": splits, "leaderboard": board, "champion_booster": champion_booster(board)}
        print(f"\n{name}: {orders} orders, test label rate {out[name]['label_rate_test']}")
        for r in board:
            print(f"  {r['model']:<13} valid {r['valid_auc']:.4f}  test {r['test_auc']:.4f} {r['test_auc_ci']}"
                  f"  - bgnbd {r.get('minus_bgnbd', '')}")
        print(f"  champion booster: {out[name]['champion_booster']}")
    out["load_average_end"] = load_average()
    print(write_result("btyd", out))


if __name__ == "__main__":
    main()
