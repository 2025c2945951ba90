"""The promotion gate: a challenger replaces the champion only if clearly better."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, and the reason in one sentence."""

    promote: bool
    reason: str


def decide_promotion(metric: str, challenger: float, champion: float | None, *, margin: float,
                     higher_is_better: bool = True) -> GateDecision:
    """Promote when there is no champion, or the challenger beats it by at least `margin`."""
    if champion is None:
        return GateDecision(True, f"no champion yet; challenger {metric}={challenger:.4f}")
    gain = (challenger - champion) if higher_is_better else (champion - challenger)
    verdict = "beats" if gain >= margin else "does not beat"
    reason = (f"challenger {metric}={challenger:.4f} {verdict} champion {metric}={champion:.4f} "
              f"by the margin {margin:g} (gain {gain:+.4f})")
    return GateDecision(gain >= margin, reason)
