"""Transaction logs drawn from a BG/NBD × Gamma-Gamma process with known parameters.

Every customer is acquired with a first purchase on a day of the acquisition window; after
it, repeat purchases arrive as a Poisson process of rate λ ~ Gamma(r, α) per day, and after
each repeat purchase the customer drops out for good with probability p ~ Beta(a, b). Each
purchase's amount is Gamma(p_s, ν) with ν ~ Gamma(q, γ) per customer (Gamma-Gamma). The log
holds only purchases (`user_id, ts, event_type, role, amount`): a transactions-only dataset
on which BG/NBD is the right model, so nothing should beat it beyond its interval.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from siyu.models.btyd import BGNBDParams, GammaGammaParams


def bgnbd_transaction_log(params: BGNBDParams, spend: GammaGammaParams, *, customers: int, start: date,
                          days: int, acquisition_days: int, rng: np.random.Generator) -> pd.DataFrame:
    """`user_id, ts, event_type, role, amount`: purchases of `customers` customers over `days`
    days from `start` (λ per day), the first of each customer on a day in the first
    `acquisition_days`. Sorted by user_id, ts."""
    if not 0 < acquisition_days <= days:
        raise ValueError(f"bgnbd_transaction_log: need 0 < acquisition_days <= days, got {acquisition_days}, {days}")
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=customers)
    p = rng.beta(params.a, params.b, size=customers)
    nu = rng.gamma(spend.q, 1.0 / spend.gamma, size=customers)
    first = rng.integers(0, acquisition_days, size=customers) + rng.uniform(0.4, 0.9, size=customers)
    users, times = [], []
    for i in range(customers):
        now, alive = first[i], True
        users.append(i)
        times.append(now)
        while alive:
            now += rng.exponential(1.0 / lam[i])
            if now >= days:
                break
            users.append(i)
            times.append(now)
            alive = rng.random() >= p[i]
    users_arr = np.asarray(users)
    amount = rng.gamma(spend.p, 1.0 / nu[users_arr])
    width = len(str(customers))
    ts = pd.Timestamp(start) + pd.to_timedelta(np.asarray(times), unit="D")
    return pd.DataFrame({
        "user_id": [f"c{u:0{width}d}" for u in users_arr], "ts": ts.floor("s"),
        "event_type": "purchase", "role": "purchase", "amount": np.round(amount, 2),
    })



def seasonal_dropout_log(*, customers: int, start: date, days: int, acquisition_days: int,
                         rng: np.random.Generator, regularity: float = 4.0, season_amplitude: float = 0.6,
                         base_dropout: float = 0.12, spend_elasticity: float = 1.0) -> pd.DataFrame:
    """A transaction log BG/NBD does not describe (same columns as `bgnbd_transaction_log`):

    - purchases are regular, not Poisson: gaps ~ Gamma(`regularity`, mean 1/λ), so how late a
      customer is against their own rhythm says a lot;
    - a yearly season scales every rate by 1 + `season_amplitude` · sin(2π d / 365);
    - dropout after a purchase is driven by its spend: p = `base_dropout` · (median / amount)
      ^ `spend_elasticity` (clipped to [0.01, 0.9]): a disappointing small basket ends a
      customer more often than a large one.
    λ ~ Gamma(1.5, 1/45) per day and amounts ~ Gamma(3, ν), ν ~ Gamma(4, 1/300) per customer.
    """
    if not 0 < acquisition_days <= days:
        raise ValueError(f"seasonal_dropout_log: need 0 < acquisition_days <= days, got {acquisition_days}, {days}")
    lam = rng.gamma(1.5, 1.0 / 45.0, size=customers)
    nu = rng.gamma(4.0, 1.0 / 300.0, size=customers)
    median_amount = 3.0 / np.median(nu)
    first = rng.integers(0, acquisition_days, size=customers) + rng.uniform(0.4, 0.9, size=customers)
    users, times, amounts = [], [], []
    for i in range(customers):
        now = first[i]
        while now < days:
            amount = rng.gamma(3.0, 1.0 / nu[i])
            users.append(i)
            times.append(now)
            amounts.append(amount)
            p_drop = np.clip(base_dropout * (median_amount / amount) ** spend_elasticity, 0.01, 0.9)
            if rng.random() < p_drop:
                break
            season = 1.0 + season_amplitude * np.sin(2 * np.pi * now / 365.0)
            now += rng.gamma(regularity, 1.0 / (regularity * lam[i] * season))
    width = len(str(customers))
    ts = pd.Timestamp(start) + pd.to_timedelta(np.asarray(times), unit="D")
    return pd.DataFrame({
        "user_id": [f"c{u:0{width}d}" for u in users], "ts": ts.floor("s"),
        "event_type": "purchase", "role": "purchase", "amount": np.round(np.asarray(amounts), 2),
    })
