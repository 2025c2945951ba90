"""The observable oracle: Bayes-optimal labels given only what a user's history shows.

`siyu.synth.truth` conditions on the generator's hidden state at the cutoff and on the user's
latent multipliers: no model that only sees behaviour can know them. The limit for such a
model is the posterior mean of the same labels given the observed history. This module
computes it with the generator's true parameters: a forward filter per user over the days
before each cutoff, on a grid of the latent traits, then truth's forward recursion.

What is observed (everything in `events/` and `users.parquet`, ts < C)
--------------------------------------------------------------------
- users table: the join day, source channel (-> segment prior), member level at joining (the
  first row of `member_level_history.parquet`; a noisy function of the purchase multiplier; later
  upgrades follow the observed spend, so they add nothing), region and age band (-> prior basket
  level);
- per day since joining: organic interactions by type (a Poisson count with a per-state
  type mix; opens are told apart by their campaign_id, the cart / coupon events that go with
  a purchase are removed: coupon_redeem and as many coupon_claim, and add_cart rows whose
  item matches a purchase of that day), purchases (Poisson; on a contacted day with the
  contact's extra rate), contacts and whether each was opened, purchase amounts and the
  categories of purchases and organic carts;
- refunds: the purchase each refund belongs to (same item and amount), so a purchase of the
  last 14 days is known to be refunded already or not.

Channels, times of day and items (given the category) do not depend on any latent, so they
only multiply the likelihood by a constant. A contact's presence does not depend on the state.

The model of the filter
-----------------------
Latent: segment (prior from the source channel), the correlated lognormal activity and
purchase multipliers, the contact kind (none / sleeping dog / responder / persuadable, the last
cutting the purchase multiplier) with its Gamma(4, 1/4) factor, and the daily state. A contact is
a message or a coupon (its extra purchase rate c times a message's); on a contacted day a
sleeping dog never opens and its rates are multiplied by f, a factor f^(events that day) *
exp((1 - f) * rates) on its nodes. The continuous
traits are put on a fixed grid (`GridSize`): equal-probability bins of the activity z, of
the purchase z given it, and of the Gamma factor, each node at the bin's conditional mean of
the multiplier (so prior means stay exact); the posterior is over (grid node, state). The basket level is
conjugate normal (log amounts), the favourite category a 7-point posterior; both are
independent of the rest a posteriori and only scale the expected spend.

Per day and node, the likelihood splits into a user-only part (state-dependent type / count
terms and contact opens: `_Observations.emission`), a node-and-state part shared by all
users (exp(-rates), folded into the day's transition matrix), the multiplier powers
m_act^N m_buy^M (added in log space at read-out from cumulative counts) and, on contacted
days, the uplift factor. Node weights are renormalized every few days in log space.

Approximations (measured in tests/synth/test_observable.py and the report)
--------------------------------------------------------------------------
- the grid: by default 3 segments x 4 activity x 2 purchase x 4 kinds (one uplift node) = 96
  nodes, so that `siyu generate` on the demo (20k users) takes about twice its time without
  the observable columns (6.0 s vs 2.9 s; 90 nodes: 6.7 s). Against 1,155 nodes (11 x 5 x 3
  uplift nodes) on 4,096 demo users at every cutoff: churn AUC 0.8455 vs 0.8460, purchase
  0.8495 vs 0.8508, LTV Gini 0.646 vs 0.651; rows differ by 0.007 (churn) / 0.005
  (purchase) on average, and the mean expected spend is about 3 % lower (the coarse grid
  caps the heaviest buyers' multiplier);
- member-level thresholds are the quantiles of the model's level-score distribution, while
  the generator uses the sample quantiles of its population (differences O(1/sqrt(users)));
- an organic add_cart of the very item bought that day counts as the purchase's cart
  (about 1 in 1,000 purchases), and amounts are taken as unrounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from siyu.synth.calendar import Calendar, treatment_shares
from siyu.synth.params import CATEGORY_PRICE, WorldParams, type_code
from siyu.synth.population import Population
from siyu.synth.simulate import EventBatch
from siyu.synth.truth import LtvTables, day_factors_of, effects_by_state, transitions_of

# Constants of `siyu.synth.population.draw_population` that are not in WorldParams.
SEGMENT_LEVEL = (0.25, 0.0, -0.2)  # log-multiplier shift per segment (loyal, regular, fickle)
UPLIFT_GAMMA_SHAPE = 4.0  # uplift factor ~ Gamma(4, scale 1/4): mean 1
MEMBER_LEVEL_NOISE = 0.6  # level score = log(purchase multiplier) + 0.6 N(0, 1)
MEMBER_LEVEL_QUANTILES = (0.55, 0.82, 0.95)
AMOUNT_REGION_SHIFT = 0.15  # log basket + 0.15 in regions 0 and 1
AMOUNT_AGE_SHIFT = 0.05  # log basket + 0.05 for age band 2

_INTERACTIONS = 11  # codes 0..10 are interaction types
_PURCHASE, _REFUND, _CONTACT = type_code("purchase"), type_code("refund"), type_code("campaign_contact")
_COUPON = type_code("coupon_push")
_CART, _CLAIM, _REDEEM = type_code("add_cart"), type_code("coupon_claim"), type_code("coupon_redeem")
_OPEN_TYPES = (type_code("msg_open"), type_code("group_msg"))
_NEVER = np.iinfo(np.int32).max
_LOG_ZERO = -1e4  # log of an impossible event, finite so that 0 * log stays 0


@dataclass(frozen=True)
class GridSize:
    """Nodes per latent dimension: activity z, purchase z given activity, uplift factor."""

    activity: int = 4
    purchase: int = 2
    uplift: int = 1

    def __post_init__(self) -> None:
        for name in ("activity", "purchase", "uplift"):
            if getattr(self, name) < 1:
                raise ValueError(f"GridSize.{name}: expected at least 1 node, got {getattr(self, name)}")


@dataclass(frozen=True)
class LatentGrid:
    """The nodes of the latent traits (arrays of length G) and their prior log weights.

    `log_weight` excludes the segment prior (it depends on the user's source channel).
    """

    segment: np.ndarray
    activity_mult: np.ndarray
    purchase_mult: np.ndarray
    uplift: np.ndarray
    log_weight: np.ndarray
    sleeping_dog: np.ndarray  # bool: the nodes of the sleeping-dog kind

    @property
    def size(self) -> int:
        return int(self.segment.size)


@dataclass(frozen=True)
class ObservableModel:
    """What the filter shares across users: the grid, per-day steps and per-cutoff tables."""

    grid: LatentGrid
    cutoff_days: np.ndarray
    # (n_days, G, K, K) float32, to multiply state columns from the left: (diag(P(no rate
    # events | node, state)) @ P_segment) transposed.
    steps: np.ndarray
    no_buy_contacted: np.ndarray  # (G, K): exp(-uplift * uplift_by_state), a contact's no-extra-purchase
    act: np.ndarray  # (G, K): interactions per day before the calendar factor
    buy: np.ndarray  # (G, K): purchases per day before the calendar factor
    tables: np.ndarray  # (J, G, 4, K) float32: P(no activity 30d), P(purchase 7d), E[kept purchases 90d], 1
    member_thresholds: np.ndarray  # (3,) level-score cut points
    normalize_every: int
    effect_days: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # days with effect read-outs
    effect_names: tuple[str, ...] = ()  # `tau_<label>_<h>d__<treatment>` (net spend per unit of amount)
    effect_tables: np.ndarray | None = None  # (E, G, len(effect_names) + 1, K) float32, last row 1


@dataclass(frozen=True)
class ObservableTruth:
    """Observable-oracle labels, arrays (n_users, n_cutoffs); NaN where the user joined on or after C.
    `effects`: each treatment's expected effect given the history before each of the model's
    effect days, {name: (n_users, n_effect_days)}."""

    p_churn_30d: np.ndarray
    p_purchase_7d: np.ndarray
    ltv_net_90d: np.ndarray
    effects: dict[str, np.ndarray] = field(default_factory=dict)


# --------------------------------------------------------------------------- the grid
def _lognormal_nodes(n: int, scales: tuple[float, ...]) -> tuple[list[np.ndarray], np.ndarray]:
    """Equal-probability bins of z ~ N(0, 1): log E[exp(s z) | bin] for each scale s, weights 1/n.

    Conditional means of exp(s z) (not exp of the conditional mean of z) keep each
    multiplier's prior mean exact, so expected counts are not shrunk by the grid.
    """
    edges = special.ndtri(np.linspace(0.0, 1.0, n + 1))
    logs = [s**2 / 2 + np.log(np.diff(special.ndtr(edges - s)) * n) for s in scales]
    return logs, np.full(n, 1.0 / n)


def _gamma_nodes(n: int, shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-probability bins of Gamma(shape, 1/shape) (mean 1): conditional means, weights 1/n."""
    edges = special.gammaincinv(shape, np.linspace(0.0, 1.0, n + 1))
    upper = special.gammainc(shape + 1, edges)  # int x f_shape(x) dx = shape * F_{shape+1}
    return (upper[1:] - upper[:-1]) * n, np.full(n, 1.0 / n)


def latent_grid(params: WorldParams, size: GridSize = GridSize()) -> LatentGrid:
    """Grid nodes of (segment, activity, purchase, uplift) with their prior weights."""
    up = params.users
    rho = up.activity_purchase_corr
    # log purchase multiplier = sigma_b (rho z_a + sqrt(1 - rho^2) z_c) + ..., z_a and z_c independent.
    (act_a, buy_a), wa = _lognormal_nodes(size.activity, (up.activity_sigma, up.purchase_sigma * rho))
    (buy_c,), wc = _lognormal_nodes(size.purchase, (up.purchase_sigma * np.sqrt(1 - rho**2),))
    gam, wg = _gamma_nodes(size.uplift, UPLIFT_GAMMA_SHAPE)
    none_share = 1.0 - up.responder_share - up.persuadable_share - up.sleeping_dog_share
    kind_uplift = np.concatenate([[0.0, 0.0], up.responder_uplift * gam, up.persuadable_uplift * gam])
    kind_weight = np.concatenate([[none_share, up.sleeping_dog_share], up.responder_share * wg,
                                  up.persuadable_share * wg])
    kind_buy = np.concatenate([[1.0, 1.0], np.ones(gam.size), np.full(gam.size, up.persuadable_purchase_factor)])
    kind_dog = np.arange(kind_uplift.size) == 1
    # Kind first: the nodes without uplift (none, then sleeping dogs) come first, one block each.
    ik, seg, ia, ib = (m.ravel() for m in np.meshgrid(np.arange(kind_uplift.size), np.arange(len(SEGMENT_LEVEL)),
                                                      np.arange(wa.size), np.arange(wc.size), indexing="ij"))
    level = np.asarray(SEGMENT_LEVEL)[seg]
    activity = np.exp(act_a[ia] - up.activity_sigma**2 / 2 + level)
    purchase = np.exp(buy_a[ia] + buy_c[ib] - up.purchase_sigma**2 / 2 + level) * kind_buy[ik]
    with np.errstate(divide="ignore"):  # a zero share of a kind is a valid world
        log_weight = np.log(wa[ia] * wc[ib] * kind_weight[ik])
    return LatentGrid(segment=seg, activity_mult=activity, purchase_mult=purchase, uplift=kind_uplift[ik],
                      log_weight=log_weight, sleeping_dog=kind_dog[ik])


def member_thresholds(params: WorldParams) -> np.ndarray:
    """Level-score cut points: quantiles of the model's level-score distribution (a normal mixture)."""
    up, jp = params.users, params.joins
    seg_share = np.asarray(jp.channel_shares) @ np.asarray(jp.channel_segments)
    seg_share = seg_share / seg_share.sum()
    means, weights = [], []
    for g, share in enumerate(seg_share):
        base = -up.purchase_sigma**2 / 2 + SEGMENT_LEVEL[g]
        means += [base, base + np.log(up.persuadable_purchase_factor)]
        weights += [share * (1 - up.persuadable_share), share * up.persuadable_share]
    means, weights = np.asarray(means), np.asarray(weights)
    sd = np.sqrt(up.purchase_sigma**2 + MEMBER_LEVEL_NOISE**2)
    xs = np.linspace(means.min() - 8 * sd, means.max() + 8 * sd, 20_001)
    cdf = special.ndtr((xs[:, None] - means[None, :]) / sd) @ weights
    return np.interp(np.asarray(MEMBER_LEVEL_QUANTILES), cdf, xs)


# --------------------------------------------------------------------------- shared tables
def observable_model(calendar: Calendar, n_days: int, cutoff_days: np.ndarray, ltv: LtvTables,
                     params: WorldParams, size: GridSize = GridSize(),
                     effect_days: np.ndarray | None = None) -> ObservableModel:
    """The grid, the per-day filter steps and the per-cutoff label tables of a world; with
    `effect_days`, the per-day tables of each treatment's effect too."""
    grid = latent_grid(params, size)
    sp, cp = params.states, params.campaigns
    trans = np.asarray(sp.transitions)[grid.segment]  # (G, K, K)
    act = grid.activity_mult[:, None] * np.asarray(sp.interaction_rate)  # (G, K)
    buy = grid.purchase_mult[:, None] * np.asarray(sp.purchase_rate)
    no_rate = np.exp(-(calendar.interaction_factor[:n_days, None, None] * act
                       + calendar.purchase_factor[:n_days, None, None] * buy))  # (D, G, K)
    steps = np.ascontiguousarray((no_rate[..., None] * trans[None]).transpose(0, 1, 3, 2), dtype=np.float32)
    no_buy_contacted = np.exp(-grid.uplift[:, None] * np.asarray(cp.uplift_by_state))
    tables = _label_tables(grid, cutoff_days, calendar, ltv, params, act, buy, trans)
    # Renormalize before the node masses can underflow float32 (about e-87).
    worst = float((calendar.interaction_factor.max() * act + calendar.purchase_factor.max() * buy).max())
    effect_days = np.zeros(0, np.int32) if effect_days is None else np.asarray(effect_days, dtype=np.int32)
    names, effect_tables = _effect_tables(grid, effect_days, calendar, params)
    return ObservableModel(grid=grid, cutoff_days=np.asarray(cutoff_days), steps=steps,
                           no_buy_contacted=no_buy_contacted, act=act, buy=buy, tables=tables,
                           member_thresholds=member_thresholds(params),
                           normalize_every=int(np.clip(40.0 // max(worst, 1e-9), 1, 8)),
                           effect_days=effect_days, effect_names=names, effect_tables=effect_tables)


def _effect_tables(grid: LatentGrid, days: np.ndarray, calendar: Calendar,
                   params: WorldParams) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The truth's effects (`siyu.synth.truth.effects_by_state`) of every grid node and state on
    each day: mixed with a user's posterior they give the effect a model could know at best."""
    if days.size == 0:
        return (), None
    z = day_factors_of(grid.activity_mult, grid.purchase_mult, grid.uplift, grid.sleeping_dog, days, calendar, params)
    by_state = effects_by_state(z, transitions_of(grid.segment, params), params)
    names = tuple(by_state)
    table = np.stack([np.stack(by_state[n], axis=-1) for n in names], axis=2)  # (G, E, names, K)
    table = np.concatenate([table, np.ones_like(table[:, :, :1])], axis=2)
    return names, np.ascontiguousarray(table.transpose(1, 0, 2, 3), dtype=np.float32)


def _no_event_table(days: np.ndarray, horizon: int, factor: Callable[[np.ndarray], np.ndarray],
                    trans: np.ndarray) -> np.ndarray:
    """P(no event over `horizon` days | node, state on day C): backward recursion, (J, G, K)."""
    value = np.ones((days.size, *trans.shape[:2]))
    for h in range(horizon - 1, -1, -1):
        value = factor(days + h) * np.einsum("gkl,jgl->jgk", trans, value)
    return value


def _label_tables(grid, cutoff_days, calendar, ltv, params, act, buy, trans) -> np.ndarray:
    cp = params.campaigns
    extra = grid.uplift[:, None] * np.asarray(cp.uplift_by_state)  # (G, K) a message's extra purchases
    dog = grid.sleeping_dog[:, None]
    f = params.users.sleeping_dog_factor

    def no_event(d: np.ndarray, activity: bool) -> np.ndarray:
        rates = calendar.purchase_factor[d][:, None, None] * buy
        if activity:
            rates = rates + calendar.interaction_factor[d][:, None, None] * act
        shares = treatment_shares(calendar, d)[:, :, None, None]  # (J, 2, 1, 1)
        opened = (1.0 - np.asarray(cp.open_prob)) if activity else 1.0
        contacted = [np.where(dog, np.exp(-f * rates), np.exp(-rates - c * extra) * opened)
                     for c in (1.0, cp.coupon_uplift_factor)]
        return (1.0 - shares.sum(axis=1)) * np.exp(-rates) + shares[:, 0] * contacted[0] + shares[:, 1] * contacted[1]

    days = np.asarray(cutoff_days)
    churn = _no_event_table(days, params.horizon_churn_days, lambda d: no_event(d, True), trans)
    purchase = 1.0 - _no_event_table(days, params.horizon_purchase_days, lambda d: no_event(d, False), trans)
    kept = LtvTables(*(t[:, grid.segment] for t in (ltv.base, ltv.contact, ltv.dog))).expected(
        grid.purchase_mult[None, :, None], grid.uplift[None, :, None], grid.sleeping_dog[None, :, None], f)  # (J, G, K)
    return np.stack([churn, purchase, kept, np.ones_like(kept)], axis=2).astype(np.float32)


# --------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class _Observations:
    """One chunk's history as the filter needs it (users in join order, `n` of them)."""

    join_day: np.ndarray  # (n,)
    emission: np.ndarray  # (D, K, n) float32: user-only likelihood of the day, max over states 1
    interactions: np.ndarray  # (D, n) organic interactions
    purchases: np.ndarray  # (D, n)
    contact_day: np.ndarray  # contacted (day, user), sorted by day
    contact_user: np.ndarray
    contact_coupon: np.ndarray  # bool: the contact was a coupon (else a message)
    contact_opened: np.ndarray  # bool: the contact was opened that day
    purchase_user: np.ndarray  # every purchase: user, day, amount, category, day its refund showed
    purchase_day: np.ndarray
    purchase_amount: np.ndarray
    purchase_category: np.ndarray
    purchase_refunded_day: np.ndarray  # _NEVER when no refund is in the log
    cart_user: np.ndarray  # organic carts (one row per cart): user, day, category
    cart_day: np.ndarray
    cart_category: np.ndarray


def _state_log_terms(params: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    """log(a_k * type_mix[k, t]) (K, 11) and log(b_k) (K,), impossible events at _LOG_ZERO."""
    sp = params.states
    with np.errstate(divide="ignore"):
        per_type = np.log(np.asarray(sp.interaction_rate)[:, None] * np.asarray(sp.type_mix))
    return np.maximum(per_type, _LOG_ZERO), np.log(np.asarray(sp.purchase_rate))


def _matched_carts(key: np.ndarray, item: np.ndarray, purchase: np.ndarray, cart: np.ndarray, n_items: int):
    """Per (user-day, item): carts that go with a purchase of that item and the organic rest."""
    pk, pc = np.unique(key[purchase] * n_items + item[purchase], return_counts=True)
    ck, cc = np.unique(key[cart] * n_items + item[cart], return_counts=True)
    common, pi, ci = np.intersect1d(pk, ck, assume_unique=True, return_indices=True)
    matched = np.minimum(pc[pi], cc[ci])
    organic = cc.copy()
    organic[ci] -= matched
    return common // n_items, matched, ck, organic


def _refund_days(user, item, amount, is_purchase, is_refund, day, n_items) -> np.ndarray:
    """For each purchase, the day its refund (same user, item, amount) shows in the log, else _NEVER."""
    cents = np.round(np.abs(np.nan_to_num(amount)) * 100).astype(np.int64)
    key = (user * n_items + item) * (1 << 31) + cents
    p_key, r_key = key[is_purchase], key[is_refund]
    refunded = np.full(p_key.size, _NEVER, dtype=np.int64)
    if p_key.size == 0 or r_key.size == 0:
        return refunded
    order = np.argsort(p_key, kind="stable")
    pos = np.minimum(np.searchsorted(p_key[order], r_key), p_key.size - 1)
    hit = p_key[order][pos] == r_key
    np.minimum.at(refunded, order[pos[hit]], day[is_refund][hit])
    return refunded


def _observe(events: EventBatch, lo: int, join_day: np.ndarray, n_days: int, params: WorldParams) -> _Observations:
    """Turn a chunk's events into per-day likelihood terms and per-purchase records."""
    n = join_day.size
    size = n_days * n
    n_items = len(CATEGORY_PRICE) * params.commerce.items_per_category
    user = events.user.astype(np.int64) - lo
    day = events.day.astype(np.int64)
    etype, item = events.event_type.astype(np.int64), events.item.astype(np.int64)
    key = day * n + user  # one cell per (day, user): dense arrays beat sorting the events
    interaction = etype < _INTERACTIONS
    organic = interaction & (events.campaign < 0)
    is_purchase, contact = etype == _PURCHASE, (etype == _CONTACT) | (etype == _COUPON)
    per_type, per_buy = _state_log_terms(params)
    # A coupon_redeem and one coupon_claim come with a purchase: the redeem cancels a claim.
    weight = per_type[:, etype[organic]]
    redeem = etype[organic] == _REDEEM
    weight[:, redeem] = -per_type[:, _CLAIM, None]
    m_keys, matched, cart_keys, organic_carts = _matched_carts(key, item, is_purchase, organic & (etype == _CART), n_items)
    org_key = key[organic]
    active = np.flatnonzero(np.bincount(key, minlength=size))  # cells with any event
    log_em = np.stack([np.bincount(org_key, weights=weight[k], minlength=size)[active]
                       - np.bincount(m_keys, weights=matched * per_type[k, _CART], minlength=size)[active]
                       for k in range(per_buy.size)], axis=1)
    interactions = (np.bincount(org_key, minlength=size) - 2 * np.bincount(org_key[redeem], minlength=size)
                    - np.bincount(m_keys, weights=matched, minlength=size))
    purchases = np.bincount(key[is_purchase], minlength=size).astype(np.float64)
    log_em += purchases[active, None] * per_buy[None, :]
    opened = np.bincount(key[interaction & (events.campaign >= 0) & np.isin(etype, _OPEN_TYPES)], minlength=size) > 0
    c_order = np.argsort(key[contact], kind="stable")
    c_keys = key[contact][c_order]
    c_coupon = (etype[contact] == _COUPON)[c_order]
    c_rows = np.searchsorted(active, c_keys)
    open_prob = np.asarray(params.campaigns.open_prob)
    log_em[c_rows] += np.where(opened[c_keys, None], np.log(open_prob), np.log1p(-open_prob))
    emission = np.ones((n_days, per_buy.size, n), dtype=np.float32)
    emission[active // n, :, active % n] = np.exp(log_em - log_em.max(axis=1, keepdims=True))
    repeat = np.repeat(cart_keys, organic_carts)
    return _Observations(
        join_day=join_day, emission=emission,
        interactions=interactions.reshape(n_days, n).astype(np.float32),
        purchases=purchases.reshape(n_days, n).astype(np.float32), contact_day=c_keys // n, contact_user=c_keys % n,
        contact_coupon=c_coupon, contact_opened=opened[c_keys],
        purchase_user=user[is_purchase], purchase_day=day[is_purchase], purchase_amount=events.amount[is_purchase],
        purchase_category=events.category[is_purchase].astype(np.int64),
        purchase_refunded_day=_refund_days(user, item, events.amount, is_purchase, etype == _REFUND, day, n_items),
        cart_user=(repeat // n_items) % n, cart_day=repeat // n_items // n,
        cart_category=(repeat % n_items) // params.commerce.items_per_category,
    )


# --------------------------------------------------------------------------- the filter
Readout = Callable[[int, np.ndarray, np.ndarray], None]


def _log_prior(pop: Population, lo: int, hi: int, model: ObservableModel, params: WorldParams) -> np.ndarray:
    """Log prior of each node for each user, given the users table: (G, n)."""
    grid = model.grid
    seg_prior = np.asarray(params.joins.channel_segments)[pop.source_channel[lo:hi]]
    seg_prior = seg_prior / seg_prior.sum(axis=1, keepdims=True)
    edges = np.concatenate([[-np.inf], model.member_thresholds, [np.inf]])
    level = pop.member_level[lo:hi]
    x = np.log(grid.purchase_mult)[:, None]
    p_level = (special.ndtr((edges[level + 1][None, :] - x) / MEMBER_LEVEL_NOISE)
               - special.ndtr((edges[level][None, :] - x) / MEMBER_LEVEL_NOISE))
    with np.errstate(divide="ignore"):
        return np.log(seg_prior.T[grid.segment]) + grid.log_weight[:, None] + np.log(p_level)


def _contact_update(alpha: np.ndarray, log_mass: np.ndarray, users: np.ndarray, bought: np.ndarray,
                    model: ObservableModel, params: WorldParams, purchase_factor: float, scale: float = 1.0) -> None:
    """Contacted users' purchases: Poisson(m_buy b_k pf + c uplift u_k) instead of Poisson(m_buy b_k pf),
    with c = `scale` (1 for a message, the coupon factor for a coupon).

    `alpha` (G, K, m); without a purchase that day the factor is exp(-c uplift u_k) (a masked
    multiply over all users is cheaper than a gather along the user axis).
    """
    grid = model.grid
    if users.size == 0:
        return
    contacted = np.zeros(alpha.shape[2], dtype=bool)
    contacted[users] = True
    first = int(np.argmax(grid.uplift > 0)) if (grid.uplift > 0).any() else grid.size  # nodes before have none
    factor = np.where(contacted[None, None, :], (model.no_buy_contacted[first:, :, None] ** scale).astype(np.float32),
                      np.float32(1))
    np.multiply(alpha[first:], factor, out=alpha[first:])
    buyers = users[bought > 0]
    if buyers.size:
        rate = grid.purchase_mult[:, None] * np.asarray(params.states.purchase_rate) * purchase_factor
        ratio = 1.0 + scale * grid.uplift[:, None] * np.asarray(params.campaigns.uplift_by_state) / rate  # (G, K)
        part = alpha[:, :, buyers] * ratio[:, :, None] ** bought[bought > 0][None, None, :]
        mass = part.sum(axis=1)
        alpha[:, :, buyers] = part / mass[:, None, :]  # renormalize now: the ratio can be large
        log_mass[:, buyers] += np.log(mass)


def _dog_update(alpha: np.ndarray, log_mass: np.ndarray, users: np.ndarray, events: np.ndarray,
                opened: np.ndarray, model: ObservableModel, params: WorldParams, interaction_factor: float,
                purchase_factor: float) -> None:
    """Contacted users on the sleeping-dog nodes: rates times f that day, so a factor
    f^events exp((1 - f) rates) against the day's step; a dog never opens, so an open rules the
    nodes out and the emission's P(not opened | state) is taken back out."""
    dog = np.flatnonzero(model.grid.sleeping_dog)
    if users.size == 0 or dog.size == 0:
        return
    f = params.users.sleeping_dog_factor
    lo, hi = int(dog[0]), int(dog[-1]) + 1  # the kind is the grid's outer axis: one block of nodes
    rates = interaction_factor * model.act[lo:hi] + purchase_factor * model.buy[lo:hi]  # (g, K)
    log_factor = ((1.0 - f) * rates[:, :, None] + np.log(f) * events[None, None, :]
                  - np.log1p(-np.asarray(params.campaigns.open_prob))[None, :, None])  # (g, K, u)
    top = log_factor.max(axis=1)  # (g, u): kept in the node's log mass, so alpha stays in range
    alpha[lo:hi, :, users] *= np.exp(log_factor - top[:, None, :]).astype(np.float32)
    log_mass[lo:hi, users] += np.where(opened[None, :], _LOG_ZERO, top)


def _forward(obs: _Observations, model: ObservableModel, log_prior: np.ndarray, params: WorldParams,
             calendar: Calendar, readout: Readout, days: np.ndarray | None = None) -> None:
    """Filter every user from the join day on; at each of `days` C (default: the cutoffs) hand the
    state-at-C posterior (unnormalized: `alpha` (G, K, m) and node log masses (G, m), users joined
    before C) to `readout(j, ...)`, j the day's position in `days`."""
    grid, n_days = model.grid, model.steps.shape[0]
    n_nodes, n = log_prior.shape
    alpha = np.empty((n_nodes, model.steps.shape[2], n), dtype=np.float32)  # (G, K, n)
    alpha[...] = np.asarray(params.states.initial_state, dtype=np.float32)[None, :, None]
    spare = alpha.copy()  # the next day's alpha; users not yet joined keep the initial state in both
    log_mass = log_prior.copy()
    cum_act, cum_buy = np.zeros(n), np.zeros(n)
    log_act, log_buy = np.log(grid.activity_mult)[:, None], np.log(grid.purchase_mult)[:, None]
    cut_index = {int(c): j for j, c in enumerate(model.cutoff_days if days is None else days)}
    bounds = np.searchsorted(obs.contact_day, np.arange(n_days + 1))
    start = int(obs.join_day.min())
    for d in range(start, n_days + 1):  # the chain is sequential in time; vectorized over nodes and users
        if d in cut_index:
            m = int(np.searchsorted(obs.join_day, d, side="left"))
            if m:
                # m_act^N m_buy^M do not depend on the state: added here from cumulative counts.
                readout(cut_index[d], alpha[:, :, :m], log_mass[:, :m] + log_act * cum_act[:m] + log_buy * cum_buy[:m])
        if d == n_days:
            break
        m = int(np.searchsorted(obs.join_day, d, side="right"))
        now = alpha[:, :, :m]
        np.multiply(now, obs.emission[d, :, :m], out=now)
        if bounds[d + 1] > bounds[d]:
            day = slice(bounds[d], bounds[d + 1])
            users, coupon = obs.contact_user[day], obs.contact_coupon[day]
            pf = float(calendar.purchase_factor[d])
            for sent, scale in ((~coupon, 1.0), (coupon, params.campaigns.coupon_uplift_factor)):
                _contact_update(now, log_mass, users[sent], obs.purchases[d, users[sent]], model, params, pf, scale)
            _dog_update(now, log_mass, users, obs.interactions[d, users] + obs.purchases[d, users],
                        obs.contact_opened[day], model, params, float(calendar.interaction_factor[d]), pf)
        np.matmul(model.steps[d], now, out=spare[:, :, :m])
        alpha, spare = spare, alpha
        cum_act[:m] += obs.interactions[d, :m]
        cum_buy[:m] += obs.purchases[d, :m]
        if (d - start) % model.normalize_every == model.normalize_every - 1 or d + 1 in cut_index:
            now = alpha[:, :, :m]
            mass = now.sum(axis=1)
            log_mass[:, :m] += np.log(mass)
            np.divide(now, mass[:, None, :], out=now)


def _mix(table: np.ndarray, alpha: np.ndarray, log_node: np.ndarray) -> np.ndarray:
    """Posterior means of the table's rows: (m, rows - 1); `table` (G, rows, K), its last row is 1.

    `_forward` normalizes alpha over states the day before a cutoff, so a node's mass is its weight.
    """
    per_node = np.matmul(table[:, :-1], alpha)  # (G, rows - 1, m)
    weight = np.exp((log_node - log_node.max(axis=0)).astype(np.float32))
    total = np.einsum("gm,gtm->tm", weight, per_node, dtype=np.float64)
    return (total / weight.sum(axis=0, dtype=np.float64)).T


# --------------------------------------------------------------------------- amounts and refunds
def _per_cutoff_sum(user: np.ndarray, day: np.ndarray, weight: np.ndarray, n: int, cutoff_days: np.ndarray) -> np.ndarray:
    """Sum of `weight` over rows with day < C, per user and cutoff: (n, J)."""
    n_cut = cutoff_days.size
    j = np.searchsorted(cutoff_days, day, side="right")
    acc = np.bincount(user * (n_cut + 1) + j, weights=weight, minlength=n * (n_cut + 1)).reshape(n, n_cut + 1)
    return np.cumsum(acc, axis=1)[:, :n_cut]


def _expected_amount(obs: _Observations, pop: Population, lo: int, hi: int, cutoff_days: np.ndarray,
                     params: WorldParams) -> np.ndarray:
    """E[amount of a future purchase | history before C]: (n, J)."""
    up = params.users
    n = hi - lo
    price = np.asarray(CATEGORY_PRICE)
    region, age = pop.region[lo:hi], pop.age_band[lo:hi]
    prior_mean = up.amount_log_mean + AMOUNT_REGION_SHIFT * (region <= 1) + AMOUNT_AGE_SHIFT * (age == 2)
    log_basket = np.log(obs.purchase_amount / price[obs.purchase_category])
    count = _per_cutoff_sum(obs.purchase_user, obs.purchase_day, np.ones(log_basket.size), n, cutoff_days)
    total = _per_cutoff_sum(obs.purchase_user, obs.purchase_day, log_basket, n, cutoff_days)
    precision = 1 / up.amount_log_sd_between**2 + count / up.amount_log_sd_within**2
    mean = (prior_mean[:, None] / up.amount_log_sd_between**2 + total / up.amount_log_sd_within**2) / precision
    basket = np.exp(mean + 0.5 / precision + up.amount_log_sd_within**2 / 2)
    # Favourite category: P(category = favourite) = share, else uniform over the others.
    share, n_cat = up.favorite_category_share, price.size
    odds = np.log(share / ((1 - share) / (n_cat - 1)))
    user = np.concatenate([obs.purchase_user, obs.cart_user])
    day = np.concatenate([obs.purchase_day, obs.cart_day])
    category = np.concatenate([obs.purchase_category, obs.cart_category])
    seen = np.stack([_per_cutoff_sum(user, day, (category == c).astype(float), n, cutoff_days)
                     for c in range(n_cat)], axis=-1)  # (n, J, C)
    logit = odds * seen
    post = np.exp(logit - logit.max(axis=-1, keepdims=True))
    post /= post.sum(axis=-1, keepdims=True)
    mix = share * price + (1 - share) * (price.sum() - price) / (n_cat - 1)
    return basket * (post @ mix)


def _pending_refunds(obs: _Observations, n: int, cutoff_days: np.ndarray, params: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    """(P(no refund of a past purchase lands in the window), E[its amount]) per user and cutoff: (n, J) each.

    A purchase g days before C, not refunded before C, is refunded at or after C with
    probability r (D + 1 - g) / D / (1 - r (g - 1) / D) (delays uniform on 1..D, D < horizons).
    """
    cm = params.commerce
    share, delay = cm.refund_share, cm.refund_delay_max_days
    no_pending = np.ones((n, cutoff_days.size))
    pending = np.zeros((n, cutoff_days.size))
    for j, cutoff in enumerate(cutoff_days):  # one turn per cutoff, vectorized over purchases
        gap = cutoff - obs.purchase_day
        open_ = (gap >= 1) & (gap <= delay) & (obs.purchase_refunded_day >= cutoff)
        q = share * (delay + 1 - gap[open_]) / delay / (1 - share * (gap[open_] - 1) / delay)
        users = obs.purchase_user[open_]
        no_pending[:, j] = np.exp(np.bincount(users, weights=np.log1p(-q), minlength=n))
        pending[:, j] = np.bincount(users, weights=-obs.purchase_amount[open_] * q, minlength=n)
    return no_pending, pending


# --------------------------------------------------------------------------- public entry points
def _chunk_inputs(pop, lo, hi, events, model, n_days, params):
    if not np.all(np.diff(pop.join_day[lo:hi]) >= 0):
        raise ValueError("join_day: expected users in join order (as draw_population makes them), got unsorted days")
    obs = _observe(events, lo, pop.join_day[lo:hi], n_days, params)
    return obs, _log_prior(pop, lo, hi, model, params)


def chunk_observable(pop: Population, lo: int, hi: int, events: EventBatch, model: ObservableModel,
                     calendar: Calendar, params: WorldParams) -> ObservableTruth:
    """Observable-oracle labels of users lo..hi-1 at every cutoff, and each treatment's expected
    effect at every effect day, from their events and the users table.

    Reads only the observable fields of `pop` (join day, source channel, member level,
    region, age band); `events` are the chunk's events exactly as written to the files.
    """
    n_days = model.steps.shape[0]
    obs, log_prior = _chunk_inputs(pop, lo, hi, events, model, n_days, params)
    n, n_cut, n_eff = hi - lo, model.cutoff_days.size, model.effect_days.size
    days = np.union1d(model.cutoff_days, model.effect_days)
    as_cutoff = dict(zip(np.searchsorted(days, model.cutoff_days).tolist(), range(n_cut), strict=True))
    as_effect = dict(zip(np.searchsorted(days, model.effect_days).tolist(), range(n_eff), strict=True))
    mixed = np.full((n, n_cut, 3), np.nan)
    effects = np.full((n, n_eff, len(model.effect_names)), np.nan)

    def readout(j: int, alpha: np.ndarray, log_node: np.ndarray) -> None:
        if j in as_cutoff:
            mixed[: alpha.shape[2], as_cutoff[j]] = _mix(model.tables[as_cutoff[j]], alpha, log_node)
        if j in as_effect:
            effects[: alpha.shape[2], as_effect[j]] = _mix(model.effect_tables[as_effect[j]], alpha, log_node)

    _forward(obs, model, log_prior, params, calendar, readout, days)
    amount = _expected_amount(obs, pop, lo, hi, model.cutoff_days, params)
    no_pending, pending = _pending_refunds(obs, n, model.cutoff_days, params)
    by_name = {name: effects[..., i] for i, name in enumerate(model.effect_names)}
    if n_eff:
        effect_amount = _expected_amount(obs, pop, lo, hi, model.effect_days, params)
        by_name |= {name: v * effect_amount for name, v in by_name.items() if name.startswith("tau_net_spend")}
    return ObservableTruth(p_churn_30d=mixed[..., 0] * no_pending, p_purchase_7d=mixed[..., 1],
                           ltv_net_90d=mixed[..., 2] * amount + pending, effects=by_name)


def chunk_posterior(pop: Population, lo: int, hi: int, events: EventBatch, model: ObservableModel,
                    calendar: Calendar, params: WorldParams) -> list[np.ndarray | None]:
    """Posterior over (node, state on day C) per cutoff: (m, G, K) for the m users joined before C,
    None when nobody had joined. Meant for small chunks (tests, inspection): it keeps every cutoff."""
    n_days = model.steps.shape[0]
    obs, log_prior = _chunk_inputs(pop, lo, hi, events, model, n_days, params)
    out: list[np.ndarray | None] = [None] * model.cutoff_days.size

    def readout(j: int, alpha: np.ndarray, log_node: np.ndarray) -> None:
        weight = alpha.astype(np.float64) * np.exp(log_node - log_node.max(axis=0))[:, None, :]
        out[j] = (weight / weight.sum(axis=(0, 1), keepdims=True)).transpose(2, 0, 1)

    _forward(obs, model, log_prior, params, calendar, readout)
    return out
