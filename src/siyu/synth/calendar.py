"""The world's calendar: deterministic daily factors and the campaign schedule.

Calendar factors multiply the users' daily event rates. They are known functions of the date
(weekday, season, Chinese New Year, the shopping festivals 38, 618, 双11 and 双12), so the
ground truth can use them for days beyond the cutoff exactly as the simulation does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from siyu.synth.params import CHANNELS, CampaignParams, channel_code

# Chinese New Year's day; outside this table the festival is placed on 5 February.
_SPRING_FESTIVAL = {
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}
_WEEKDAY_INTERACTION = np.array([1.0, 0.97, 0.97, 1.0, 1.04, 1.12, 1.08])
_WEEKDAY_PURCHASE = np.array([0.9, 0.9, 0.94, 0.96, 1.05, 1.2, 1.12])
_CAMPAIGN_CHANNELS = ("wecom", "official_account", "group")


@dataclass(frozen=True)
class Calendar:
    """Daily factors for days `0..n_days-1` counted from `start` (arrays of length n_days)."""

    start: date
    interaction_factor: np.ndarray  # multiplies interaction rates
    purchase_factor: np.ndarray  # multiplies purchase rates
    promo_day: np.ndarray  # bool: a shopping-festival day (joins rise too)
    contact_share: np.ndarray  # share of users contacted that day (0 without a campaign)
    coupon_share: np.ndarray  # share of that day's contacts that get a coupon instead of a message
    campaign_index: np.ndarray  # int: campaign number that day, -1 without one
    campaign_channel: np.ndarray  # int: channel code of that day's campaign, -1 without one
    campaign_hour: np.ndarray  # int: local hour the contacts go out


def _festival_boost(day: date) -> tuple[float, bool]:
    """Purchase multiplier of a shopping festival on `day`, and whether it is a promo day."""
    md = (day.month, day.day)
    if md == (11, 11):
        return 4.0, True
    if (10, 20) <= md <= (11, 10):
        return 1.35, True
    if md == (6, 18):
        return 3.0, True
    if (6, 1) <= md <= (6, 17):
        return 1.3, True
    if md == (12, 12):
        return 2.0, True
    if md == (3, 8):
        return 1.8, True
    if md == (5, 20):
        return 1.4, True
    return 1.0, False


def _spring_festival_factor(day: date) -> tuple[float, float]:
    """(interaction, purchase) multipliers around Chinese New Year: a buying rush, then a lull."""
    cny = _SPRING_FESTIVAL.get(day.year, date(day.year, 2, 5))
    if day.month == 12:
        cny = _SPRING_FESTIVAL.get(day.year + 1, date(day.year + 1, 2, 5))
    offset = (day - cny).days
    if -21 <= offset < -7:
        return 1.05, 1.4  # 年货节: New Year shopping
    if -7 <= offset < 0:
        return 0.95, 0.9
    if 0 <= offset < 8:
        return 0.7, 0.45  # holiday week: quiet
    return 1.0, 1.0


def _day_factors(day: date) -> tuple[float, float, bool]:
    season = 1.0 + 0.08 * np.sin(2 * np.pi * (day.timetuple().tm_yday - 100) / 365.25)
    festival, promo = _festival_boost(day)
    cny_i, cny_p = _spring_festival_factor(day)
    weekday = day.weekday()
    interaction = _WEEKDAY_INTERACTION[weekday] * season * cny_i * (1.0 + 0.3 * (festival - 1.0) ** 0.5)
    purchase = _WEEKDAY_PURCHASE[weekday] * season * cny_p * festival
    return float(interaction), float(purchase), promo


def build_calendar(start: date, n_days: int, params: CampaignParams, rng: np.random.Generator) -> Calendar:
    """Daily factors and a campaign schedule: weekly campaigns plus every festival peak day."""
    days = [start + timedelta(days=i) for i in range(n_days)]
    factors = np.array([_day_factors(d) for d in days], dtype=float).reshape(n_days, 3)
    promo = factors[:, 2].astype(bool)
    campaign = np.zeros(n_days, dtype=bool)
    week_starts = np.arange(-start.weekday(), n_days, 7)
    for week_start in week_starts:  # one loop turn per week, not per user or event
        offsets = rng.choice(7, size=params.weekly_campaigns, replace=False)
        picked = week_start + offsets
        campaign[picked[(picked >= 0) & (picked < n_days)]] = True
    peaks = np.array([(d.month, d.day) in {(11, 11), (6, 18), (12, 12), (3, 8)} for d in days], dtype=bool)
    campaign |= peaks
    share = np.where(campaign, rng.uniform(params.contact_share_low, params.contact_share_high, n_days), 0.0)
    index = np.where(campaign, np.cumsum(campaign) - 1, -1)
    codes = np.array([channel_code(c) for c in _CAMPAIGN_CHANNELS])
    channel = np.where(campaign, rng.choice(codes, size=n_days), -1)
    hour = rng.choice(np.array([10, 12, 19, 20]), size=n_days)
    coupon = np.where(campaign, rng.uniform(params.coupon_share_low, params.coupon_share_high, n_days), 0.0)
    return Calendar(
        start=start,
        interaction_factor=factors[:, 0],
        purchase_factor=factors[:, 1],
        promo_day=promo,
        contact_share=share,
        coupon_share=coupon,
        campaign_index=index,
        campaign_channel=channel,
        campaign_hour=hour,
    )


def treatment_shares(calendar: Calendar, days: np.ndarray) -> np.ndarray:
    """P(a joined user gets each treatment on `days`): (len(days), 2) in TREATMENTS order
    (message, coupon); zero on days without a campaign."""
    q = calendar.contact_share[days]
    c = calendar.coupon_share[days]
    return np.stack([q * (1.0 - c), q * c], axis=-1)


def campaign_ids(calendar: Calendar) -> tuple[str, ...]:
    """Campaign ids in campaign-index order, e.g. 'cmp_20250611_wecom'."""
    out = []
    for i in np.flatnonzero(calendar.campaign_index >= 0):
        day = calendar.start + timedelta(days=int(i))
        out.append(f"cmp_{day:%Y%m%d}_{CHANNELS[calendar.campaign_channel[i]]}")
    return tuple(out)
