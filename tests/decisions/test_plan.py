"""The contact-plan optimizer against brute force, its constraints, and the randomized holdout."""

import itertools

import numpy as np
import pytest

from siyu.decisions import (
    NONE,
    PlanInputs,
    contact_plan,
    draw_holdout,
    dual_bound,
    expected_gains,
    plan_totals,
    solve_plan,
)


def _brute_force(gains, costs, budget, capacity, channels, channel_capacity, min_gain=0.0):
    """The best total gain over every assignment (None or one treatment per user) that is feasible."""
    n, n_t = gains.shape
    best = 0.0
    for combo in itertools.product(range(-1, n_t), repeat=n):
        combo = np.array(combo)
        chosen = combo != NONE
        if not chosen.any():
            continue
        g = gains[np.flatnonzero(chosen), combo[chosen]]
        if (g < min_gain).any() or (g <= 0).any():
            continue
        if costs[combo[chosen]].sum() > budget + 1e-9:
            continue
        if any(capacity[t] is not None and (combo == t).sum() > capacity[t] for t in range(n_t)):
            continue
        per_channel = {}
        for t in combo[chosen]:
            per_channel[channels[t]] = per_channel.get(channels[t], 0) + 1
        if any(per_channel.get(c, 0) > k for c, k in channel_capacity.items()):
            continue
        best = max(best, float(g.sum()))
    return best


def _feasible(alloc, costs, budget, capacity, channels, channel_capacity):
    chosen = alloc.choice[alloc.choice != NONE]
    assert alloc.total_cost <= budget + 1e-9
    for t, cap in enumerate(capacity):
        assert cap is None or (chosen == t).sum() <= cap
    for c, cap in channel_capacity.items():
        assert sum(channels[t] == c for t in chosen) <= cap


def test_greedy_is_optimal_up_to_one_option_on_tiny_cases_without_capacities():
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(60):
        n, n_t = rng.integers(2, 7), rng.integers(1, 4)
        gains = rng.normal(1.0, 2.0, (n, n_t))
        costs = rng.uniform(0.5, 3.0, n_t)
        budget = float(rng.uniform(0.0, costs.sum() * n / 2))
        alloc = solve_plan(gains, costs, budget=budget)
        _feasible(alloc, costs, budget, [None] * n_t, ["c"] * n_t, {})
        best = _brute_force(gains, costs, budget, [None] * n_t, ["c"] * n_t, {})
        assert alloc.total_gain <= best + 1e-9
        # the multiple-choice knapsack's LP bound: greedy loses at most one option's gain
        assert alloc.total_gain >= best - gains.max() - 1e-9
        # the Lagrangian dual bounds every plan from above, and the greedy is within one option of it
        bound = dual_bound(gains, costs, budget=budget)
        assert best - 1e-6 <= bound <= alloc.total_gain + max(gains.max(), 0.0) + 1e-6
        ratios.append(alloc.total_gain / best if best > 0 else 1.0)
    assert np.mean(ratios) > 0.95 and np.mean(np.isclose(ratios, 1.0)) > 0.7


def test_greedy_respects_capacities_and_stays_close_to_brute_force():
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(40):
        n = int(rng.integers(3, 7))
        gains = rng.normal(1.0, 1.5, (n, 3))
        costs = np.array([0.5, 1.0, 2.0])
        channels = ["sms", "wecom", "wecom"]
        capacity = [int(rng.integers(0, 3)), None, int(rng.integers(1, 3))]
        channel_capacity = {"wecom": int(rng.integers(1, 4))}
        budget = float(rng.uniform(1.0, 5.0))
        alloc = solve_plan(gains, costs, budget=budget, capacity=capacity, channels=channels,
                           channel_capacity=channel_capacity)
        _feasible(alloc, costs, budget, capacity, channels, channel_capacity)
        best = _brute_force(gains, costs, budget, capacity, channels, channel_capacity)
        assert alloc.total_gain <= best + 1e-9 and dual_bound(gains, costs, budget=budget) >= best - 1e-6
        ratios.append(alloc.total_gain / best if best > 0 else 1.0)
    assert np.mean(ratios) > 0.9


