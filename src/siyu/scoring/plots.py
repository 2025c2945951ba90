"""Figures of a scoring run (returned, never written: the job logs them to MLflow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def score_histogram(tag: str, scores: np.ndarray, edges: Sequence[float] = (), *, bins: int = 50) -> Figure:
    """Histogram of one tag's raw scores, with the band edges drawn when they are on the score scale."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    values = np.asarray(scores, dtype="float64")
    ax.hist(values[~np.isnan(values)], bins=bins, color="#4c72b0")
    for edge in edges:
        ax.axvline(edge, color="#c44e52", linestyle="--", linewidth=1)
    ax.set_title(f"{tag}: score distribution ({len(values):,} users)")
    ax.set_xlabel("score")
    ax.set_ylabel("users")
    fig.tight_layout()
    return fig


def tag_counts_figure(counts: Mapping[str, Mapping[str, int]]) -> Figure:
    """Bar chart of users per value for each tag (one panel per tag)."""
    tags = [t for t in counts if "_reason_" not in t]
    fig = Figure(figsize=(4 * max(len(tags), 1), 3.5))
    for i, tag in enumerate(tags, start=1):
        ax = fig.add_subplot(1, max(len(tags), 1), i)
        ax.bar(list(counts[tag]), list(counts[tag].values()), color="#55a868")
        ax.set_title(tag)
        ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    return fig
