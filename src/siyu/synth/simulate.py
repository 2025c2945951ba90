"""Simulate one chunk of users over every day of the world: hidden states, then events.

Vectorized with numpy over users and events; the only Python loops run over days (the
Markov chain) or over a handful of categories. Everything random comes from the `rng`
passed in, so a chunk is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.calendar import Calendar
from siyu.synth.params import (
    CATEGORIES,
    CATEGORY_PRICE,
    CHANNELS,
    WorldParams,
    channel_code,
    type_code,
)
from siyu.synth.population import Population

SECONDS_PER_DAY = 86_400
_H = np.arange(24)
_SOCIAL = np.array([0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.5, 1.4, 1.8, 1.3, 1.0, 1.0,
                    1.6, 1.5, 1.0, 0.9, 0.9, 1.0, 1.3, 1.8, 2.2, 2.3, 1.9, 1.0])
_CHECK_IN = np.where((_H >= 6) & (_H <= 9), 4.0, 0.4) * (_H >= 6)
_LIVE = np.where((_H >= 19) & (_H <= 23), 5.0, np.where((_H >= 12) & (_H <= 14), 1.0, 0.1))
_SERVICE = np.where((_H >= 9) & (_H <= 21), 1.0, 0.0)
_PURCHASE = np.array([0.6, 0.3, 0.05, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4, 0.8, 1.0, 1.1,
                      1.4, 1.3, 1.0, 1.0, 1.0, 1.1, 1.2, 1.6, 2.2, 2.5, 2.2, 1.3])
# Hour profile of each event type, in EVENT_TYPES order.
_HOUR_PROFILES = np.array(
    [_SOCIAL, _SOCIAL, _SOCIAL, _CHECK_IN, _SOCIAL, _LIVE, _SOCIAL, _PURCHASE, _SOCIAL, _PURCHASE,
     _SERVICE, _PURCHASE, _SERVICE, _SERVICE, _SERVICE]
)
_PURCHASE_CHANNELS = np.array([0.0, 0.0, 0.45, 0.05, 0.15, 0.2, 0.15])  # in CHANNELS order
_SESSION_CHANNELS = np.array([channel_code("mini_program"), channel_code("app")])


@dataclass(frozen=True)
class EventBatch:
    """Events as parallel arrays of codes, sorted by (user, day, second, event type).

    Codes index the vocabularies in `siyu.synth.params`; -1 (or NaN for `amount`) is null.
    `session` is a number identifying (user, day, channel) for mini_program / app events.
    """

    user: np.ndarray  # int64, global user index
    day: np.ndarray  # int32, day index in the world
    second: np.ndarray  # int32, second of the local day
    event_type: np.ndarray  # int8 code into EVENT_TYPES
    channel: np.ndarray  # int8 code into CHANNELS
    amount: np.ndarray  # float64, CNY; refunds negative; NaN otherwise
    category: np.ndarray  # int8 code into CATEGORIES
    item: np.ndarray  # int32: category code * items_per_category + rank
    session: np.ndarray  # int64
    campaign: np.ndarray  # int32 campaign index

    def __len__(self) -> int:
        return int(self.user.size)


@dataclass(frozen=True)
class ChunkResult:
    """A simulated chunk: its events (inside the world) and what the ground truth needs."""

    events: EventBatch
    cutoff_state: np.ndarray  # int8 (n_users, n_cutoffs): hidden state on each cutoff day
    effect_state: np.ndarray  # int8 (n_users, n_effect_days): hidden state on each contact-effect day
    refund_user: np.ndarray  # global user index of every refund drawn (also past the world's end)
    refund_purchase_day: np.ndarray
    refund_day: np.ndarray
    refund_amount: np.ndarray  # negative


@dataclass(frozen=True)
class _Rows:
    """Events of one kind before they are merged into a batch."""

    user: np.ndarray
    day: np.ndarray
    second: np.ndarray
    event_type: np.ndarray
    channel: np.ndarray
    amount: np.ndarray | None = None
    category: np.ndarray | None = None
    item: np.ndarray | None = None
    campaign: np.ndarray | None = None


def _alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker / Vose alias tables (threshold, alias) for each row of `probs` (rows sum > 0)."""
    n_rows, n_cats = probs.shape
    threshold = np.ones((n_rows, n_cats))
    alias = np.tile(np.arange(n_cats), (n_rows, 1))
    for r in range(n_rows):  # tiny tables: rows are event types or states, not events
        scaled = probs[r] / probs[r].sum() * n_cats
        small = [i for i in range(n_cats) if scaled[i] < 1.0]
        large = [i for i in range(n_cats) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            threshold[r, s], alias[r, s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)
    return threshold, alias


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element of `rows` from the distribution `probs[row]` (alias method, exact)."""
    threshold, alias = _alias_table(np.asarray(probs, dtype=float))
    n_cats = threshold.shape[1]
    # One uniform serves both steps: its integer part picks a column, its fraction the side.
    u = rng.random(rows.size) * n_cats
    pick = u.astype(np.int64)
    cell = rows * n_cats + pick
    return np.where(u - pick < threshold.ravel()[cell], pick, alias.ravel()[cell])


def simulate_states(pop: Population, lo: int, hi: int, n_days: int, params: WorldParams, rng: np.random.Generator) -> np.ndarray:
    """Hidden state per (day, user) for users lo..hi-1: int8 array (n_days, n_users).

    Before a user joins the state stays at the user's initial state; from the join day on
    it follows the segment's daily transition matrix.
    """
    trans = np.asarray(params.states.transitions)
    n_states = trans.shape[1]
    cum = np.cumsum(trans, axis=2).reshape(-1)  # flat (segment, from, to)
    base = pop.segment[lo:hi].astype(np.int64) * n_states * n_states
    join = pop.join_day[lo:hi]
    init = pop.initial_state[lo:hi].astype(np.int8)
    states = np.empty((n_days, hi - lo), dtype=np.int8)
    states[0] = init
    uniform = rng.random((n_days, hi - lo))
    for d in range(1, n_days):  # the chain is sequential in time; vectorized over users
        row = base + states[d - 1] * n_states
        u = uniform[d]
        nxt = sum((u >= cum[row + k]).view(np.int8) for k in range(n_states - 1))
        states[d] = np.where(join >= d, init, nxt)
    return states


def _seconds(rng: np.random.Generator, event_type: np.ndarray) -> np.ndarray:
    hour = _categorical(rng, _HOUR_PROFILES, event_type)
    return (hour * 3600 + rng.integers(0, 3600, size=event_type.size)).astype(np.int32)


def _expand(counts: np.ndarray, lo: int) -> tuple[np.ndarray, np.ndarray]:
    """(global user, day) of each event from a (n_days, n_users) count matrix."""
    flat = np.flatnonzero(counts)
    idx = np.repeat(flat, counts.ravel()[flat])
    n_users = counts.shape[1]
    return (idx % n_users + lo).astype(np.int64), (idx // n_users).astype(np.int32)


def _interactions(rng, pop, lo, states, alive, damp, calendar, params) -> _Rows:
    """Interactions: Poisson counts per (day, user), typed by the state's mix, then channel."""
    sp = params.states
    rate = np.asarray(sp.interaction_rate)[states] * pop.activity_mult[lo:lo + states.shape[1]]
    rate *= calendar.interaction_factor[: states.shape[0], None]
    rate *= alive * damp
    counts = rng.poisson(rate)
    user, day = _expand(counts, lo)
    state = states[day, user - lo]
    etype = _categorical(rng, np.asarray(sp.type_mix), state)
    channel = _categorical(rng, np.asarray(sp.type_channels), etype)
    second = _seconds(rng, etype)
    carts = etype == type_code("add_cart")  # a cart names an item; other interactions do not
    category = np.full(user.size, -1)
    item = np.full(user.size, -1)
    category[carts], item[carts] = _items(rng, pop, user[carts], params)
    return _Rows(user, day, second, etype, channel, category=category, item=item)


def _items(rng, pop: Population, user: np.ndarray, params: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    """Category (the user's favourite, or another) and item (Zipf popularity) per event."""
    n_cat = len(CATEGORIES)
    fav = pop.favorite_category[user]
    other = (fav + 1 + rng.integers(0, n_cat - 1, size=user.size)) % n_cat
    category = np.where(rng.random(user.size) < params.users.favorite_category_share, fav, other)
    n_items = params.commerce.items_per_category
    weights = 1.0 / np.arange(1, n_items + 1) ** params.commerce.item_zipf
    rank = rng.choice(n_items, size=user.size, p=weights / weights.sum())
    return category, category * n_items + rank


def _contacts(rng, pop, lo, states, alive, calendar, params) -> tuple[_Rows, _Rows, np.ndarray, np.ndarray]:
    """Campaign contacts (a message or a coupon, randomized per user), the opens they cause, the
    extra purchase counts and the sleeping dogs' rate multipliers, both (n_days, n_users)."""
    cp = params.campaigns
    n_days, n_users = states.shape
    days = np.flatnonzero(calendar.contact_share[:n_days] > 0)
    draw = rng.random((days.size, n_users))
    contacted = (draw < calendar.contact_share[days][:, None]) & alive[days]
    d_idx, u_idx = np.nonzero(contacted)
    day = days[d_idx].astype(np.int32)
    # One uniform decides both: below q * coupon_share a coupon, below q a message.
    coupon = draw[d_idx, u_idx] < (calendar.contact_share * calendar.coupon_share)[day]
    user = (u_idx + lo).astype(np.int64)
    state = states[day, u_idx]
    dog = pop.sleeping_dog[user]
    second = (calendar.campaign_hour[day] * 3600 + rng.integers(0, 900, size=day.size)).astype(np.int32)
    channel = calendar.campaign_channel[day]
    campaign = calendar.campaign_index[day]
    etype = np.where(coupon, type_code("coupon_push"), type_code("campaign_contact"))
    contact = _Rows(user, day, second, etype, channel, campaign=campaign)
    opened = (rng.random(day.size) < np.asarray(cp.open_prob)[state]) & ~dog
    open_type = np.where(channel[opened] == channel_code("group"), type_code("group_msg"), type_code("msg_open"))
    delay = np.minimum(rng.exponential(1800.0, size=opened.sum()).astype(np.int32) + 30, SECONDS_PER_DAY - 1)
    open_second = np.minimum(second[opened] + delay, SECONDS_PER_DAY - 1).astype(np.int32)
    opens = _Rows(user[opened], day[opened], open_second, open_type, channel[opened], campaign=campaign[opened])
    extra = np.zeros((n_days, n_users), dtype=np.int64)
    lam = pop.uplift[user] * np.asarray(cp.uplift_by_state)[state] * np.where(coupon, cp.coupon_uplift_factor, 1.0)
    extra[day, u_idx] = rng.poisson(lam)
    damp = np.ones((n_days, n_users))
    damp[day[dog], u_idx[dog]] = params.users.sleeping_dog_factor
    return contact, opens, extra, damp


def _purchases(rng, pop, lo, states, alive, damp, calendar, extra, params) -> tuple[_Rows, list[_Rows], _Rows, np.ndarray]:
    """Purchases, the cart / coupon events before some of them, refunds and their purchase days."""
    sp, cm = params.states, params.commerce
    rate = np.asarray(sp.purchase_rate)[states] * pop.purchase_mult[lo:lo + states.shape[1]]
    rate *= calendar.purchase_factor[: states.shape[0], None]
    rate *= alive * damp
    counts = rng.poisson(rate) + extra
    user, day = _expand(counts, lo)
    category, item = _items(rng, pop, user, params)
    sd = params.users.amount_log_sd_within
    amount = np.exp(pop.amount_log_mean[user] + sd * rng.standard_normal(user.size))
    amount = np.round(amount * np.asarray(CATEGORY_PRICE)[category], 2)
    channel = rng.choice(len(CHANNELS), size=user.size, p=_PURCHASE_CHANNELS)
    etype = np.full(user.size, type_code("purchase"))
    second = _seconds(rng, etype)
    second = np.maximum(second, 600)  # room for a cart and a coupon earlier that day
    purchase = _Rows(user, day, second, etype, channel, amount=amount, category=category, item=item)
    before = _preceding(rng, purchase, cm)
    refunded = rng.random(user.size) < cm.refund_share
    r_day = (day[refunded] + rng.integers(1, cm.refund_delay_max_days + 1, size=refunded.sum())).astype(np.int32)
    r_type = np.full(r_day.size, type_code("refund"))
    refund = _Rows(
        user[refunded], r_day, _seconds(rng, r_type), r_type, channel[refunded],
        amount=-amount[refunded], category=category[refunded], item=item[refunded],
    )
    return purchase, before, refund, day[refunded]


def _preceding(rng, purchase: _Rows, cm) -> list[_Rows]:
    """add_cart of the same item, and coupon_claim then coupon_redeem, earlier the same day."""
    n = purchase.user.size
    cart = rng.random(n) < cm.cart_share
    app_or_mini = np.isin(purchase.channel, _SESSION_CHANNELS)
    cart_channel = np.where(app_or_mini, purchase.channel, channel_code("mini_program"))[cart]
    cart_second = purchase.second[cart] - rng.integers(60, 600, size=cart.sum())
    carts = _Rows(
        purchase.user[cart], purchase.day[cart], cart_second.astype(np.int32),
        np.full(cart.sum(), type_code("add_cart")), cart_channel,
        category=purchase.category[cart], item=purchase.item[cart],
    )
    coupon = rng.random(n) < cm.coupon_share
    p_second = purchase.second[coupon]
    claim_second = (p_second * rng.uniform(0.0, 0.8, size=coupon.sum())).astype(np.int32)
    claim_channel = rng.choice([channel_code("mini_program"), channel_code("wecom"), channel_code("group")], size=coupon.sum())
    claims = _Rows(purchase.user[coupon], purchase.day[coupon], claim_second,
                   np.full(coupon.sum(), type_code("coupon_claim")), claim_channel)
    redeem_channel = np.where(purchase.channel[coupon] == channel_code("store"), channel_code("store"), channel_code("mini_program"))
    redeems = _Rows(purchase.user[coupon], purchase.day[coupon], (p_second - 30).astype(np.int32),
                    np.full(coupon.sum(), type_code("coupon_redeem")), redeem_channel)
    return [carts, claims, redeems]


def _merge(parts: list[_Rows], pop: Population, lo: int, n_days_total: int) -> EventBatch:
    """Concatenate event kinds, squeeze join-day events after the join time, sort."""

    def col(name: str, fill, dtype) -> np.ndarray:
        return np.concatenate([
            getattr(p, name).astype(dtype) if getattr(p, name) is not None else np.full(p.user.size, fill, dtype=dtype)
            for p in parts
        ])

    user = col("user", -1, np.int64)
    day = col("day", -1, np.int32)
    second = col("second", 0, np.int64)
    # On the join day, time runs from the join second to midnight (order preserved).
    js = pop.join_second[user]
    on_join = day == pop.join_day[user]
    second = np.where(on_join, js + second * (SECONDS_PER_DAY - js) // SECONDS_PER_DAY, second).astype(np.int32)
    etype = col("event_type", -1, np.int8)
    channel = col("channel", -1, np.int8)
    session = np.where((channel == _SESSION_CHANNELS[0]) | (channel == _SESSION_CHANNELS[1]),
                       (user * n_days_total + day) * 2 + (channel == channel_code("app")), -1)
    # One int64 key (user, day, second, type) sorts faster than a lexsort over four arrays.
    key = (((user - lo) * n_days_total + day) * SECONDS_PER_DAY + second) * 16 + etype
    order = np.argsort(key)
    return EventBatch(
        user=user[order], day=day[order], second=second[order], event_type=etype[order],
        channel=channel[order], amount=col("amount", np.nan, np.float64)[order],
        category=col("category", -1, np.int8)[order], item=col("item", -1, np.int32)[order],
        session=session[order], campaign=col("campaign", -1, np.int32)[order],
    )


def simulate_chunk(
    pop: Population,
    lo: int,
    hi: int,
    n_days: int,
    calendar: Calendar,
    cutoff_days: np.ndarray,
    params: WorldParams,
    rng: np.random.Generator,
    effect_days: np.ndarray | None = None,
) -> ChunkResult:
    """Simulate users lo..hi-1 over days 0..n_days-1: their events and the truth inputs
    (hidden states on the cutoff days and on `effect_days`, the days whose contact effects are wanted)."""
    # One day more than the events: a cutoff may sit on the world's end (day n_days).
    all_states = simulate_states(pop, lo, hi, n_days + 1, params, rng)
    states = all_states[:n_days]
    alive = np.arange(n_days)[:, None] >= pop.join_day[lo:hi][None, :]
    # Contacts first: a sleeping dog's contact lowers that day's interaction and purchase rates.
    contact, opens, extra, damp = _contacts(rng, pop, lo, states, alive, calendar, params)
    interactions = _interactions(rng, pop, lo, states, alive, damp, calendar, params)
    purchase, before, refund, refund_purchase_day = _purchases(rng, pop, lo, states, alive, damp, calendar, extra,
                                                               params)
    inside = refund.day < n_days
    refund_inside = _Rows(*(getattr(refund, f)[inside] for f in (
        "user", "day", "second", "event_type", "channel", "amount", "category", "item")))
    events = _merge([interactions, contact, opens, purchase, *before, refund_inside], pop, lo, n_days)
    return ChunkResult(
        events=events,
        cutoff_state=all_states[cutoff_days].T.copy(),
        effect_state=all_states[np.asarray(effect_days if effect_days is not None else [], dtype=np.int64)].T.copy(),
        refund_user=refund.user,
        refund_purchase_day=refund_purchase_day,
        refund_day=refund.day,
        refund_amount=refund.amount,
    )

