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

