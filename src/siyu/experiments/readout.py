"""An experiment readout assembled from per-user outcomes: pure (a frame and masks in, a frozen
`Readout` out). The job (`siyu.jobs.experiment`) gathers the frame; the statistics are in
`siyu.experiments.stats`; `Readout.to_dict()` is the JSON document (schema in INTERFACES.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from siyu.experiments.outcomes import METRIC_BY_NAME, METRICS
from siyu.experiments.stats import (
    CUPED_METHOD,
    LIFT_METHOD,
    CupedLift,
    Lift,
    SrmCheck,
    cuped_lift,
    mean_lift,
    proportion_lift,
)

LIFECYCLE_ORDER = ("potential", "new", "active", "silent", "churned")


@dataclass(frozen=True)
class Comparison:
    """One treatment against its control: boolean masks over the rows of the outcome frame."""

    treatment: str
    treated: np.ndarray
    control: np.ndarray


@dataclass(frozen=True)
class MetricReadout:
    """One treatment x metric: the plain lift and the CUPED lift (None when an arm is too small)."""

    treatment: str
    metric: str
    label: str
    horizon_days: int
    lift: Lift | None
    cuped: CupedLift | None


@dataclass(frozen=True)
class GroupReadout:
    """The lift of one treatment x metric inside one segment or lifecycle stage."""

    treatment: str
    metric: str
    dimension: str  # lifecycle_stage | segment
    group: str
    n_treatment: int
    n_control: int
    small: bool  # fewer than min_cell users in an arm: read with care
    lift: Lift | None  # None when an arm has fewer than 2 users


@dataclass(frozen=True)
class Calibration:
    """Measured incremental revenue (spend lift x treated users, with its interval) against the
    plan's predicted gain (sum of expected_gain over the treated; + cost = predicted value)."""

    treatment: str
    n_treated: int
    horizon_days: int
    predicted_gain: float
    predicted_value: float
    measured: float
    measured_low: float
    measured_high: float
    ratio: float | None  # measured / predicted value
    covered: bool  # the predicted value lies inside the measured interval


@dataclass(frozen=True)
class UpliftCalibration:
    """The plan's mean predicted uplift of its treated users (its uplift task's outcome) against the
    measured lift on the metric with the same definition."""

    treatment: str
    metric: str
    horizon_days: int  # the readout's horizon of the metric
    task_horizon_days: int | None  # the uplift task's horizon (the prediction's)
    n_treated: int
    predicted: float
    measured: float
    measured_low: float
    measured_high: float
    covered: bool


