"""The users of the world: when and how they join, their attributes and latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.calendar import Calendar
from siyu.synth.params import CATEGORIES, CATEGORY_PRICE, WorldParams

_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红燕鹏辉玲宇浩欣怡晨轩梓涵")
_REGION_SHARES = np.array([0.3, 0.2, 0.16, 0.13, 0.1, 0.05, 0.06])
_AGE_SHARES = np.array([0.16, 0.36, 0.27, 0.14, 0.07])


@dataclass(frozen=True)
class Population:
    """Per-user arrays (length n_users, in user_id order) of attributes and latent traits."""

    join_day: np.ndarray  # int: day index of joining
    join_second: np.ndarray  # int: second of that day (local time)
    source_channel: np.ndarray  # int code into SOURCE_CHANNELS
    member_level: np.ndarray  # int code into MEMBER_LEVELS
    region: np.ndarray  # int code into REGIONS
    age_band: np.ndarray  # int code into AGE_BANDS
    segment: np.ndarray  # int code into SEGMENTS (latent)
    initial_state: np.ndarray  # int code into STATES at the join day (latent)
    activity_mult: np.ndarray  # latent interaction multiplier
    purchase_mult: np.ndarray  # latent purchase multiplier
    uplift: np.ndarray  # latent extra purchase rate on a contacted day (a message; a coupon multiplies it)
    sleeping_dog: np.ndarray  # bool, latent: a contact that day lowers the user's rates, never opened
    amount_log_mean: np.ndarray  # latent log basket level
    favorite_category: np.ndarray  # int code into CATEGORIES
    name_surname: np.ndarray  # int index into surname list (fake PII)
    name_given: np.ndarray  # int (n, 2): indices into given-name characters, -1 for none
    phone_number: np.ndarray  # int: the last 8 digits of a fake 138 phone number

    @property
    def n_users(self) -> int:
        return int(self.join_day.size)


def surnames() -> tuple[str, ...]:
    """Surname characters used for fake names."""
    return _SURNAMES


def given_names() -> tuple[str, ...]:
    """Given-name characters used for fake names."""
    return _GIVEN


def _join_days(n_users: int, n_days: int, calendar: Calendar, params: WorldParams, rng: np.random.Generator) -> np.ndarray:
    joins = params.joins
    weight = np.ones(n_days)
    weight[calendar.promo_day[:n_days]] *= joins.promo_boost
    growth = np.linspace(0.8, 1.2, n_days)  # acquisition grows a little over time
    weight = weight * growth
    initial_days = min(joins.initial_days, n_days)
    weight[:initial_days] += weight.sum() * joins.initial_share / (1 - joins.initial_share) / initial_days
    return np.sort(rng.choice(n_days, size=n_users, p=weight / weight.sum()))


def _pick(rng: np.random.Generator, shares: np.ndarray, rows: np.ndarray | None = None, size: int = 0) -> np.ndarray:
    """Categorical draws: one per row of `shares[rows]`, or `size` draws from one share vector."""
    if rows is None:
        return rng.choice(shares.size, size=size, p=shares / shares.sum())
    cum = np.cumsum(shares, axis=1)[rows]
    u = rng.random(rows.size)[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1)


def draw_population(n_users: int, n_days: int, calendar: Calendar, params: WorldParams, rng: np.random.Generator) -> Population:
    """Draw every user's join time, attributes and latent traits (vectorized over users)."""
    up, sp, jp = params.users, params.states, params.joins
    join_day = _join_days(n_users, n_days, calendar, params, rng)
    join_second = rng.integers(7 * 3600, 23 * 3600, size=n_users)
    join_second = join_second[np.lexsort((join_second, join_day))]  # user ids follow join time
    source = _pick(rng, np.asarray(jp.channel_shares), size=n_users)
    segment = _pick(rng, np.asarray(jp.channel_segments), rows=source)
    initial = _pick(rng, np.asarray(sp.initial_state), size=n_users)
    # Correlated latent multipliers: lognormal with mean 1; loyal users are a bit more active.
    z = rng.standard_normal((n_users, 2))
    rho = up.activity_purchase_corr
    z_buy = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
    seg_level = np.array([0.25, 0.0, -0.2])[segment]
    activity = np.exp(up.activity_sigma * z[:, 0] - up.activity_sigma**2 / 2 + seg_level)
    purchase = np.exp(up.purchase_sigma * z_buy - up.purchase_sigma**2 / 2 + seg_level)
    kind = rng.random(n_users)
    persuadable = kind < up.persuadable_share
    responder = (kind >= up.persuadable_share) & (kind < up.persuadable_share + up.responder_share)
    reactive = up.persuadable_share + up.responder_share
    sleeping_dog = (kind >= reactive) & (kind < reactive + up.sleeping_dog_share)
    uplift = np.where(persuadable, up.persuadable_uplift, np.where(responder, up.responder_uplift, 0.0))
    uplift = uplift * rng.gamma(4.0, 0.25, n_users)
    purchase = np.where(persuadable, purchase * up.persuadable_purchase_factor, purchase)
    # Member level follows the user's purchase propensity, with noise: a real but partial signal.
    level_score = np.log(purchase) + 0.6 * rng.standard_normal(n_users)
    member_level = np.searchsorted(np.quantile(level_score, [0.55, 0.82, 0.95]), level_score)
    region = _pick(rng, _REGION_SHARES, size=n_users)
    age_band = _pick(rng, _AGE_SHARES, size=n_users)
    amount_mean = up.amount_log_mean + up.amount_log_sd_between * rng.standard_normal(n_users)
    amount_mean = amount_mean + np.where(region <= 1, 0.15, 0.0) + 0.05 * (age_band == 2)
    given = rng.integers(0, len(_GIVEN), size=(n_users, 2))
    given[rng.random(n_users) < 0.35, 1] = -1  # one-character given names are common too
    # An affine map with a multiplier coprime to 10^8 gives distinct numbers without a big draw.
    phone = (int(rng.integers(0, 100_000_000)) + np.arange(n_users, dtype=np.int64) * 73_939_133) % 100_000_000
    return Population(
        join_day=join_day,
        join_second=join_second,
        source_channel=source,
        member_level=member_level,
        region=region,
        age_band=age_band,
        segment=segment,
        initial_state=initial,
        activity_mult=activity,
        purchase_mult=purchase,
        uplift=uplift,
        sleeping_dog=sleeping_dog,
        amount_log_mean=amount_mean,
        favorite_category=rng.integers(0, len(CATEGORIES), size=n_users),
        name_surname=rng.integers(0, len(_SURNAMES), size=n_users),
        name_given=given,
        phone_number=phone,
    )


def expected_amount(pop: Population, params: WorldParams) -> np.ndarray:
    """Each user's expected purchase amount (CNY), averaging over the category mix."""
    factor = np.asarray(CATEGORY_PRICE)
    share = params.users.favorite_category_share
    others = (factor.sum() - factor[pop.favorite_category]) / (factor.size - 1)
    mix = share * factor[pop.favorite_category] + (1 - share) * others
    sd = params.users.amount_log_sd_within
    return np.exp(pop.amount_log_mean + sd**2 / 2) * mix
