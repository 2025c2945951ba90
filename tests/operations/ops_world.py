"""The small generated world the operations tests share: its dates, funnel and project file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from siyu.config import SiyuConfig

REPO = Path(__file__).resolve().parents[2]
START = date(2025, 1, 6)
AS_OF = date(2025, 7, 7)  # inside the world, which runs on 60 more days: nothing after it may count
FUNNEL = {"name": "read_to_purchase", "steps": ["article_read", "mini_program_visit", "add_cart", "purchase"],
          "window_days": 7, "period_days": 28}


@dataclass(frozen=True)
class World:
    config_path: Path
    cfg: SiyuConfig
    events: pd.DataFrame  # every clean event, the future included
    users: pd.DataFrame


def write_project(root: Path, world: Path, **extra) -> Path:
    """A project YAML over the generated world in `world`, with work files under `root`."""
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(world / "events")
    dataset["users"]["source"]["path"] = str(world / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(world / "member_level_history.parquet")
    config = {"dataset": dataset, "feature_specs_path": str(REPO / "configs" / "features.yaml"),
              "paths": {"world": str(world), "work": str(root / "work")},
              "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
              "scoring": {"tag_store_url": f"duckdb:///{root}/tags.duckdb", "exports_dir": str(root / "exports")},
              "operations": {"funnels": [FUNNEL]}, **extra}
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
