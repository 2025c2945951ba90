"""The scoring job tells its progress step by step as it runs (what `siyu score`'s spinner shows)."""

from __future__ import annotations

import dataclasses
import datetime as dt

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

    def features_at(cfg_, as_of, specs, *, on_users=None):
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
