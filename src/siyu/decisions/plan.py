"""A budgeted contact plan: per user the treatment (or none) that maximises expected incremental
value, under a budget and capacities per treatment and per channel, then a randomized holdout.

Pure: arrays in, arrays out; the job (`siyu.jobs.targeting`) reads models and writes tags.

The problem. User i given treatment t brings an expected incremental value
``gain[i, t] = uplift[i, t] * value[i] - cost[t]`` (uplift on the outcome's scale, value = what one
unit of the outcome is worth) and costs ``cost[t]``. Choose at most one treatment per user to
maximise the total gain with ``sum(cost) <= budget``, at most ``capacity[t]`` users per treatment
and ``channel_capacity[c]`` per channel. With one budget and several treatments this is a
multiple-choice knapsack (NP-hard in general); capacities add side constraints.

The solution (`solve_plan`): greedy by incremental efficiency, the classic answer for the
multiple-choice knapsack (Sinha & Zoltners 1979), which is the Lagrangian relaxation solved
exactly up to the last item. Every user starts at `none`; a move takes a user from the option it
has to one with more gain, and its efficiency is the extra gain per extra cost. For each user the
best move is the next vertex of the upper convex hull of its (cost, gain) options, so repeatedly
taking the most efficient move of all users walks every user up its hull in the order a budget
multiplier λ falling from +inf would (the user takes the option maximising gain - λ·cost). A move
that no longer fits (budget spent, a treatment or a channel full) is replaced by that user's most
efficient move that still fits, so the budget left over after a blocked move is still spent on
smaller moves. Without capacities the result is within one option's gain of the optimum (the LP
bound of the multiple-choice knapsack); tests compare it to brute force on tiny cases.
Options with a gain below `min_gain` (or not above zero) are never taken.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

NONE = -1  # the choice index of "no treatment"


@dataclass(frozen=True)
class Allocation:
    """The solved plan: per user the chosen treatment index (NONE = -1), its gain and its cost."""

    choice: np.ndarray  # int, (n,)
    gain: np.ndarray  # float, (n,): expected incremental value of the chosen option (0 for none)
    cost: np.ndarray  # float, (n,)

    @property
    def total_gain(self) -> float:
        return float(self.gain.sum())

    @property
    def total_cost(self) -> float:
        return float(self.cost.sum())


def expected_gains(uplift: np.ndarray, value: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """(n, T) expected incremental value: uplift × value − cost (value per user, cost per treatment)."""
    uplift = np.asarray(uplift, dtype="float64")
    value = np.asarray(value, dtype="float64")
    costs = np.asarray(costs, dtype="float64")
    if uplift.ndim != 2 or uplift.shape != (len(value), len(costs)):
        raise ValueError(f"uplift: expected shape (n users, n treatments) = ({len(value)}, {len(costs)}), "
                         f"got {uplift.shape}")
    return uplift * value[:, None] - costs[None, :]


class _State:
    """Budget left and users per treatment and per channel while the greedy runs."""

    def __init__(self, costs: np.ndarray, budget: float, capacity: Sequence[int | None],
                 channels: Sequence[str], channel_capacity: Mapping[str, int]) -> None:
        self.costs = costs
        self.left = math.inf if budget is None else float(budget)
        self.capacity = [math.inf if c is None else int(c) for c in capacity]
        self.channels = list(channels)
        self.channel_capacity = {c: math.inf for c in self.channels} | {k: int(v) for k, v in channel_capacity.items()}
        self.used = [0] * len(costs)
        self.channel_used = dict.fromkeys(self.channel_capacity, 0)

    def fits(self, a: int, b: int) -> bool:
        extra = self.costs[b] - (self.costs[a] if a != NONE else 0.0)
        if extra > self.left + 1e-9 or self.used[b] + 1 > self.capacity[b]:
            return False
        channel = self.channels[b]
        same = a != NONE and self.channels[a] == channel
        return same or self.channel_used[channel] + 1 <= self.channel_capacity[channel]

    def move(self, a: int, b: int) -> None:
        self.left -= self.costs[b] - (self.costs[a] if a != NONE else 0.0)
        self.used[b] += 1
        self.channel_used[self.channels[b]] += 1
        if a != NONE:
            self.used[a] -= 1
            self.channel_used[self.channels[a]] -= 1


def _best_move(gains_i: np.ndarray, eligible_i: np.ndarray, costs: np.ndarray, a: int,
               state: _State) -> tuple[float, float, int] | None:
    """The most efficient move of one user from option `a` that fits now: (efficiency, extra gain, b)."""
    g_a = gains_i[a] if a != NONE else 0.0
    c_a = costs[a] if a != NONE else 0.0
    best: tuple[float, float, int] | None = None
    for b in np.flatnonzero(eligible_i & (gains_i > g_a)):
        if not state.fits(a, int(b)):
            continue
        d_gain, d_cost = gains_i[b] - g_a, costs[b] - c_a
        eff = math.inf if d_cost <= 0 else d_gain / d_cost
        if best is None or (eff, d_gain) > (best[0], best[1]):
            best = (eff, float(d_gain), int(b))
    return best


def solve_plan(
    gains: np.ndarray,
    costs: Sequence[float],
    *,
    budget: float | None,
    capacity: Sequence[int | None] | None = None,
    channels: Sequence[str] | None = None,
    channel_capacity: Mapping[str, int] | None = None,
    min_gain: float = 0.0,
) -> Allocation:
    """Choose at most one treatment per user maximising total gain under the budget and capacities.

    `gains`: (n, T) expected incremental value (`expected_gains`); `costs`: per treatment (>= 0);
    `budget`: total cost allowed (None: no limit); `capacity`: users per treatment (None: no
    limit); `channels`: each treatment's channel, `channel_capacity`: users per channel (a channel
    not named has no limit); `min_gain`: an option is taken only if its gain is at least this and
    above zero. Greedy by incremental efficiency, see the module docstring.
    """
    gains = np.asarray(gains, dtype="float64")
    costs_arr = np.asarray(costs, dtype="float64")
    n, n_t = gains.shape if gains.ndim == 2 else (0, 0)
    if gains.ndim != 2 or len(costs_arr) != n_t:
        raise ValueError(f"gains: expected (n users, {len(costs_arr)} treatments), got shape {gains.shape}")
    if (costs_arr < 0).any() or (budget is not None and budget < 0):
        raise ValueError(f"costs and budget must be >= 0, got costs {costs_arr.tolist()} and budget {budget}")
    capacity = list(capacity) if capacity is not None else [None] * n_t
    channels = list(channels) if channels is not None else [f"_t{t}" for t in range(n_t)]
    if len(capacity) != n_t or len(channels) != n_t:
        raise ValueError(f"capacity and channels: one per treatment ({n_t}), got {len(capacity)} and {len(channels)}")
    state = _State(costs_arr, budget, capacity, channels, channel_capacity or {})
    eligible = np.isfinite(gains) & (gains >= min_gain) & (gains > 0)
    choice = np.full(n, NONE, dtype=int)
    heap: list[tuple[float, float, int, int, int]] = []
    for i in np.flatnonzero(eligible.any(axis=1)):
        move = _best_move(gains[i], eligible[i], costs_arr, NONE, state)
        if move is not None:
            heap.append((-move[0], -move[1], int(i), NONE, move[2]))
    heapq.heapify(heap)
    while heap:
        _, _, i, a, b = heapq.heappop(heap)
        if choice[i] != a:  # stale: the user moved since this was pushed
            continue
        if state.fits(a, b):
            state.move(a, b)
            choice[i] = b
            a = b
        move = _best_move(gains[i], eligible[i], costs_arr, a, state)
        if move is not None:
            heapq.heappush(heap, (-move[0], -move[1], i, a, move[2]))
    chosen = choice != NONE
    gain = np.where(chosen, gains[np.arange(n), np.where(chosen, choice, 0)], 0.0) if n else np.zeros(0)
    cost = np.where(chosen, costs_arr[np.where(chosen, choice, 0)], 0.0) if n else np.zeros(0)
    return Allocation(choice, gain, cost)


def dual_bound(gains: np.ndarray, costs: Sequence[float], *, budget: float | None, min_gain: float = 0.0,
               iterations: int = 100) -> float:
    """An upper bound on the best total gain any plan can reach (capacities relaxed): the Lagrangian
    dual min over λ >= 0 of λ·budget + Σ_i max(0, max_t gain[i, t] − λ·cost[t]), a convex function of
    λ minimised by ternary search. `bound − plan's gain` certifies how far from optimal a plan can be."""
    gains = np.asarray(gains, dtype="float64")
    costs_arr = np.asarray(costs, dtype="float64")
    if gains.size == 0:
        return 0.0
    usable = np.where(np.isfinite(gains) & (gains >= min_gain) & (gains > 0), gains, -np.inf)

    def dual(lam: float) -> float:
        best = (usable - lam * costs_arr[None, :]).max(axis=1)
        return lam * (budget or 0.0) + float(np.clip(best, 0.0, None).sum())

    if budget is None:
        return dual(0.0)
    paying = costs_arr > 0
    top = float(np.max(np.where(np.isfinite(usable[:, paying]), usable[:, paying], 0.0) / costs_arr[paying])) \
        if paying.any() else 0.0
    low, high = 0.0, max(top, 0.0)
    for _ in range(iterations):
        a, b = low + (high - low) / 3, high - (high - low) / 3
        if dual(a) <= dual(b):
            high = b
        else:
            low = a
    return min(dual(low), dual(high), dual(0.0))


def draw_holdout(choice: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of chosen users withheld from contact: `share` of each treatment's chosen
    users (rounded to the nearest user), drawn without replacement by `rng`, stratified by the
    chosen treatment so each treatment has its own randomized control."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"holdout share: expected 0 <= share < 1, got {share}")
    choice = np.asarray(choice)
    holdout = np.zeros(len(choice), dtype=bool)
    for t in np.unique(choice[choice != NONE]):
        members = np.flatnonzero(choice == t)
        k = int(math.floor(share * len(members) + 0.5))
        if k:
            holdout[rng.choice(members, size=k, replace=False)] = True
    return holdout


@dataclass(frozen=True)
class PlanInputs:
    """Everything the plan is solved from besides the per-user arrays (from `targeting:` config)."""

    treatments: tuple[str, ...]
    costs: tuple[float, ...]
    channels: tuple[str, ...]
    budget: float | None
    capacity: tuple[int | None, ...]
    channel_capacity: Mapping[str, int]
    min_gain: float = 0.0
    holdout_share: float = 0.1


def contact_plan(user_ids: Sequence[str], uplift: np.ndarray, value: np.ndarray, inputs: PlanInputs,
                 rng: np.random.Generator) -> pd.DataFrame:
    """The plan, one row per user: `user_id, treatment` (chosen, or "none"), `holdout` (chosen but
    withheld), `expected_gain` (0 for none), `value`, `cost` (of the chosen treatment, 0 for none),
    `uplift__<t>` per treatment. `uplift`: (n, T) in the order of `inputs.treatments`."""
    gains = expected_gains(uplift, value, np.asarray(inputs.costs))
    alloc = solve_plan(gains, inputs.costs, budget=inputs.budget, capacity=inputs.capacity,
                       channels=inputs.channels, channel_capacity=inputs.channel_capacity, min_gain=inputs.min_gain)
    holdout = draw_holdout(alloc.choice, inputs.holdout_share, rng)
    names = np.array([*inputs.treatments, "none"], dtype=object)
    frame = pd.DataFrame({
        "user_id": np.asarray(user_ids, dtype=object).astype(str),
        "treatment": names[alloc.choice],  # NONE = -1 picks the trailing "none"
        "holdout": holdout,
        "expected_gain": alloc.gain,
        "value": np.asarray(value, dtype="float64"),
        "cost": alloc.cost,
    })
    uplift = np.asarray(uplift, dtype="float64")
    return frame.assign(**{f"uplift__{t}": uplift[:, j] for j, t in enumerate(inputs.treatments)})


def plan_totals(plan: pd.DataFrame, budget: float | None) -> dict[str, object]:
    """Headline numbers of a plan: users chosen / held out / contacted per treatment, expected gain
    and cost planned (every chosen user) and contacted (holdout excluded), share of the budget used."""
    chosen = plan[plan["treatment"] != "none"]
    contacted = chosen[~chosen["holdout"]]
    per = {}
    for t, rows in chosen.groupby("treatment", sort=True):
        per[str(t)] = {"chosen": int(len(rows)), "holdout": int(rows["holdout"].sum()),
                       "contacted": int((~rows["holdout"]).sum()), "expected_gain": float(rows["expected_gain"].sum()),
                       "cost": float(rows["cost"].sum())}
    cost = float(chosen["cost"].sum())
    return {
        "users": int(len(plan)), "chosen": int(len(chosen)), "holdout": int(chosen["holdout"].sum()),
        "contacted": int(len(contacted)), "expected_gain": float(chosen["expected_gain"].sum()),
        "expected_gain_contacted": float(contacted["expected_gain"].sum()), "cost": cost,
        "cost_contacted": float(contacted["cost"].sum()), "budget": budget,
        "budget_used_share": (cost / budget) if budget else None, "by_treatment": per,
    }
