"""Parameters of the synthetic world: frozen dataclasses, with realistic defaults.

Everything random in the world is drawn from these numbers and an injected
`numpy.random.Generator`; the same parameters and seed give the same world.
The vocabularies (event types, channels, categories, ...) are fixed tuples whose positions
are the integer codes the simulation works with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATES: tuple[str, ...] = ("engaged", "casual", "dormant", "lapsed")
SEGMENTS: tuple[str, ...] = ("loyal", "regular", "fickle")
SOURCE_CHANNELS: tuple[str, ...] = ("official_account", "group", "mini_program", "wecom", "live", "store")
CHANNELS: tuple[str, ...] = ("official_account", "group", "mini_program", "wecom", "live", "store", "app")
INTERACTION_TYPES: tuple[str, ...] = (
    "msg_open", "article_read", "group_msg", "check_in", "share", "live_view",
    "mini_program_visit", "add_cart", "coupon_claim", "coupon_redeem", "service_contact",
)
EVENT_TYPES: tuple[str, ...] = (*INTERACTION_TYPES, "purchase", "refund", "campaign_contact", "coupon_push")
# The treatments of a campaign, as contact event types: a plain message and a coupon.
TREATMENTS: tuple[str, ...] = ("campaign_contact", "coupon_push")
MEMBER_LEVELS: tuple[str, ...] = ("regular", "silver", "gold", "diamond")
REGIONS: tuple[str, ...] = (
    "east_china", "south_china", "north_china", "central_china", "southwest", "northwest", "northeast",
)
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
CATEGORIES: tuple[str, ...] = ("skincare", "makeup", "mother_baby", "snacks", "apparel", "home", "digital")
CATEGORY_CODES: tuple[str, ...] = ("SK", "MU", "MB", "SN", "AP", "HM", "DG")
CATEGORY_PRICE: tuple[float, ...] = (1.3, 1.0, 1.1, 0.45, 1.2, 0.9, 2.2)  # multiplies a basket

_TYPE = {name: i for i, name in enumerate(EVENT_TYPES)}
_CH = {name: i for i, name in enumerate(CHANNELS)}


def type_code(name: str) -> int:
    """Integer code of an event type."""
    return _TYPE[name]


def channel_code(name: str) -> int:
    """Integer code of a channel."""
    return _CH[name]


def _channel_row(**shares: float) -> tuple[float, ...]:
    row = np.zeros(len(CHANNELS))
    for name, share in shares.items():
        row[_CH[name]] = share
    return tuple(row / row.sum())


# Each interaction type happens in the channels that carry it (group_msg only in groups, ...).
_TYPE_CHANNELS: tuple[tuple[float, ...], ...] = (
    _channel_row(official_account=0.8, wecom=0.2),  # msg_open
    _channel_row(official_account=1.0),  # article_read
    _channel_row(group=1.0),  # group_msg
    _channel_row(mini_program=0.7, app=0.3),  # check_in
    _channel_row(official_account=0.4, mini_program=0.4, group=0.2),  # share
    _channel_row(live=1.0),  # live_view
    _channel_row(mini_program=1.0),  # mini_program_visit
    _channel_row(mini_program=0.75, app=0.25),  # add_cart
    _channel_row(mini_program=0.5, wecom=0.3, group=0.2),  # coupon_claim
    _channel_row(mini_program=0.7, store=0.3),  # coupon_redeem
    _channel_row(wecom=1.0),  # service_contact
)


@dataclass(frozen=True)
class StateParams:
    """The hidden engagement chain: daily transitions per segment and event rates per state.

    Rows of `transitions[g]` are "from" states, columns "to" states, in `STATES` order.
    """

    transitions: tuple[tuple[tuple[float, ...], ...], ...] = (
        (  # loyal
            (0.970, 0.024, 0.005, 0.001),
            (0.035, 0.940, 0.020, 0.005),
            (0.012, 0.040, 0.928, 0.020),
            (0.002, 0.004, 0.006, 0.988),
        ),
        (  # regular
            (0.950, 0.040, 0.008, 0.002),
            (0.022, 0.938, 0.032, 0.008),
            (0.005, 0.025, 0.935, 0.035),
            (0.001, 0.002, 0.004, 0.993),
        ),
        (  # fickle
            (0.915, 0.060, 0.018, 0.007),
            (0.012, 0.915, 0.050, 0.023),
            (0.003, 0.012, 0.925, 0.060),
            (0.0005, 0.001, 0.0025, 0.996),
        ),
    )
    segment_shares: tuple[float, ...] = (0.25, 0.5, 0.25)
    initial_state: tuple[float, ...] = (0.35, 0.45, 0.15, 0.05)
    interaction_rate: tuple[float, ...] = (1.4, 0.5, 0.15, 0.012)  # per day, by state
    purchase_rate: tuple[float, ...] = (0.035, 0.014, 0.005, 0.0008)  # per day, by state
    # The mix of interaction types by state (engaged users live-stream and check in more).
    type_mix: tuple[tuple[float, ...], ...] = (
        (0.14, 0.10, 0.16, 0.10, 0.05, 0.09, 0.20, 0.07, 0.05, 0.0, 0.04),
        (0.22, 0.13, 0.13, 0.06, 0.03, 0.06, 0.21, 0.06, 0.06, 0.0, 0.04),
        (0.42, 0.16, 0.10, 0.02, 0.01, 0.03, 0.14, 0.02, 0.05, 0.0, 0.05),
        (0.60, 0.12, 0.06, 0.00, 0.00, 0.02, 0.10, 0.00, 0.04, 0.0, 0.06),
    )
    type_channels: tuple[tuple[float, ...], ...] = _TYPE_CHANNELS


@dataclass(frozen=True)
class UserParams:
    """Per-user latent multipliers, spend level and contact uplift."""

    activity_sigma: float = 0.6  # lognormal spread of the interaction multiplier
    purchase_sigma: float = 0.65  # lognormal spread of the purchase multiplier
    activity_purchase_corr: float = 0.5
    amount_log_mean: float = float(np.log(110.0))  # CNY, median basket of a typical user
    amount_log_sd_between: float = 0.55  # spread of users' typical basket
    amount_log_sd_within: float = 0.6  # spread of one user's baskets
    favorite_category_share: float = 0.6
    # Contact uplift: a share of users reacts to contacts; "persuadables" buy almost only then.
    responder_share: float = 0.25
    persuadable_share: float = 0.08
    responder_uplift: float = 0.04  # extra expected purchases on a contacted day (responders)
    persuadable_uplift: float = 0.15
    persuadable_purchase_factor: float = 0.1  # persuadables' own purchase multiplier shrinks
    # "Sleeping dogs": on a day they are contacted they never open it and interact and buy less.
    sleeping_dog_share: float = 0.07
    sleeping_dog_factor: float = 0.3  # multiplies their interaction and purchase rates that day
    # Cumulative spend (CNY) that upgrades a member to silver, gold, diamond (never downgraded).
    member_upgrade_spend: tuple[float, ...] = (500.0, 1500.0, 5000.0)


@dataclass(frozen=True)
class CampaignParams:
    """Brand-initiated contacts: how often, how many, and what a contact does."""

    weekly_campaigns: int = 1  # regular campaigns per week, on a random weekday
    contact_share_low: float = 0.10
    contact_share_high: float = 0.35
    open_prob: tuple[float, ...] = (0.55, 0.35, 0.15, 0.04)  # P(msg_open | contacted, state)
    uplift_by_state: tuple[float, ...] = (1.0, 0.8, 0.5, 0.15)  # scales the user's uplift
    # A campaign sends a coupon (coupon_push) to part of its contacts, a plain message to the rest:
    # per user completely randomized, with the coupon share drawn per campaign day.
    coupon_share_low: float = 0.3
    coupon_share_high: float = 0.5
    coupon_uplift_factor: float = 2.5  # a coupon's extra purchase rate, as a multiple of a message's


@dataclass(frozen=True)
class CommerceParams:
    """Purchase side details: refunds, coupons and carts attached to purchases, items."""

    refund_share: float = 0.06
    refund_delay_max_days: int = 14  # refunds come 1..max days after the purchase
    coupon_share: float = 0.3  # purchases that redeem a coupon claimed earlier that day
    cart_share: float = 0.5  # purchases preceded by an add_cart of the same item
    items_per_category: int = 200
    item_zipf: float = 1.1


@dataclass(frozen=True)
class JoinParams:
    """How users join over the world's days."""

    initial_share: float = 0.3  # users imported in the first two weeks (an existing base)
    initial_days: int = 14
    promo_boost: float = 2.0  # joins on promotion days relative to a normal day
    channel_shares: tuple[float, ...] = (0.28, 0.22, 0.2, 0.12, 0.1, 0.08)
    # Segment shares by source channel (rows SOURCE_CHANNELS, columns SEGMENTS).
    channel_segments: tuple[tuple[float, ...], ...] = (
        (0.25, 0.50, 0.25),
        (0.22, 0.50, 0.28),
        (0.22, 0.48, 0.30),
        (0.35, 0.48, 0.17),
        (0.12, 0.43, 0.45),
        (0.40, 0.45, 0.15),
    )


@dataclass(frozen=True)
class WorldParams:
    """All parameters of a world; the defaults give the demo world."""

    states: StateParams = field(default_factory=StateParams)
    users: UserParams = field(default_factory=UserParams)
    campaigns: CampaignParams = field(default_factory=CampaignParams)
    commerce: CommerceParams = field(default_factory=CommerceParams)
    joins: JoinParams = field(default_factory=JoinParams)
    chunk_users: int = 4096  # users simulated together; fixed so a seed gives one world
    truth_lookback_days: int = 28  # the first truth cutoff is at least this far into the world
    horizon_churn_days: int = 30
    horizon_purchase_days: int = 7
    horizon_ltv_days: int = 90
