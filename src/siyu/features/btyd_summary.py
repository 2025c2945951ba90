"""BTYD calibration summaries from the events, the way the BTYD literature builds them.

At each cutoff C, per customer with a purchase before C:

- a purchase is one customer-day (several orders on one day count once), or one distinct
  order when the events carry an order id column and the row has one;
- `btyd_x`: repeat purchases (purchases after the first one);
- `btyd_t_x_days`: days from the customer's own first purchase to the last one;
- `btyd_T_days`: days from the first purchase to the last observed day (C - 1 d): purchases are
  dated to their day, so the observation window is (0, T] and a prediction over the task
  horizon h covers exactly the label's days [C, C + h);
- `btyd_spend_mean`: mean spend per purchase, over all purchases including the first.

Only purchase rows before C are read (refunds are not purchases); users without one are
absent (their BTYD summary is undefined). These are the inputs of `siyu.models.btyd`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import pandas as pd

from siyu.features.compiler import normalize_cutoffs, relation_sql
from siyu.features.families.btyd import BTYD_COLUMNS, BTYD_DESCRIPTIONS  # noqa: F401 - re-exported

ORDER_COLUMN = "order_id"


def btyd_summary_sql(events: str, cutoffs: Sequence[date | datetime | str], *,
                     order_column: str | None = None, sort: bool = True) -> str:
    """The query of `btyd_summaries` over the FROM-clause `events` (pure: arguments in, SQL out);
    `sort=False` leaves the rows in no particular order."""
    cuts = normalize_cutoffs(cutoffs)
    cut_list = ", ".join(f"DATE '{c.isoformat()}'" for c in cuts)
    day = "CAST(ts AS DATE)"
    # Without order ids a purchase unit is its day: grouped as a DATE, not as text (~1 s at 10M events).
    unit = day if order_column is None else f"COALESCE(CAST({order_column} AS VARCHAR), CAST({day} AS VARCHAR))"
    order_by = "ORDER BY cutoff, user_id" if sort else ""
    return f"""
WITH purchases AS (
    SELECT user_id, {day} AS day, {unit} AS unit, amount
    FROM {events} WHERE role = 'purchase'
), cuts AS (SELECT UNNEST([{cut_list}]) AS cutoff),
units AS (
    SELECT c.cutoff, p.user_id, p.unit, MIN(p.day) AS day, SUM(p.amount) AS spend
    FROM purchases p JOIN cuts c ON p.day < c.cutoff
    GROUP BY c.cutoff, p.user_id, p.unit
)
SELECT user_id, CAST(cutoff AS TIMESTAMP) AS cutoff,
       CAST(COUNT(*) - 1 AS DOUBLE) AS btyd_x,
       CAST(date_diff('day', MIN(day), MAX(day)) AS DOUBLE) AS btyd_t_x_days,
       CAST(date_diff('day', MIN(day), cutoff) - 1 AS DOUBLE) AS btyd_T_days,
       AVG(spend) AS btyd_spend_mean
FROM units GROUP BY user_id, cutoff {order_by}
"""


def btyd_summaries(con: duckdb.DuckDBPyConnection, events, cutoffs: Sequence[date | datetime | str], *,
                   order_column: str | None = ORDER_COLUMN) -> pd.DataFrame:
    """`user_id, cutoff, btyd_x, btyd_t_x_days, btyd_T_days, btyd_spend_mean`: one row per
    customer with a purchase before each cutoff. `events`: a clean events Parquet path / folder
    or a table name; `order_column` counts distinct orders where the events have that column."""
    source = relation_sql(events)
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    order = order_column if order_column in columns else None
    return con.sql(btyd_summary_sql(source, cutoffs, order_column=order)).df()


def btyd_summaries_from_frame(events: pd.DataFrame, cutoffs: Sequence[date | datetime | str], *,
                              order_column: str | None = ORDER_COLUMN) -> pd.DataFrame:
    """The same summaries from an in-memory events frame (`user_id, ts, role, amount` [, order id])."""
    buys = events.loc[events["role"] == "purchase"]
    day = pd.to_datetime(buys["ts"]).dt.normalize()
    unit = day.dt.strftime("%Y-%m-%d")
    if order_column in buys.columns:
        unit = buys[order_column].astype(object).where(buys[order_column].notna(), unit).astype(str)
    rows = []
    for cutoff in normalize_cutoffs(cutoffs):
        cut = pd.Timestamp(cutoff)
        seen = pd.DataFrame({"user_id": buys["user_id"], "unit": unit, "day": day, "spend": buys["amount"]})[day < cut]
        per_unit = seen.groupby(["user_id", "unit"], sort=False).agg(day=("day", "min"), spend=("spend", "sum"))
        per_user = per_unit.groupby(level="user_id").agg(n=("day", "size"), first=("day", "min"),
                                                          last=("day", "max"), m=("spend", "mean"))
        rows.append(pd.DataFrame({
            "user_id": per_user.index.astype(str), "cutoff": cut,
            "btyd_x": (per_user["n"] - 1).to_numpy(dtype=float),
            "btyd_t_x_days": (per_user["last"] - per_user["first"]).dt.days.to_numpy(dtype=float),
            "btyd_T_days": ((cut - per_user["first"]).dt.days - 1).to_numpy(dtype=float),
            "btyd_spend_mean": per_user["m"].to_numpy(dtype=float),
        }))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["user_id", "cutoff", *BTYD_COLUMNS])
    return out.sort_values(["cutoff", "user_id"], ignore_index=True)
