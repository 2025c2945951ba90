"""The promotion audit log: one CSV row per decision, never rewritten except to widen it."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

PROMOTION_COLUMNS: tuple[str, ...] = (
    "decided_at", "registered_model", "task", "decision", "challenger_version", "champion_version", "metric",
    "challenger_value", "champion_value", "margin", "difference", "ci_low", "ci_high", "reason",
)


def append_promotion(path: Path, row: Mapping[str, object]) -> None:
    """Append one decision to `path` (header on first write). A log from before the interval
    columns is widened first, keeping every earlier decision."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8").partition("\n")[0] != ",".join(PROMOTION_COLUMNS):
        pd.read_csv(path, dtype=str).reindex(columns=list(PROMOTION_COLUMNS)).to_csv(path, index=False)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(PROMOTION_COLUMNS)
        writer.writerow([row.get(c, "") for c in PROMOTION_COLUMNS])
