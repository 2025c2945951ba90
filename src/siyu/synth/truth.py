"""Exact ground truth at each cutoff, from the generator's own hidden state.

For a user in state `s` on cutoff day C, with latent multipliers and uplift known, the
label probabilities follow from a forward recursion of the hidden Markov chain over the
horizon (vectorized over cutoffs and users). Day by day, with calendar factors and the
campaign schedule known in advance:

- P(no activity on day d | state k) = exp(-(m_act a_k ia_d + m_buy b_k pa_d))
  * (1 - q_d + sum_t q_dt (1 - o_k) exp(-c_t tau u_k)), where q_dt is the share sent
  treatment t that day (a message, c = 1, or a coupon, c = coupon_uplift_factor), q_d their
  sum, o_k the chance a contact is opened (an interaction) and tau u_k a message's extra
  purchase rate. A sleeping dog never opens and its rates are multiplied by f on a contacted
  day: 1 - q_d + q_d exp((1 - f)(m_act a_k ia_d + m_buy b_k pa_d)) instead.
  P(no activity over the window) = sum(alpha_H), alpha_{h+1} = (alpha_h * z_h) @ P_segment.
- P(no purchase ...) likewise with the purchase terms only.
- E[net spend over 90 d] = E[amount] * sum_h sum_k P(state k on day C+h) * E[purchases |
  k, day] * (1 - refund share * P(its refund also lands inside the window)), which only needs
  powers of the transition matrix (tables per cutoff, segment and state).

The effect of a contact (`uplift_truth`): at a day C, for each treatment t, the outcome
given t on day C minus the outcome given no contact on day C, with every later campaign as
scheduled. Only day C's factor differs, so a backward recursion over days C+1.. gives both
at once: tau = (z_C(no contact) - z_C(t))[state] * (P_segment v_1)[state] for the no-event
probabilities, and the day's expected extra (or, for a sleeping dog, lost) purchases times
the expected amount kept after refunds for net spend.

Refunds are activity and negative spend. A refund inside the window whose purchase came
before C was already decided at C; the generator knows it and the truth includes it
(p_churn_30d is 0 for such a user and the refund amount is added to ltv_net_90d), so the
truth stays exact rather than carrying a small bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from siyu.synth.calendar import Calendar, treatment_shares
from siyu.synth.params import TREATMENTS, WorldParams
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
    contact uplift; both are then scaled by the user's expected purchase amount. `dog[j, g, s]`:
    the organic purchases on contact days, which a sleeping dog loses a share (1 - f) of.
    """

    base: np.ndarray
    contact: np.ndarray
    dog: np.ndarray

    def expected(self, purchase_mult, uplift, sleeping_dog, dog_factor: float):
        """Expected refund-adjusted purchases: tables indexed like the multipliers (broadcast)."""
        lost = np.where(sleeping_dog, 1.0 - dog_factor, 0.0)
        return purchase_mult * (self.base - lost * self.dog) + uplift * self.contact


@dataclass(frozen=True)
class UpliftBatch:
    """Exact effects of a contact: one row per (user, day C) with the user joined before C.

    `effects[name]` for name `tau_<label>_<h>d__<treatment>`: the outcome given that treatment
    on day C minus the outcome given no contact on day C (probability points; money for net spend).
    """

    user: np.ndarray
    cutoff_day: np.ndarray
    effects: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.user.size)


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
    coupon = params.campaigns.coupon_uplift_factor
    n_seg, n_states = trans.shape[0], trans.shape[1]
    occupancy = np.broadcast_to(np.eye(n_states), (n_seg, n_states, n_states)).copy()  # P^0
    base = np.zeros((cutoff_days.size, n_seg, n_states))
    contact = np.zeros_like(base)
    dog = np.zeros_like(base)
    for h in range(horizon):
        days = cutoff_days + h
        # A purchase on day h is refunded inside the window when its delay is <= horizon-1-h.
        kept = 1.0 - cm.refund_share * min(max(horizon - 1 - h, 0), cm.refund_delay_max_days) / cm.refund_delay_max_days
        organic = kept * calendar.purchase_factor[days][:, None, None] * (occupancy @ rate)[None]
        base += organic
        dog += calendar.contact_share[days][:, None, None] * organic
        shares = treatment_shares(calendar, days)
        boost = shares[:, 0] + coupon * shares[:, 1]  # a coupon's extra rate is c times a message's
        contact += kept * boost[:, None, None] * (occupancy @ uplift)[None]
        occupancy = occupancy @ trans
    return LtvTables(base=base, contact=contact, dog=dog)


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
    expected = LtvTables(*(t[first:][j, seg, state] for t in (tables.base, tables.contact, tables.dog))).expected(
        pop.purchase_mult[users][:, None], pop.uplift[users][:, None], pop.sleeping_dog[users][:, None],
        params.users.sleeping_dog_factor)
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


