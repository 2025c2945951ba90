"""Uplift metrics on held-out campaigns, pure: Qini curve and coefficient, AUUC, uplift@k, with
95 % intervals from a bootstrap over users, and the same rankings judged on true effects.

Curves. Rows (one treatment's arm and the control arm) are ranked by the model's effect for
that treatment, best first; for the top k rows, with N_t, N_c the treated / control rows and
Y_t, Y_c their summed outcomes among them:
- Qini curve (Radcliffe 2007): Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k): the incremental
  outcomes among the treated of the top k (0 while N_c(k) = 0);
- uplift curve: U(k) = (Y_t(k) / N_t(k) - Y_c(k) / N_c(k)) * k: the incremental outcomes had all
  of the top k been treated.
Points are taken at the end of each group of tied scores; areas by the trapezoid rule over k.

The one normalisation (both coefficients): the area between the model's curve and the random
line (the straight line to the curve's end, the same for every ranking of these rows), divided
by the same area for the perfect ranking of the observed rows (treated rows with the largest
outcomes first, control rows with the largest outcomes last: score y * T - y * (1 - T)):
`qini` = (A_model - A_random) / (A_perfect - A_random), `auuc` likewise on the uplift curve.
Why this one: random ranking gives 0 and the perfect ranking 1 on any rows, it has no unit (a
probability or money alike), it stays finite when the average effect is near 0 (dividing by
n * ATE does not), and it is what scikit-uplift's `qini_auc_score` computes, so numbers
compare with the field. The perfect ranking sorts by realized outcomes no model can know, so
values are small; a generated world's true effects give the reachable reference: the `oracle`
row (ranking by the true effect, scored on the same outcomes) and `true_qini` (a ranking's
area under the cumulative TRUE effects, over the oracle's: no outcome noise).

uplift@k: the difference in mean outcome between treated and control rows among the top k %
(10 %, 30 %) by score: the effect in the users a budget of k % would contact.

Campaigns: the test rows pool several campaigns whose assignment shares and base rates differ
(a festival campaign contacts more users, who also buy more anyway). Pooled as they are, a
ranking that merely puts one campaign's rows first gains a spurious Qini; with `strata` (the
rows' campaign) each row is weighted 0.5 / e (treated) or 0.5 / (1 - e) (control), e the treated
share of its campaign, so both arms weigh the same within every campaign (inverse propensity
weighting with the design's known shares) and the curves above use these weights.

Several treatments: each column is judged on its own arm versus control; the headline
(`qini`, `auuc`, `uplift_at_10`, ...) is their mean weighted by the treated rows of each arm,
and per treatment they are `qini__<treatment>`, ... Intervals resample users (a user's rows in
every test campaign move together), the same draws for every treatment, so the headline's
interval and a paired difference of two models are consistent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit

from siyu.evaluation.intervals import LEVEL, Interval, undrawn, user_draws

CONTROL = "control"
TOP_SHARES: tuple[int, ...] = (10, 30)
CURVE_METRICS: tuple[str, ...] = ("qini", "auuc")


def _ranking(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order by score descending, whether each position in that order closes a tie group)."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    return order, np.append(s[1:] != s[:-1], True)


def _cum_at_groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order by score descending, index of the last row of each tie group in that order)."""
    order, closes = _ranking(score)
    return order, np.flatnonzero(closes)


def _curves(order: np.ndarray, ends: np.ndarray, y: np.ndarray, t: np.ndarray,
            w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, qini, uplift) at the tie-group ends, with a leading 0 point; `w`: (rows, B) weights."""
    wo, yo, to = w[order], y[order][:, None], t[order][:, None]
    nt = np.cumsum(wo * to, axis=0)[ends]
    nc = np.cumsum(wo * (1 - to), axis=0)[ends]
    yt = np.cumsum(wo * yo * to, axis=0)[ends]
    yc = np.cumsum(wo * yo * (1 - to), axis=0)[ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        qini = np.where(nc > 0, yt - yc * nt / np.where(nc > 0, nc, 1), 0.0)
        rate = np.where((nt > 0) & (nc > 0), yt / np.where(nt > 0, nt, 1) - yc / np.where(nc > 0, nc, 1), 0.0)
    k = nt + nc
    zero = np.zeros((1, w.shape[1]))
    return np.vstack([zero, k]), np.vstack([zero, qini]), np.vstack([zero, rate * k])


def _area_above_random(k: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Trapezoid area under `curve` over `k` minus the random line's (end value * end k / 2)."""
    area = np.sum((k[1:] - k[:-1]) * (curve[1:] + curve[:-1]) / 2, axis=0)
    return area - curve[-1] * k[-1] / 2


