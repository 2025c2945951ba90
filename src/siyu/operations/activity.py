"""Acquisition (new users by source channel) and activity (DAU / WAU / MAU, stickiness by channel)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from siyu.operations.inputs import ACTIVITY, ALL, EVENTS, USERS, OpsData, date_sql

ACTIVE_WINDOWS = {"dau": 1, "wau": 7, "mau": 30}


def acquisition(data: OpsData) -> pd.DataFrame:
    """New users per day and per (Monday) week by source channel:
    `grain ('day'|'week'), period_start, source_channel, new_users`."""
    return data.df(f"""
        SELECT 'day' AS grain, join_day AS period_start, source_channel, count(*) AS new_users
        FROM {USERS} GROUP BY ALL
        UNION ALL
        SELECT 'week', CAST(date_trunc('week', join_day) AS DATE), source_channel, count(*)
        FROM {USERS} GROUP BY ALL
        ORDER BY grain, period_start, source_channel""")


def active_users(data: OpsData, days: int) -> pd.DataFrame:
    """Daily active users over the last `days` days before as-of, overall (`channel` = 'all') and
    by channel of activity: `day, channel, dau, wau, mau, stickiness` (dau / mau). WAU / MAU count
    users with activity in the 7 / 30 days ending that day; only days whose 30-day window lies
    inside the data are kept."""
    start = max(data.first_day + timedelta(days=max(ACTIVE_WINDOWS.values()) - 1),
                data.as_of - timedelta(days=days))
    if start >= data.as_of:
        return pd.DataFrame(columns=["day", "channel", *ACTIVE_WINDOWS, "stickiness"])
    longest = max(ACTIVE_WINDOWS.values())  # only activity this far before `start` counts on a kept day
    windows = ", ".join(f"({w})" for w in ACTIVE_WINDOWS.values())
    numbered = ", ".join(f"sum(CASE WHEN gap <= {w} THEN 0 ELSE 1 END) OVER (PARTITION BY user_id, channel ORDER BY day) "
                         f"AS island_{w}" for w in ACTIVE_WINDOWS.values())
    islands = " UNION ALL ".join(f"SELECT channel, {w} AS w, min(day) AS first_day, max(day) + {w} AS after_day "
                                 f"FROM numbered GROUP BY user_id, channel, island_{w}" for w in ACTIVE_WINDOWS.values())
    pivot = ", ".join(f"max(users) FILTER (WHERE w = {w}) AS {name}" for name, w in ACTIVE_WINDOWS.items())
    # A user counts on day d for window w when active on some day in [d - w + 1, d]: the union of
    # [a, a + w - 1] over their active days a. Merge those intervals per user (gaps and islands),
    # then a running sum of +1 at each island start and -1 after its end counts users per day.
    frame = data.df(f"""
        WITH ud AS (SELECT DISTINCT user_id, channel, day FROM {EVENTS}
                    WHERE {ACTIVITY} AND day >= {date_sql(start - timedelta(days=longest - 1))}),
        ud_all AS (SELECT DISTINCT user_id, '{ALL}' AS channel, day FROM ud UNION ALL SELECT * FROM ud),
        gaps AS (SELECT user_id, channel, day,
                        day - lag(day) OVER (PARTITION BY user_id, channel ORDER BY day) AS gap FROM ud_all),
        numbered AS (SELECT user_id, channel, day, {numbered} FROM gaps),
        islands AS ({islands}),
        deltas AS (SELECT channel, w, day, sum(d) AS d FROM (
                       SELECT channel, w, greatest(first_day, {date_sql(start)}) AS day, 1 AS d FROM islands
                       UNION ALL SELECT channel, w, greatest(after_day, {date_sql(start)}), -1 FROM islands) GROUP BY ALL),
        days AS (SELECT CAST(r AS DATE) AS day
                 FROM range(CAST({date_sql(start)} AS TIMESTAMP),
                            CAST({date_sql(data.as_of)} AS TIMESTAMP), INTERVAL 1 DAY) t(r)),
        grid AS (SELECT c.channel, w.w, days.day FROM (SELECT DISTINCT channel FROM ud_all) c,
                 (VALUES {windows}) w(w), days),
        counts AS (SELECT g.channel, g.w, g.day,
                          sum(coalesce(d.d, 0)) OVER (PARTITION BY g.channel, g.w ORDER BY g.day) AS users
                   FROM grid g LEFT JOIN deltas d USING (channel, w, day))
        SELECT day, channel, {pivot} FROM counts WHERE day >= {date_sql(start)}
        GROUP BY day, channel ORDER BY day, channel""")
    for name in ACTIVE_WINDOWS:
        frame[name] = frame[name].astype("int64")
    frame["day"] = pd.to_datetime(frame["day"])
    return frame.assign(stickiness=frame["dau"] / frame["mau"].where(frame["mau"] > 0))
