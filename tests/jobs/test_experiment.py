"""`siyu experiment` end to end on a small generated world: a campaign readout (JSON + CSV, SRM,
lifts, CUPED, lifecycle groups), a failing SRM, segment lift from the tag store, a contact plan's
readout (compliance, calibration) and the refusal before the horizon has passed."""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from siyu.cli._config import load_config
from siyu.cli.main import app
from siyu.io.tagstore import open_tag_store
from siyu.jobs.experiment import (
    HorizonNotPassed,
    _latest_plan,
    list_campaigns,
    parse_shares,
    read_campaign,
    read_plan,
)
from siyu.jobs.generate import generate_world
from siyu.scoring.tags import TAG_HISTORY_SCHEMA

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiment")
    generate_world(users=600, days=200, seed=7, out=root / "world")
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    config = {
        "dataset": dataset, "feature_specs_path": str(REPO / "configs" / "features.yaml"),
        "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "scoring": {"tag_store_url": f"duckdb:///{root}/tags.duckdb", "lang": "en"},
        "experiments": {"min_cell_users": 30},
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def campaigns(project):
    return list_campaigns(load_config(project))


def _early(campaigns: pd.DataFrame) -> str:
    """A campaign with every metric readable and a few hundred eligible users."""
    return str(campaigns["campaign_id"].iloc[len(campaigns) // 4])


def test_list_shows_campaigns_and_when_they_are_readable(project, campaigns):
    result = runner.invoke(app, ["experiment", "--list", "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert _early(campaigns)[:12] in result.output and "readable_from" in result.output
    assert (campaigns["readable_from"] - pd.to_datetime(campaigns["cutoff"])).dt.days.eq(90).all()


def test_campaign_readout_writes_json_and_csv(project, campaigns):
    campaign = _early(campaigns)
    result = runner.invoke(app, ["experiment", "--campaign", campaign, "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert "SRM" in result.output and "passed" in result.output  # designed shares from truth/campaigns.parquet
    folder = project.parent / "work" / "reports" / "experiments"
    doc = json.loads((folder / f"campaign_{campaign}.json").read_text(encoding="utf-8"))
    assert doc["kind"] == "campaign" and doc["source"] == campaign and doc["pending"] == {}
    assert doc["horizons"] == {"retention": 30, "purchase_rate": 7, "spend_per_user": 90}
    assert doc["srm"]["passed"] and doc["trustworthy"] and any("truth/campaigns.parquet" in n for n in doc["notes"])
    treatments = {"campaign_contact", "coupon_push"}
    assert set(doc["arms"]) == {"control", *treatments} and set(doc["srm"]["arms"]) == set(doc["arms"])
    assert {(m["treatment"], m["metric"]) for m in doc["metrics"]} == {
        (t, m) for t in treatments for m in ("retention", "purchase_rate", "spend_per_user")}
    for m in doc["metrics"]:
        lift = m["lift"]
        assert lift["n_treatment"] == doc["arms"][m["treatment"]] and lift["n_control"] == doc["arms"]["control"]
        assert lift["absolute_low"] <= lift["absolute"] <= lift["absolute_high"]
        assert m["cuped"] is None or m["cuped"]["variance_reduction"] < 1
    assert all(m["cuped"] is not None for m in doc["metrics"] if m["metric"] == "retention")
    stages = {g["group"] for g in doc["groups"] if g["dimension"] == "lifecycle_stage"}
    assert stages and stages <= {"potential", "new", "active", "silent", "churned"}
    assert sum(g["n_treatment"] for g in doc["groups"] if g["metric"] == "retention"
               and g["treatment"] == "coupon_push") == doc["arms"]["coupon_push"]
    assert "segment" in doc["groups_skipped"]
    rows = pd.read_csv(folder / f"campaign_{campaign}.csv", encoding="utf-8-sig")
    assert len(rows) == 6 and set(rows["treatment"]) == treatments


def test_a_split_unlike_the_design_fails_the_srm_check(project, campaigns):
    campaign = _early(campaigns)
    result = runner.invoke(app, ["experiment", "--campaign", campaign, "--expected-share", "campaign_contact=0.5",
                                 "--expected-share", "coupon_push=0.3", "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert "FAILED" in result.output and "cannot be trusted" in result.output
    cfg = load_config(project)
    doc = json.loads((cfg.paths.reports_dir / "experiments" / f"campaign_{campaign}.json").read_text(encoding="utf-8"))
    assert doc["srm"]["passed"] is False and doc["trustworthy"] is False
    missing = read_campaign(cfg, campaign, expected_shares={"campaign_contact": 0.2}).readout
    assert missing.srm is None and "no designed share" in missing.srm_skipped and not missing.trustworthy


def test_without_designed_shares_the_srm_check_is_skipped_with_the_reason(project, campaigns):
    cfg = load_config(project)
    truth = cfg.paths.truth_dir / "campaigns.parquet"
    hidden = truth.with_name("campaigns.hidden")
    truth.rename(hidden)
    try:
        readout = read_campaign(cfg, _early(campaigns)).readout
    finally:
        hidden.rename(truth)
    assert readout.srm is None and "--expected-share" in readout.srm_skipped and readout.trustworthy


def test_refuses_before_the_horizon_has_passed(project, campaigns):
    last = str(campaigns["campaign_id"].iloc[-1])
    result = runner.invoke(app, ["experiment", "--campaign", last, "--config", str(project)])
    assert result.exit_code == 3
    cutoff = pd.Timestamp(campaigns["cutoff"].iloc[-1]).date()
    assert (cutoff + dt.timedelta(days=7)).isoformat() in result.output
    with pytest.raises(HorizonNotPassed, match="read it out on or after"):
        read_campaign(load_config(project), last)


def test_a_partly_readable_campaign_lists_the_pending_metrics(project, campaigns):
    cfg = load_config(project)
    late = campaigns[(pd.to_datetime(campaigns["readable_from"]) > pd.Timestamp("2025-07-25"))
                     & (pd.to_datetime(campaigns["cutoff"]) < pd.Timestamp("2025-06-20"))]
    readout = read_campaign(cfg, str(late["campaign_id"].iloc[0])).readout
    assert set(readout.pending) == {"spend_per_user"} and {m.metric for m in readout.metrics} == {
        "retention", "purchase_rate"}


def test_latest_is_the_newest_campaign_with_every_window_inside_the_data(project, campaigns):
    readout = read_campaign(load_config(project), "latest").readout
    fits = campaigns[pd.to_datetime(campaigns["readable_from"]) <= pd.Timestamp(readout.data_end)]
    assert readout.source == str(fits["campaign_id"].iloc[-1]) and readout.pending == {}


def test_unknown_campaign_and_bad_options_exit_2(project):
    result = runner.invoke(app, ["experiment", "--campaign", "nope", "--config", str(project)])
    assert result.exit_code == 2 and "--list" in result.output
    result = runner.invoke(app, ["experiment", "--config", str(project)])
    assert result.exit_code == 2 and "exactly one" in result.output
    with pytest.raises(ValueError, match="TREATMENT=SHARE"):
        parse_shares(["a=0.1", "0.2"])


def test_segment_lift_from_the_tags_published_before_the_cutoff(project, campaigns):
    cfg = load_config(project)
    campaign = _early(campaigns)
    cutoff = pd.Timestamp(campaigns["cutoff"].iloc[len(campaigns) // 4]).date()
    users = pd.read_parquet(cfg.paths.clean_users)["user_id"].astype(str)
    store = open_tag_store(cfg.scoring.tag_store_url)
    run, now = "seg-run-1", dt.datetime(2026, 1, 1)
    n = len(users)
    tags = pa.table({"user_id": users, "tag": ["segment"] * n,
                     "value": np.where(np.arange(n) % 2 == 0, "steady_regular", "high_value_loyal"),
                     "score": [None] * n, "model": ["siyu-segments"] * n, "model_version": ["1"] * n,
                     "run_id": [run] * n, "as_of": [cutoff] * n, "computed_at": [now] * n}, schema=TAG_HISTORY_SCHEMA)
    with store.locked(run, cutoff, now):
        store.begin_run(run, cutoff, now, run_key="k", model_versions={}, forced=False)
        store.publish(run, tags, finished_at=now, counts={}, timings={})
    store.close()
    readout = read_campaign(cfg, campaign).readout
    segments = {g.group for g in readout.groups if g.dimension == "segment"}
    assert segments == {"steady_regular", "high_value_loyal"} and "segment" not in readout.groups_skipped
    assert all(g.small == (min(g.n_treatment, g.n_control) < 30) for g in readout.groups)


def test_plan_readout_compliance_and_calibration(project):
    cfg = load_config(project)
    as_of = dt.date(2025, 3, 10)
    users = pd.read_parquet(cfg.paths.clean_users)
    users = users[pd.to_datetime(users["joined_at"]) < pd.Timestamp(as_of)]
    rng = np.random.default_rng(0)
    n = len(users)
    plan = pd.DataFrame({"user_id": users["user_id"].astype(str).to_numpy(), "as_of": pd.Timestamp(as_of),
                         "treatment": np.where(rng.random(n) < 0.8, "campaign_contact", "none"),
                         "holdout": rng.random(n) < 0.3, "expected_gain": rng.gamma(1, 5, n), "cost": 1.0,
                         "uplift__campaign_contact": rng.uniform(0, 0.04, n)})
    plan.loc[plan["treatment"] == "none", ["holdout", "expected_gain", "cost"]] = [False, 0.0, 0.0]
    folder = cfg.paths.reports_dir / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    plan.to_parquet(folder / "plan-r1.parquet")
    (folder / "plan-r1.json").write_text(json.dumps({"label": "any_purchase", "horizon_days": 7,
                                                          "targeting": {"holdout_share": 0.3}}), encoding="utf-8")
    result = runner.invoke(app, ["experiment", "--plan", "plan-r1", "--config", str(project)])
    assert result.exit_code == 0, result.output
    readout = read_plan(cfg, "plan-r1").readout
    chosen = plan[plan["treatment"] != "none"]
    assert readout.arms == {"contacted": int((~chosen["holdout"]).sum()), "holdout": int(chosen["holdout"].sum())}
    assert readout.srm is not None and readout.srm.expected_shares == pytest.approx((0.7, 0.3))
    assert readout.compliance["window"] == ["2025-03-10", "2025-03-17"]
    assert 0 <= readout.compliance["treated_contacted_share"] < 0.9  # the world's contacts ignore this plan
    (cal,) = readout.calibration
    treated = chosen[~chosen["holdout"]]
    assert cal.predicted_gain == pytest.approx(treated["expected_gain"].sum())
    assert cal.predicted_value == pytest.approx(treated["expected_gain"].sum() + len(treated))
    assert cal.measured_low <= cal.measured <= cal.measured_high
    assert any("intention to treat" in note for note in readout.notes)
    (up,) = readout.uplift_calibration
    assert up.metric == "purchase_rate" and up.task_horizon_days == 7
    assert up.predicted == pytest.approx(plan.loc[treated.index, "uplift__campaign_contact"].mean())
    assert read_plan(cfg, "latest").readout.source == "plan-r1"
    missing = runner.invoke(app, ["experiment", "--plan", "nope", "--config", str(project)])
    assert missing.exit_code == 2 and "siyu target" in missing.output


def test_latest_plan_skips_a_rolled_back_plan(project):
    """A newer plan that was published and then rolled back was withdrawn: `--plan latest` reads the
    one before it."""
    cfg = load_config(project)
    folder = cfg.paths.reports_dir / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    store = open_tag_store(cfg.scoring.tag_store_url)
    now = dt.datetime(2026, 1, 1)
    for run, as_of in (("plan-old", dt.date(2025, 3, 3)), ("plan-new", dt.date(2025, 3, 10))):
        pd.DataFrame({"user_id": ["u1", "u2"], "as_of": pd.Timestamp(as_of), "treatment": "coupon_push",
                      "holdout": [True, False], "expected_gain": 1.0, "cost": 1.0}).to_parquet(folder / f"{run}.parquet")
        tags = pa.table({"user_id": ["u1", "u2"], "tag": ["next_action"] * 2, "value": ["coupon_push"] * 2,
                         "score": [None] * 2, "model": ["m"] * 2, "model_version": ["1"] * 2, "run_id": [run] * 2,
                         "as_of": [as_of] * 2, "computed_at": [now] * 2}, schema=TAG_HISTORY_SCHEMA)
        with store.locked(run, as_of, now):
            store.begin_run(run, as_of, now, run_key=run, model_versions={}, forced=False, kind="plan")
            store.publish(run, tags, finished_at=now, counts={}, timings={})
    assert _latest_plan(cfg, {"purchase_rate": 7}) == "plan-new"
    store.rollback("plan-new", now)
    store.close()
    # the module's other tests may have left plans of their own; none of them is the withdrawn one
    assert _latest_plan(cfg, {"purchase_rate": 7}) != "plan-new"
    (folder / "plan-new.parquet").rename(folder / "plan-new.bak")
    others = _latest_plan(cfg, {"purchase_rate": 7})
    (folder / "plan-new.bak").rename(folder / "plan-new.parquet")
    assert _latest_plan(cfg, {"purchase_rate": 7}) == others


def test_a_plan_made_on_the_first_day_of_the_data_has_nobody_to_compare(project):
    cfg = load_config(project)
    folder = cfg.paths.reports_dir / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": ["u1", "u2"], "as_of": pd.Timestamp("2025-01-06"), "treatment": "coupon_push",
                  "holdout": [True, False], "expected_gain": 1.0, "cost": 1.0}).to_parquet(folder / "early.parquet")
    result = runner.invoke(app, ["experiment", "--plan", "early", "--config", str(project)])
    assert result.exit_code == 2 and "no user was known before the cutoff" in result.output


class _Segmenter:
    """A stand-in champion segmentation behind the `load_champion` seam (MLflow not needed)."""

    model_name, model_version, feature_specs = "siyu-segments", "3", None

    class estimator:  # noqa: N801 - the attribute scoring reads
        @staticmethod
        def predict(features):
            return np.where(features["lifecycle_stage"].astype(str) == "potential", "cooling_down", "steady_regular")


def test_without_tags_before_the_cutoff_the_champion_segmentation_assigns_segments_at_it(project, campaigns,
                                                                                          monkeypatch):
    import siyu.tracking

    cfg = load_config(project)
    cfg = cfg.model_copy(update={"segments": cfg.segments.model_copy(update={"enabled": True})})
    monkeypatch.setattr(siyu.tracking, "load_champion", lambda name, tracking: _Segmenter())
    readout = read_campaign(cfg, str(campaigns["campaign_id"].iloc[2])).readout
    segments = {g.group: g for g in readout.groups if g.dimension == "segment" and g.metric == "retention"
                and g.treatment == "coupon_push"}
    stages = {g.group: g for g in readout.groups if g.dimension == "lifecycle_stage" and g.metric == "retention"
              and g.treatment == "coupon_push"}
    assert segments["cooling_down"].n_control == stages["potential"].n_control > 0
    assert segments["steady_regular"].n_treatment == sum(g.n_treatment for k, g in stages.items() if k != "potential")
    assert any("siyu-segments version 3" in n for n in readout.notes)