def test_unlimited_budget_gives_everyone_their_best_positive_option():
    gains = np.array([[1.0, 3.0], [-1.0, -0.5], [2.0, 0.5], [0.2, 0.1]])
    alloc = solve_plan(gains, [1.0, 5.0], budget=None, min_gain=0.15)
    assert alloc.choice.tolist() == [1, NONE, 0, 0]
    assert alloc.total_gain == pytest.approx(3.0 + 2.0 + 0.2)


def test_zero_budget_contacts_nobody_and_a_binding_budget_picks_the_most_efficient():
    gains = np.array([[4.0], [3.0], [1.0]])
    assert (solve_plan(gains, [1.0], budget=0.0).choice == NONE).all()
    assert solve_plan(gains, [1.0], budget=2.0).choice.tolist() == [0, 0, NONE]


def test_a_budget_left_after_a_blocked_upgrade_is_spent_on_a_smaller_move():
    # user 0: message (cost 1, gain 2) then coupon (cost 10, gain 12); user 1: message only (gain 1.5)
    gains = np.array([[2.0, 12.0], [1.5, -1.0]])
    alloc = solve_plan(gains, [1.0, 10.0], budget=5.0)
    assert alloc.choice.tolist() == [0, 0] and alloc.total_cost == 2.0


def test_bad_shapes_and_negative_costs_are_refused():
    with pytest.raises(ValueError, match="expected shape"):
        expected_gains(np.zeros((3, 2)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="must be >= 0"):
        solve_plan(np.zeros((2, 1)), [-1.0], budget=1.0)


def test_holdout_is_the_share_of_each_treatment_and_random_by_seed():
    choice = np.array([0] * 100 + [1] * 40 + [NONE] * 60)
    first = draw_holdout(choice, 0.1, np.random.default_rng(7))
    assert first[:100].sum() == 10 and first[100:140].sum() == 4 and not first[140:].any()
    assert (draw_holdout(choice, 0.1, np.random.default_rng(7)) == first).all()
    assert (draw_holdout(choice, 0.1, np.random.default_rng(8)) != first).any()
    # every chosen user is equally likely to be held out
    hits = sum(draw_holdout(choice, 0.1, np.random.default_rng(s))[:100] for s in range(400))
    assert hits.min() > 15 and hits.max() < 70
    with pytest.raises(ValueError, match="holdout share"):
        draw_holdout(choice, 1.0, np.random.default_rng(0))


def test_contact_plan_frame_and_totals():
    rng = np.random.default_rng(3)
    uplift = np.column_stack([rng.uniform(0, 0.1, 50), rng.uniform(0, 0.3, 50)])
    inputs = PlanInputs(treatments=("campaign_contact", "coupon_push"), costs=(0.5, 5.0), channels=("wecom", "wecom"),
                        budget=60.0, capacity=(None, 5), channel_capacity={"wecom": 40}, holdout_share=0.2)
    plan = contact_plan([f"u{i}" for i in range(50)], uplift, np.full(50, 100.0), inputs, np.random.default_rng(0))
    assert list(plan.columns) == ["user_id", "treatment", "holdout", "expected_gain", "value", "cost",
                                  "uplift__campaign_contact", "uplift__coupon_push"]
    assert set(plan["treatment"]) <= {"campaign_contact", "coupon_push", "none"}
    assert (plan.loc[plan["treatment"] == "none", "holdout"] == False).all()  # noqa: E712
    totals = plan_totals(plan, 60.0)
    assert totals["cost"] <= 60.0 and totals["by_treatment"]["coupon_push"]["chosen"] <= 5
    assert totals["chosen"] <= 40 and totals["contacted"] + totals["holdout"] == totals["chosen"]
    assert totals["expected_gain"] == pytest.approx(plan["expected_gain"].sum())
