"""Benchmark: at the same budget, how much TRUE incremental value does the contact plan bring,
against contacting the top churn-risk users and against contacting at random? (issue 15, item 7)

One generated world (the demo's size by default), run through siyu's own commands in a fresh
project (generate, validate, trainset for `churn` and `uplift_purchase`, train LightGBM for churn
and the configured uplift models as `make demo` does, promote). Then, on the uplift task's held-out TEST campaigns
(the latest ones, never seen by training or model choice), for every eligible user at each
campaign's cutoff:

- plan: `siyu.decisions.solve_plan` on the uplift champion's predicted effects (gain = uplift ×
  value − cost per treatment, one budget per campaign), exactly as `siyu target` plans;
- top churn: the users with the highest churn champion score (among those it scores: active in
  the last 30 days) get one treatment, in score order, until the budget is spent;
- random: users drawn at random get one treatment until the budget is spent (its exact expectation);
- oracle: the plan solved on the true effects (the best any model could do; a ceiling).

The baselines get whichever single treatment (message or coupon) gives THEM more true value
(chosen with the truth: generous to them). True value of a policy = Σ over contacted users of
(true effect of their treatment × value − cost), the true effects being the generator's exact
per-user effects (`truth/uplift.parquet`, `tau_any_purchase_7d__<treatment>`). Intervals: 95 %
percentile intervals over 1,000 Poisson bootstrap resamples of users (decisions held fixed),
for each policy's value and for the ratios plan / top churn and plan / random.

Budgets: the cost of a plain message to 5 %, 10 % and 20 % of each campaign's eligible users.
SIYU_BENCH_SCALE scales the users (default 6,000 over 365 days, seed 7); SIYU_PLAN_VALUE_DIR
keeps the project (world, models) in that folder and reuses it on the next run.
Writes benchmarks/results/plan_value.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks._util import load_average, scale, write_result

ROOT = Path(__file__).resolve().parents[1]
USERS, DAYS, SEED = 6000, 365, 7
TASK, LABEL, HORIZON = "uplift_purchase", "any_purchase", 7
TREATMENTS = ("campaign_contact", "coupon_push")
VALUE = 50.0  # money one incremental purchase is worth (margin × order value)
COSTS = {"campaign_contact": 0.3, "coupon_push": 2.5}
BUDGET_SHARES = (0.05, 0.10, 0.20)  # budget = a message to this share of the eligible users
N_BOOT = 1000


def _siyu(*args: str, config: Path) -> None:
    siyu = str(Path(sys.executable).with_name("siyu"))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    proc = subprocess.run([siyu, *args, "--config", str(config)], capture_output=True, text=True, env=env,
                          cwd=config.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"siyu {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    print(f"  siyu {' '.join(args):<50} {time.perf_counter() - start:6.1f}s", flush=True)


def make_project(root: Path, users: int, days: int) -> Path:
    """A fresh project under `root` with the repo's configs: churn and the uplift task, models trained."""
    shutil.copytree(ROOT / "configs", root / "configs")
    config = yaml.safe_load((ROOT / "configs" / "siyu.yaml").read_text(encoding="utf-8"))
    config.update({
        "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "tasks": [{"name": "churn", "horizon_days": 30},
                  {"name": TASK, "horizon_days": HORIZON, "label": LABEL, "treatments": list(TREATMENTS)}],
        "training": {"plots": False, "n_jobs": 2, "n_bootstrap": 100},
        "segments": {"enabled": False}, "playbook_path": None,
    })
    config.pop("operations", None)
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    dataset = yaml.safe_load((root / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    if "history" in dataset["users"]:  # the member level's history of changes, read as of each cutoff
        dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    (root / "configs" / "datasets" / "synthetic.yaml").write_text(yaml.safe_dump(dataset, allow_unicode=True),
                                                                  encoding="utf-8")
    siyu = str(Path(sys.executable).with_name("siyu"))
    subprocess.run([siyu, "generate", "--users", str(users), "--days", str(days), "--seed", str(SEED),
                    "--out", str(root / "world")], check=True, capture_output=True, cwd=root)
    _siyu("validate", config=path)
    for task in ("churn", TASK):
        _siyu("trainset", "--task", task, config=path)
    _siyu("train", "--task", "churn", "--model", "lightgbm", config=path)
    _siyu("train", "--task", TASK, "--model", "all", config=path)  # the configured uplift models, as `make demo`
    for task in ("churn", TASK):
        _siyu("promote", "--task", task, config=path)
    return path


def evaluation_rows(config: Path) -> tuple[pd.DataFrame, dict]:
    """One row per (test campaign, eligible user): predicted uplift, churn score, true effects."""
    from siyu.cli._config import load_config
    from siyu.features import build_features
    from siyu.io.workspace import clean_history, clean_inputs, connect_work
    from siyu.scoring import task_populations
    from siyu.tracking import list_versions, load_champion
    from siyu.trainsets import load_trainset

    cfg = load_config(config)
    frame, manifest = load_trainset(cfg.paths.trainsets_dir / TASK)
    test = frame[frame["split"].astype(str) == "test"].reset_index(drop=True)
    uplift = load_champion(TASK, cfg.tracking)
    rows = test[["user_id", "cutoff", "campaign_id"]].assign(user_id=lambda d: d["user_id"].astype(str))
    models = {}
    for version in list_versions(TASK, cfg.tracking):  # the champion as `pred`, every version as `pred_<model>`
        model = load_champion(TASK, cfg.tracking, version=version.version)
        predicted = model.estimator.predict_uplift(test[list(model.feature_names)])
        order = list(model.estimator.treatments_)
        models[version.model] = version.version
        rows = rows.assign(**{f"pred_{version.model}__{t}": predicted[:, order.index(t)] for t in TREATMENTS})
        if version.version == str(uplift.model_version):
            rows = rows.assign(**{f"pred__{t}": predicted[:, order.index(t)] for t in TREATMENTS})

    churn = load_champion("churn", cfg.tracking)
    cutoffs = sorted(pd.Timestamp(c).date() for c in rows["cutoff"].unique())
    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        features = build_features(con, churn.feature_specs, events, users, cutoffs, history=clean_history(cfg))
    finally:
        con.close()
    in_population = task_populations(features, [cfg.task("churn")], churn.feature_specs.recency_of("activity"))["churn"]
    scores = np.full(len(features), np.nan)
    scores[in_population] = churn.predict_score(features.loc[in_population])
    churn_frame = pd.DataFrame({"user_id": features["user_id"].astype(str), "cutoff": pd.to_datetime(features["cutoff"]),
                                "churn_score": scores})
    rows = rows.assign(cutoff=pd.to_datetime(rows["cutoff"])).merge(churn_frame, on=["user_id", "cutoff"], how="left")

    truth = pd.read_parquet(cfg.paths.truth_dir / "uplift.parquet")
    taus = [f"tau_{LABEL}_{HORIZON}d__{t}" for t in TREATMENTS]
    truth = truth[truth["campaign_id"].isin(rows["campaign_id"].unique())][["user_id", "campaign_id", *taus]]
    rows = rows.merge(truth.assign(user_id=truth["user_id"].astype(str)), on=["user_id", "campaign_id"], how="left")
    missing = int(rows[taus[0]].isna().sum())
    if missing:
        raise RuntimeError(f"{missing} eligible rows without a true effect in truth/uplift.parquet")
    info = {"uplift_champion": f"{uplift.model_name} v{uplift.model_version} ({uplift.model})",
            "churn_champion": f"{churn.model_name} v{churn.model_version} ({churn.model})", "uplift_models": models,
            "test_campaigns": sorted(rows["campaign_id"].unique().tolist()), "rows": len(rows)}
    return rows.rename(columns=dict(zip(taus, [f"tau__{t}" for t in TREATMENTS], strict=True))), info


def _true_gain(rows: pd.DataFrame) -> np.ndarray:
    """(n, T) true expected incremental value of each treatment per row."""
    costs = np.array([COSTS[t] for t in TREATMENTS])
    return rows[[f"tau__{t}" for t in TREATMENTS]].to_numpy() * VALUE - costs


def policies(rows: pd.DataFrame, budget_share: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per policy, each row's true gain under it (0 when not contacted; random: its expectation)."""
    from siyu.decisions import NONE, expected_gains, solve_plan

    costs = np.array([COSTS[t] for t in TREATMENTS])
    truth = _true_gain(rows)
    models = sorted({c.split("__")[0].removeprefix("pred_") for c in rows.columns if c.startswith("pred_") and not c.startswith("pred__")})
    out = {name: np.zeros(len(rows)) for name in ("plan", "oracle", *(f"plan[{m}]" for m in models))}
    baselines = {f"{name}:{t}": np.zeros(len(rows)) for name in ("top_churn", "random") for t in TREATMENTS}
    for _, idx in rows.groupby("campaign_id").indices.items():
        part = rows.iloc[idx]
        budget = budget_share * len(part) * COSTS["campaign_contact"]
        def gains(prefix: str, part: pd.DataFrame = part) -> np.ndarray:
            return expected_gains(part[[f"{prefix}__{t}" for t in TREATMENTS]].to_numpy(), np.full(len(part), VALUE),
                                  costs)

        for name, gain in (("plan", gains("pred")), ("oracle", truth[idx]),
                           *((f"plan[{m}]", gains(f"pred_{m}")) for m in models)):
            choice = solve_plan(gain, costs, budget=budget).choice
            chosen = choice != NONE
            out[name][idx[chosen]] = truth[idx[chosen], choice[chosen]]
        ranked = part["churn_score"].fillna(-np.inf).to_numpy().argsort(kind="stable")[::-1]
        scored = int(part["churn_score"].notna().sum())
        for j, t in enumerate(TREATMENTS):
            k = min(int(budget // COSTS[t]), len(part))
            top = ranked[:min(k, scored)]
            baselines[f"top_churn:{t}"][idx[top]] = truth[idx[top], j]
            baselines[f"random:{t}"][idx] = truth[idx, j] * (k / len(part))  # the expectation of a random k
    for name in ("top_churn", "random"):  # the baseline's better treatment, judged by the truth
        best = max(TREATMENTS, key=lambda t, name=name: baselines[f"{name}:{t}"].sum())
        out[name] = baselines[f"{name}:{best}"]
        out[f"{name}_treatment"] = best  # type: ignore[assignment]
    return out


def bootstrap(values: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, list[float]]:
    """95 % intervals of each policy's total and of the plan's ratios, over Poisson resamples of rows."""
    names = [k for k, v in values.items() if isinstance(v, np.ndarray)]
    stacked = np.vstack([values[k] for k in names])  # (policies, n)
    totals = np.zeros((N_BOOT, len(names)))
    for b in range(N_BOOT):
        weights = rng.poisson(1.0, stacked.shape[1])
        totals[b] = stacked @ weights
    out = {name: np.percentile(totals[:, i], [2.5, 97.5]).tolist() for i, name in enumerate(names)}
    plan = totals[:, names.index("plan")]
    for base in ("top_churn", "random"):
        ratio = plan / totals[:, names.index(base)]
        out[f"plan_over_{base}"] = np.percentile(ratio, [2.5, 97.5]).tolist()
        out[f"plan_minus_{base}"] = np.percentile(plan - totals[:, names.index(base)], [2.5, 97.5]).tolist()
    return out


def main() -> None:
    users = max(500, int(USERS * scale()))
    load_before = load_average()
    start = time.perf_counter()
    keep = os.environ.get("SIYU_PLAN_VALUE_DIR")  # a folder to build the project in once and reuse
    with tempfile.TemporaryDirectory(prefix="siyu-plan-value-") as tmp:
        root = Path(keep) if keep else Path(tmp)
        print(f"plan value: world of {users:,} users over {DAYS} days (seed {SEED}), load {load_before}")
        config = root / "siyu.yaml"
        reused = config.exists()
        if not reused:
            root.mkdir(parents=True, exist_ok=True)
            config = make_project(root, users, DAYS)
        rows, info = evaluation_rows(config)
    rng = np.random.default_rng(0)
    results = []
    print(f"\nheld-out test campaigns {info['test_campaigns']}: {info['rows']:,} eligible user rows")
    print(f"uplift champion {info['uplift_champion']}; churn champion {info['churn_champion']}")
    print(f"value {VALUE} per incremental purchase; costs {COSTS}")
    header = f"{'budget':>8} {'policy':<18}{'true value':>12} {'95 % interval':>24} {'contacted':>10}"
    print("\n" + header + "\n" + "-" * len(header))
    for share in BUDGET_SHARES:
        values = policies(rows, share, rng)
        intervals = bootstrap(values, rng)
        budget = share * info["rows"] * COSTS["campaign_contact"]
        entry = {"budget_share": share, "budget": budget, "policies": {}}
        names = ["plan", *sorted(k for k in values if k.startswith("plan[")), "oracle", "top_churn", "random"]
        for name in names:
            total = float(values[name].sum())
            low, high = intervals[name]
            contacted = int((values[name] != 0).sum()) if name != "random" else None
            label = f"{name}({values[f'{name}_treatment'].split('_')[0]})" if name in ("top_churn", "random") else name
            print(f"{share:>8.0%} {label:<18}{total:>12,.1f} {f'[{low:,.1f}, {high:,.1f}]':>24} "
                  f"{'' if contacted is None else f'{contacted:,}':>10}")
            entry["policies"][name] = {"true_value": total, "ci": [low, high], "contacted": contacted,
                                       "treatment": values.get(f"{name}_treatment")}
        for base in ("top_churn", "random"):
            # a ratio means something only over a positive baseline; the difference always does
            ratio = float(values["plan"].sum() / values[base].sum()) if values[base].sum() > 0 else None
            low, high = intervals[f"plan_over_{base}"]
            d_low, d_high = intervals[f"plan_minus_{base}"]
            diff = float(values["plan"].sum() - values[base].sum())
            entry[f"plan_over_{base}"] = {"ratio": ratio, "ci": [low, high] if ratio is not None else None}
            entry[f"plan_minus_{base}"] = {"difference": diff, "ci": [d_low, d_high]}
            ratio_text = f"{ratio:>6.2f}x [{low:.2f}, {high:.2f}]" if ratio is not None else "   n/a (baseline <= 0)"
            print(f"{'':>8} plan vs {base:<10} {ratio_text}; difference {diff:+,.1f} [{d_low:+,.1f}, {d_high:+,.1f}]")
        results.append(entry)
    seconds = time.perf_counter() - start
    load_after = load_average()
    print(f"\n{seconds:.0f}s, load before/after {load_before}/{load_after}")
    write_result("plan_value", {"users": users, "days": DAYS, "seed": SEED, "value": VALUE, "costs": COSTS,
                                "n_boot": N_BOOT, **info, "budgets": results, "seconds": seconds,
                                "project_reused": reused,  # then `seconds` is the evaluation alone
                                "load_before": load_before, "load_after": load_after})


if __name__ == "__main__":
    main()
