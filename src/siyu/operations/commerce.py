"""Commerce by channel: orders, buyers, GMV, refunds, average order value per month, and the
repurchase rate within N days of a first purchase.

An order is a purchase row. Money columns appear only when the data records amounts; a log
without them still gets orders, buyers and repurchase.
"""

from __future__ import annotations

import pandas as pd

from siyu.operations.inputs import ALL, EVENTS, PURCHASE, USERS, OpsData, date_sql


def monthly(data: OpsData) -> pd.DataFrame:
    """Per calendar month and purchase channel (and 'all'): `month, channel, orders, buyers`
    and, when amounts exist, `gmv` (purchases), `refunds` (negative), `net`, `aov` (gmv / orders)."""
    money = (", sum(amount) FILTER (WHERE role = 'purchase') AS gmv, "
             "coalesce(sum(amount) FILTER (WHERE role = 'refund'), 0) AS refunds") if data.has_amount else ""
    frame = data.df(f"""
        SELECT CAST(date_trunc('month', day) AS DATE) AS month, coalesce(channel, '{ALL}') AS channel,
               count(*) FILTER (WHERE role = 'purchase') AS orders,
               count(DISTINCT user_id) FILTER (WHERE role = 'purchase') AS buyers {money}
        FROM {EVENTS} WHERE role IN ('purchase', 'refund')
        GROUP BY GROUPING SETS ((month, channel), (month)) ORDER BY month, channel""")
    frame["month"] = pd.to_datetime(frame["month"])
    if data.has_amount:
        frame = frame.assign(net=frame["gmv"].fillna(0) + frame["refunds"],
                             aov=frame["gmv"] / frame["orders"].where(frame["orders"] > 0))
    return frame


def repurchase(data: OpsData, days: int) -> pd.DataFrame:
    """Of the buyers whose first purchase is at least `days` before as-of, the share who bought
    again within `days` after it: `dimension ('first_purchase_channel'|'source_channel'|'all'),
    channel, buyers, repurchased, repurchase_rate`."""
    frame = data.df(f"""
        WITH firsts AS (SELECT user_id, min({{'ts': ts, 'ch': channel}}) AS f FROM {EVENTS}
                        WHERE {PURCHASE} GROUP BY user_id),
        eligible AS (SELECT f.user_id, f.f.ts AS first_ts, f.f.ch AS channel, u.source_channel
                     FROM firsts f JOIN {USERS} u USING (user_id)
                     WHERE f.f.ts + INTERVAL {days} DAY <= CAST({date_sql(data.as_of)} AS TIMESTAMP)),
        flagged AS (SELECT e.*, EXISTS (SELECT 1 FROM {EVENTS} p WHERE p.user_id = e.user_id AND p.{PURCHASE}
                                        AND p.ts > e.first_ts AND p.ts < e.first_ts + INTERVAL {days} DAY) AS again
                    FROM eligible e)
        SELECT 'first_purchase_channel' AS dimension, channel, count(*) AS buyers,
               count(*) FILTER (WHERE again) AS repurchased FROM flagged GROUP BY ALL
        UNION ALL SELECT 'source_channel', source_channel, count(*), count(*) FILTER (WHERE again)
                  FROM flagged GROUP BY ALL
        UNION ALL SELECT '{ALL}', '{ALL}', count(*), count(*) FILTER (WHERE again) FROM flagged
        ORDER BY dimension, channel""")
    return frame.assign(repurchase_rate=frame["repurchased"] / frame["buyers"].where(frame["buyers"] > 0))


def totals(data: OpsData, days: int) -> dict[str, float | int | None]:
    """Orders, buyers and (with amounts) GMV, net and AOV over the `days` before as-of."""
    money = (", sum(amount) FILTER (WHERE role = 'purchase'), sum(amount)") if data.has_amount else ""
    row = data.con.execute(f"""
        SELECT count(*) FILTER (WHERE role = 'purchase'), count(DISTINCT user_id) FILTER (WHERE role = 'purchase')
               {money}
        FROM {EVENTS} WHERE role IN ('purchase', 'refund') AND day >= {date_sql(data.as_of)} - {int(days)}""").fetchone()
    out: dict[str, float | int | None] = {"days": days, "orders": int(row[0]), "buyers": int(row[1])}
    if data.has_amount:
        gmv = float(row[2] or 0.0)
        out.update(gmv=gmv, net=float(row[3] or 0.0), aov=gmv / row[0] if row[0] else None)
    return out
