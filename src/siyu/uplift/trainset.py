"""Uplift training sets from randomized campaigns, as pure functions of frames and dates.

A row is a user eligible at a campaign's cutoff (the uplift task's population there) with the
treatment they got in it ("control" when none), the assignment propensity, and the label over
[cutoff, cutoff + horizon). Campaigns split by time like the cutoff grid, purged by the horizon:
test = the latest campaigns whose horizon ends inside the data, valid = the latest whose label
window ends by the first test cutoff, train = those whose window ends by the first valid cutoff.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from siyu.config import UpliftConfig
from siyu.trainsets.grid import SPLITS, GridError

CONTROL = "control"
UPLIFT_COLUMNS: tuple[str, ...] = ("user_id", "cutoff", "campaign_id", "split", "treatment", "propensity", "label")


@dataclass(frozen=True)
class SkippedCampaign:
    """A campaign left out of the training set, and why (one line)."""

    campaign_id: str
    reason: str


def usable_campaigns(campaigns: pd.DataFrame, treatments: Sequence[str], *, first_event: date, data_end: date,
                     horizon_days: int, min_history_days: int) -> tuple[pd.DataFrame, list[SkippedCampaign]]:
    """(`campaign_id, cutoff` of the campaigns that contacted with one of `treatments`, have
    `min_history_days` of history before them and whose label window ends inside the data,
    by cutoff; the others with the reason). `campaigns`: `siyu.uplift.campaigns.campaigns_sql` rows."""
    kept, skipped = [], []
    earliest = pd.Timestamp(first_event + timedelta(days=min_history_days))
    latest = pd.Timestamp(data_end - timedelta(days=horizon_days))
    wanted = set(treatments)
    for row in campaigns.sort_values(["cutoff", "campaign_id"]).itertuples(index=False):
        cutoff = pd.Timestamp(row.cutoff)
        if not wanted & set(row.treatments):
            continue  # another kind of campaign: not this task's
        if cutoff < earliest:
            skipped.append(SkippedCampaign(row.campaign_id, f"cutoff {cutoff.date()} has less than "
                                           f"{min_history_days} days of history before it"))
        elif cutoff > latest:
            skipped.append(SkippedCampaign(row.campaign_id, f"its {horizon_days}-day outcome window ends after the "
                                           f"data (cutoff {cutoff.date()})"))
        else:
            kept.append({"campaign_id": row.campaign_id, "cutoff": cutoff})
    return pd.DataFrame(kept, columns=["campaign_id", "cutoff"]), skipped


def campaign_rows(population: pd.DataFrame, campaigns: pd.DataFrame, assignments: pd.DataFrame,
                  treatments: Sequence[str]) -> pd.DataFrame:
    """`user_id, cutoff, campaign_id, treatment, label`: each campaign's eligible users (the
    `population` rows at its cutoff, with their label) and their treatment, "control" for the
    uncontacted. A user contacted with a type outside `treatments`, or by another campaign on the
    same cutoff, belongs to no arm of this campaign and is left out."""
    rows = campaigns.merge(population, on="cutoff", how="inner")
    got = assignments[["campaign_id", "user_id", "treatment"]]
    rows = rows.merge(got, on=["campaign_id", "user_id"], how="left")
    # contacted by a sibling campaign of the same day: neither treated here nor a clean control
    same_day = assignments.merge(campaigns, on="campaign_id")[["user_id", "cutoff", "campaign_id"]]
    sibling = rows[["user_id", "cutoff", "campaign_id"]].merge(same_day, on=["user_id", "cutoff"], suffixes=("", "_o"))
    sibling = sibling[sibling["campaign_id"] != sibling["campaign_id_o"]][["user_id", "campaign_id"]].drop_duplicates()
    rows = rows.merge(sibling.assign(_sibling=True), on=["user_id", "campaign_id"], how="left")
    control = rows["treatment"].isna() & rows["_sibling"].isna()
    rows = rows.assign(treatment=rows["treatment"].where(~control, CONTROL))
    rows = rows[rows["treatment"].isin([CONTROL, *treatments])]
    out = rows[["user_id", "cutoff", "campaign_id", "treatment", "label"]]
    return out.sort_values(["cutoff", "campaign_id", "user_id"], ignore_index=True)


def arms_check(rows: pd.DataFrame, min_arm_rows: int) -> tuple[list[str], list[SkippedCampaign]]:
    """(campaign ids with control and at least one treatment of `min_arm_rows` rows or more, in
    cutoff order; the others with the reason, e.g. a campaign that contacted everyone)."""
    kept, skipped = [], []
    counts = rows.groupby(["campaign_id", "treatment"], sort=False).size()
    order = rows.drop_duplicates("campaign_id").sort_values(["cutoff", "campaign_id"])["campaign_id"]
    for campaign in order:
        arms = counts.loc[campaign].to_dict()
        treated = {t: n for t, n in arms.items() if t != CONTROL}
        n_control = arms.get(CONTROL, 0)
        if n_control < min_arm_rows or not any(n >= min_arm_rows for n in treated.values()):
            shown = ", ".join(f"{t} {n}" for t, n in sorted(arms.items()))
            skipped.append(SkippedCampaign(campaign, f"one arm only or too small ({shown}; need control and a "
                                                     f"treatment with {min_arm_rows}+ rows each)"))
        else:
            kept.append(campaign)
    return kept, skipped


def split_campaigns(campaigns: pd.DataFrame, cfg: UpliftConfig, *, horizon_days: int) -> dict[str, tuple[str, ...]]:
    """{'train', 'valid', 'test'}: campaign ids, purged by the horizon like `split_cutoffs`: the
    latest `n_test_campaigns` test; valid the latest whose outcome window ends by the first test
    cutoff; train (up to `n_train_campaigns`, at least one) those whose window ends by the first
    valid cutoff. `campaigns`: `campaign_id, cutoff` of usable campaigns."""
    ordered = campaigns.sort_values(["cutoff", "campaign_id"], ignore_index=True)
    h = pd.Timedelta(days=horizon_days)
    advice = (f"{len(ordered)} usable campaign(s) with both arms; a purged split needs {cfg.n_test_campaigns} test + "
              f"{cfg.n_valid_campaigns} valid + 1 train campaign with two {horizon_days}-day gaps: use a longer "
              "history or fewer uplift.n_valid_campaigns / n_test_campaigns")
    if len(ordered) < cfg.n_test_campaigns:
        raise GridError(f"uplift split: {advice}")
    test = ordered.iloc[len(ordered) - cfg.n_test_campaigns:]
    valid_pool = ordered[ordered["cutoff"] + h <= test["cutoff"].min()]
    if len(valid_pool) < cfg.n_valid_campaigns + 1:
        raise GridError(f"uplift split: {len(valid_pool)} campaign(s) end their outcome window by the first test "
                        f"cutoff {test['cutoff'].min().date()}; {advice}")
    valid = valid_pool.iloc[len(valid_pool) - cfg.n_valid_campaigns:]
    train_pool = valid_pool[valid_pool["cutoff"] + h <= valid["cutoff"].min()]
    if train_pool.empty:
        raise GridError(f"uplift split: no campaign ends its outcome window by the first valid cutoff "
                        f"{valid['cutoff'].min().date()}; {advice}")
    train = train_pool.iloc[max(0, len(train_pool) - cfg.n_train_campaigns):]
    return {"train": tuple(train["campaign_id"]), "valid": tuple(valid["campaign_id"]), "test": tuple(test["campaign_id"])}


def split_dates(rows: pd.DataFrame, splits: dict[str, tuple[str, ...]]) -> dict[str, tuple[date, ...]]:
    """The distinct cutoffs of each split's campaigns (what the manifest and the purge check read)."""
    cut = rows.drop_duplicates("campaign_id").set_index("campaign_id")["cutoff"]
    return {name: tuple(sorted({pd.Timestamp(cut[c]).date() for c in ids})) for name, ids in splits.items()}


