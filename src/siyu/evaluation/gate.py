"""The promotion gate: a challenger replaces the champion only when it is better beyond doubt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


# On an order history alone, BG/NBD is the model to beat: a 2005 closed form that a booster
# with more inputs often only ties. There the gate holds every other model to it.
BTYD_MODEL = "bgnbd"
TRANSACTION_ROLES = frozenset({"purchase", "refund"})


def transactions_only(roles_in_use: Iterable[str]) -> bool:
    """Whether a dataset whose event types play `roles_in_use` is an order history alone
    (purchases, maybe refunds; no interactions, no contacts)."""
    roles = set(roles_in_use)
    return "purchase" in roles and roles <= TRANSACTION_ROLES


def decide_against_btyd(metric: str, model: str, versus_btyd: Interval | None, *, margin: float) -> GateDecision:
    """On transaction-only data, may `model` be champion? BG/NBD itself may; any other model
    only when the lower bound of its paired interval (model - BG/NBD) on the test cutoffs lies
    above `margin`. Without a BG/NBD judged on these cutoffs nothing is known, so no."""
    if model == BTYD_MODEL:
        return GateDecision(True, "BG/NBD is the transaction-only baseline")
    if versus_btyd is None:
        return GateDecision(False, f"transaction-only data: {model} must beat BG/NBD on the test cutoffs, and no "
                                   "BG/NBD was judged on them; train it (`siyu train --model bgnbd`) first")
    d = versus_btyd
    above = d.low > margin
    verdict = "beats" if above else "does not beat"
    return GateDecision(above, f"transaction-only data: {model} {verdict} BG/NBD on {metric}: {model} - BG/NBD "
                               f"{d.value:+.4f}, {d.level:.0%} interval [{d.low:+.4f}, {d.high:+.4f}] over "
                               f"{d.n_boot} user resamples (lower bound {'above' if above else 'not above'} "
                               f"the margin {margin:g})")
