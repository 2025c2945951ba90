"""Charts of a scoring run as SVG text (returned, never written: the job logs them to MLflow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from siyu.charts import PALETTE, Rule, bar_chart, histogram


def score_histogram(tag: str, scores: np.ndarray, edges: Sequence[float] = (), *, bins: int = 50) -> str:
    """Histogram of one tag's raw scores, with the band edges drawn when they are on the score scale."""
    values = np.asarray(scores, dtype="float64")
    return histogram(values, bins=bins, rules=[Rule(float(e), axis="x", color=PALETTE[3]) for e in edges],
                     title=f"{tag}: score distribution ({len(values):,} users)", xlabel="score", ylabel="users")


def tag_counts_chart(tag: str, counts: Mapping[str, int]) -> str:
    """Bar chart of users per value of one tag."""
    return bar_chart([str(v) for v in counts], list(counts.values()), title=f"{tag}: users per value",
                     ylabel="users", color=PALETTE[2])
