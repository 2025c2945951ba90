"""Uplift training sets: rows are the users eligible at each campaign's cutoff, with their treatment
(control = eligible and not contacted), point-in-time features and the outcome after the cutoff;
campaigns split by time and purged by the horizon."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from siyu.cli._config import load_config
from siyu.config import UpliftConfig
from siyu.io.cleanlog import read_events_frame
from siyu.jobs.trainsets import build_uplift_trainset
from siyu.trainsets import GridError, load_trainset
from siyu.uplift.trainset import (
    UPLIFT_COLUMNS,
    arms_check,
    campaign_rows,
    overlap_report,
    split_campaigns,
    with_propensity,
)


@pytest.fixture(scope="module")
def built(campaign_world):
    cfg = load_config(campaign_world)
    summary = build_uplift_trainset(cfg, "uplift_purchase")
    frame, manifest = load_trainset(summary.path)
    return cfg, frame, manifest


def test_rows_are_the_eligible_users_with_their_treatment_and_outcome(built):
    cfg, frame, manifest = built
    events = read_events_frame(cfg.paths.clean_events)
    users = pd.read_parquet(cfg.paths.clean_users)
    assert manifest["treatments"] == ["campaign_contact", "coupon_push"]
    assert set(frame["treatment"]) == {"control", "campaign_contact", "coupon_push"}
    campaign = manifest["campaigns"]["test"][-1]
    rows = frame[frame["campaign_id"] == campaign].set_index("user_id")
    cutoff = rows["cutoff"].iloc[0]
    joined = users.set_index("user_id")["joined_at"]
    assert (joined.reindex(rows.index) < cutoff).all()  # eligible: joined before the cutoff
    assert len(rows) == (joined < cutoff).sum()  # ... all of them (this task's population)
    contacts = events[(events["role"] == "contact") & (events["campaign_id"] == campaign)].sort_values("ts")
    first = contacts.groupby("user_id")["event_type"].first()
    treated = rows[rows["treatment"] != "control"]
    assert treated["treatment"].to_dict() == first.reindex(treated.index).to_dict()
    assert not set(rows.index[rows["treatment"] == "control"]) & set(first.index)  # control: not contacted
    buys = events[(events["role"] == "purchase") & (events["ts"] >= cutoff)
                  & (events["ts"] < cutoff + pd.Timedelta(days=7))]["user_id"].unique()
    np.testing.assert_array_equal(rows["label"].to_numpy(), rows.index.isin(buys).astype(int))
    shares = rows["treatment"].value_counts(normalize=True)
    np.testing.assert_allclose(rows["propensity"].to_numpy(), rows["treatment"].map(shares).to_numpy())


def test_campaigns_split_by_time_purged_by_the_horizon(built):
    _, frame, manifest = built
    cut = frame.groupby("campaign_id")["cutoff"].first()
    train, valid, test = (cut[list(manifest["campaigns"][s])] for s in ("train", "valid", "test"))
    assert train.max() + pd.Timedelta(days=7) <= valid.min() and valid.max() + pd.Timedelta(days=7) <= test.min()
    assert len(test) == 3 and len(valid) == 3
    assert manifest["purge"]["valid_test_gap_days"] >= 7
    assert all(0.35 < auc < 0.65 for auc in manifest["overlap_auc"].values())  # randomized: no overlap warning
    assert manifest["warnings"] == [] and manifest["arms"]["test"]["control"]["rows"] > 0


def test_overlap_classifiers_side_by_side_give_the_aucs_of_one_at_a_time(built):
    cfg, frame, manifest = built
    features = [c for c in frame.columns if c not in UPLIFT_COLUMNS and c not in ("user_id", "cutoff", "split", "label")]
    treatments = manifest["treatments"]
    alone = overlap_report(frame, features, treatments, cfg.uplift, seed=3, n_jobs=1)
    together = overlap_report(frame, features, treatments, cfg.uplift, seed=3, n_jobs=2)
    assert alone == together and set(alone[0]) == set(treatments)
    assert {"campaign_id", "treatment", "propensity"}.isdisjoint(f["name"] for f in manifest["features"])


def test_events_at_or_after_the_cutoff_change_no_feature(built, tmp_path):
    cfg, frame, manifest = built
    campaign = manifest["campaigns"]["test"][0]
    rows = frame[frame["campaign_id"] == campaign]
    cutoff = rows["cutoff"].iloc[0]
    chosen = rows.loc[rows["treatment"] == "control", "user_id"].head(20).tolist()
    work = tmp_path / "work"
    shutil.copytree(cfg.paths.work_dir / "clean", work / "clean")
    shutil.copytree(cfg.paths.work_dir / "reports", work / "reports")
    events = read_events_frame(cfg.paths.clean_events)
    template = events[events["role"] == "contact"].iloc[[0]]
    extra = []
    for i, user in enumerate(chosen):  # at the cutoff: a contact of this campaign and a purchase
        extra.append(template.assign(user_id=user, ts=cutoff + pd.Timedelta(hours=1), campaign_id=campaign,
                                     event_type="coupon_push", event_id=f"x{i}"))
        extra.append(template.assign(user_id=user, ts=cutoff, event_type="purchase", role="purchase", amount=50.0,
                                     campaign_id=None, event_id=f"y{i}"))
    # The clean events written out whole (the folder may be a view over the source), plus the extra rows.
    shutil.rmtree(work / "clean" / "events")
    (work / "clean" / "events").mkdir()
    events.to_parquet(work / "clean" / "events" / "part-0.parquet")
    pd.concat(extra).astype(events.dtypes.to_dict()).to_parquet(work / "clean" / "events" / "extra.parquet")
    moved = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"work": str(work)})})
    again, _ = load_trainset(build_uplift_trainset(moved, "uplift_purchase").path)
    features = [f["name"] for f in manifest["features"]]
    key = ["campaign_id", "user_id"]
    before = frame[frame["cutoff"] <= cutoff].set_index(key).sort_index()
    after = again[again["cutoff"] <= cutoff].set_index(key).sort_index()
    pd.testing.assert_frame_equal(after[features], before[features])
    changed = after.loc[[(campaign, u) for u in chosen]]
    assert (changed["treatment"] == "coupon_push").all() and (changed["label"] == 1).all()


def test_split_campaigns_refuses_too_few_and_arms_check_names_one_arm_campaigns():
    campaigns = pd.DataFrame({"campaign_id": [f"c{i}" for i in range(6)],
                              "cutoff": [pd.Timestamp(date(2025, 1, 1) + timedelta(days=10 * i)) for i in range(6)]})
    splits = split_campaigns(campaigns, UpliftConfig(n_valid_campaigns=2, n_test_campaigns=2), horizon_days=7)
    assert splits == {"train": ("c0", "c1"), "valid": ("c2", "c3"), "test": ("c4", "c5")}
    with pytest.raises(GridError, match="n_valid_campaigns"):
        split_campaigns(campaigns, UpliftConfig(n_valid_campaigns=4, n_test_campaigns=2), horizon_days=7)
    population = pd.DataFrame({"user_id": ["a", "b", "c", "a", "b", "c"], "label": [0, 1, 0, 1, 1, 0],
                               "cutoff": [campaigns["cutoff"][0]] * 3 + [campaigns["cutoff"][1]] * 3})
    assignments = pd.DataFrame({"campaign_id": ["c0", "c1", "c1", "c1"], "user_id": ["a", "a", "b", "c"],
                                "treatment": ["msg", "msg", "msg", "sms"]})
    rows = campaign_rows(population, campaigns.head(2), assignments, ["msg"])
    assert rows[rows["campaign_id"] == "c0"].set_index("user_id")["treatment"].to_dict() == \
        {"a": "msg", "b": "control", "c": "control"}
    assert "c" not in set(rows.loc[rows["campaign_id"] == "c1", "user_id"])  # another treatment: no arm here
    kept, skipped = arms_check(rows, min_arm_rows=1)
    assert kept == ["c0"] and skipped[0].campaign_id == "c1" and "one arm" in skipped[0].reason
    p = with_propensity(rows[rows["campaign_id"] == "c0"], clip=0.4)
    assert p.set_index("user_id")["propensity"].to_dict() == {"a": 0.4, "b": 0.6, "c": 0.6}


def test_a_recorded_skip_is_a_reason_until_the_task_is_built_again(built):
    from siyu.io.workspace import mark_uplift_skipped, supported_tasks

    cfg, _, _ = built
    mark_uplift_skipped(cfg, "uplift_purchase", "uplift_purchase: no uplift training set: too few campaigns")
    assert supported_tasks(cfg, ["purchase_intent", "uplift_purchase"]) == (
        ["purchase_intent"], {"uplift_purchase": "uplift_purchase: no uplift training set: too few campaigns"})
    build_uplift_trainset(cfg, "uplift_purchase")  # a named build tries again and clears it
    assert supported_tasks(cfg, ["uplift_purchase"]) == (["uplift_purchase"], {})