@dataclass(frozen=True)
class Readout:
    """Treatment vs control after the horizon: SRM first, then lifts, CUPED, groups, calibration."""

    id: str
    kind: str  # campaign | plan
    source: str  # the campaign id or the plan's run id
    cutoff: date
    data_end: date
    level: float
    horizons: dict[str, int]  # metrics read -> horizon days
    pending: dict[str, str]  # metrics not yet readable -> the first date they are
    population: str
    active_within_days: int | None  # the population rule of a campaign (None: every user joined before the cutoff)
    arms: dict[str, int]
    srm: SrmCheck | None
    srm_skipped: str | None
    trustworthy: bool
    metrics: tuple[MetricReadout, ...]
    groups: tuple[GroupReadout, ...]
    groups_skipped: dict[str, str]  # dimension -> why it is not shown
    calibration: tuple[Calibration, ...]
    uplift_calibration: tuple[UpliftCalibration, ...]
    compliance: dict[str, Any] | None
    notes: tuple[str, ...]
    methods: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (dates ISO, non-finite numbers null)."""
        return _clean(dataclasses.asdict(self))

    def rows(self) -> pd.DataFrame:
        """One row per treatment x metric (the CSV beside the JSON)."""
        out = []
        for m in self.metrics:
            row: dict[str, Any] = {"id": self.id, "treatment": m.treatment, "metric": m.metric,
                                   "horizon_days": m.horizon_days}
            if m.lift is not None:
                row.update({k: getattr(m.lift, k) for k in (
                    "n_treatment", "n_control", "mean_treatment", "mean_control", "absolute", "absolute_low",
                    "absolute_high", "p_value", "relative", "relative_low", "relative_high")})
            if m.cuped is not None:
                row.update({"cuped_absolute": m.cuped.lift.absolute, "cuped_low": m.cuped.lift.absolute_low,
                            "cuped_high": m.cuped.lift.absolute_high, "cuped_theta": m.cuped.theta,
                            "cuped_variance_reduction": m.cuped.variance_reduction})
            row.update({"srm_p_value": None if self.srm is None else self.srm.p_value,
                        "trustworthy": self.trustworthy})
            out.append(row)
        return pd.DataFrame(out)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _lift_or_none(y_t: np.ndarray, y_c: np.ndarray, level: float, binary: bool) -> Lift | None:
    if len(y_t) < 2 or len(y_c) < 2:
        return None
    return proportion_lift(y_t, y_c, level=level) if binary else mean_lift(y_t, y_c, level=level)


MIN_EVENTS_FOR_CUPED = 5


def _enough_events(y_t: np.ndarray, y_c: np.ndarray) -> bool:
    """A rate's CUPED interval is a Welch interval on adjusted values: with almost no events (or
    almost no non-events) in an arm it claims a precision the data does not have, so it needs at
    least MIN_EVENTS_FOR_CUPED of each in each arm."""
    return all(min(y.sum(), len(y) - y.sum()) >= MIN_EVENTS_FOR_CUPED for y in (y_t, y_c))


def metric_readouts(frame: pd.DataFrame, comparisons: Sequence[Comparison], horizons: Mapping[str, int],
                    *, level: float = 0.95) -> tuple[MetricReadout, ...]:
    """Plain and CUPED lift per comparison x metric (`frame` holds `<metric>` and `<metric>_pre`);
    no CUPED for a rate with fewer than MIN_EVENTS_FOR_CUPED events or non-events in an arm."""
    out = []
    for comp in comparisons:
        for name, h in horizons.items():
            y, x = frame[name].to_numpy("float64"), frame[f"{name}_pre"].to_numpy("float64")
            y_t, y_c, x_t, x_c = y[comp.treated], y[comp.control], x[comp.treated], x[comp.control]
            lift = _lift_or_none(y_t, y_c, level, METRIC_BY_NAME[name].binary)
            cuped_ok = lift is not None and (not METRIC_BY_NAME[name].binary or _enough_events(y_t, y_c))
            cup = cuped_lift(y_t, y_c, x_t, x_c, level=level) if cuped_ok else None
            out.append(MetricReadout(comp.treatment, name, METRIC_BY_NAME[name].label, h, lift, cup))
    return tuple(out)


def group_readouts(frame: pd.DataFrame, comparisons: Sequence[Comparison], horizons: Mapping[str, int],
                   dimension: str, *, min_cell: int, level: float = 0.95) -> tuple[GroupReadout, ...]:
    """The lift per value of `dimension` (a column of `frame`) for each comparison x metric."""
    values = frame[dimension].astype("string").fillna("(none)").to_numpy()
    present = sorted(set(values))
    if dimension == "lifecycle_stage":
        present = [s for s in LIFECYCLE_ORDER if s in present] + [s for s in present if s not in LIFECYCLE_ORDER]
    out = []
    for comp in comparisons:
        for group in present:
            in_group = values == group
            t, c = comp.treated & in_group, comp.control & in_group
            n_t, n_c = int(t.sum()), int(c.sum())
            if n_t == 0 and n_c == 0:
                continue
            for name in horizons:
                y = frame[name].to_numpy("float64")
                out.append(GroupReadout(comp.treatment, name, dimension, str(group), n_t, n_c,
                                        small=min(n_t, n_c) < min_cell,
                                        lift=_lift_or_none(y[t], y[c], level, METRIC_BY_NAME[name].binary)))
    return tuple(out)


def calibrations(metrics: Sequence[MetricReadout], predicted: Mapping[str, tuple[float, float]],
                 metric: str = "spend_per_user") -> tuple[Calibration, ...]:
    """Per treatment with a prediction (treatment -> (sum expected_gain, sum cost) over its treated
    users): measured incremental revenue = spend lift x treated users, against the prediction."""
    out = []
    for m in metrics:
        if m.metric != metric or m.lift is None or m.treatment not in predicted:
            continue
        gain, cost = predicted[m.treatment]
        n = m.lift.n_treatment
        value = gain + cost
        low, high = m.lift.absolute_low * n, m.lift.absolute_high * n
        out.append(Calibration(
            treatment=m.treatment, n_treated=n, horizon_days=m.horizon_days, predicted_gain=float(gain),
            predicted_value=float(value), measured=m.lift.absolute * n, measured_low=low, measured_high=high,
            ratio=None if value == 0 else m.lift.absolute * n / value, covered=bool(low <= value <= high)))
    return tuple(out)


def uplift_calibrations(metrics: Sequence[MetricReadout], predicted: Mapping[str, float], metric: str,
                        task_horizon_days: int | None) -> tuple[UpliftCalibration, ...]:
    """Per treatment with a prediction (treatment -> mean predicted uplift over its treated users):
    the measured lift of `metric` with its interval, and whether the prediction lies inside it."""
    out = []
    for m in metrics:
        if m.metric != metric or m.lift is None or m.treatment not in predicted:
            continue
        p = float(predicted[m.treatment])
        out.append(UpliftCalibration(
            treatment=m.treatment, metric=metric, horizon_days=m.horizon_days, task_horizon_days=task_horizon_days,
            n_treated=m.lift.n_treatment, predicted=p, measured=m.lift.absolute, measured_low=m.lift.absolute_low,
            measured_high=m.lift.absolute_high, covered=bool(m.lift.absolute_low <= p <= m.lift.absolute_high)))
    return tuple(out)


def methods(level: float) -> dict[str, str]:
    """The methods a readout names (the JSON's `methods`)."""
    return {"lift": LIFT_METHOD, "cuped": CUPED_METHOD, "level": f"{level:.0%} two-sided",
            "metrics": "; ".join(f"{m.name} = {m.label} over [cutoff, cutoff + h)" for m in METRICS)}