@dataclass(frozen=True)
class _DayFactors:
    """P(no event on a day | state k) of a chunk's users, under the schedule or a given contact.

    Arrays per (user, state) so each day of a recursion is a few element-wise operations;
    `days` (J,) are the window starts, `h` the day of the window.
    """

    act: np.ndarray  # (n, K) expected interactions per day before the calendar factor
    buy: np.ndarray  # (n, K) expected purchases per day before the calendar factor
    uplift: np.ndarray  # (n, K) a message's extra purchase rate
    dog: np.ndarray  # (n, 1) bool
    open_prob: np.ndarray  # (K,)
    coupon: float
    dog_factor: float
    calendar: Calendar
    days: np.ndarray

    def _rates(self, h: int, k: int, activity: bool) -> np.ndarray:
        d = self.days + h
        f32 = np.float32
        rate = self.buy[:, k, None] * self.calendar.purchase_factor[d].astype(f32)[None, :]
        if activity:
            rate = rate + self.act[:, k, None] * self.calendar.interaction_factor[d].astype(f32)[None, :]
        return rate

    def contacted(self, h: int, k: int, activity: bool, treatment: int) -> np.ndarray:
        """P(no event that day | state k, treatment t (0 message, 1 coupon) sent that day)."""
        rate = self._rates(h, k, activity)
        scale = self.coupon if treatment == 1 else 1.0
        reacts = np.exp(-rate - scale * self.uplift[:, k, None])
        if activity:
            reacts = reacts * np.float32(1.0 - self.open_prob[k])
        return np.where(self.dog, np.exp(-self.dog_factor * rate), reacts)

    def alone(self, h: int, k: int, activity: bool) -> np.ndarray:
        """P(no event that day | state k, no contact)."""
        return np.exp(-self._rates(h, k, activity))

    def scheduled(self, h: int, k: int, activity: bool) -> np.ndarray:
        """P(no event that day | state k) with the day's contacts drawn as scheduled."""
        shares = treatment_shares(self.calendar, self.days + h).astype(np.float32)
        out = (1.0 - shares.sum(axis=1))[None, :] * self.alone(h, k, activity)
        for t in range(shares.shape[1]):
            if shares[:, t].any():
                out = out + shares[None, :, t] * self.contacted(h, k, activity, t)
        return out


def _day_factors(pop, users, days, calendar, params) -> _DayFactors:
    return day_factors_of(pop.activity_mult[users], pop.purchase_mult[users], pop.uplift[users],
                          pop.sleeping_dog[users], days, calendar, params)


def day_factors_of(activity_mult: np.ndarray, purchase_mult: np.ndarray, uplift: np.ndarray,
                   sleeping_dog: np.ndarray, days: np.ndarray, calendar: Calendar, params: WorldParams) -> _DayFactors:
    """Day factors of n units given by their latent traits: a chunk's users, or the observable
    oracle's grid nodes."""
    sp, cp = params.states, params.campaigns
    f32 = np.float32
    return _DayFactors(
        act=(activity_mult[:, None] * np.asarray(sp.interaction_rate)).astype(f32),
        buy=(purchase_mult[:, None] * np.asarray(sp.purchase_rate)).astype(f32),
        uplift=(uplift[:, None] * np.asarray(cp.uplift_by_state)).astype(f32),
        dog=np.asarray(sleeping_dog)[:, None], open_prob=np.asarray(cp.open_prob),
        coupon=float(cp.coupon_uplift_factor), dog_factor=float(params.users.sleeping_dog_factor),
        calendar=calendar, days=np.asarray(days),
    )


def _user_transitions(pop, users, params) -> list[list[np.ndarray]]:
    return transitions_of(pop.segment[users], params)


def transitions_of(segment: np.ndarray, params: WorldParams) -> list[list[np.ndarray]]:
    """`[k][to]`: each unit's (n, 1) transition probability k -> to, from its segment."""
    trans = np.asarray(params.states.transitions, dtype=np.float32)[segment]  # (n, K, K)
    n_states = trans.shape[1]
    return [[trans[:, k, to, None] for to in range(n_states)] for k in range(n_states)]


