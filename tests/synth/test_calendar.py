"""The calendar: festival factors, the quiet Spring Festival week, the campaign schedule."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from siyu.synth.calendar import build_calendar, campaign_ids
from siyu.synth.params import CHANNELS, CampaignParams

START = date(2025, 1, 6)


def _calendar(seed: int = 0, days: int = 400):
    return build_calendar(START, days, CampaignParams(), np.random.default_rng(seed))


def _day(d: date) -> int:
    return (d - START).days


def test_shopping_festivals_peak_and_spring_festival_is_quiet():
    cal = _calendar()
    nov = slice(_day(date(2025, 11, 1)), _day(date(2025, 12, 1)))
    assert np.argmax(cal.purchase_factor[nov]) == 10  # 11-11
    assert cal.purchase_factor[_day(date(2025, 6, 18))] > 2 * cal.purchase_factor[_day(date(2025, 7, 16))]
    assert cal.promo_day[_day(date(2025, 6, 18))] and not cal.promo_day[_day(date(2025, 7, 16))]
    cny_week = cal.purchase_factor[_day(date(2025, 1, 29)):_day(date(2025, 2, 5))]
    assert cny_week.max() < 0.7 * np.median(cal.purchase_factor)


def test_weekends_buy_more_than_mondays():
    cal = _calendar()
    weekday = np.array([(START + timedelta(days=i)).weekday() for i in range(cal.purchase_factor.size)])
    plain = ~cal.promo_day
    assert cal.purchase_factor[plain & (weekday == 5)].mean() > cal.purchase_factor[plain & (weekday == 0)].mean()


def test_campaigns_every_week_with_ids_and_shares():
    cal = _calendar()
    campaign = cal.campaign_index >= 0
    weeks = np.arange(campaign.size) // 7
    assert np.all(np.bincount(weeks, weights=campaign)[:-1] >= 1)
    assert campaign[_day(date(2025, 11, 11))]
    share = cal.contact_share[campaign]
    assert (share >= 0.1).all() and (share <= 0.35).all() and (cal.contact_share[~campaign] == 0).all()
    ids = campaign_ids(cal)
    assert len(ids) == campaign.sum() == len(set(ids))
    assert all(i.startswith("cmp_") and i.split("_", 2)[2] in CHANNELS for i in ids)


def test_calendar_is_deterministic_for_a_seed():
    a, b, c = _calendar(1), _calendar(1), _calendar(2)
    assert np.array_equal(a.contact_share, b.contact_share)
    assert not np.array_equal(a.contact_share, c.contact_share)