@njit(cache=True, nogil=True)
def _ranked_pass(y, t, base, codes, order, group_end, counts, thresholds):  # noqa: ANN001, ANN202 - numba kernel
    """One pass down a ranking for a block of replicates: per replicate, the Qini and uplift
    curves' areas above the random line (`_curves` at the tie-group ends, trapezoids over k) and,
    per share s, treated minus control mean outcome among the rows whose running weight stays
    within `thresholds[s, b]` (the top share; the first row always counts). Row weight:
    base[i] * counts[codes[i], b]. Same numbers as the array form, without its (rows x block)
    intermediates."""
    n_boot, n_share = counts.shape[1], thresholds.shape[0]
    nt, nc, yt, yc = np.zeros(n_boot), np.zeros(n_boot), np.zeros(n_boot), np.zeros(n_boot)
    prev_k, prev_q, prev_u = np.zeros(n_boot), np.zeros(n_boot), np.zeros(n_boot)
    area_q, area_u, running = np.zeros(n_boot), np.zeros(n_boot), np.zeros(n_boot)
    top = np.zeros((4, n_share, n_boot))  # treated rows, control rows, treated outcome, control outcome
    for k in range(len(order)):
        i = order[k]
        row, weight, outcome = counts[codes[i]], base[i], y[i]
        arm = 0 if t[i] > 0 else 1
        n_arm, y_arm = (nt, yt) if arm == 0 else (nc, yc)
        for b in range(n_boot):
            w = row[b] * weight
            running[b] += w
            n_arm[b] += w
            y_arm[b] += w * outcome
            for s in range(n_share):
                if k == 0 or running[b] <= thresholds[s, b]:
                    top[arm, s, b] += w
                    top[arm + 2, s, b] += w * outcome
        if group_end[k]:
            for b in range(n_boot):
                kk = nt[b] + nc[b]
                q = yt[b] - yc[b] * nt[b] / nc[b] if nc[b] > 0 else 0.0
                u = (yt[b] / nt[b] - yc[b] / nc[b]) * kk if nt[b] > 0 and nc[b] > 0 else 0.0
                area_q[b] += (kk - prev_k[b]) * (q + prev_q[b]) / 2.0
                area_u[b] += (kk - prev_k[b]) * (u + prev_u[b]) / 2.0
                prev_k[b], prev_q[b], prev_u[b] = kk, q, u
    effect = np.full((n_share, n_boot), np.nan)
    for s in range(n_share):
        for b in range(n_boot):
            if top[0, s, b] > 0 and top[1, s, b] > 0:
                effect[s, b] = top[2, s, b] / top[0, s, b] - top[3, s, b] / top[1, s, b]
    for b in range(n_boot):
        area_q[b] -= prev_q[b] * prev_k[b] / 2.0
        area_u[b] -= prev_u[b] * prev_k[b] / 2.0
    return area_q, area_u, effect


