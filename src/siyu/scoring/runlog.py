"""What a scoring run logs to MLflow, built without touching MLflow (the job sends it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from siyu.scoring.plots import score_histogram, tag_counts_chart

_KEY = re.compile(r"[^0-9A-Za-z_\-./ ]")


@dataclass(frozen=True)
class RunLog:
    """Metrics, params, charts (artifact path -> SVG text) and text artifacts of one scoring run."""

    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    figures: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def _key(text: str) -> str:
    return _KEY.sub("_", text)


def scoring_run_log(
    *,
    run_id: str,
    as_of: str,
    forced: bool,
    counts: Mapping[str, Mapping[str, int]],
    model_versions: Mapping[str, Mapping[str, str]],
    timings: Mapping[str, float],
    scores: Mapping[str, np.ndarray],
    band_edges: Mapping[str, tuple[float, ...]],
    drift: pd.DataFrame,
    guards_json: str,
) -> RunLog:
    """Counts per tag value (`users_<tag>_<value>`), stage seconds, score histograms, drift.csv."""
    metrics = {_key(f"users_{tag}_{value}"): float(n) for tag, values in counts.items() for value, n in values.items()}
    metrics |= {_key(f"seconds_{stage}"): float(s) for stage, s in timings.items()}
    params = {f"{task}_model": f"{v['model_name']}/{v['version']}" for task, v in model_versions.items()}
    figures = {f"plots/score_hist_{_key(tag)}.svg": score_histogram(tag, s, band_edges.get(tag, ()))
               for tag, s in scores.items()}
    figures |= {f"plots/tag_counts_{_key(tag)}.svg": tag_counts_chart(tag, values)
                for tag, values in counts.items() if "_reason_" not in tag}
    texts = {"drift.csv": drift.to_csv(index=False), "guards.json": guards_json}
    tags = {"scoring_run_id": run_id, "as_of": as_of, "forced": str(forced).lower()}
    return RunLog(metrics, params, tags, figures, texts)
