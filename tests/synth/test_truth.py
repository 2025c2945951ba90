"""The exact truth: closed forms for a chain that never moves, pending refunds, cutoffs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from siyu.synth.params import CommerceParams, StateParams, WorldParams
from siyu.synth.truth import chunk_truth, ltv_tables, monday_cutoff_days
from siyu.synth.world import plan_world

STILL = tuple(tuple(tuple(float(i == j) for j in range(4)) for i in range(4)) for _ in range(3))


def _still_world():
    params = replace(WorldParams(), states=replace(StateParams(), transitions=STILL))
    return plan_world(400, 120, date(2025, 1, 6), 9, params), params


def test_monday_cutoffs():
    start = date(2025, 1, 8)  # a Wednesday
    days = monday_cutoff_days(start.toordinal(), 60, 28)
    dates = [start + timedelta(days=int(d)) for d in days]
    assert all(d.weekday() == 0 for d in dates) and dates[0] >= start + timedelta(days=28)
    assert days[-1] <= 60 and len(days) == 4


def test_churn_and_purchase_match_the_closed_form_when_states_never_move():
    plan, params = _still_world()
    pop, cal, sp, cp = plan.population, plan.calendar, params.states, params.campaigns
    state = np.broadcast_to(pop.initial_state[:, None], (400, plan.cutoff_days.size))
    empty = tuple(np.zeros(0, dtype=t) for t in (np.int64, np.int32, np.int32, np.float64))
    truth = chunk_truth(pop, 0, 400, plan.cutoff_days, state, empty, cal, plan.ltv_tables,
                        plan.expected_amount, params)
    u, c = truth.user, truth.cutoff_day
    k = pop.initial_state[u]
    act = pop.activity_mult[u] * np.asarray(sp.interaction_rate)[k]
    buy = pop.purchase_mult[u] * np.asarray(sp.purchase_rate)[k]
    extra = pop.uplift[u] * np.asarray(cp.uplift_by_state)[k]
    dog, f = pop.sleeping_dog[u], params.users.sleeping_dog_factor
    opened = np.asarray(cp.open_prob)[k]

    def day(rate: np.ndarray, d: np.ndarray, activity: bool) -> np.ndarray:
        """P(quiet day) mixed over no contact, a message and a coupon; a sleeping dog's rates times f."""
        q, coupon = cal.contact_share[d], cal.coupon_share[d]
        out = (1 - q) * np.exp(-rate)
        for share, scale in ((q * (1 - coupon), 1.0), (q * coupon, cp.coupon_uplift_factor)):
            reacts = np.exp(-rate - scale * extra) * ((1 - opened) if activity else 1.0)
            out = out + share * np.where(dog, np.exp(-f * rate), reacts)
        return out

    assert dog.any() and (~dog).any()
    p_quiet = np.ones(u.size)
    for h in range(30):
        d = c + h
        p_quiet *= day(act * cal.interaction_factor[d] + buy * cal.purchase_factor[d], d, True)
    p_none = np.ones(u.size)
    for h in range(7):
        d = c + h
        p_none *= day(buy * cal.purchase_factor[d], d, False)
    assert np.allclose(truth.p_churn_30d, p_quiet, rtol=1e-4, atol=1e-6)
    assert np.allclose(truth.p_purchase_7d, 1 - p_none, rtol=1e-4, atol=1e-6)
    assert (pop.join_day[u] < c).all()


def test_ltv_counts_refunds_that_land_inside_the_window():
    plan, params = _still_world()
    no_refunds = replace(params, commerce=replace(CommerceParams(), refund_share=0.0))
    with_refunds = ltv_tables(plan.cutoff_days, plan.calendar, params)
    without = ltv_tables(plan.cutoff_days, plan.calendar, no_refunds)
    ratio = with_refunds.base / without.base
    # Purchases early in the window are refunded inside it; the last days' refunds fall outside.
    assert np.all(ratio < 1) and np.all(ratio > 1 - params.commerce.refund_share)
    expected = sum(plan.calendar.purchase_factor[plan.cutoff_days + h] for h in range(90)) * params.states.purchase_rate[0]
    assert np.allclose(without.base[:, 0, 0], expected)


def test_pending_refunds_are_known_at_the_cutoff():
    plan, params = _still_world()
    pop = plan.population
    state = np.broadcast_to(pop.initial_state[:, None], (400, plan.cutoff_days.size))
    user = int(np.flatnonzero(pop.join_day < plan.cutoff_days[0] - 5)[0])
    cutoff = int(plan.cutoff_days[0])
    refunds = (np.array([user]), np.array([cutoff - 3], np.int32), np.array([cutoff + 2], np.int32), np.array([-80.0]))
    empty = tuple(np.zeros(0, dtype=t) for t in (np.int64, np.int32, np.int32, np.float64))
    args = (plan.cutoff_days, state)
    after = dict(calendar=plan.calendar, tables=plan.ltv_tables, expected_amount=plan.expected_amount, params=params)
    with_refund = chunk_truth(pop, 0, 400, *args, refunds, **after)
    without = chunk_truth(pop, 0, 400, *args, empty, **after)
    row = (with_refund.user == user) & (with_refund.cutoff_day == cutoff)
    assert with_refund.p_churn_30d[row] == 0.0  # the refund itself is activity in the window
    assert with_refund.ltv_net_90d[row] == pytest.approx(without.ltv_net_90d[row] - 80.0)
    other = ~row
    assert np.array_equal(with_refund.p_churn_30d[other], without.p_churn_30d[other])


def test_refund_delay_must_fit_the_horizons():
    params = replace(WorldParams(), commerce=replace(CommerceParams(), refund_delay_max_days=30))
    with pytest.raises(ValueError, match="refund_delay_max_days: expected fewer days than the churn / ltv horizons"):
        plan_world(10, 50, date(2025, 1, 6), 1, params)
