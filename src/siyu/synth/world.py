"""A whole world: calendar, population, then users simulated chunk by chunk (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from siyu.synth.calendar import Calendar, build_calendar, campaign_ids
from siyu.synth.membership import MemberHistory, member_history
from siyu.synth.observable import chunk_observable, observable_model
from siyu.synth.params import WorldParams
from siyu.synth.population import Population, draw_population, expected_amount
from siyu.synth.simulate import EventBatch, simulate_chunk
from siyu.synth.truth import (
    LtvTables,
    TruthBatch,
    UpliftBatch,
    chunk_truth,
    ltv_tables,
    monday_cutoff_days,
    uplift_truth,
)


@dataclass(frozen=True)
class WorldPlan:
    """Everything fixed before simulating users: calendar, population, cutoffs, truth tables."""

    start: date
    n_days: int
    calendar: Calendar
    population: Population
    cutoff_days: np.ndarray
    effect_days: np.ndarray  # days with contact-effect truth: the cutoffs and every campaign day
    campaign_ids: tuple[str, ...]
    ltv_tables: LtvTables
    expected_amount: np.ndarray
    params: WorldParams
    chunk_seeds: tuple[np.random.SeedSequence, ...]

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_seeds)


@dataclass(frozen=True)
class WorldChunk:
    """The events and truth of users lo..hi-1."""

    lo: int
    hi: int
    events: EventBatch
    truth: TruthBatch | None
    uplift: UpliftBatch | None = None
    members: MemberHistory | None = None  # member-level changes (join level, then upgrades)


def _check(n_users: int, n_days: int, params: WorldParams) -> None:
    if n_users < 1:
        raise ValueError(f"users: expected at least 1 user, got {n_users}")
    if n_days < 1:
        raise ValueError(f"days: expected at least 1 day, got {n_days}")
    if params.commerce.refund_delay_max_days >= min(params.horizon_churn_days, params.horizon_ltv_days):
        raise ValueError(
            f"refund_delay_max_days: expected fewer days than the churn / ltv horizons "
            f"({params.horizon_churn_days} / {params.horizon_ltv_days}), got {params.commerce.refund_delay_max_days}"
        )


def plan_world(n_users: int, n_days: int, start: date, seed: int, params: WorldParams | None = None) -> WorldPlan:
    """Draw the calendar and population of a world (pure; deterministic for `seed`)."""
    params = params or WorldParams()
    _check(n_users, n_days, params)
    root = np.random.SeedSequence(seed)
    calendar_seed, population_seed = root.spawn(2)
    n_chunks = -(-n_users // params.chunk_users)
    chunk_seeds = tuple(np.random.SeedSequence(seed, spawn_key=(2 + i,)) for i in range(n_chunks))
    # The calendar runs past the end so the truth at the last cutoffs can look ahead.
    calendar = build_calendar(start, n_days + 1 + params.horizon_ltv_days, params.campaigns,
                              np.random.default_rng(calendar_seed))
    population = draw_population(n_users, n_days, calendar, params, np.random.default_rng(population_seed))
    cutoffs = monday_cutoff_days(start.toordinal(), n_days, params.truth_lookback_days)
    campaign_days = np.flatnonzero(calendar.campaign_index[:n_days] >= 0)
    return WorldPlan(
        start=start,
        n_days=n_days,
        calendar=calendar,
        population=population,
        cutoff_days=cutoffs,
        effect_days=np.union1d(cutoffs, campaign_days).astype(np.int32),
        campaign_ids=campaign_ids(calendar),
        ltv_tables=ltv_tables(cutoffs, calendar, params),
        expected_amount=expected_amount(population, params),
        params=params,
        chunk_seeds=chunk_seeds,
    )


def simulate_world(plan: WorldPlan, *, with_truth: bool = True) -> Iterator[WorldChunk]:
    """Yield the world chunk by chunk of users, each with its events and (optionally) truth,
    the truth with the observable oracle's columns (`siyu.synth.observable`)."""
    size = plan.params.chunk_users
    n_users = plan.population.n_users
    # Shared by every chunk; computed after nothing random, so the events do not change.
    model = (observable_model(plan.calendar, plan.n_days, plan.cutoff_days, plan.ltv_tables, plan.params,
                              effect_days=plan.effect_days) if with_truth else None)
    for i, chunk_seed in enumerate(plan.chunk_seeds):
        lo, hi = i * size, min((i + 1) * size, n_users)
        result = simulate_chunk(plan.population, lo, hi, plan.n_days, plan.calendar, plan.cutoff_days,
                                plan.params, np.random.default_rng(chunk_seed), effect_days=plan.effect_days)
        truth = uplift = None
        if with_truth:
            observable = chunk_observable(plan.population, lo, hi, result.events, model, plan.calendar, plan.params)
            uplift = uplift_truth(plan.population, lo, hi, plan.effect_days, result.effect_state, plan.calendar,
                                  plan.expected_amount, plan.params, observable.effects)
            refunds = (result.refund_user, result.refund_purchase_day, result.refund_day, result.refund_amount)
            truth = chunk_truth(plan.population, lo, hi, plan.cutoff_days, result.cutoff_state, refunds,
                                plan.calendar, plan.ltv_tables, plan.expected_amount, plan.params, observable)
        members = member_history(plan.population, lo, hi, result.events, plan.params)
        yield WorldChunk(lo=lo, hi=hi, events=result.events, truth=truth, uplift=uplift, members=members)
