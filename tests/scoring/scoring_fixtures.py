"""Scoring test helpers: a tiny real model wrapped like a champion, hand-built feature frames."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from siyu.config import DatasetConfig, EventRoles, ScoringConfig, SiyuConfig, SourceConfig
from siyu.features import FeatureSet, Recency, Window
from siyu.jobs.scoring import ScoringDeps
from siyu.scoring.drift import numeric_entry

NUMERIC = ["days_since_last_interaction", "interaction_count_30d", "spend_sum_90d"]
# The specs the tiny champions were "trained" on: how scoring finds the recency of activity.
SPECS = FeatureSet((Recency(role="activity"), Recency(role="interaction"), Window(30, role="interaction"),
                    Window(90, agg="sum", role="spend", name="spend_sum_90d")))
STAGES = ["potential", "new", "active", "silent", "churned"]
SEGMENTS = ["champions", "loyal", "potential", "at_risk", "hibernating"]


def make_features(n: int, rng: np.random.Generator, *, shift: float = 0.0) -> pd.DataFrame:
    """user_id + numeric features, activity recency and the two rule-tag columns, like siyu.features returns."""
    return pd.DataFrame({
        "user_id": [f"u{i:06d}" for i in range(n)],
        "days_since_last_interaction": rng.exponential(20, n) + shift * 40,
        "interaction_count_30d": rng.poisson(5, n).astype("float64") + shift * 10,
        "spend_sum_90d": rng.gamma(2.0, 50.0, n) * (1 + shift),
        # everyone inside the churn population (activity within 30 d) unless a test says otherwise
        "days_since_last_activity": rng.uniform(0.0, 29.0, n),
        "lifecycle_stage": pd.Categorical(rng.choice(STAGES, n), categories=STAGES),
        "rfm_segment": pd.Categorical(rng.choice(SEGMENTS, n), categories=SEGMENTS),
    })


@dataclass
class TinyChampion:
    """A real fitted sklearn model with the attributes siyu.tracking.Champion has."""

    estimator: object
    feature_names: list[str]
    model_name: str
    model_version: str
    run_id: str
    reference_profile: dict = field(default_factory=dict)
    feature_specs: FeatureSet = field(default_factory=lambda: SPECS)

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        Xm = X[self.feature_names].to_numpy(dtype="float64")
        if hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict_proba(Xm)[:, 1]
        return self.estimator.predict(Xm)


def train_champions(rng: np.random.Generator, version: str = "1") -> dict[str, TinyChampion]:
    """Three tiny models trained on random data: churn, purchase_intent (classifiers), ltv."""
    X = make_features(600, rng)
    Xm = X[NUMERIC].to_numpy()
    churn_y = (X["days_since_last_interaction"] + rng.normal(0, 10, len(X)) > 25).astype(int)
    buy_y = (X["interaction_count_30d"] + rng.normal(0, 2, len(X)) > 6).astype(int)
    ltv_y = X["spend_sum_90d"] * 0.8 + rng.normal(0, 5, len(X))
    profile = {"n_rows": len(X), "features": {c: numeric_entry(X[c]) for c in NUMERIC}}
    models = {
        "churn": LogisticRegression(max_iter=500).fit(Xm, churn_y),
        "purchase_intent": LogisticRegression(max_iter=500).fit(Xm, buy_y),
        "ltv": LinearRegression().fit(Xm, ltv_y),
    }
    return {task: TinyChampion(m, list(NUMERIC), f"siyu-{task}", version, f"run-{task}-{version}", profile)
            for task, m in models.items()}


def make_cfg(tmp_path, **scoring) -> SiyuConfig:
    """A project config whose tag store and exports live in tmp_path."""
    dataset = DatasetConfig(name="test", events=SourceConfig(path=str(tmp_path / "events")), roles=EventRoles(),
                            pii=("wechat_nick",))
    scoring = {"tag_store_url": f"duckdb:///{tmp_path / 'tags.duckdb'}",
               "exports_dir": str(tmp_path / "exports"), **scoring}
    return SiyuConfig(dataset=dataset, scoring=ScoringConfig(**scoring),
                      paths={"work": str(tmp_path / "work"), "world": str(tmp_path / "world")})


def make_deps(features: pd.DataFrame, champions: dict, **extra) -> ScoringDeps:
    """Deps that hand the job a fixed feature frame and the tiny champions."""
    return ScoringDeps(features_at=lambda cfg, as_of, specs, on_users=None, on_tasks=None: features,
                       load_champion=lambda task, tracking: champions[task],
                       newest_event=lambda cfg: dt.datetime(2026, 3, 1, 18, 30),
                       **extra)


def score_cli_project(tmp_path, monkeypatch) -> tuple:
    """A config file whose tag store lives in `tmp_path`, and the scoring job wired to tiny
    champions on hand-built features: (config path, {"features": frame the job reads}, rng)."""
    import yaml

    import siyu.jobs.scoring as scoring_job

    rng = np.random.default_rng(3)
    features, champions = make_features(150, rng), train_champions(rng)
    config = {
        "dataset": {"name": "t", "events": {"path": str(tmp_path / "events")}, "roles": {}},
        "paths": {"work": str(tmp_path / "work")},
        "scoring": {"tag_store_url": f"duckdb:///{tmp_path / 'tags.duckdb'}",
                    "exports_dir": str(tmp_path / "exports"),
                    "guards": {"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 1.0}},
    }
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    state = {"features": features}
    monkeypatch.setattr(scoring_job, "default_deps", lambda: make_deps(state["features"], champions))
    return path, state, rng
