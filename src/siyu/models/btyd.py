"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013): maximum likelihood.

Pure numerical core. Per customer: `x` repeat purchases, `t_x` time of the last purchase and
`T` age, both measured from the first purchase (any time unit, used consistently); for the
Gamma-Gamma part, `n` purchases with spend and `m` their mean value. Every fit takes optional
`weights` (how many customers share a row), so pooled rows of many cutoffs can be fitted as
their distinct summaries.

The log-likelihoods, E[X(t)] and P(alive) are the published formulas as the reference library
(lifetimes 0.11) evaluates them; tests/models/test_btyd.py holds siyu to its parameters and
scores on the CDNOW summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from siyu.features.families.btyd import BTYD_COLUMNS

# The calibration summary columns a model reads (built by `siyu.features.btyd_summary`):
# repeat purchases, days first -> last purchase, days first purchase -> last observed day,
# mean spend per purchase (all purchases, the first included).
SUMMARY_COLUMNS: tuple[str, ...] = BTYD_COLUMNS


@dataclass(frozen=True)
class BGNBDParams:
    """Purchase rate λ ~ Gamma(r, α) (shape, rate); dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, γ)."""

    p: float
    q: float
    gamma: float


def _check_rfm(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError(f"BG/NBD: x, t_x, T must have one shape, got {x.shape}, {t_x.shape}, {T.shape}")
    bad = (x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ~np.isfinite(x + t_x + T) | ((x == 0) & (t_x != 0))
    if bad.any():
        raise ValueError(
            f"BG/NBD: {int(bad.sum())} customers violate 0 <= t_x <= T, x >= 0, t_x = 0 when x = 0 "
            f"(e.g. row {int(np.argmax(bad))}); check the BTYD summaries"
        )
    return x, t_x, T


_LOG_BOUND = 15.0  # parameters within e^±15 (the homogeneous limits lie beyond)


def _check_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"BTYD: weights must be {n} finite non-negative numbers with a positive sum")
    return w


def bgnbd_log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    return a1 + a2 + np.logaddexp(a3, np.where(x > 0, a4, -np.inf))


def _bgnbd_nll_and_grad(theta: np.ndarray, x, t_x, T, w) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood over log-parameters, and its exact gradient."""
    r, alpha, a, b = np.exp(theta)
    rep = x > 0
    log_at, log_ax = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_at
    a4 = np.where(rep, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * log_ax, -np.inf)
    tail = np.logaddexp(a3, a4)
    s4 = np.exp(a4 - tail)  # share of the "dropped after the last purchase" term
    s3 = 1.0 - s4
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
          + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x) + tail)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - s3 * log_at - s4 * np.where(rep, log_ax, 0.0)
    d_alpha = r / alpha - s3 * (r + x) / (alpha + T) - s4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + s4 / a
    d_b = (digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
           - s4 / (b + np.maximum(x, 1) - 1))
    total = w.sum()
    grad = np.array([np.sum(w * d) for d in (d_r, d_alpha, d_a, d_b)]) * np.exp(theta)
    return -float(np.sum(w * ll)) / total, -grad / total


def fit_bgnbd(x, t_x, T, *, weights=None, init: BGNBDParams | None = None) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters: L-BFGS-B with the exact gradient, on log-parameters."""
    x, t_x, T = _check_rfm(x, t_x, T)
    w = _check_weights(weights, len(x))
    if not (w[x > 0] > 0).any():
        raise ValueError("BG/NBD: no customer has a repeat purchase, so the dropout process cannot be fitted; "
                         "use a longer history or another baseline")
    start = init or BGNBDParams(r=1.0, alpha=max(float(np.average(T, weights=w)), 1e-3), a=1.0, b=1.0)
    theta0 = np.log([start.r, start.alpha, start.a, start.b])
    with np.errstate(all="ignore"):
        res = minimize(_bgnbd_nll_and_grad, theta0, args=(x, t_x, T, w), jac=True, method="L-BFGS-B",
                       bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
                       options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
    params = np.exp(res.x)
    if not np.isfinite(res.fun):
        raise RuntimeError(f"BG/NBD: the likelihood fit did not converge ({res.message}); params {params.tolist()}")
    # A bound reached is the homogeneous limit (r, α -> ∞ with r/α fixed: one purchase rate for
    # all; a, b -> ∞ with a/(a+b) fixed: one dropout probability): still a BG/NBD, kept as is.
    return BGNBDParams(*params.tolist())


def bgnbd_p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T); 1 without a repeat purchase."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    log_odds = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_odds))


def bgnbd_expected_purchases(params: BGNBDParams, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    ha, hb, hc, z = r + x, b + x, a + b + x - 1, t / (alpha + T + t)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_hyp = np.log(hyp2f1(ha, hb, hc, z))
        # Where 2F1 overflows, Euler's transformation gives the same value in another form.
        alt = np.log(hyp2f1(hc - ha, hc - hb, hc, z)) + (hc - ha - hb) * np.log1p(-z)
    log_hyp = np.where(np.isfinite(log_hyp), log_hyp, alt)
    # a == 1 is a removable singularity of the first factor, nudged off.
    head = (a + b + x - 1) / (a - 1 if abs(a - 1) > 1e-9 else 1e-9)
    tail = -np.expm1(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    value = head * tail * bgnbd_p_alive(params, x, t_x, T)
    return np.clip(np.nan_to_num(value, nan=0.0, posinf=0.0), 0.0, None)


def bgnbd_p_any_purchase(params: BGNBDParams, t: float, x, t_x, T) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | x, t_x, T).

    A customer alive at T who buys nothing in the window cannot drop out (dropout follows a
    purchase), so P(none) = 1 - P(alive) + P(alive) · ((α + T) / (α + T + t))^(r + x).
    """
    r, alpha = params.r, params.alpha
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = bgnbd_p_alive(params, x, t_x, T)
    none_if_alive = ((alpha + T) / (alpha + T + t)) ** (r + x)
    return alive * (1.0 - none_if_alive)


def simulate_bgnbd(params: BGNBDParams, T: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers of ages T from the BG/NBD model itself (for tests)."""
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=len(T))
    p = rng.beta(params.a, params.b, size=len(T))
    x, t_x = np.zeros(len(T)), np.zeros(len(T))
    for i in range(len(T)):
        now = 0.0
        while True:
            now += rng.exponential(1.0 / lam[i])
            if now > T[i]:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < p[i]:
                break
    return x, t_x


def gamma_gamma_log_likelihood(params: GammaGammaParams, n, m) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of mean spend `m` over `n` purchases (F&H 2013, eq. 1a)."""
    p, q, g = params.p, params.q, params.gamma
    n, m = np.asarray(n, dtype=float), np.asarray(m, dtype=float)
    return (gammaln(p * n + q) - gammaln(p * n) - gammaln(q) + q * np.log(g)
            + (p * n - 1) * np.log(m) + p * n * np.log(n) - (p * n + q) * np.log(g + n * m))


def _gamma_gamma_nll_and_grad(theta: np.ndarray, n, m, w) -> tuple[float, np.ndarray]:
    p, q, g = np.exp(theta)
    ll = gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), n, m)
    d_p = n * (digamma(p * n + q) - digamma(p * n) + np.log(m) + np.log(n) - np.log(g + n * m))
    d_q = digamma(p * n + q) - digamma(q) + np.log(g) - np.log(g + n * m)
    d_g = q / g - (p * n + q) / (g + n * m)
    total = w.sum()
    grad = np.array([np.sum(w * d) for d in (d_p, d_q, d_g)]) * np.exp(theta)
    return -float(np.sum(w * ll)) / total, -grad / total


def fit_gamma_gamma(n, m, *, weights=None) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the customers with n >= 1 and m > 0."""
    n, m = np.asarray(n, dtype=float), np.asarray(m, dtype=float)
    w = _check_weights(weights, len(n))
    keep = (n >= 1) & (m > 0) & np.isfinite(m) & (w > 0)
    if keep.sum() < 10:
        raise ValueError(f"Gamma-Gamma: need at least 10 customers with purchases and positive spend, got {int(keep.sum())}")
    n, m, w = n[keep], m[keep], w[keep]
    theta0 = np.log([1.0, 2.0, float(np.average(m, weights=w))])
    with np.errstate(all="ignore"):
        res = minimize(_gamma_gamma_nll_and_grad, theta0, args=(n, m, w), jac=True, method="L-BFGS-B",
                       bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3, options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
    if not np.isfinite(res.fun):
        raise RuntimeError(f"Gamma-Gamma: the likelihood fit did not converge ({res.message})")
    params = GammaGammaParams(*np.exp(res.x).tolist())
    if params.q <= 1:
        # E[spend] = pγ/(q-1) is infinite: spend too heavy-tailed for the model.
        raise ValueError(f"Gamma-Gamma: fitted q = {params.q:.3f} <= 1, so the expected spend is unbounded; "
                         "cap extreme order values or use a spend model without Gamma-Gamma")
    return params


def gamma_gamma_expected_spend(params: GammaGammaParams, n, m) -> np.ndarray:
    """E[spend per purchase | n, m] (F&H 2013, eq. 5); the population mean pγ/(q-1) where n == 0."""
    p, q, g = params.p, params.q, params.gamma
    n, m = np.asarray(n, dtype=float), np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    population = p * g / (q - 1)
    weight = p * n / (p * n + q - 1)
    return np.where(n >= 1, (1 - weight) * population + weight * m, population)
