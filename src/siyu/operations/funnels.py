"""Ordered funnels (e.g. article_read -> mini_program_visit -> add_cart -> purchase).

A user enters at their first step-1 event in the entry period: the `period_days` that end
`window_days` before as-of, so every entrant's whole window lies before as-of. Step k is the
earliest event of its type at or after step k-1 (strictly after, when the type already appeared
as an earlier step, so one event never counts twice) and before entry + `window_days`. The
channel of a funnel is the channel of its entry event.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from siyu.config import FunnelConfig
from siyu.contract.mapping import literal
from siyu.operations.inputs import ALL, EVENTS, OpsData

COLUMNS = ["funnel", "channel", "step", "event_type", "users", "conversion_from_previous", "conversion_from_first"]


def entry_period(data: OpsData, funnel: FunnelConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the entry period of `funnel` as of `data.as_of`."""
    end = pd.Timestamp(data.as_of - timedelta(days=funnel.window_days))
    return end - pd.Timedelta(days=funnel.period_days), end


def funnel_steps(data: OpsData, funnel: FunnelConfig) -> pd.DataFrame:
    """Users reaching each step, overall (`channel` = 'all') and by entry channel: `funnel,
    channel, step (1-based), event_type, users, conversion_from_previous, conversion_from_first`."""
    start, end = entry_period(data, funnel)
    window = f"INTERVAL {funnel.window_days} DAY"
    ctes = [f"""s1 AS (SELECT user_id, e.entry.ts AS entry_ts, e.entry.ch AS channel, e.entry.ts AS ts
               FROM (SELECT user_id, min({{'ts': ts, 'ch': channel}}) AS entry FROM {EVENTS}
                     WHERE event_type = {literal(funnel.steps[0])}
                       AND ts >= TIMESTAMP '{start}' AND ts < TIMESTAMP '{end}' GROUP BY user_id) e)"""]
    for k, event_type in enumerate(funnel.steps[1:], start=2):
        after = ">" if event_type in funnel.steps[: k - 1] else ">="
        ctes.append(f"""s{k} AS (SELECT s.user_id, s.entry_ts, s.channel, min(e.ts) AS ts
               FROM s{k - 1} s JOIN {EVENTS} e ON e.user_id = s.user_id AND e.event_type = {literal(event_type)}
                AND e.ts {after} s.ts AND e.ts < s.entry_ts + {window}
               GROUP BY s.user_id, s.entry_ts, s.channel)""")
    counts = " UNION ALL ".join(
        f"SELECT {k} AS step, coalesce(channel, '{ALL}') AS channel, count(*) AS users "
        f"FROM s{k} GROUP BY GROUPING SETS ((channel), ())" for k in range(1, len(funnel.steps) + 1))
    frame = data.df(f"WITH {', '.join(ctes)} {counts}")
    return _conversions(frame, funnel)


def _conversions(frame: pd.DataFrame, funnel: FunnelConfig) -> pd.DataFrame:
    """Every (channel, step) pair, zero where nobody arrived, with the step-to-step conversions."""
    channels = [ALL] + sorted(c for c in frame["channel"].unique() if c != ALL)
    steps = range(1, len(funnel.steps) + 1)
    grid = pd.MultiIndex.from_product([channels, steps], names=["channel", "step"])
    users = frame.set_index(["channel", "step"])["users"].reindex(grid, fill_value=0).astype("int64")
    out = users.reset_index()
    by_channel = out.groupby("channel", sort=False)["users"]
    previous = by_channel.shift(1)
    first = by_channel.transform("first")
    return out.assign(
        funnel=funnel.name,
        event_type=[funnel.steps[s - 1] for s in out["step"]],
        conversion_from_previous=(out["users"] / previous.where(previous > 0)).where(out["step"] > 1, 1.0),
        conversion_from_first=out["users"] / first.where(first > 0),
    )[COLUMNS]
