"""A tiny clean dataset on disk (work/clean/...) and a SiyuConfig pointing at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.features.conftest import con  # noqa: F401 - a pytest fixture

from siyu.config import (
    DatasetConfig,
    EventRoles,
    PathsConfig,
    SiyuConfig,
    SourceConfig,
    TrainsetConfig,
)

SMALL_SPECS = """
features:
  - {family: recency, role: [any, purchase]}
  - {family: window, agg: count, role: [activity, purchase], days: [7, 30]}
  - {family: window, agg: sum, role: spend, days: 30}
  - {family: lifecycle}
  - {family: rfm}
  - {family: attribute, column: [source_channel, member_level]}
"""


def write_clean(work: Path, seed: int = 3, n_users: int = 40, n_events: int = 3000) -> None:
    """Canonical clean events (two part files) and users under `work/clean/`."""
    rng = np.random.default_rng(seed)
    roles = np.array(["interaction", "purchase", "refund", "contact"])[rng.choice(4, n_events, p=[0.7, 0.15, 0.02, 0.13])]
    ts = pd.Timestamp("2024-03-08") + pd.to_timedelta(rng.integers(0, 480 * 86400, n_events), unit="s")
    events = pd.DataFrame({
        "user_id": [f"u{i:03d}" for i in rng.integers(0, n_users, n_events)], "ts": ts,
        "event_type": np.where(roles == "interaction", "msg_open", np.where(roles == "contact", "campaign_contact", roles)),
        "role": roles, "channel": np.array(["group", "store", "wecom"])[rng.integers(0, 3, n_events)],
        "amount": np.where(roles == "purchase", 50.0, np.where(roles == "refund", -10.0, np.nan)),
        "item_id": None, "category": None, "session_id": None, "event_id": [f"e{i}" for i in range(n_events)],
    })
    # Half the users fall silent at different times, so churn labels hold both classes in every split.
    last = pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 420, n_users), unit="D")
    last = last.where(np.arange(n_users) % 2 == 0, pd.Timestamp("2026-01-01"))
    events = events[events["ts"].to_numpy() < last[events["user_id"].str[1:].astype(int)].to_numpy()]
    events = events.reset_index(drop=True)
    clean = work / "clean" / "events"
    clean.mkdir(parents=True)
    half = len(events) // 2
    events.iloc[:half].to_parquet(clean / "part-0.parquet", index=False)
    events.iloc[half:].to_parquet(clean / "part-1.parquet", index=False)
    users = pd.DataFrame({
        "user_id": [f"u{i:03d}" for i in range(n_users)],
        "joined_at": pd.Timestamp("2024-08-01") + pd.to_timedelta(rng.integers(0, 200, n_users), unit="D"),
        "source_channel": np.array(["group", "live"])[rng.integers(0, 2, n_users)],
        "member_level": np.array(["basic", "gold"])[rng.integers(0, 2, n_users)],
    })
    users.to_parquet(work / "clean" / "users.parquet", index=False)


@pytest.fixture
def project(tmp_path: Path) -> SiyuConfig:
    work = tmp_path / "work"
    write_clean(work)
    specs = tmp_path / "features.yaml"
    specs.write_text(SMALL_SPECS, encoding="utf-8")
    return SiyuConfig(
        dataset=DatasetConfig(name="tiny", events=SourceConfig(path=str(tmp_path / "raw")), roles=EventRoles()),
        feature_specs_path=str(specs), feature_specs=yaml.safe_load(SMALL_SPECS),
        paths=PathsConfig(world=str(tmp_path / "world"), work=str(work)),
        trainset=TrainsetConfig(step_days=14, n_train_cutoffs=3, n_valid_cutoffs=1, n_test_cutoffs=1),
        memory_limit="512MB", threads=1,
    )