def with_propensity(rows: pd.DataFrame, clip: float) -> pd.DataFrame:
    """`rows` with `propensity`: per campaign, the share of its eligible rows that got the row's
    treatment (a control row: the share left uncontacted), clipped to [clip, 1 - clip]. In a
    completely randomized campaign this is the assignment probability, estimated."""
    n = rows.groupby("campaign_id")["user_id"].transform("size")
    arm = rows.groupby(["campaign_id", "treatment"])["user_id"].transform("size")
    return rows.assign(propensity=np.clip(arm / n, clip, 1 - clip).astype("float64"))


def propensity_table(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Per campaign: cutoff, rows and each arm's share (the manifest's `propensity`)."""
    out = []
    for campaign, part in rows.groupby("campaign_id", sort=False):
        shares = part["treatment"].value_counts(normalize=True).sort_index()
        out.append({"campaign_id": str(campaign), "cutoff": pd.Timestamp(part["cutoff"].iloc[0]).date().isoformat(),
                    "rows": int(len(part)), "split": str(part["split"].iloc[0]) if "split" in part else "",
                    "shares": {str(t): round(float(s), 6) for t, s in shares.items()}})
    return out


def arm_stats(rows: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """{split: {arm: {rows, label_mean}}}: the raw outcome per arm (the naive effect is their gap)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for split in SPLITS:
        part = rows[rows["split"].astype(str) == split]
        out[split] = {str(t): {"rows": int(len(g)), "label_mean": float(g["label"].mean())}
                      for t, g in part.groupby("treatment", sort=True)}
    return out