def _balance_weights(treated: np.ndarray, strata: np.ndarray | None) -> np.ndarray:
    """Row weights 0.5 / e (treated) and 0.5 / (1 - e) (control), e = the treated share of the row's
    stratum (its campaign): treated and control then weigh the same in every campaign, so pooling
    campaigns with different assignment shares and base rates adds no spurious uplift (a model
    that merely ranks a festival campaign's users first, where more were contacted and more buy
    anyway, gains nothing). Without strata: 1."""
    if strata is None:
        return np.ones(len(treated))
    codes, _ = pd.factorize(pd.Series(strata), sort=False)
    n = np.bincount(codes).astype("float64")
    e = (np.bincount(codes, weights=treated.astype("float64")) / n)[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(treated, 0.5 / e, 0.5 / (1 - e))
    return np.where(np.isfinite(w), w, 0.0)  # a one-arm stratum says nothing about the effect


class _Arm:
    """One treatment's rows (its arm and control), sorted once by the model's and the perfect score;
    each block of replicates is one compiled pass down each ranking."""

    def __init__(self, y: np.ndarray, treated: np.ndarray, score: np.ndarray, codes: np.ndarray,
                 strata: np.ndarray | None = None) -> None:
        self.y, self.t, self.codes = y, treated.astype("float64"), codes.astype(np.int64)
        self.base = _balance_weights(treated, strata)
        self.user_base = np.bincount(self.codes, weights=self.base)  # each user's rows' summed weight
        self.order, self.ends = _ranking(score)
        self.p_order, self.p_ends = _ranking(y * self.t - y * (1 - self.t))

    def metrics(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        counts = np.ascontiguousarray(counts, dtype=np.float64)
        total = self.user_base @ counts[: len(self.user_base)]
        thresholds = np.array([share / 100 * total + 1e-9 for share in TOP_SHARES]).reshape(len(TOP_SHARES), -1)
        q, u, top = _ranked_pass(self.y, self.t, self.base, self.codes, self.order, self.ends, counts, thresholds)
        pq, pu, _ = _ranked_pass(self.y, self.t, self.base, self.codes, self.p_order, self.p_ends, counts,
                                 thresholds[:0])
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {"qini": q / pq, "auuc": u / pu}
        for j, share in enumerate(TOP_SHARES):
            out[f"uplift_at_{share}"] = top[j]
        return out


def _arms(y: np.ndarray, treatment: np.ndarray, uplift: np.ndarray, treatments: Sequence[str],
          codes: np.ndarray, strata: np.ndarray | None = None) -> dict[str, tuple[_Arm, int]]:
    out = {}
    for j, name in enumerate(treatments):
        rows = (treatment == name) | (treatment == CONTROL)
        treated = treatment[rows] == name
        if treated.all() or not treated.any():
            continue
        out[name] = (_Arm(y[rows], treated, uplift[rows, j], codes[rows], None if strata is None else strata[rows]),
                     int(treated.sum()))
    return out


def _combine(per_arm: dict[str, dict[str, np.ndarray]], weights: dict[str, int]) -> dict[str, np.ndarray]:
    """Per-treatment metrics -> the headline (treated-row weighted mean) and `<metric>__<t>`."""
    out: dict[str, np.ndarray] = {}
    total = sum(weights.values())
    for metric in next(iter(per_arm.values())):
        out[metric] = sum(per_arm[t][metric] * (weights[t] / total) for t in per_arm)
        out |= {f"{metric}__{t}": per_arm[t][metric] for t in per_arm}
    return out


def _prepared(y: object, treatment: object, uplift: object, treatments: Sequence[str],
              users: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    y_arr = np.asarray(y, dtype="float64")
    t_arr = np.asarray(treatment, dtype=object).astype(str)
    u_arr = np.asarray(uplift, dtype="float64").reshape(len(y_arr), -1)
    if len(t_arr) != len(y_arr) or u_arr.shape[1] != len(treatments) or len(np.asarray(users)) != len(y_arr):
        raise ValueError(f"uplift metrics: y, treatment, users need one length and uplift one column per "
                         f"treatment {list(treatments)}; got {len(y_arr)}, {len(t_arr)}, {len(np.asarray(users))}, "
                         f"{u_arr.shape}")
    if not np.isfinite(u_arr).all():
        raise ValueError("uplift metrics: the uplift scores hold missing or infinite values")
    codes, uniques = pd.factorize(pd.Series(np.asarray(users)), sort=False)
    return y_arr, t_arr, u_arr, codes, len(uniques)


def uplift_metrics(y: object, treatment: object, uplift: object, treatments: Sequence[str], users: object, *,
                   strata: object = None, n_boot: int = 0, seed: int = 0, level: float = LEVEL) -> dict[str, float]:
    """`qini`, `auuc`, `uplift_at_10`, `uplift_at_30` (headline and `__<treatment>`), and with
    `n_boot` > 0 their `_ci_low` / `_ci_high` from a bootstrap over users. `uplift`: (n, T), the
    column j being the effect of `treatments[j]`. `strata` (the rows' campaign): treated and
    control rows are balanced within each (`_balance_weights`) before the curves pool them."""
    y_arr, t_arr, u_arr, codes, n_users = _prepared(y, treatment, uplift, treatments, users)
    arms = _arms(y_arr, t_arr, u_arr, treatments, codes, None if strata is None else np.asarray(strata))
    if not arms:
        raise ValueError(f"uplift metrics: no treatment of {list(treatments)} has both treated and control rows")
    weights = {t: n for t, (_, n) in arms.items()}
    point = _combine({t: a.metrics(np.ones((n_users, 1))) for t, (a, _) in arms.items()}, weights)
    out = {k: float(v[0]) for k, v in point.items()}
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws: dict[str, list[np.ndarray]] = {k: [] for k in point}
        for counts in user_draws(n_users, n_boot, rng):
            block = _combine({t: a.metrics(counts) for t, (a, _) in arms.items()}, weights)
            for k, v in block.items():
                draws[k].append(v)
        for k, parts in draws.items():
            low, high = _bounds(np.concatenate(parts), level)
            out |= {f"{k}_ci_low": low, f"{k}_ci_high": high}
    return out


def _bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    arr = values[np.isfinite(values)]
    if not len(arr):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(arr, [tail, 100 - tail])
    return float(low), float(high)


def paired_uplift_difference(metric: str, y: object, treatment: object, uplift_a: object, uplift_b: object,
                             treatments: Sequence[str], users: object, *, n_boot: int, rng: np.random.Generator,
                             strata: object = None, level: float = LEVEL, above_only: bool = False) -> Interval:
    """`metric(a) - metric(b)` (e.g. 'qini') on the same rows, with its interval: both models see
    the same resampled users in each replicate (the gate's paired bootstrap). `above_only`: as in
    `siyu.evaluation.intervals.paired_difference`, no draws for a point at or below zero."""
    y_arr, t_arr, a_arr, codes, n_users = _prepared(y, treatment, uplift_a, treatments, users)
    b_arr = np.asarray(uplift_b, dtype="float64").reshape(a_arr.shape)
    groups = None if strata is None else np.asarray(strata)
    arms_a, arms_b = (_arms(y_arr, t_arr, u, treatments, codes, groups) for u in (a_arr, b_arr))
    weights = {t: n for t, (_, n) in arms_a.items()}

    def value(arms: dict, counts: np.ndarray) -> np.ndarray:
        return _combine({t: a.metrics(counts) for t, (a, _) in arms.items()}, weights)[metric]

    ones = np.ones((n_users, 1))
    point = float(value(arms_a, ones)[0] - value(arms_b, ones)[0])
    if above_only and not point > 0:
        return undrawn(point, level)
    draws = np.concatenate([value(arms_a, c) - value(arms_b, c) for c in user_draws(n_users, n_boot, rng)])
    return Interval(point, *_bounds(draws, level), n_boot=n_boot, level=level)


def true_qini(uplift: object, tau: object) -> float:
    """A ranking judged on the TRUE effects (no outcome noise): the area between the cumulative
    true effect of the rows taken in the ranking's order and the random line, over the same area
    for the order of the true effects themselves (1 = the oracle's order, 0 = random)."""
    u = np.asarray(uplift, dtype="float64")
    tau_arr = np.asarray(tau, dtype="float64")
    if u.shape != tau_arr.shape or u.ndim != 1:
        raise ValueError(f"true_qini: one score per row with its true effect; got {u.shape} and {tau_arr.shape}")

    def area(score: np.ndarray) -> float:
        order, ends = _cum_at_groups(score)
        gain = np.concatenate([[0.0], np.cumsum(tau_arr[order])[ends]])
        k = np.concatenate([[0.0], (ends + 1).astype("float64")])
        return float(_area_above_random(k[:, None], gain[:, None])[0])

    best = area(tau_arr)
    return area(u) / best if best > 0 else float("nan")


def true_uplift_metrics(treatment: object, uplift: object, tau: object, treatments: Sequence[str]) -> dict[str, float]:
    """`true_qini` per treatment (`true_qini__<t>`) and their treated-row weighted mean, on the
    rows of each treatment's arm and control (`tau`: (n, T) true effects, NaN where unknown)."""
    t_arr = np.asarray(treatment, dtype=object).astype(str)
    u_arr = np.asarray(uplift, dtype="float64").reshape(len(t_arr), -1)
    tau_arr = np.asarray(tau, dtype="float64").reshape(u_arr.shape)
    out, weights = {}, {}
    for j, name in enumerate(treatments):
        rows = ((t_arr == name) | (t_arr == CONTROL)) & np.isfinite(tau_arr[:, j])
        if rows.sum() < 2:
            continue
        out[f"true_qini__{name}"] = true_qini(u_arr[rows, j], tau_arr[rows, j])
        weights[name] = int((t_arr[rows] == name).sum())
    if weights:
        total = sum(weights.values())
        out["true_qini"] = float(sum(out[f"true_qini__{t}"] * w / total for t, w in weights.items()))
    return out


def qini_curve(y: object, treated: object, score: object, *, points: int = 101) -> pd.DataFrame:
    """`share, qini, uplift, random` at `points` shares of the ranked rows (for a plot): the Qini
    and uplift curves of one treatment column against control, and the random line."""
    y_arr = np.asarray(y, dtype="float64")
    t_arr = np.asarray(treated, dtype=bool)
    order, ends = _cum_at_groups(np.asarray(score, dtype="float64"))
    k, q, u = _curves(order, ends, y_arr, t_arr.astype("float64"), np.ones((len(y_arr), 1)))
    share = k[:, 0] / k[-1, 0]
    grid = np.linspace(0, 1, points)
    return pd.DataFrame({"share": grid, "qini": np.interp(grid, share, q[:, 0]),
                         "uplift": np.interp(grid, share, u[:, 0]), "random": grid * q[-1, 0]})


__all__ = ["CURVE_METRICS", "TOP_SHARES", "paired_uplift_difference", "qini_curve", "true_qini",
           "true_uplift_metrics", "uplift_metrics"]
