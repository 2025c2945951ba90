"""The scoring job tells its progress step by step as it runs (what `siyu score`'s spinner shows)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
from scoring_fixtures import make_deps, make_features

from siyu.jobs.scoring import score

AS_OF = dt.date(2026, 3, 2)


def test_each_step_is_told_in_order(cfg, champions, rng):
    said: list[str] = []
    chunks: list[tuple[int, int]] = []
    deps = make_deps(make_features(120, rng), champions, on_chunk=lambda i, n: chunks.append((i, n)))
    summary = score(cfg, None, deps=deps, run_id="r1", progress=said.append)
    expected = ["scoring: finding the newest event",
                "scoring: loading the churn champion (1 of 3)",
                "scoring: loading the purchase_intent champion (2 of 3)",
                "scoring: loading the ltv champion (3 of 3)",
                f"scoring: computing 4 features at as-of {summary.as_of} on the embedded engine",
                "scoring: reading the previous run's tags",
                "scoring churn (1 of 3): drift and scores of 120 users",
                "scoring purchase_intent (2 of 3): drift and scores of 120 users",
                "scoring ltv (3 of 3): drift and scores of 120 users",
                "scoring: bands, rule tags and guards",
                f"scoring: publishing {summary.n_rows:,} tag rows"]
    assert said[:len(expected)] == expected
    written = [f"scoring: publishing, {n:,} of {summary.n_rows:,} tag rows written" for _, n in chunks]
    assert said[len(expected):] == written  # each chunk written, and the deps' own callback still called
    assert chunks[-1] == (len(chunks) - 1, summary.n_rows)


def test_an_unchanged_run_stops_after_loading_the_champions(cfg, champions, rng):
    deps = make_deps(make_features(50, rng), champions)
    score(cfg, AS_OF, deps=deps, run_id="r1")
    said: list[str] = []
    again = score(cfg, AS_OF, deps=deps, run_id="r2", progress=said.append)
    assert again.status == "unchanged"
    assert said[-1] == "scoring: loading the ltv champion (3 of 3)"


def test_features_and_reasons_tell_their_counts_as_they_go(cfg, champions, rng):
    features = make_features(120, rng)

    def features_at(cfg_, as_of, specs, *, on_users=None, on_tasks=None):
        for done in (50, 100, 120):  # the engine's batches
            on_users(done, 120)
        return features

    def reasons_for(cfg_, specs):
        def reasons(task, champion, X, *, on_rows=None):
            on_rows(len(X), len(X))
            return pd.DataFrame({"reason_1": ["driver"] * len(X)}, index=X.index)
        return reasons

    said: list[str] = []
    deps = make_deps(features, champions, reasons=reasons_for)
    deps = dataclasses.replace(deps, features_at=features_at)
    summary = score(cfg, AS_OF, deps=deps, run_id="r1", progress=said.append)
    told = [s for s in said if "users" in s and ("features" in s or "reasons" in s)]
    explained = summary.counts["churn_reason_1"]["tagged"]
    assert told == [f"scoring: computing features at as-of {AS_OF}, {n} of 120 users" for n in (50, 100, 120)] + [
        f"scoring: churn reasons for {explained} users", f"scoring: churn reasons, {explained} of {explained} users"]


def test_the_spark_engine_tells_its_tasks_for_features_and_scores(cfg, champions, rng):
    features = make_features(120, rng)

    def features_at(cfg_, as_of, specs, *, on_users=None, on_tasks=None):
        for done in (3, 8):  # the feature stages' tasks, as Spark's status tracker counts them
            on_tasks(done, 8)
        return features

    def spark_scores(cfg_, as_of, champs, user_ids, *, on_tasks=None):
        on_tasks(2, 4)
        on_tasks(4, 4)
        by_id = features.set_index("user_id").loc[user_ids]
        return {task: np.asarray(c.predict_score(by_id[c.feature_names]), dtype="float64") for task, c in champs.items()}

    said: list[str] = []
    deps = dataclasses.replace(make_deps(features, champions), features_at=features_at, spark_scores=spark_scores)
    score(cfg.model_copy(update={"engine": "spark"}), AS_OF, deps=deps, run_id="r1", progress=said.append)
    told = [s for s in said if "Spark tasks" in s]
    assert told == [f"scoring: computing features at as-of {AS_OF}, 3 of 8 Spark tasks",
                    f"scoring: computing features at as-of {AS_OF}, 8 of 8 Spark tasks",
                    "scoring: applying 3 champions on Spark, 2 of 4 Spark tasks",
                    "scoring: applying 3 champions on Spark, 4 of 4 Spark tasks"]
    assert said.index(told[-1]) < said.index("scoring: reading the previous run's tags")
