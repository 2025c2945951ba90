"""Benchmark: batch scoring of 1M users (target < 60 s end to end, peak memory < 4 GB).

Two measurements, each in a fresh child process (peak RSS belongs to it alone):

- `stages`: the scoring stages on 1M users with three real LightGBM champions — predict, bands
  with hysteresis against the previous run, rule tags, guards (PSI, score shift, tag churn), the
  tag table and the atomic write to the embedded DuckDB store; then a second run that reads the
  previous tags back (hysteresis) and publishes again, and a write of 1M users x 8 tags.
- `end_to_end`: `siyu.jobs.scoring.score(cfg)` with the real stages (features at as-of from the
  event log, champions from the MLflow registry): only when SIYU_BENCH_SCORING_CONFIG names a
  project config whose world, validated events and champions exist (e.g. after `make demo` with
  a 20M-event world); otherwise it is reported as not run.

The load average is printed beside the figures; the machine is shared.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from benchmarks._util import load_average, run_measured, scale, write_result

N_USERS = 1_000_000


def _features(n: int, seed: int, shift: float = 0.0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    stages = ["potential", "new", "active", "silent", "churned"]
    segments = ["champions", "loyal", "potential", "at_risk", "hibernating", "others"]
    return pd.DataFrame({
        "user_id": pd.array([f"u{i:08d}" for i in range(n)], dtype="str"),
        "days_since_last_interaction": rng.exponential(20, n) + shift,
        "interaction_count_30d": rng.poisson(5, n).astype("float64"),
        "purchase_count_90d": rng.poisson(1.5, n).astype("float64"),
        "spend_sum_90d": rng.gamma(2.0, 50.0, n),
        "active_days_30d": rng.integers(0, 30, n).astype("float64"),
        "tenure_days": rng.uniform(0, 700, n),
        "lifecycle_stage": pd.Categorical(rng.choice(stages, n), categories=stages),
        "rfm_segment": pd.Categorical(rng.choice(segments, n), categories=segments),
    })


class _LgbChampion:
    """A real LightGBM model with the attributes of siyu.tracking.Champion."""

    def __init__(self, task: str, model, features: list[str], profile: dict) -> None:
        self.estimator, self.feature_names, self.reference_profile = model, features, profile
        self.model_name, self.model_version, self.run_id = f"siyu-{task}", "1", f"bench-{task}"
        self.task = task

    def predict_score(self, X):
        Xm = X[self.feature_names].to_numpy(dtype="float64")
        if self.task == "ltv":
            return self.estimator.predict(Xm)
        return self.estimator.predict_proba(Xm)[:, 1]


def _champions(seed: int = 0) -> dict:
    import lightgbm as lgb
    import numpy as np

    from siyu.scoring.drift import numeric_entry

    X = _features(20_000, seed)
    names = [c for c in X.columns if c not in ("user_id", "lifecycle_stage", "rfm_segment")]
    rng = np.random.default_rng(seed)
    Xm = X[names].to_numpy()
    y_churn = (X["days_since_last_interaction"] + rng.normal(0, 10, len(X)) > 25).astype(int)
    y_buy = (X["interaction_count_30d"] + rng.normal(0, 2, len(X)) > 6).astype(int)
    y_ltv = X["spend_sum_90d"] * 0.8 + rng.normal(0, 5, len(X))
    profile = {"n_rows": len(X), "features": {c: numeric_entry(X[c]) for c in names}}
    # one thread: OpenMP threads spin badly on a shared, loaded 2-core machine
    params = {"n_estimators": 100, "num_leaves": 31, "verbose": -1, "n_jobs": 1}
    return {
        "churn": _LgbChampion("churn", lgb.LGBMClassifier(**params).fit(Xm, y_churn), names, profile),
        "purchase_intent": _LgbChampion("purchase_intent", lgb.LGBMClassifier(**params).fit(Xm, y_buy), names, profile),
        "ltv": _LgbChampion("ltv", lgb.LGBMRegressor(**params).fit(Xm, y_ltv), names, profile),
    }


def _cfg(store_dir: str):
    from siyu.config import DatasetConfig, EventRoles, ScoringConfig, SiyuConfig, SourceConfig

    return SiyuConfig(
        dataset=DatasetConfig(name="bench", events=SourceConfig(path="-"), roles=EventRoles()),
        scoring=ScoringConfig(tag_store_url=f"duckdb:///{store_dir}/tags.duckdb", reason_tasks=(),
                              exports_dir=f"{store_dir}/exports"),
    )


def _reference() -> float:
    """Seconds to sort 10M random doubles: a fixed workload to read the figures against the load."""
    import numpy as np

    x = np.random.default_rng(0).random(10_000_000)
    clock = time.perf_counter()
    np.sort(x)
    return time.perf_counter() - clock


def stages(n_users: int) -> dict:
    """Two scoring runs of `n_users` through the job with the real store; seconds per stage."""
    import datetime as dt

    import numpy as np

    from siyu.io.tagstore import open_tag_store
    from siyu.jobs.scoring import ScoringDeps, export_tags, score
    from siyu.scoring import TagColumn, build_tag_table

    out: dict = {"n_users": n_users, "reference_sort_10M_s": _reference()}
    clock = time.perf_counter()
    champions = _champions()
    out["train_3_models_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    features = _features(n_users, 1)
    later = _features(n_users, 1, shift=0.5)
    out["make_features_s"] = time.perf_counter() - clock
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _cfg(tmp)
        runs = []
        for i, frame in enumerate((features, later)):
            deps = ScoringDeps(features_at=lambda c, a, s, f=frame, on_users=None: f, load_champion=lambda t, tc: champions[t],
                               newest_event=lambda c: dt.datetime(2026, 3, 1))
            clock = time.perf_counter()
            summary = score(cfg, dt.date(2026, 3, 2) + dt.timedelta(days=7 * i), deps=deps,
                            now=dt.datetime(2026, 3, 2 + i))
            runs.append({"total_s": time.perf_counter() - clock, "rows": summary.n_rows,
                         **{f"{k}_s": v for k, v in summary.timings.items()}})
        out["run_1_first"], out["run_2_with_previous"] = runs
        clock = time.perf_counter()
        export_tags(cfg, "parquet")
        out["export_parquet_s"] = time.perf_counter() - clock
        # 1M users x 8 tags (3 bands + 2 rules + 3 reason sentences): the write alone
        n = n_users
        rng = np.random.default_rng(2)
        cols = [TagColumn(t, rng.choice(list(v), n).astype(object), rng.random(n) if s else None, "m", "1")
                for t, v, s in (("churn_risk", "HML", True), ("purchase_intent", "HWC", True),
                                ("ltv_tier", "ABCD", True), ("lifecycle_stage", "PNASC", False),
                                ("rfm_segment", "CLPRH", False))]
        sentences = np.array([f"最近 {d} 天没有互动，比同类用户少 {d % 7 + 2} 次" for d in range(60)], dtype=object)
        cols += [TagColumn(f"churn_reason_{k}", rng.choice(sentences, n), None, "m", "1") for k in (1, 2, 3)]
        clock = time.perf_counter()
        table = build_tag_table(features["user_id"].to_numpy(), cols, run_id="w8", as_of=dt.date(2026, 4, 1),
                                computed_at=dt.datetime(2026, 4, 1))
        out["build_8_tags_s"] = time.perf_counter() - clock
        store = open_tag_store(cfg.scoring.tag_store_url)
        clock = time.perf_counter()
        with store.locked("w8", dt.date(2026, 4, 1), dt.datetime(2026, 4, 1)):
            store.begin_run("w8", dt.date(2026, 4, 1), dt.datetime(2026, 4, 1), run_key="w8",
                            model_versions={}, forced=False)
            out["write_8_tags_rows"] = store.publish("w8", table, finished_at=dt.datetime(2026, 4, 1),
                                                     counts={}, timings={})
        out["write_8_tags_s"] = time.perf_counter() - clock
        store.close()
    return out


def _end_to_end(config: str) -> dict:
    from siyu.cli._config import load_config
    from siyu.jobs.scoring import score

    cfg = load_config(config)
    clock = time.perf_counter()
    summary = score(cfg, force=True)
    return {"total_s": time.perf_counter() - clock, "n_users": summary.n_users, "rows": summary.n_rows,
            "status": summary.status, **{f"{k}_s": v for k, v in summary.timings.items()}}


def main() -> None:
    n = max(int(N_USERS * scale()), 1000)
    print(f"scoring benchmark: {n:,} users (scale {scale()}), load average {load_average()}", flush=True)
    wall, peak, stdout = run_measured(
        f"import json; from benchmarks.bench_scoring import stages; print(json.dumps(stages({n})))")
    result = {"stages": json.loads(stdout.strip().splitlines()[-1]), "stages_wall_s": wall,
              "stages_peak_mb": peak, "load_average_before": load_average()}
    config = os.environ.get("SIYU_BENCH_SCORING_CONFIG")
    if config:
        wall, peak, stdout = run_measured(
            f"import json; from benchmarks.bench_scoring import _end_to_end; print(json.dumps(_end_to_end({config!r})))")
        result |= {"end_to_end": json.loads(stdout.strip().splitlines()[-1]), "end_to_end_wall_s": wall,
                   "end_to_end_peak_mb": peak}
    else:
        result["end_to_end"] = "not run: set SIYU_BENCH_SCORING_CONFIG to a project with a world and champions"
    result["load_average_after"] = load_average()
    _print(result)
    write_result("scoring", result)


def _print(result: dict) -> None:
    s = result["stages"]
    print(f"  reference: sorting 10M doubles took {s['reference_sort_10M_s']:.2f} s in the same process")
    print(f"  models trained in {s['train_3_models_s']:.1f} s; features made in {s['make_features_s']:.1f} s")
    for name in ("run_1_first", "run_2_with_previous"):
        r = s[name]
        split = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in r.items() if k.endswith("_s") and k != "total_s")
        print(f"  {name}: {r['total_s']:.1f} s for {r['rows']:,} tag rows ({split})")
    print(f"  export parquet {s['export_parquet_s']:.1f} s; 8 tags: build {s['build_8_tags_s']:.1f} s, "
          f"write {s['write_8_tags_rows']:,} rows {s['write_8_tags_s']:.1f} s")
    print(f"  child process: wall {result['stages_wall_s']:.1f} s, peak RSS {result['stages_peak_mb']:.0f} MB")
    e2e = result["end_to_end"]
    if isinstance(e2e, dict):
        print(f"  end to end: {e2e['total_s']:.1f} s, {e2e['n_users']:,} users, peak {result['end_to_end_peak_mb']:.0f} MB; {e2e}")
    else:
        print(f"  end to end: {e2e}")
    print(f"  load average before/after: {result['load_average_before']} / {result['load_average_after']}")


if __name__ == "__main__":
    main()
