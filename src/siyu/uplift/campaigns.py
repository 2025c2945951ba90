"""Campaigns as the clean EventLog records them: who was contacted, with what, from when.

A campaign is the `contact`-role events that share a `campaign_id`; where the data has no
campaign id, the contacts of one local day. Its cutoff is the local midnight of its first
contact day, so features (ts < cutoff) never see the campaign and outcomes are read over
[cutoff, cutoff + horizon) like every task's label. A user's treatment is the event type of
their first contact in the campaign (a plain message, a coupon, ...); the campaign's
eligible users who got none of its contacts are its control group.

Pure: the functions return SQL over a relation holding the clean events.
"""

from __future__ import annotations

from siyu.contract.mapping import literal

# Contacts without a campaign id are grouped by their local day.
_CAMPAIGN_KEY = "coalesce(campaign_id, 'day_' || strftime(ts, '%Y-%m-%d'))"


def _contacts(events: str) -> str:
    return f"SELECT user_id, ts, event_type, {_CAMPAIGN_KEY} AS campaign_id FROM {events} WHERE role = 'contact'"


def campaigns_sql(events: str) -> str:
    """One row per campaign: `campaign_id, cutoff (TIMESTAMP, midnight of its first contact day),
    first_contact, last_contact, contacts, users (distinct users contacted), treatments (sorted
    list of the contact event types)`, ordered by cutoff."""
    return (
        "SELECT campaign_id, date_trunc('day', min(ts)) AS cutoff, min(ts) AS first_contact, "
        "max(ts) AS last_contact, count(*) AS contacts, count(DISTINCT user_id) AS users, "
        "list_sort(list(DISTINCT event_type)) AS treatments "
        f"FROM ({_contacts(events)}) GROUP BY campaign_id ORDER BY cutoff, campaign_id"
    )


def assignments_sql(events: str, campaign_ids: list[str] | None = None) -> str:
    """One row per (campaign, contacted user): `campaign_id, user_id, treatment (event type of the
    user's first contact in it), contacted_at`; only the campaigns listed when given."""
    where = ""
    if campaign_ids is not None:
        where = f" WHERE campaign_id IN ({', '.join(literal(c) for c in campaign_ids) or 'NULL'})"
    return (
        "SELECT campaign_id, user_id, arg_min(event_type, ts) AS treatment, min(ts) AS contacted_at "
        f"FROM ({_contacts(events)}){where} GROUP BY campaign_id, user_id"
    )
