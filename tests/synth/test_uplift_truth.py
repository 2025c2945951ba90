"""The exact effect of a contact: a closed form when states never move, and agreement with the
arms of the world's own randomized campaigns (a Monte-Carlo check of the truth)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import numpy as np

from siyu.jobs.generate import generate_world
from siyu.synth.params import TREATMENTS, StateParams, WorldParams
from siyu.synth.truth import uplift_truth
from siyu.synth.world import plan_world

STILL = tuple(tuple(tuple(float(i == j) for j in range(4)) for i in range(4)) for _ in range(3))


def test_effects_match_the_closed_form_when_states_never_move():
    params = replace(WorldParams(), states=replace(StateParams(), transitions=STILL))
    plan = plan_world(600, 120, date(2025, 1, 6), 9, params)
    pop, cal, sp, cp = plan.population, plan.calendar, params.states, params.campaigns
    days = plan.effect_days
    state = np.broadcast_to(pop.initial_state[:, None], (600, days.size))
    batch = uplift_truth(pop, 0, 600, days, state, cal, plan.expected_amount, params)
    u, c = batch.user, batch.cutoff_day
    k = pop.initial_state[u]
    act = pop.activity_mult[u] * np.asarray(sp.interaction_rate)[k]
    buy = pop.purchase_mult[u] * np.asarray(sp.purchase_rate)[k]
    extra = pop.uplift[u] * np.asarray(cp.uplift_by_state)[k]
    dog, f = pop.sleeping_dog[u], params.users.sleeping_dog_factor
    assert dog.any() and (extra > 0).any()

    def quiet_later(rate_of, horizon: int, activity: bool) -> np.ndarray:
        out = np.ones(u.size)
        for h in range(1, horizon):
            d = c + h
            q, coupon = cal.contact_share[d], cal.coupon_share[d]
            rate = rate_of(d)
            day = (1 - q) * np.exp(-rate)
            for share, scale in ((q * (1 - coupon), 1.0), (q * coupon, cp.coupon_uplift_factor)):
                reacts = np.exp(-rate - scale * extra) * ((1 - np.asarray(cp.open_prob)[k]) if activity else 1.0)
                day = day + share * np.where(dog, np.exp(-f * rate), reacts)
            out *= day
        return out

    buy_rate = lambda d: buy * cal.purchase_factor[d]  # noqa: E731
    all_rate = lambda d: act * cal.interaction_factor[d] + buy * cal.purchase_factor[d]  # noqa: E731
    for t, name in enumerate(TREATMENTS):
        scale = cp.coupon_uplift_factor if t else 1.0
        for label, horizon, rate_of, activity in (("any_purchase", 7, buy_rate, False),
                                                   ("any_activity", 30, all_rate, True)):
            rate = rate_of(c)
            alone = np.exp(-rate)
            reacts = np.exp(-rate - scale * extra) * ((1 - np.asarray(cp.open_prob)[k]) if activity else 1.0)
            sent = np.where(dog, np.exp(-f * rate), reacts)
            expected = (alone - sent) * quiet_later(rate_of, horizon, activity)
            assert np.allclose(batch.effects[f"tau_{label}_{horizon}d__{name}"], expected, rtol=1e-4, atol=1e-6)
        gained = np.where(dog, -(1 - f) * buy * cal.purchase_factor[c], scale * extra)
        spend = plan.expected_amount[u] * (1 - params.commerce.refund_share) * gained
        assert np.allclose(batch.effects[f"tau_net_spend_90d__{name}"], spend, rtol=1e-4, atol=1e-6)
    # Sleeping dogs lose, reactive users gain, the rest are untouched by a purchase effect.
    tau = batch.effects["tau_any_purchase_7d__coupon_push"]
    assert (tau[dog] <= 0).all() and (tau[extra > 0] > 0).all()


ARMS_SQL = """
WITH arms AS (
    SELECT user_id, campaign_id, any_value(event_type) AS arm FROM read_parquet('{events}')
    WHERE event_type IN ('campaign_contact', 'coupon_push') GROUP BY ALL
), rows AS (
    SELECT u.*, coalesce(arms.arm, 'control') AS arm FROM read_parquet('{uplift}') u
    LEFT JOIN arms USING (user_id, campaign_id)
    WHERE u.campaign_id IS NOT NULL AND u.cutoff + INTERVAL {h} DAY <= TIMESTAMP '{end}'
), outcome AS (
    SELECT r.user_id, r.cutoff, {agg} AS y FROM rows r JOIN read_parquet('{events}') e
    ON e.user_id = r.user_id AND e.ts >= r.cutoff AND e.ts < r.cutoff + INTERVAL {h} DAY AND {cond}
    GROUP BY ALL
)
SELECT r.*, coalesce(o.y, 0) AS y FROM rows r LEFT JOIN outcome o USING (user_id, cutoff)
"""


def test_effects_agree_with_the_randomized_campaigns(tmp_path):
    """Across the world's campaigns, arm minus control (per campaign, weighted by treated users)
    estimates the mean effect of the treated: the truth's and the observable oracle's (the
    posterior mean given the history before the campaign) agree with it within a few standard
    errors."""
    world = generate_world(8000, 220, 5, tmp_path / "w")
    events, uplift = f"{tmp_path}/w/events/*.parquet", f"{tmp_path}/w/truth/uplift.parquet"
    outcomes = (
        ("any_purchase", 7, "count(*) > 0", "e.event_type = 'purchase'"),
        ("any_activity", 30, "count(*) > 0", "e.event_type NOT IN ('campaign_contact', 'coupon_push')"),
        ("net_spend", 90, "sum(e.amount)", "e.event_type IN ('purchase', 'refund')"),
    )
    gaps = {}
    for label, h, agg, cond in outcomes:
        frame = duckdb.sql(ARMS_SQL.format(events=events, uplift=uplift, h=h, agg=agg, cond=cond,
                                           end=f"{world.end} 00:00:00")).df()
        frame["y"] = frame["y"].astype(float)
        for name in TREATMENTS:
            diffs, taus, seen, weights, variances = [], [], [], [], []
            for _, group in frame.groupby("campaign_id"):
                treated, control = group[group["arm"] == name], group[group["arm"] == "control"]
                if len(treated) < 20:
                    continue
                diffs.append(treated["y"].mean() - control["y"].mean())
                taus.append(treated[f"tau_{label}_{h}d__{name}"].mean())
                seen.append(treated[f"tau_{label}_{h}d__{name}_observable"].mean())
                weights.append(len(treated))
                variances.append(treated["y"].var() / len(treated) + control["y"].var() / len(control))
            w = np.asarray(weights) / np.sum(weights)
            se = float(np.sqrt(w**2 @ np.asarray(variances)))
            for kind, effect in (("truth", taus), ("observable", seen)):
                gap = float(w @ np.asarray(diffs) - w @ np.asarray(effect))
                gaps[(label, name, kind)] = round(gap / se, 2)
    assert all(abs(z) < 4 for z in gaps.values()), gaps
