"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013): maximum likelihood.

Pure numerical core. Per customer: `x` repeat purchases, `t_x` time of the last purchase and
`T` age, both measured from the first purchase (any time unit, used consistently); for the
Gamma-Gamma part, `n` purchases with spend and `m` their mean value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


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


def _check_rfm(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError(f"BG/NBD: x, t_x, T must have one shape, got {x.shape}, {t_x.shape}, {T.shape}")
    bad = (x < 0) | (t_x < 0) | (T < 0) | (t_x > T + 1e-9) | ~np.isfinite(x + t_x + T)
    if bad.any():
        raise ValueError(
            f"BG/NBD: {int(bad.sum())} customers violate 0 <= t_x <= T, x >= 0 (e.g. row {int(np.argmax(bad))}); "
            "check the recency / age features"
        )
    return x, t_x, T


def bgnbd_log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(x, t_x, T, *, init: BGNBDParams | None = None) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters (L-BFGS-B on log-parameters)."""
    x, t_x, T = _check_rfm(x, t_x, T)
    start = init or BGNBDParams(r=1.0, alpha=max(float(np.mean(T)), 1e-3), a=1.0, b=1.0)
    theta0 = np.log([start.r, start.alpha, start.a, start.b])

    def nll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(np.clip(theta, -20, 20))
        ll = bgnbd_log_likelihood(BGNBDParams(r, alpha, a, b), x, t_x, T)
        return -float(np.sum(ll)) / len(x)

    res = minimize(nll, theta0, method="L-BFGS-B", bounds=[(-12, 12)] * 4)
    if not np.isfinite(res.fun):
        raise RuntimeError(f"BG/NBD: likelihood did not converge ({res.message})")
    return BGNBDParams(*np.exp(res.x).tolist())


def bgnbd_p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        out = np.where(x > 0, 1.0 / (1.0 + np.exp(np.clip(log_odds, -700, 700))), 1.0)
    return out


def bgnbd_expected_purchases(params: BGNBDParams, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        # For a < 1 both factors are negative and the product stays positive; a == 1 is a
        # removable singularity, nudged off.
        head = (a + b + x - 1) / (a - 1 if abs(a - 1) > 1e-9 else 1e-9)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
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
    """Per-customer Gamma-Gamma log-likelihood of mean spend `m` over `n` purchases."""
    p, q, g = params.p, params.q, params.gamma
    return (gammaln(p * n + q) - gammaln(p * n) - gammaln(q) + q * np.log(g)
            + (p * n - 1) * np.log(m) + p * n * np.log(n) - (p * n + q) * np.log(g + n * m))


def fit_gamma_gamma(n, m) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from customers with n >= 1 and m > 0."""
    n, m = np.asarray(n, dtype=float), np.asarray(m, dtype=float)
    keep = (n >= 1) & (m > 0) & np.isfinite(m)
    if keep.sum() < 10:
        raise ValueError(f"Gamma-Gamma: need at least 10 customers with purchases and positive spend, got {int(keep.sum())}")
    n, m = n[keep], m[keep]
    theta0 = np.log([2.0, 3.0, float(np.mean(m))])

    def nll(theta: np.ndarray) -> float:
        p, q, g = np.exp(np.clip(theta, -20, 20))
        return -float(np.sum(gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), n, m))) / len(n)

    res = minimize(nll, theta0, method="L-BFGS-B", bounds=[(-10, 10), (np.log(1.01), 10), (-20, 20)])
    return GammaGammaParams(*np.exp(res.x).tolist())


def gamma_gamma_expected_spend(params: GammaGammaParams, n, m) -> np.ndarray:
    """E[spend per purchase | n, m]; the population mean pγ/(q-1) where n == 0."""
    p, q, g = params.p, params.q, params.gamma
    n, m = np.asarray(n, dtype=float), np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    population = p * g / (q - 1)
    with np.errstate(all="ignore"):
        individual = p * (g + n * m) / (p * n + q - 1)
    return np.where(n >= 1, individual, population)