def _probabilities(pop, users, days, state, calendar, params) -> tuple[np.ndarray, np.ndarray]:
    """(p_churn, p_purchase), each (n, J), in float32 (plenty for probabilities)."""
    trans_user = _user_transitions(pop, users, params)
    z = _day_factors(pop, users, days, calendar, params)
    alpha0 = [(state == k).astype(np.float32) for k in range(len(trans_user))]
    p_churn = _no_event_probability(alpha0, lambda h, k: z.scheduled(h, k, True), trans_user,
                                    params.horizon_churn_days)
    p_purchase = 1.0 - _no_event_probability(alpha0, lambda h, k: z.scheduled(h, k, False), trans_user,
                                             params.horizon_purchase_days)
    return p_churn.astype(np.float64), p_purchase.astype(np.float64)


def _after_first_day(z: _DayFactors, trans_user, horizon: int, activity: bool) -> list[np.ndarray]:
    """P(no event over days 1..horizon-1 of the window | state k on day 0), per k: (n, J) each.

    Backward: v_h = z_h * (P v_{h+1}), v_horizon = 1; returns P v_1.
    """
    n_states = len(trans_user)
    value = [np.ones((z.act.shape[0], z.days.size), dtype=np.float32) for _ in range(n_states)]
    for h in range(horizon - 1, 0, -1):
        value = [z.scheduled(h, k, activity) * sum(trans_user[k][to] * value[to] for to in range(n_states))
                 for k in range(n_states)]
    return [sum(trans_user[k][to] * value[to] for to in range(n_states)) for k in range(n_states)]


def effects_by_state(z: _DayFactors, trans: list[list[np.ndarray]], params: WorldParams) -> dict[str, list[np.ndarray]]:
    """Each treatment's exact effect on day z.days for a unit in state k that day: {name: [(n, J)
    per k]}, names `tau_<label>_<h>d__<treatment>`. Net spend comes per unit of expected amount
    (the caller multiplies by it): the truth by the user's, the observable oracle by its posterior."""
    n_states = len(trans)
    kept = 1.0 - params.commerce.refund_share  # a purchase on day 0 is refunded inside 90 days if at all
    effects: dict[str, list[np.ndarray]] = {}
    for activity, label, horizon in ((False, "any_purchase", params.horizon_purchase_days),
                                     (True, "any_activity", params.horizon_churn_days)):
        later = _after_first_day(z, trans, horizon, activity)
        for t, name in enumerate(TREATMENTS):
            # no-event probability without the contact minus with it = effect on "any event".
            effects[f"tau_{label}_{horizon}d__{name}"] = [
                (z.alone(0, k, activity) - z.contacted(0, k, activity, t)) * later[k] for k in range(n_states)]
    pf = z.calendar.purchase_factor[z.days][None, :]
    for t, name in enumerate(TREATMENTS):
        scale = params.campaigns.coupon_uplift_factor if t == 1 else 1.0
        effects[f"tau_net_spend_{params.horizon_ltv_days}d__{name}"] = [
            kept * np.where(z.dog, -(1.0 - params.users.sleeping_dog_factor) * z.buy[:, k, None] * pf,
                            scale * z.uplift[:, k, None] * np.ones_like(pf)) for k in range(n_states)]
    return effects


def uplift_truth(pop: Population, lo: int, hi: int, days: np.ndarray, day_state: np.ndarray, calendar: Calendar,
                 expected_amount: np.ndarray, params: WorldParams,
                 observable: dict[str, np.ndarray] | None = None) -> UpliftBatch:
    """Exact effects of each treatment sent on each of `days` for users lo..hi-1 joined before it.

    `day_state` (n, J): each user's hidden state on each day. Outcomes: a purchase in 7 days, any
    activity in 30 days, net spend in 90 days (the labels of docs/INTERFACES.md §3).
    `observable`: the observable oracle's effects {name: (n, J)} (posterior means given the
    history before each day), written beside the truth as `<name>_observable`.
    """
    users = np.arange(lo, hi)
    days = np.asarray(days)
    by_state = effects_by_state(_day_factors(pop, users, days, calendar, params),
                                _user_transitions(pop, users, params), params)
    amount = expected_amount[users][:, None]
    effects = {}
    for name, per_state in by_state.items():
        value = sum(np.where(day_state == k, v, 0.0) for k, v in enumerate(per_state))
        effects[name] = amount * value if name.startswith("tau_net_spend") else value
    joined = pop.join_day[users][:, None] < days[None, :]
    uu, jj = np.nonzero(joined)
    out = {k: v[uu, jj].astype(np.float64) for k, v in effects.items()}
    for name, values in (observable or {}).items():
        out[f"{name}_observable"] = values[uu, jj].astype(np.float64)
    return UpliftBatch(user=users[uu].astype(np.int64), cutoff_day=days[jj].astype(np.int32), effects=out)


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
