"""A synthetic training set with the columns of a real one (§5 of INTERFACES.md), for tests,
benchmarks and examples: users with a latent activity rate, repeated over weekly cutoffs.

Labels follow the latent state, so models have signal to find and a known ceiling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from siyu.config import DEFAULT_TASKS

_CHANNELS = ("official_account", "group", "mini_program", "wecom", "live", "app", "store")
_STAGES = ("new", "active", "silent", "churned")


def toy_trainset(task: str, *, n_users: int = 400, n_cutoffs: int = 6, n_noise: int = 3,
                 horizon_days: int = 30, rng: np.random.Generator) -> pd.DataFrame:
    """Columns user_id, cutoff, split, label, then numeric float features and category features.

    The last cutoff is `test`, the one before `valid`, the rest `train` (weekly), each split
    purged: a horizon (rounded up to whole weeks) after the split before it. `task` picks the
    label: churn / purchase_intent (0/1) or ltv (net spend, zero-inflated).
    """
    labels = {t.name: t.label for t in DEFAULT_TASKS}
    if task not in labels:
        raise ValueError(f"toy_trainset: task must be one of {list(labels)}, got {task!r}")
    label_kind = labels[task]
    if n_cutoffs < 3:
        raise ValueError(f"toy_trainset: need at least 3 cutoffs (train, valid, test), got {n_cutoffs}")
    rate = rng.gamma(1.2, 0.15, size=n_users)  # purchases per week
    value = rng.gamma(3.0, 40.0, size=n_users)  # spend per purchase
    tenure0 = rng.integers(30, 600, size=n_users).astype(float)
    channel = rng.choice(_CHANNELS, size=n_users)
    gap = -(-horizon_days // 7)  # weeks between the splits
    weeks = [*range(n_cutoffs - 2), n_cutoffs - 3 + gap, n_cutoffs - 3 + 2 * gap]
    frames = []
    for k, week in enumerate(weeks):
        drift = np.exp(rng.normal(0, 0.3, size=n_users))
        lam = rate * drift
        tenure = tenure0 + 7 * week
        count_365 = rng.poisson(lam * np.minimum(tenure, 365) / 7)
        count_90 = rng.binomial(count_365, np.minimum(90 / np.minimum(tenure, 365), 1))
        since_purchase = np.where(count_365 > 0, rng.exponential(7 / np.maximum(lam, 1e-3)), np.nan)
        since_purchase = np.minimum(since_purchase, np.minimum(tenure, 365))
        since_activity = rng.exponential(3 / np.maximum(lam, 1e-3))
        stage = np.select([tenure < 30, since_activity < 30, since_activity < 90], _STAGES[:3], _STAGES[3])
        feats = {
            "days_since_last_activity": since_activity,
            "days_since_last_purchase": since_purchase,
            "purchase_count_90d": count_90.astype(float),
            "purchase_count_365d": count_365.astype(float),
            "spend_amount_sum_90d": count_90 * value * rng.uniform(0.8, 1.2, n_users),
            "spend_amount_sum_365d": count_365 * value * rng.uniform(0.8, 1.2, n_users),
            "tenure_days": tenure,
        }
        for j in range(n_noise):
            feats[f"noise_{j}"] = rng.normal(size=n_users)
        p_churn = 1 / (1 + np.exp(-(np.log(since_activity + 1) - 2.5)))
        p_buy = 1 - np.exp(-lam)
        if label_kind == "no_activity":
            label = rng.binomial(1, p_churn).astype(float)
        elif label_kind == "any_purchase":
            label = rng.binomial(1, p_buy).astype(float)
        else:
            label = rng.poisson(lam * 90 / 7 * (1 - p_churn)) * value * rng.gamma(5, 0.2, n_users)
        frame = pd.DataFrame({"user_id": [f"u{i:05d}" for i in range(n_users)],
                              "cutoff": pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=week),
                              "split": "test" if k == n_cutoffs - 1 else "valid" if k == n_cutoffs - 2 else "train",
                              "label": label, **feats})
        frame["lifecycle_stage"] = pd.Categorical(stage, categories=_STAGES)
        frame["source_channel"] = pd.Categorical(channel, categories=_CHANNELS)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def toy_manifest(frame: pd.DataFrame, task: str, *, horizon_days: int = 30) -> dict:
    """The §5 manifest of a toy training set (features with dtype and categories, cutoffs)."""
    features, cats = [], []
    for col in frame.columns:
        if col in ("user_id", "cutoff", "split", "label"):
            continue
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            cats.append(col)
            features.append({"name": col, "dtype": "categorical", "categories": [str(c) for c in frame[col].cat.categories]})
        else:
            features.append({"name": col, "dtype": "numeric"})
    cutoffs = {s: sorted(str(pd.Timestamp(c).date()) for c in frame.loc[frame["split"] == s, "cutoff"].unique())
               for s in ("train", "valid", "test")}
    return {"task": task, "horizon_days": horizon_days, "feature_spec_hash": "toy", "data_digest": "toy",
            "cutoffs": cutoffs, "features": features, "categorical": cats}
