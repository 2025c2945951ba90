"""Exact ground truth at each cutoff, from the generator's own hidden state.

For a user in state `s` on cutoff day C, with latent multipliers and uplift known, the
label probabilities follow from a forward recursion of the hidden Markov chain over the
horizon (vectorized over cutoffs and users). Day by day, with calendar factors and the
campaign schedule known in advance:

- P(no activity on day d | state k) = exp(-(m_act a_k ia_d + m_buy b_k pa_d))
  * (1 - q_d + q_d (1 - o_k) exp(-tau u_k)), where q_d is the share contacted that day,
  o_k the chance a contact is opened (an interaction) and tau u_k the contact's extra
  purchase rate. P(no activity over the window) = sum(alpha_H), alpha_{h+1} =
  (alpha_h * z_h) @ P_segment.
- P(no purchase ...) likewise with the purchase terms only.
- E[net spend over 90 d] = E[amount] * sum_h sum_k P(state k on day C+h) * E[purchases |
  k, day] * (1 - refund share * P(its refund also lands inside the window)), which only needs
  powers of the transition matrix (tables per cutoff, segment and state).

Refunds are activity and negative spend. A refund inside the window whose purchase came
before C was already decided at C; the generator knows it and the truth includes it
(p_churn_30d is 0 for such a user and the refund amount is added to ltv_net_90d), so the
truth stays exact rather than carrying a small bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from siyu.synth.calendar import Calendar
from siyu.synth.params import WorldParams
from siyu.synth.population import Population

if TYPE_CHECKING:
    from siyu.synth.observable import ObservableTruth


@dataclass(frozen=True)
class TruthBatch:
    """Truth rows: one per (user, cutoff) with the user joined before the cutoff.

    The `*_observable` columns are the observable oracle (`siyu.synth.observable`): the same
    labels given only the user's history before the cutoff; NaN when it was not computed.
    """

    user: np.ndarray  # int64 global user index
    cutoff_day: np.ndarray  # int32 day index of the cutoff (local midnight)
    p_churn_30d: np.ndarray
    p_purchase_7d: np.ndarray
    ltv_net_90d: np.ndarray
    p_churn_30d_observable: np.ndarray
    p_purchase_7d_observable: np.ndarray
    ltv_net_90d_observable: np.ndarray

    def __len__(self) -> int:
        return int(self.user.size)


@dataclass(frozen=True)
class LtvTables:
    """Per (cutoff, segment, state at cutoff): expected refund-adjusted purchases over the window.

    `base[j, g, s]` multiplies the user's purchase multiplier, `contact[j, g, s]` the user's
    contact uplift; both are then scaled by the user's expected purchase amount.
    """

    base: np.ndarray
    contact: np.ndarray


def monday_cutoff_days(start_ordinal: int, n_days: int, first_day: int) -> np.ndarray:
    """Day indices c in [first_day, n_days] whose date is a Monday (1970-01-05 + 7k)."""
    monday_1970 = 719_167  # date(1970, 1, 5).toordinal()
    days = np.arange(first_day, n_days + 1)
    return days[(start_ordinal + days - monday_1970) % 7 == 0].astype(np.int32)


def ltv_tables(cutoff_days: np.ndarray, calendar: Calendar, params: WorldParams) -> LtvTables:
    """Expected refund-adjusted purchases over the LTV window, from powers of the chain."""
    trans = np.asarray(params.states.transitions)  # (G, K, K)
    horizon = params.horizon_ltv_days
    rate = np.asarray(params.states.purchase_rate)
    uplift = np.asarray(params.campaigns.uplift_by_state)
    cm = params.commerce
    n_seg, n_states = trans.shape[0], trans.shape[1]
    occupancy = np.broadcast_to(np.eye(n_states), (n_seg, n_states, n_states)).copy()  # P^0
    base = np.zeros((cutoff_days.size, n_seg, n_states))
    contact = np.zeros_like(base)
    for h in range(horizon):
        days = cutoff_days + h
        # A purchase on day h is refunded inside the window when its delay is <= horizon-1-h.
        kept = 1.0 - cm.refund_share * min(max(horizon - 1 - h, 0), cm.refund_delay_max_days) / cm.refund_delay_max_days
        base += kept * calendar.purchase_factor[days][:, None, None] * (occupancy @ rate)[None]
        contact += kept * calendar.contact_share[days][:, None, None] * (occupancy @ uplift)[None]
        occupancy = occupancy @ trans
    return LtvTables(base=base, contact=contact)


def _no_event_probability(
    alpha: list[np.ndarray], day_factor, trans_user: list[list[np.ndarray]], horizon: int
) -> np.ndarray:
    """Forward recursion: P(no event over `horizon` days), array (n, J).

    `alpha[k]` (n, J) is the probability of state k at each cutoff; `day_factor(h, k)` gives
    P(no event on the h-th day of the window | state k); `trans_user[k][l]` (n, 1) holds each
    user's transition probability k -> l. States are kept as separate arrays so that each day
    is a few dense element-wise operations.
    """
    n_states = len(alpha)
    for h in range(horizon):
        kept = [alpha[k] * day_factor(h, k) for k in range(n_states)]
        alpha = [sum(kept[k] * trans_user[k][to] for k in range(n_states)) for to in range(n_states)]
    return sum(alpha)


def chunk_truth(
    pop: Population,
    lo: int,
    hi: int,
    cutoff_days: np.ndarray,
    cutoff_state: np.ndarray,
    refunds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    calendar: Calendar,
    tables: LtvTables,
    expected_amount: np.ndarray,
    params: WorldParams,
    observable: ObservableTruth | None = None,
) -> TruthBatch:
    """Truth rows for users lo..hi-1 at every cutoff they had joined before.

    `refunds` is (user, purchase_day, refund_day, amount) for every refund of these users;
    `cutoff_state` (n, J) is each user's hidden state on each cutoff day; `observable` the
    observable oracle of these users at every cutoff (arrays (n, J)), or None for NaN columns.
    """
    # Only cutoffs after the chunk's first join matter (users are in join order).
    first = int(np.searchsorted(cutoff_days, pop.join_day[lo:hi].min(), side="right"))
    days = cutoff_days[first:]
    users = np.arange(lo, hi)
    state = cutoff_state[:, first:]
    p_churn, p_purchase = _probabilities(pop, users, days, state, calendar, params)
    seg = pop.segment[users][:, None]
    j = np.arange(days.size)[None, :]
    expected = (pop.purchase_mult[users][:, None] * tables.base[first:][j, seg, state]
                + pop.uplift[users][:, None] * tables.contact[first:][j, seg, state])
    ltv = expected_amount[users][:, None] * expected
    pending_any, pending_amount = _pending_refunds(refunds, lo, hi, days)
    pending_any, pending_amount = pending_any.T, pending_amount.T
    p_churn = np.where(pending_any, 0.0, p_churn)
    ltv = ltv + pending_amount
    joined = pop.join_day[users][:, None] < days[None, :]
    uu, jj = np.nonzero(joined)
    if observable is None:
        seen = (np.full(uu.size, np.nan),) * 3
    else:
        seen = tuple(col[:, first:][uu, jj] for col in (observable.p_churn_30d, observable.p_purchase_7d,
                                                          observable.ltv_net_90d))
    return TruthBatch(
        user=users[uu].astype(np.int64),
        cutoff_day=days[jj].astype(np.int32),
        p_churn_30d=p_churn[uu, jj],
        p_purchase_7d=p_purchase[uu, jj],
        ltv_net_90d=ltv[uu, jj],
        p_churn_30d_observable=seen[0],
        p_purchase_7d_observable=seen[1],
        ltv_net_90d_observable=seen[2],
    )


def _probabilities(pop, users, days, state, calendar, params) -> tuple[np.ndarray, np.ndarray]:
    """(p_churn, p_purchase), each (n, J), in float32 (plenty for probabilities)."""
    sp, cp = params.states, params.campaigns
    f32 = np.float32
    trans = np.asarray(sp.transitions, dtype=f32)[pop.segment[users]]  # (n, K, K)
    n_states = trans.shape[1]
    trans_user = [[trans[:, k, to, None] for to in range(n_states)] for k in range(n_states)]
    # Per (user, state) constants, so each day of the recursion is a few array operations.
    act = (pop.activity_mult[users][:, None] * np.asarray(sp.interaction_rate)).astype(f32)
    buy = (pop.purchase_mult[users][:, None] * np.asarray(sp.purchase_rate)).astype(f32)
    no_buy_contacted = np.exp(-pop.uplift[users][:, None] * np.asarray(cp.uplift_by_state)).astype(f32)
    no_act_contacted = ((1.0 - np.asarray(cp.open_prob)) * no_buy_contacted).astype(f32)

    def factors(h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = days + h
        return (calendar.interaction_factor[d].astype(f32)[None, :], calendar.purchase_factor[d].astype(f32)[None, :],
                calendar.contact_share[d].astype(f32)[None, :])

    def no_activity(h: int, k: int) -> np.ndarray:
        ia, pa, q = factors(h)
        return np.exp(-(act[:, k, None] * ia + buy[:, k, None] * pa)) * (1.0 - q + q * no_act_contacted[:, k, None])

    def no_purchase(h: int, k: int) -> np.ndarray:
        _, pa, q = factors(h)
        return np.exp(-buy[:, k, None] * pa) * (1.0 - q + q * no_buy_contacted[:, k, None])

    alpha0 = [(state == k).astype(f32) for k in range(n_states)]
    p_churn = _no_event_probability(alpha0, no_activity, trans_user, params.horizon_churn_days)
    p_purchase = 1.0 - _no_event_probability(alpha0, no_purchase, trans_user, params.horizon_purchase_days)
    return p_churn.astype(np.float64), p_purchase.astype(np.float64)


def _pending_refunds(refunds, lo: int, hi: int, cutoff_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J, n) masks / sums of refunds decided before a cutoff that land at or after it.

    Refund delays are shorter than the churn and LTV horizons, so such a refund always
    lands inside the window.
    """
    user, purchase_day, refund_day, amount = refunds
    pending = (purchase_day[:, None] < cutoff_days[None, :]) & (refund_day[:, None] >= cutoff_days[None, :])
    r_idx, j_idx = np.nonzero(pending)
    shape = (cutoff_days.size, hi - lo)
    count = np.zeros(shape)
    total = np.zeros(shape)
    np.add.at(count, (j_idx, user[r_idx] - lo), 1.0)
    np.add.at(total, (j_idx, user[r_idx] - lo), amount[r_idx])
    return count > 0, total
