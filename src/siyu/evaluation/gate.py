"""The promotion gate: a challenger replaces the champion only when it is better beyond doubt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from siyu.evaluation.intervals import Interval


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, and the reason in one sentence."""

    promote: bool
    reason: str


def validation_winner(valid_scores: Mapping[str, float]) -> str:
    """The candidate with the best validation score (ties: the first given). This is how a
    challenger and a first champion are chosen: the test cutoffs pick nothing."""
    return max(valid_scores, key=lambda key: valid_scores[key])


def decide_promotion(metric: str, difference: Interval | None, *, margin: float) -> GateDecision:
    """Promote when there is no champion, or when the lower bound of the paired interval of
    (challenger - champion) on `metric` lies above `margin`."""
    if difference is None:
        return GateDecision(True, "no champion yet")
    above = difference.low > margin
    reason = (f"{metric} challenger - champion {difference.value:+.4f}, {difference.level:.0%} interval "
              f"[{difference.low:+.4f}, {difference.high:+.4f}] over {difference.n_boot} user resamples: "
              f"the lower bound is {'above' if above else 'not above'} the margin {margin:g}")
    return GateDecision(above, reason)
