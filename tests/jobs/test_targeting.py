"""`siyu target` end to end on a small generated world, with champions in a real MLflow registry
(the uplift champion a real T-learner trained on the world's randomized campaigns):
the plan is published beside the scores (both tag families current), within budget and
capacities, with its holdout and files; a failed plan run changes nothing; missing models and
unfit config get clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from plan_fixtures import FEATURES_YAML, TREATMENTS, StandInScore, register_champion
from typer.testing import CliRunner

from siyu.cli._config import load_config
from siyu.cli.main import app
from siyu.features import FeatureSet
from siyu.io.tagstore import open_tag_store
from siyu.jobs import targeting as targeting_job
from siyu.jobs.generate import generate_world

REPO = Path(__file__).resolve().parents[2]
TARGETING = {
    "task": "uplift_purchase", "budget": 100.0, "value_per_conversion": 80.0, "margin": 0.5, "holdout_share": 0.1,
    "seed": 1, "channel_capacity": {"wecom": 150},
    "treatments": {"campaign_contact": {"cost": 0.5, "channel": "wecom"},
                   "coupon_push": {"cost": 2.0, "channel": "wecom", "capacity": 6}},
}


def _config(root: Path, **changes) -> dict:
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    if "history" in dataset["users"]:  # the member level's history of changes, read as of each cutoff
        dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    config = {
        "dataset": dataset, "feature_specs_path": str(root / "features.yaml"),
        "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "tasks": [{"name": "churn", "horizon_days": 30}, {"name": "ltv", "horizon_days": 90},
                  {"name": "uplift_purchase", "horizon_days": 7, "label": "any_purchase",
                   "treatments": list(TREATMENTS)}],
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "training": {"plots": False, "n_jobs": 1, "n_bootstrap": 50},
        "uplift": {"n_train_campaigns": 6, "n_valid_campaigns": 2, "n_test_campaigns": 2, "min_treated_rows": 20},
        "scoring": {"bands": [{"tag": "churn_risk", "task": "churn", "labels": ["high", "medium", "low"],
                               "edges": [0.5, 0.2]}],
                    "reason_tasks": [], "tag_store_url": f"duckdb:///{root}/tags.duckdb",
                    "guards": {"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 1.0}},
        "targeting": TARGETING,
    }
    return {**config, **changes}


def _write(root: Path, name: str, config: dict) -> Path:
    path = root / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("target")
    generate_world(users=300, days=120, seed=5, out=root / "world")
    (root / "features.yaml").write_text(FEATURES_YAML, encoding="utf-8")
    path = _write(root, "siyu.yaml", _config(root))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        _run("validate", "--config", str(path))
        cfg = load_config(path)
        from siyu.io.workspace import feature_set, latest_as_of

        specs = feature_set(cfg).specs
        recency = specs.recency_of("activity")
        few = FeatureSet(tuple(s for s in specs if s.name == recency or s.name.startswith("purchase_count")))
        X = targeting_job._features_at(cfg, latest_as_of(cfg), specs)
        register_champion(cfg, "churn", StandInScore(recency), X[list(specs.columns)], specs)
        # the real uplift model (a T-learner on LightGBM) from the world's randomized campaigns
        _run("trainset", "--task", "uplift_purchase", "--config", str(path))
        _run("train", "--task", "uplift_purchase", "--model", "tlearner", "--config", str(path))
        _run("promote", "--task", "uplift_purchase", "--config", str(path))
        register_champion(cfg, "ltv", StandInScore(recency, scale=200.0), X[list(few.columns)], few)
    return path


def _current(project: Path) -> pd.DataFrame:
    store = open_tag_store(load_config(project).scoring.tag_store_url)
    try:
        return store.read_current_view()
    finally:
        store.close()


def test_score_then_target_publishes_the_plan_beside_the_scores(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    cfg = ["--config", str(project)]
    _run("score", "--force", *cfg)
    out = _run("target", *cfg)
    assert "contact plan at as-of" in out and "published" in out and "campaign_contact" in out

    tags = _current(project)
    families = set(tags["tag"])
    assert {"churn_risk", "lifecycle_stage", "next_action", "expected_gain", "holdout"} <= families
    store = open_tag_store(load_config(project).scoring.tag_store_url)
    plan_run, score_run = store.current_run("plan"), store.current_run()
    store.close()
    assert plan_run.kind == "plan" and score_run.kind == "score"
    assert plan_run.model_versions["uplift_purchase"]["version"] == "1"

    folder = project.parent / "work" / "reports" / "plans"
    plan = pd.read_parquet(folder / f"{plan_run.run_id}.parquet")
    meta = json.loads((folder / f"{plan_run.run_id}.json").read_text(encoding="utf-8"))
    assert {"user_id", "as_of", "treatment", "holdout", "expected_gain", "value", "cost",
            *(f"uplift__{t}" for t in TREATMENTS), "lifecycle_stage"} <= set(plan.columns)
    chosen = plan[plan["treatment"] != "none"]
    assert 0 < chosen["cost"].sum() <= TARGETING["budget"] + 1e-9
    assert (chosen["treatment"] == "coupon_push").sum() <= 6 and len(chosen) <= 150
    assert (chosen["expected_gain"] > 0).all() and (plan["value"] == 40.0).all()
    for _, rows in chosen.groupby("treatment"):
        assert rows["holdout"].sum() == int(np.floor(0.1 * len(rows) + 0.5))
    assert not plan.loc[plan["treatment"] == "none", "holdout"].any()
    assert meta["totals"]["chosen"] == len(chosen) and meta["treatments"] == list(TREATMENTS)
    assert meta["totals"]["upper_bound"] >= meta["totals"]["expected_gain"] - 1e-6
    next_action = tags[tags["tag"] == "next_action"].set_index("user_id")["value"]
    assert (next_action.loc[plan["user_id"]].to_numpy() == plan["treatment"].to_numpy()).all()

    from siyu.jobs.reporting import decision_sections

    _run("experiment", "--campaign", "latest", "--horizon-days", "7", *cfg)  # a past campaign's readout
    sections = decision_sections(load_config(project), "zh", tags)
    assert "触达计划" in sections[0] and plan_run.run_id in sections[0] and "按生命周期阶段" in sections[0]
    assert "siyu-readout" in sections[1]  # the hook renders the readout with siyu.experiments.report

    assert "already planned" in _run("target", *cfg)  # same inputs: unchanged
    shown = _run("tags", "show", *cfg)
    assert score_run.run_id in shown and plan_run.run_id in shown and "next_action" in shown
    assert "plan" in _run("tags", "runs", *cfg)
    exported = pd.read_csv(_run("tags", "export", "--kind", "plan", *cfg).strip().removeprefix("wrote "),
                           dtype={"user_id": str}, encoding="utf-8-sig")
    assert list(exported.columns[:5]) == ["user_id", "contact", "next_action", "expected_gain", "holdout"]
    assert exported["contact"].sum() == (~plan["holdout"] & (plan["treatment"] != "none")).sum()
    assert len(exported) == len(plan) and "model_version_uplift_purchase" in exported.columns
    _run("target", "--budget", "10", *cfg)  # a smaller budget is a new plan; the scores stay current
    tags = _current(project)
    assert {"churn_risk", "next_action"} <= set(tags["tag"])
    store = open_tag_store(load_config(project).scoring.tag_store_url)
    newer = store.current_run("plan")
    store.close()
    assert newer.run_id != plan_run.run_id and newer.counts["next_action"].get("none", 0) > 0
    rolled = _run("tags", "rollback", "--run", newer.run_id, *cfg)
    assert plan_run.run_id in rolled
    assert "churn_risk" in set(_current(project)["tag"])


def test_a_failed_plan_run_leaves_every_tag_and_no_plan_file(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    _run("score", "--force", "--config", str(project))
    before = _current(project).sort_values(["user_id", "tag"], ignore_index=True)

    def die(i, rows):
        raise RuntimeError("connection lost mid-write")

    deps = targeting_job.default_deps()
    deps = targeting_job.TargetingDeps(deps.features_at, deps.load_champion, deps.default_as_of, on_chunk=die)
    cfg = load_config(project)
    with pytest.raises(RuntimeError, match="mid-write"):
        targeting_job.target(cfg, budget=33.0, deps=deps, run_id="plan-doomed")
    after = _current(project).sort_values(["user_id", "tag"], ignore_index=True)
    pd.testing.assert_frame_equal(before, after)
    assert not (project.parent / "work" / "reports" / "plans" / "plan-doomed.parquet").exists()
    store = open_tag_store(cfg.scoring.tag_store_url)
    assert store.run("plan-doomed").status == "failed" and store.lock_holder() is None
    store.close()


def test_value_from_the_ltv_champion(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(project)
    targeting = cfg.targeting.model_copy(update={"value_source": "model", "value_task": "ltv"})
    summary = targeting_job.target(cfg.model_copy(update={"targeting": targeting}))
    plan = pd.read_parquet(summary.plan_path)
    assert summary.status == "published" and set(summary.model_versions) == {"uplift_purchase", "ltv"}
    assert plan["value"].nunique() > 10 and plan["value"].between(0, 0.5 * 200).all()


def test_no_uplift_champion_and_unfit_config_say_what_to_do(project, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/empty.db")
    result = CliRunner().invoke(app, ["target", "--config", str(project)])
    assert result.exit_code == 2
    assert "no uplift champion" in result.output and "siyu train --task uplift_purchase" in result.output

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = project.parent
    no_value = _write(root, "no_value.yaml", _config(root, targeting={**TARGETING, "value_per_conversion": None}))
    result = CliRunner().invoke(app, ["target", "--config", str(no_value)])
    assert result.exit_code == 2 and "value_per_conversion" in result.output
    unknown = _write(root, "unknown.yaml", _config(root, targeting={**TARGETING, "task": "uplift_visit"}))
    result = CliRunner().invoke(app, ["target", "--config", str(unknown)])
    assert result.exit_code == 2 and "'uplift_visit' is not a configured task" in result.output
    no_cost = _write(root, "no_cost.yaml", _config(root, targeting={
        **TARGETING, "treatments": {"campaign_contact": {"cost": 0.5, "channel": "wecom"}}}))
    result = CliRunner().invoke(app, ["target", "--config", str(no_cost)])
    assert result.exit_code == 2 and "no cost for ['coupon_push']" in result.output
    stray = _write(root, "stray.yaml", _config(root, targeting={**TARGETING, "channel_capacity": {"sms": 3}}))
    result = CliRunner().invoke(app, ["target", "--config", str(stray)])
    assert result.exit_code == 2 and "channel(s) ['sms'] carry no treatment" in result.output
