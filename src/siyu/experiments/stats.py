"""The statistics of an experiment readout: pure functions, arrays in, frozen dataclasses out.

- `srm_check`: the sample-ratio-mismatch test, a chi-square of the arm counts against the shares
  the design assigned (a failing check means the randomization or the logging broke, so no lift
  computed from those arms can be trusted);
- `mean_lift`: treatment minus control with a Welch interval (unequal variances, Welch-Satterthwaite
  degrees of freedom), and the relative lift (treatment / control - 1) with a delta-method interval;
- `proportion_lift`: the same for a 0/1 metric, with Newcombe's hybrid score interval for the
  difference (Wilson intervals of each arm combined; it keeps its coverage for rare events and small
  arms, where a Wald / Welch interval collapses to a point when an arm has no event);
- `cuped_lift`: the same after CUPED (Deng et al. 2013): y - theta * (x - mean x), with the
  pre-period value of the metric as covariate x and theta = cov(y, x) / var(x) from both arms pooled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

SRM_ALPHA = 0.001  # the usual SRM threshold: a p-value below it means the split is not what was designed
LIFT_METHOD = ("difference of means: Welch t interval (rates: Newcombe's hybrid score interval); relative lift "
               "by the delta method (normal interval; none when an arm has no spread)")
CUPED_METHOD = ("CUPED: y - theta (x - mean x), x = the metric over the same number of days before the cutoff, "
                "theta = cov(y, x) / var(x) pooled over both arms; Welch interval on the adjusted values (not "
                "shown for a rate with fewer than 5 events or non-events in an arm)")


@dataclass(frozen=True)
class SrmCheck:
    """A chi-square goodness-of-fit test of the arm counts against the designed shares."""

    arms: tuple[str, ...]
    counts: tuple[int, ...]
    expected_shares: tuple[float, ...]  # normalized to sum to 1
    observed_shares: tuple[float, ...]
    chi2: float
    dof: int
    p_value: float
    alpha: float
    passed: bool


@dataclass(frozen=True)
class Lift:
    """Treatment minus control on one metric, with a two-sided interval at `level`.

    `relative` is None when the control mean is zero (no relative lift defined), its interval also
    when an arm has no spread (the delta method would claim certainty)."""

    n_treatment: int
    n_control: int
    mean_treatment: float
    mean_control: float
    absolute: float
    absolute_low: float
    absolute_high: float
    se: float
    p_value: float | None
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    level: float


@dataclass(frozen=True)
class CupedLift:
    """A CUPED-adjusted lift: the adjusted `lift`, theta, the correlation of outcome and covariate,
    and the variance reduction against the plain estimate (1 - se_cuped² / se_plain²)."""

    lift: Lift
    theta: float
    correlation: float
    plain_se: float
    variance_reduction: float


def srm_check(counts: Mapping[str, int], expected_shares: Mapping[str, float], *,
              alpha: float = SRM_ALPHA) -> SrmCheck:
    """Chi-square test of `counts` per arm against `expected_shares` (same keys; normalized).

    Raises ValueError when the arms differ or a share is not positive."""
    arms = tuple(counts)
    if set(arms) != set(expected_shares):
        raise ValueError(f"SRM check: arms {sorted(arms)} but expected shares for {sorted(expected_shares)}")
    if len(arms) < 2:
        raise ValueError(f"SRM check: needs at least two arms, got {list(arms)}")
    shares = np.array([float(expected_shares[a]) for a in arms])
    if not np.all(np.isfinite(shares)) or np.any(shares <= 0):
        raise ValueError(f"SRM check: expected shares must be positive, got {dict(expected_shares)}")
    shares = shares / shares.sum()
    observed = np.array([int(counts[a]) for a in arms], dtype="float64")
    total = observed.sum()
    if total <= 0:
        raise ValueError("SRM check: no users in any arm")
    chi2, p_value = stats.chisquare(observed, shares * total)
    return SrmCheck(
        arms=arms, counts=tuple(int(c) for c in observed), expected_shares=tuple(float(s) for s in shares),
        observed_shares=tuple(float(o / total) for o in observed), chi2=float(chi2), dof=len(arms) - 1,
        p_value=float(p_value), alpha=alpha, passed=bool(p_value >= alpha),
    )


def _moments(y: np.ndarray) -> tuple[int, float, float]:
    y = np.asarray(y, dtype="float64")
    n = len(y)
    if n < 2:
        raise ValueError(f"lift: each arm needs at least 2 users, got {n}")
    return n, float(y.mean()), float(y.var(ddof=1))


def mean_lift(y_treatment: np.ndarray, y_control: np.ndarray, *, level: float = 0.95) -> Lift:
    """Difference of means (treatment - control) with a Welch t interval, and the relative lift
    (mean_t / mean_c - 1) with a delta-method normal interval."""
    n_t, m_t, v_t = _moments(y_treatment)
    n_c, m_c, v_c = _moments(y_control)
    a_t, a_c = v_t / n_t, v_c / n_c
    se = float(np.sqrt(a_t + a_c))
    diff = m_t - m_c
    if se > 0:
        dof = (a_t + a_c) ** 2 / ((a_t**2 / (n_t - 1) if a_t else 0.0) + (a_c**2 / (n_c - 1) if a_c else 0.0))
        q = float(stats.t.ppf(0.5 + level / 2, dof))
        low, high = diff - q * se, diff + q * se
        p_value: float | None = float(2 * stats.t.sf(abs(diff) / se, dof))
    else:  # both arms constant: the difference is exact
        low = high = diff
        p_value = None
    rel = rel_low = rel_high = None
    if m_c != 0:
        rel = m_t / m_c - 1
    if m_c != 0 and v_t > 0 and v_c > 0:
        rel_se = float(np.sqrt(a_t / m_c**2 + m_t**2 * a_c / m_c**4))
        z = float(stats.norm.ppf(0.5 + level / 2))
        rel_low, rel_high = rel - z * rel_se, rel + z * rel_se
    return Lift(n_treatment=n_t, n_control=n_c, mean_treatment=m_t, mean_control=m_c, absolute=diff,
                absolute_low=float(low), absolute_high=float(high), se=se, p_value=p_value,
                relative=rel, relative_low=rel_low, relative_high=rel_high, level=level)


def _wilson(successes: float, n: int, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def proportion_lift(y_treatment: np.ndarray, y_control: np.ndarray, *, level: float = 0.95) -> Lift:
    """`mean_lift` for a 0/1 metric, the difference's interval by Newcombe's hybrid score method
    (Newcombe 1998, method 10) and the p-value by the pooled two-proportion z-test."""
    y_t, y_c = np.asarray(y_treatment, dtype="float64"), np.asarray(y_control, dtype="float64")
    if not (np.isin(y_t, (0.0, 1.0)).all() and np.isin(y_c, (0.0, 1.0)).all()):
        raise ValueError("proportion_lift: the metric must be 0 / 1 per user")
    welch = mean_lift(y_t, y_c, level=level)
    n_t, n_c = len(y_t), len(y_c)
    p_t, p_c = welch.mean_treatment, welch.mean_control
    z = float(stats.norm.ppf(0.5 + level / 2))
    l_t, u_t = _wilson(y_t.sum(), n_t, z)
    l_c, u_c = _wilson(y_c.sum(), n_c, z)
    diff = p_t - p_c
    low = diff - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = diff + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    pooled = (y_t.sum() + y_c.sum()) / (n_t + n_c)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else None
    return dataclasses.replace(welch, absolute_low=float(low), absolute_high=float(high), p_value=p_value)


def cuped_theta(y: np.ndarray, x: np.ndarray) -> float:
    """theta = cov(y, x) / var(x) (0 when the covariate does not vary)."""
    y, x = np.asarray(y, dtype="float64"), np.asarray(x, dtype="float64")
    var = float(x.var(ddof=1)) if len(x) > 1 else 0.0
    if var <= 0:
        return 0.0
    return float(np.cov(y, x, ddof=1)[0, 1] / var)


def cuped_lift(y_treatment: np.ndarray, y_control: np.ndarray, x_treatment: np.ndarray, x_control: np.ndarray,
               *, level: float = 0.95, theta: float | None = None) -> CupedLift:
    """The lift of the CUPED-adjusted metric y - theta (x - mean x); theta from both arms pooled
    unless given (theta = 0 gives back the plain estimate)."""
    y_t, y_c = np.asarray(y_treatment, dtype="float64"), np.asarray(y_control, dtype="float64")
    x_t, x_c = np.asarray(x_treatment, dtype="float64"), np.asarray(x_control, dtype="float64")
    if len(x_t) != len(y_t) or len(x_c) != len(y_c):
        raise ValueError("CUPED: the covariate must have one value per user of each arm")
    y, x = np.concatenate([y_t, y_c]), np.concatenate([x_t, x_c])
    if theta is None:
        theta = cuped_theta(y, x)
    centre = float(x.mean())
    plain = mean_lift(y_t, y_c, level=level)
    adjusted = mean_lift(y_t - theta * (x_t - centre), y_c - theta * (x_c - centre), level=level)
    sd_x, sd_y = float(x.std()), float(y.std())
    corr = float(np.corrcoef(y, x)[0, 1]) if sd_x > 0 and sd_y > 0 else 0.0
    reduction = 1 - adjusted.se**2 / plain.se**2 if plain.se > 0 else 0.0
    return CupedLift(lift=adjusted, theta=float(theta), correlation=corr, plain_se=plain.se,
                     variance_reduction=float(reduction))
