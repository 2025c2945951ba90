"""Channel economics: realized LTV at 30 / 90 / 180 days by source channel and join cohort, and
LTV / CAC when a cost table gives the acquisition spend.

Realized LTV at N days is a user's net spend (purchases plus refunds) in [joined_at, joined_at +
N d), averaged over the users whose N days have passed before as-of. Users who joined before
the first event of the data are left out (their first days were never observed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from siyu.operations.inputs import ALL, EVENTS, SPEND, USERS, OpsData, date_sql

COST_COLUMNS = ("channel", "period", "spend")


def realized_ltv(data: OpsData, days: Sequence[int], grain: str = "month") -> pd.DataFrame:
    """`source_channel, cohort` (join period start, or 'all'), `users`, and per N: `ltv{N}_users`
    (users whose N days have passed), `ltv{N}` (mean net spend in their first N days). Rows for
    every channel x cohort, every channel over all cohorts, every cohort over all channels, and
    the total."""
    if grain not in ("week", "month"):
        raise ValueError(f"cohort grain {grain!r}: expected 'week' or 'month'")
    as_of = f"CAST({date_sql(data.as_of)} AS TIMESTAMP)"
    spend = ", ".join(f"coalesce(sum(e.amount) FILTER (WHERE e.ts < c.joined_at + INTERVAL {n} DAY), 0) AS v{n}"
                      for n in days)
    stats = ", ".join(
        f"count(*) FILTER (WHERE joined_at + INTERVAL {n} DAY <= {as_of}) AS ltv{n}_users, "
        f"avg(v{n}) FILTER (WHERE joined_at + INTERVAL {n} DAY <= {as_of}) AS ltv{n}" for n in days)
    frame = data.df(f"""
        WITH cohort AS (SELECT user_id, joined_at, source_channel,
                               CAST(CAST(date_trunc('{grain}', join_day) AS DATE) AS VARCHAR) AS cohort
                        FROM {USERS} WHERE join_day >= {date_sql(data.first_day)}),
        per_user AS (SELECT c.user_id, c.joined_at, c.source_channel, c.cohort, {spend}
                     FROM cohort c LEFT JOIN {EVENTS} e ON e.user_id = c.user_id AND e.{SPEND}
                      AND e.ts >= c.joined_at AND e.ts < c.joined_at + INTERVAL {max(days)} DAY
                     GROUP BY ALL)
        SELECT coalesce(source_channel, '{ALL}') AS source_channel, coalesce(cohort, '{ALL}') AS cohort,
               count(*) AS users, {stats}
        FROM per_user GROUP BY GROUPING SETS ((source_channel, cohort), (source_channel), (cohort), ())
        ORDER BY source_channel, cohort""")
    return frame


def ltv_cac(ltv: pd.DataFrame, costs: pd.DataFrame, days: Sequence[int], grain: str = "month") -> pd.DataFrame:
    """LTV against acquisition cost per source channel and cohort (and per channel over the
    cohorts the cost table covers): `source_channel, cohort, spend, new_users, cac, ltv{N},
    ltv{N}_users, ltv_cac_{N}`. `costs`: `channel, period, spend[, new_users]`; without
    `new_users`, the users who joined through the channel in the period."""
    missing = [c for c in COST_COLUMNS if c not in costs.columns]
    if missing:
        raise ValueError(f"cost table: missing column(s) {missing}; expected {list(COST_COLUMNS)} (+ optional new_users)")
    period = pd.to_datetime(costs["period"].astype(str), errors="coerce", format="mixed")
    if period.isna().any():
        bad = costs.loc[period.isna(), "period"].head(3).tolist()
        raise ValueError(f"cost table: period not a date or YYYY-MM in {int(period.isna().sum())} row(s), e.g. {bad}")
    start = period.dt.to_period("W-SUN" if grain == "week" else "M").dt.start_time
    table = costs.assign(source_channel=costs["channel"].astype(str), cohort=start.dt.strftime("%Y-%m-%d"),
                         spend=pd.to_numeric(costs["spend"], errors="raise"))
    agg = {"spend": ("spend", "sum")}
    if "new_users" in costs.columns:
        agg["new_users"] = ("new_users", "sum")
    cells = table.groupby(["source_channel", "cohort"], as_index=False).agg(**agg)
    cells = cells.merge(ltv, on=["source_channel", "cohort"], how="left")
    if "new_users" not in cells.columns:
        cells = cells.assign(new_users=cells["users"])
    rows = [cells, _per_channel(cells, days)]
    out = pd.concat(rows, ignore_index=True)
    out = out.assign(cac=out["spend"] / out["new_users"].where(out["new_users"] > 0))
    for n in days:
        out[f"ltv_cac_{n}"] = out[f"ltv{n}"] / out["cac"].where(out["cac"] > 0)
    keep = ["source_channel", "cohort", "spend", "new_users", "cac"]
    keep += [c for n in days for c in (f"ltv{n}_users", f"ltv{n}", f"ltv_cac_{n}")]
    return out[keep].sort_values(["source_channel", "cohort"]).reset_index(drop=True)


def _per_channel(cells: pd.DataFrame, days: Sequence[int]) -> pd.DataFrame:
    """One row per channel over the cohorts the cost table covers: LTV weighted by eligible users."""
    rows = []
    for channel, group in cells.groupby("source_channel"):
        row = {"source_channel": channel, "cohort": ALL, "spend": group["spend"].sum(),
               "new_users": group["new_users"].sum(), "users": group["users"].sum()}
        for n in days:
            users = group[f"ltv{n}_users"].fillna(0)
            total = (group[f"ltv{n}"].fillna(0) * users).sum()
            row[f"ltv{n}_users"] = users.sum()
            row[f"ltv{n}"] = total / users.sum() if users.sum() > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
