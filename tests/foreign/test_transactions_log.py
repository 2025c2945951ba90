"""An order history alone (customer, date, quantity, amount; whitespace-separated, no header), in
the layout of configs/datasets/transactions.yaml: the whole flow runs by that YAML; interaction,
contact and channel features are left out with reasons; BG/NBD competes and, on an order log,
the gate keeps it champion unless a model beats it by an interval above zero."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import yaml
from tests.foreign.flow import REPO, assert_tags_spread, constant_features, run, write_project

from siyu.models.btyd import BGNBDParams, GammaGammaParams
from siyu.synth.btyd import bgnbd_transaction_log


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("orders")
    log = bgnbd_transaction_log(BGNBDParams(r=0.8, alpha=40.0, a=0.6, b=2.5), GammaGammaParams(p=6.0, q=4.0, gamma=150.0),
                                customers=1500, start=date(2024, 1, 1), days=400, acquisition_days=120,
                                rng=np.random.default_rng(4))
    qty = np.random.default_rng(5).integers(1, 4, len(log))
    lines = [f"{u}  {t:%Y%m%d}  {q}  {a:.2f}" for u, t, q, a in zip(log["user_id"], log["ts"], qty, log["amount"], strict=True)]
    (root / "orders.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "transactions.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "orders.txt")
    path = write_project(root, dataset,
                         tasks=[{"name": "purchase_intent", "horizon_days": 28}, {"name": "ltv", "horizon_days": 90}],
                         trainset={"step_days": 7, "n_train_cutoffs": 8, "n_valid_cutoffs": 2, "n_test_cutoffs": 3})
    return path, len(lines)


@pytest.mark.slow
def test_an_order_history_runs_end_to_end(project, monkeypatch):
    path, n_lines = project
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = ["--config", str(path)]
    run("validate", *cfg)
    work = path.parent / "work"
    assert json.loads((work / "reports" / "validation.json").read_text())["events"]["rows_clean"] == n_lines
    run("trainset", "--task", "all", *cfg)
    for task in ("purchase_intent", "ltv"):
        manifest = json.loads((work / "trainsets" / task / "manifest.json").read_text())
        names = [f["name"] for f in manifest["features"]]
        assert constant_features(work, task) == []
        assert "btyd_x" in names and "purchase_count_90d" in names
        assert not [n for n in names if "contact" in n or "interaction" in n or "session" in n]
        omitted = {o["name"]: o["reason"] for o in manifest["omitted_features"]}
        assert "no contact events" in omitted["days_since_last_contact"]
    trained = run("train", "--task", "all", "--model", "all", *cfg)
    assert "purchase_intent bgnbd" in trained and "ltv bgnbd" in trained and "failed" not in trained
    promoted = run("promote", "--task", "all", *cfg)
    assert "BG/NBD" in promoted or "bgnbd" in promoted
    run("score", *cfg)
    tags = assert_tags_spread(path.parent, ("purchase_intent", "ltv_tier"))
    assert "churn_risk" not in set(tags["tag"])
    run("report", "--task", "purchase_intent", *cfg)
