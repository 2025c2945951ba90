"""The simulation core: categorical draws, the hidden chain, event batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from siyu.synth.params import EVENT_TYPES, StateParams, WorldParams, type_code
from siyu.synth.simulate import _categorical, simulate_chunk, simulate_states
from siyu.synth.world import plan_world


def test_categorical_draws_follow_each_rows_probabilities():
    rng = np.random.default_rng(0)
    probs = np.array([[0.5, 0.0, 0.5], [0.1, 0.2, 0.7]])
    rows = np.repeat([0, 1], 50_000)
    draws = _categorical(rng, probs, rows)
    for r in range(2):
        share = np.bincount(draws[rows == r], minlength=3) / 50_000
        assert np.allclose(share, probs[r], atol=0.01)
    assert not (draws[rows == 0] == 1).any()  # a zero-probability category never appears


def test_states_follow_the_transition_matrix_and_wait_for_joining():
    plan = plan_world(4000, 200, date(2025, 1, 6), 3)
    states = simulate_states(plan.population, 0, 4000, 200, plan.params, np.random.default_rng(1))
    join = plan.population.join_day
    before = np.arange(200)[:, None] <= join[None, :]
    assert (states == plan.population.initial_state[None, :])[before].all()
    trans = np.asarray(plan.params.states.transitions)
    seg = plan.population.segment
    after = ~before[1:]
    frm, to = states[:-1][after], states[1:][after]
    g = np.broadcast_to(seg, states[1:].shape)[after]
    for segment in range(3):
        sel = (g == segment) & (frm == 0)
        observed = np.bincount(to[sel], minlength=4) / sel.sum()
        assert np.allclose(observed, trans[segment, 0], atol=0.01)


def test_chunk_events_are_sorted_and_typed():
    plan = plan_world(500, 90, date(2025, 1, 6), 4)
    result = simulate_chunk(plan.population, 0, 500, 90, plan.calendar, plan.cutoff_days, plan.params,
                            np.random.default_rng(0))
    ev = result.events
    key = (ev.user.astype(np.int64) * 90 + ev.day) * 86_400 + ev.second
    assert np.all(np.diff(key) >= 0)
    assert ev.second.min() >= 0 and ev.second.max() < 86_400 and ev.day.max() < 90
    assert set(np.unique(ev.event_type)) <= set(range(len(EVENT_TYPES)))
    purchases = ev.event_type == type_code("purchase")
    assert (ev.amount[purchases] > 0).all() and (ev.item[purchases] >= 0).all()
    assert result.cutoff_state.shape == (500, plan.cutoff_days.size)
    assert (result.refund_day > result.refund_purchase_day).all() and (result.refund_amount < 0).all()


def test_lapsed_users_are_quieter_than_engaged_ones():
    stuck = replace(StateParams(), transitions=tuple(tuple(tuple(float(i == j) for j in range(4)) for i in range(4))
                                                     for _ in range(3)))
    params = replace(WorldParams(), states=stuck)
    plan = plan_world(3000, 60, date(2025, 3, 3), 5, params)
    result = simulate_chunk(plan.population, 0, 3000, 60, plan.calendar, plan.cutoff_days, params,
                            np.random.default_rng(0))
    state = plan.population.initial_state
    active = ~np.isin(result.events.event_type, (type_code("campaign_contact"), type_code("coupon_push")))
    per_user = np.bincount(result.events.user[active], minlength=3000)
    assert per_user[state == 0].mean() > 5 * per_user[state == 2].mean() > 0
    assert per_user[state == 2].mean() > per_user[state == 3].mean()