def overlap_auc(rows: pd.DataFrame, features: Sequence[str], treatment: str, *, seed: int = 0,
                max_rows: int = 40_000) -> float:
    """How well the features tell `treatment` rows from control rows of the same campaign: the
    out-of-fold AUC (2 folds) of a small LightGBM classifier, averaged over campaigns weighted
    by rows. About 0.5 under randomized assignment; well above it means the arms differ
    (targeted contacts, a broken control), and effect estimates lean on the model."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    part = rows[rows["treatment"].isin([CONTROL, treatment])]
    if len(part) > max_rows:
        part = part.sample(max_rows, random_state=seed)
    y = (part["treatment"] == treatment).to_numpy(dtype=float)
    if len(np.unique(y)) < 2 or len(part) < 50:
        return float("nan")
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, 2, len(part))
    oof = np.zeros(len(part))
    X = part[list(features)]
    params = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 50,
              "verbosity": -1, "num_threads": 1, "seed": seed, "deterministic": True, "force_col_wise": True}
    for k in (0, 1):
        train, test = fold != k, fold == k
        if len(np.unique(y[train])) < 2 or not test.any():
            return float("nan")
        booster = lgb.train(params, lgb.Dataset(X[train], label=y[train]), num_boost_round=60)
        oof[test] = booster.predict(X[test])
    scored = part.assign(_y=y, _s=oof)
    total, weight = 0.0, 0
    for _, g in scored.groupby("campaign_id", sort=False):
        if g["_y"].nunique() == 2:
            total += roc_auc_score(g["_y"], g["_s"]) * len(g)
            weight += len(g)
    return total / weight if weight else float("nan")


def overlap_report(rows: pd.DataFrame, features: Sequence[str], treatments: Sequence[str], cfg: UpliftConfig,
                   *, seed: int = 0, n_jobs: int = 1) -> tuple[dict[str, float], list[str]]:
    """({treatment: overlap AUC}, warnings for those above `cfg.overlap_auc_warn`); the treatments'
    classifiers (one thread each, so the same AUCs) fit `n_jobs` at a time."""
    from siyu.models.threads import side_by_side

    values = side_by_side([functools.partial(overlap_auc, rows, features, t, seed=seed) for t in treatments], n_jobs)
    aucs = dict(zip(treatments, values, strict=True))
    warnings = [f"{t}: a classifier tells treated from control rows with AUC {a:.3f} (> {cfg.overlap_auc_warn}): "
                "the arms differ in their features, so the assignment was probably not random; effect "
                "estimates lean on the model" for t, a in aucs.items() if a == a and a > cfg.overlap_auc_warn]
    return {t: round(float(a), 6) for t, a in aucs.items()}, warnings


__all__ = ["CONTROL", "UPLIFT_COLUMNS", "SkippedCampaign", "arm_stats", "arms_check", "campaign_rows",
           "overlap_auc", "overlap_report", "propensity_table", "split_campaigns", "split_dates",
           "usable_campaigns", "with_propensity"]
