"""The observable oracle: calibrated on its own world, prior-driven without events, between the
hidden-state oracle and a trivial rule, normalized posteriors, deterministic."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from siyu.synth import observable as ob
from siyu.synth.population import draw_population
from siyu.synth.simulate import EventBatch, simulate_chunk
from siyu.synth.truth import chunk_truth
from siyu.synth.world import plan_world

N_USERS, N_DAYS = 2500, 160


@pytest.fixture(scope="module")
def world():
    """A small world, one chunk simulated, its observable model and truth with observable columns."""
    plan = plan_world(N_USERS, N_DAYS, date(2025, 5, 5), 21)
    params = replace(plan.params, chunk_users=N_USERS)
    result = simulate_chunk(plan.population, 0, N_USERS, N_DAYS, plan.calendar, plan.cutoff_days, params,
                            np.random.default_rng(plan.chunk_seeds[0]))
    model = ob.observable_model(plan.calendar, N_DAYS, plan.cutoff_days, plan.ltv_tables, params)
    seen = ob.chunk_observable(plan.population, 0, N_USERS, result.events, model, plan.calendar, params)
    refunds = (result.refund_user, result.refund_purchase_day, result.refund_day, result.refund_amount)
    truth = chunk_truth(plan.population, 0, N_USERS, plan.cutoff_days, result.cutoff_state, refunds,
                        plan.calendar, plan.ltv_tables, plan.expected_amount, params, seen)
    return plan, params, result, model, seen, truth


def _labels(events: EventBatch, truth):
    """Realized labels per truth row (INTERFACES §3) and the recency rule, from the events."""
    act = np.zeros((N_DAYS + 1, N_USERS))
    buy = np.zeros((N_DAYS + 1, N_USERS))
    active = ~np.isin(events.event_type, (13, 14))  # contacts (campaign_contact, coupon_push) are not activity
    np.add.at(act, (events.day[active] + 1, events.user[active]), 1)
    bought = events.event_type == 11
    np.add.at(buy, (events.day[bought] + 1, events.user[bought]), 1)
    act, buy = act.cumsum(0), buy.cumsum(0)
    u, c = truth.user, truth.cutoff_day
    recent = act[c, u] - act[np.maximum(c - 30, 0), u] > 0
    churned = act[np.minimum(c + 30, N_DAYS), u] - act[c, u] == 0
    purchased = buy[np.minimum(c + 7, N_DAYS), u] - buy[c, u] > 0
    last = np.array([np.flatnonzero(np.diff(act[: ci + 1, ui]))[-1] if act[ci, ui] else -1
                     for ui, ci in zip(u, c, strict=True)])
    return recent, churned, purchased, c - last


def _clustered_se(resid: np.ndarray, user: np.ndarray) -> float:
    """Standard error of a mean of residuals when rows of one user are correlated."""
    per_user = np.bincount(user, weights=resid)
    return float(np.sqrt(np.sum(per_user**2)) / resid.size)


def test_calibrated_on_data_simulated_from_the_model(world):
    _, _, result, _, _, truth = world
    recent, churned, purchased, _ = _labels(result.events, truth)
    c, u = truth.cutoff_day, truth.user
    churn_rows, buy_rows = recent & (c + 30 <= N_DAYS), c + 7 <= N_DAYS
    for rows, y, p in ((churn_rows, churned, truth.p_churn_30d_observable),
                       (buy_rows, purchased, truth.p_purchase_7d_observable)):
        resid = y[rows] - p[rows]
        # A posterior mean is unbiased for the label: the gap is noise, a few clustered SEs at most.
        assert abs(resid.mean()) < 4 * _clustered_se(resid, u[rows])
    assert np.isfinite(truth.ltv_net_90d_observable).all()
    assert truth.ltv_net_90d_observable.mean() == pytest.approx(truth.ltv_net_90d.mean(), rel=0.06)


def test_auc_between_a_trivial_rule_and_the_hidden_state_oracle(world):
    _, _, result, _, _, truth = world
    recent, churned, purchased, days_since = _labels(result.events, truth)
    c = truth.cutoff_day
    rows = recent & (c + 30 <= N_DAYS)
    hidden = roc_auc_score(churned[rows], truth.p_churn_30d[rows])
    seen = roc_auc_score(churned[rows], truth.p_churn_30d_observable[rows])
    rule = roc_auc_score(churned[rows], days_since[rows])
    assert rule < seen < hidden
    rows = c + 7 <= N_DAYS
    hidden = roc_auc_score(purchased[rows], truth.p_purchase_7d[rows])
    seen = roc_auc_score(purchased[rows], truth.p_purchase_7d_observable[rows])
    rule = roc_auc_score(purchased[rows], -days_since[rows])
    assert rule < seen < hidden


def _without_user(events: EventBatch, user: int) -> EventBatch:
    keep = events.user != user
    return EventBatch(**{f.name: getattr(events, f.name)[keep] for f in fields(EventBatch)})


def test_a_user_without_events_gets_the_prior_driven_prediction(world):
    plan, params, result, model, _, _ = world
    pop, cal, grid = plan.population, plan.calendar, model.grid
    user = int(np.flatnonzero(pop.join_day == pop.join_day[pop.join_day > 20][0])[0])
    j = int(np.searchsorted(plan.cutoff_days, pop.join_day[user], side="right"))
    seen = ob.chunk_observable(pop, 0, N_USERS, _without_user(result.events, user), model, cal, params)
    # Reference, node by node: prior x P(no event on each day since joining), then the chain to C.
    sp = params.states
    log_prior = ob._log_prior(pop, user, user + 1, model, params)[:, 0]
    predicted = np.zeros(3)
    total = 0.0
    for g in range(grid.size):
        trans = np.asarray(sp.transitions)[grid.segment[g]]
        state = np.asarray(sp.initial_state, dtype=float)
        for d in range(int(pop.join_day[user]), int(plan.cutoff_days[j])):
            rates = (grid.activity_mult[g] * np.asarray(sp.interaction_rate) * cal.interaction_factor[d]
                     + grid.purchase_mult[g] * np.asarray(sp.purchase_rate) * cal.purchase_factor[d])
            state = (state * np.exp(-rates)) @ trans
        mass = np.exp(log_prior[g]) * state.sum()
        predicted += mass * (model.tables[j, g, :3] @ (state / state.sum()))
        total += mass
    predicted /= total
    got = [seen.p_churn_30d[user, j], seen.p_purchase_7d[user, j], seen.ltv_net_90d[user, j]]
    amount = ob._expected_amount(ob._observe(_without_user(result.events, user), 0, pop.join_day[:N_USERS],
                                             N_DAYS, params), pop, 0, N_USERS, plan.cutoff_days, params)[user, j]
    assert got == pytest.approx([predicted[0], predicted[1], predicted[2] * amount], rel=2e-4)


def test_posterior_weights_sum_to_one_and_runs_are_deterministic(world):
    plan, params, result, model, seen, _ = world
    lo, hi = 0, 300
    events = EventBatch(**{f.name: getattr(result.events, f.name)[result.events.user < hi]
                           for f in fields(EventBatch)})
    posterior = ob.chunk_posterior(plan.population, lo, hi, events, model, plan.calendar, params)
    filled = [p for p in posterior if p is not None]
    assert filled and all(np.allclose(p.sum(axis=(1, 2)), 1.0) and (p >= 0).all() for p in filled)
    again = ob.chunk_observable(plan.population, 0, N_USERS, result.events, model, plan.calendar, params)
    for name in ("p_churn_30d", "p_purchase_7d", "ltv_net_90d"):
        assert np.array_equal(getattr(again, name), getattr(seen, name), equal_nan=True)


def test_constants_follow_the_population(world):
    plan, params, *_ = world
    pop = draw_population(200_000, N_DAYS, plan.calendar, params, np.random.default_rng(3))
    up = params.users
    for g, level in enumerate(ob.SEGMENT_LEVEL):
        mean = np.log(pop.activity_mult[pop.segment == g]).mean()
        assert mean == pytest.approx(level - up.activity_sigma**2 / 2, abs=0.01)
    shares = np.bincount(np.searchsorted(ob.member_thresholds(params),
                                         np.log(pop.purchase_mult) + ob.MEMBER_LEVEL_NOISE
                                         * np.random.default_rng(4).standard_normal(pop.n_users)), minlength=4)
    assert shares / pop.n_users == pytest.approx([0.55, 0.27, 0.13, 0.05], abs=0.005)


def test_bad_inputs_are_named(world):
    plan, params, result, model, *_ = world
    with pytest.raises(ValueError, match="GridSize.activity: expected at least 1 node"):
        ob.GridSize(activity=0)
    shuffled = replace(plan.population, join_day=plan.population.join_day[::-1].copy())
    with pytest.raises(ValueError, match="join_day: expected users in join order"):
        ob.chunk_observable(shuffled, 0, N_USERS, result.events, model, plan.calendar, params)
