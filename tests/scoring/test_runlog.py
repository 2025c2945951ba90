"""The MLflow payload of a scoring run, and (slow) a real MLflow run in a temporary store."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scoring_fixtures import make_deps, make_features

from siyu.jobs.scoring import log_scoring_run, score
from siyu.scoring.runlog import scoring_run_log


def test_payload_has_counts_per_tag_value_histograms_and_the_drift_table():
    drift = pd.DataFrame({"task": ["churn"], "feature": ["spend"], "kind": ["numeric"], "psi": [0.3], "status": ["fail"]})
    log = scoring_run_log(
        run_id="r1", as_of="2026-03-02", forced=True,
        counts={"churn_risk": {"high": 3, "low": 7}, "rfm_segment": {"at risk": 2}},
        model_versions={"churn": {"model_name": "siyu-churn", "version": "4"}},
        timings={"write": 1.5}, scores={"churn_risk": np.array([0.1, 0.7, 0.9])},
        band_edges={"churn_risk": (0.5, 0.2)}, drift=drift, guards_json="[]")
    assert log.metrics == {"users_churn_risk_high": 3.0, "users_churn_risk_low": 7.0,
                           "users_rfm_segment_at risk": 2.0, "seconds_write": 1.5}
    assert log.params == {"churn_model": "siyu-churn/4"}
    assert set(log.figures) == {"plots/score_hist_churn_risk.svg", "plots/tag_counts_churn_risk.svg",
                                "plots/tag_counts_rfm_segment.svg"}
    assert all(ET.fromstring(svg).tag.endswith("svg") for svg in log.figures.values())
    assert log.texts["drift.csv"].splitlines()[0] == "task,feature,kind,psi,status"
    assert log.tags == {"scoring_run_id": "r1", "as_of": "2026-03-02", "forced": "true"}


@pytest.mark.slow
def test_a_scoring_run_is_an_mlflow_run(tmp_path, cfg, champions, rng):
    from mlflow.tracking import MlflowClient

    tracking = cfg.tracking.model_copy(update={"uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                                               "artifact_root": str(tmp_path / "mlartifacts")})
    cfg = cfg.model_copy(update={"tracking": tracking})
    deps = make_deps(make_features(100, rng), champions, log_mlflow=log_scoring_run)
    summary = score(cfg, dt.date(2026, 3, 2), deps=deps, now=dt.datetime(2026, 3, 2, 2), run_id="r1")
    client = MlflowClient(tracking_uri=tracking.uri)
    run = client.get_run(summary.mlflow_run_id)
    assert client.get_experiment(run.info.experiment_id).name == "siyu-scoring"
    assert run.data.tags["scoring_run_id"] == "r1"
    assert sum(v for k, v in run.data.metrics.items() if k.startswith("users_churn_risk_")) == 100
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"drift.csv", "plots"} <= artifacts
