"""Readout coverage benchmark (issue 15, item 7): does the readout's 95 % interval cover the true
average effect?

Generated worlds (seeds 101, 102, ...; 3,000 users x 240 days each, SIYU_BENCH_SCALE scales the
users) are validated and their campaigns read out with `siyu.jobs.experiment.read_campaign`, oldest
first, until 50 campaigns have a readable purchase window. Every campaign randomizes a plain message
and a coupon with known propensities, so each gives two intervals per metric (message vs control,
coupon vs control). The truth of one interval is the mean of `tau_<label>_<h>d__<treatment>` in
`truth/uplift.parquet` over the campaign's eligible users (the rows of that campaign: users joined
before its cutoff, the readout's population). Reported: the share of intervals covering it (target
>= 90 % for the purchase rate, 7 d), plain and CUPED, per metric whose horizon matches a truth
column; the SRM pass rate; mean interval widths; seconds per readout; the 1-minute load.
A world without `truth/uplift.parquet` is reported as "no truth" (no coverage computed).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks._util import load_average, scale, write_result
from siyu.cli._config import load_config
from siyu.jobs.experiment import HorizonNotPassed, NoEligibleUsers, list_campaigns, read_campaign
from siyu.jobs.generate import generate_world
from siyu.jobs.validate import validate_dataset

REPO = Path(__file__).resolve().parents[1]
N_CAMPAIGNS = 50
SEEDS = (101, 102, 103, 104, 105, 106)
DAYS = 240
HORIZONS = {"purchase_rate": 7, "retention": 30, "spend_per_user": 90}  # the truth's own horizons


def _project(root: Path, world: Path) -> Path:
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(world / "events")
    dataset["users"]["source"]["path"] = str(world / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(world / "member_level_history.parquet")
    config = {
        "dataset": dataset, "feature_specs_path": str(REPO / "configs" / "features.yaml"),
        "paths": {"world": str(world), "work": str(root / "work")},
        "scoring": {"tag_store_url": f"duckdb:///{root}/tags.duckdb"},
        "experiments": {"horizons": HORIZONS},
        "threads": 1,
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _truth_means(truth: pd.DataFrame, campaign: str) -> tuple[dict[str, float], int]:
    rows = truth[truth["campaign_id"] == campaign]
    return {c: float(rows[c].mean()) for c in truth.columns if c.startswith("tau_")}, len(rows)


def _share_interval(hits: int, n: int) -> tuple[float, float]:
    """A 95 % Wilson interval for a coverage share (the campaigns of one world share users, so read it
    as a lower bound on the uncertainty)."""
    z = 1.959964
    p = hits / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _intervals(readout, truth_means: dict[str, float]) -> list[dict]:  # noqa: ANN001 - a Readout
    out = []
    for m in readout.metrics:
        column = f"tau_{m.label}_{m.horizon_days}d__{m.treatment}"
        if m.lift is None or column not in truth_means:
            continue
        true = truth_means[column]
        cup = m.cuped.lift if m.cuped is not None else None
        out.append({
            "campaign": readout.source, "treatment": m.treatment, "metric": m.metric, "truth": true,
            "estimate": m.lift.absolute, "low": m.lift.absolute_low, "high": m.lift.absolute_high,
            "covered": m.lift.absolute_low <= true <= m.lift.absolute_high,
            "cuped_estimate": None if cup is None else cup.absolute,
            "cuped_covered": None if cup is None else cup.absolute_low <= true <= cup.absolute_high,
            "width": m.lift.absolute_high - m.lift.absolute_low,
            "cuped_width": None if cup is None else cup.absolute_high - cup.absolute_low,
            "n_treatment": m.lift.n_treatment, "n_control": m.lift.n_control,
        })
    return out


def main() -> None:
    users = max(600, int(3000 * scale()))
    rows, srm, seconds, worlds, no_truth, mismatched = [], [], [], [], [], 0
    read = 0
    with tempfile.TemporaryDirectory(prefix="siyu-readout-bench-") as tmp:
        for seed in SEEDS:
            if read >= N_CAMPAIGNS:
                break
            root = Path(tmp) / f"seed{seed}"
            generate_world(users=users, days=DAYS, seed=seed, out=root / "world")
            cfg = load_config(_project(root, root / "world"))
            validate_dataset(cfg)
            truth_path = root / "world" / "truth" / "uplift.parquet"
            truth = pd.read_parquet(truth_path) if truth_path.exists() else None
            if truth is None:
                no_truth.append(seed)
            worlds.append(seed)
            for campaign in list_campaigns(cfg)["campaign_id"].astype(str):
                if read >= N_CAMPAIGNS:
                    break
                start = time.perf_counter()
                try:
                    readout = read_campaign(cfg, campaign).readout
                except (HorizonNotPassed, NoEligibleUsers):
                    continue
                seconds.append(time.perf_counter() - start)
                read += 1
                if readout.srm is not None:
                    srm.append(readout.srm.passed)
                if truth is not None:
                    means, n_truth = _truth_means(truth, campaign)
                    mismatched += n_truth != sum(readout.arms.values())
                    rows += _intervals(readout, means)
    load = load_average()
    out = {"campaigns": read, "worlds": worlds, "users_per_world": users, "days": DAYS, "load_1min": load,
           "seconds_per_readout_median": float(np.median(seconds)) if seconds else None,
           "srm_checks": len(srm), "srm_pass_rate": float(np.mean(srm)) if srm else None}
    print(f"{read} campaigns read out from {len(worlds)} worlds ({users:,} users x {DAYS} days), "
          f"{out['seconds_per_readout_median'] or 0:.2f} s per readout (median), load {load}")
    if srm:
        print(f"SRM check passed in {sum(srm)} of {len(srm)} readouts ({out['srm_pass_rate']:.1%}; alpha 0.001)")
    if no_truth:
        print(f"no truth: worlds {no_truth} have no truth/uplift.parquet; coverage not computed")
        out["no_truth"] = no_truth
    if rows:
        frame = pd.DataFrame(rows)
        if mismatched:
            print(f"warning: {mismatched} campaigns whose truth rows differ in number from the readout's population")
        out["population_mismatches"] = int(mismatched)
        table = []
        print(f"\n{'metric':16s} {'treatment':18s} {'intervals':>9s} {'covered':>8s} {'CUPED':>8s} "
              f"{'(of)':>5s} {'truth (mean)':>12s} {'width':>9s} {'CUPED width':>11s}")
        for (metric, treatment), g in frame.groupby(["metric", "treatment"], sort=False):
            row = {"metric": metric, "treatment": treatment, "intervals": len(g),
                   "coverage": float(g["covered"].mean()),
                   "cuped_intervals": int(g["cuped_covered"].notna().sum()),
                   "cuped_coverage": float(g["cuped_covered"].dropna().astype(bool).mean()),
                   "truth_mean": float(g["truth"].mean()), "mean_width": float(g["width"].mean()),
                   "mean_cuped_width": float(g["cuped_width"].dropna().mean())}
            table.append(row)
            print(f"{metric:16s} {treatment:18s} {row['intervals']:9d} {row['coverage']:8.1%} "
                  f"{row['cuped_coverage']:8.1%} {row['cuped_intervals']:5d} {row['truth_mean']:12.4f} {row['mean_width']:9.4f} "
                  f"{row['mean_cuped_width']:11.4f}")
        purchase = frame[frame["metric"] == "purchase_rate"]
        out["by_metric"] = table
        out["purchase_rate_coverage"] = float(purchase["covered"].mean()) if len(purchase) else None
        out["purchase_rate_cuped_coverage"] = float(purchase["cuped_covered"].dropna().astype(bool).mean())
        out["purchase_rate_cuped_intervals"] = int(purchase["cuped_covered"].notna().sum())
        out["purchase_rate_intervals"] = len(purchase)
        z = (purchase["estimate"] - purchase["truth"]) / (purchase["width"] / (2 * 1.959964))
        out["purchase_rate_mean_z"] = float(z.mean())
        verdict = "meets" if (out["purchase_rate_coverage"] or 0) >= 0.9 else "MISSES"
        low, high = _share_interval(int(purchase["covered"].sum()), len(purchase))
        out["purchase_rate_coverage_ci"] = [low, high]
        print(f"\npurchase rate (7 d): {out['purchase_rate_coverage']:.1%} [{low:.1%}, {high:.1%}] of {len(purchase)} "
              f"intervals cover the true average effect ({verdict} the >= 90 % target; CUPED "
              f"{out['purchase_rate_cuped_coverage']:.1%} of {out['purchase_rate_cuped_intervals']}); mean z of the estimate against the truth "
              f"{out['purchase_rate_mean_z']:+.2f}")
    write_result("readout_coverage", out)


if __name__ == "__main__":
    main()
