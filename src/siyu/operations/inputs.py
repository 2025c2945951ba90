"""The clean EventLog as of a date, staged once on a DuckDB connection for every operations table.

Two temporary tables: `ops_events` (events with `ts < as_of`: user_id, ts, day, event_type,
role, channel, amount) and `ops_users` (users known before as-of: user_id, joined_at, join_day,
source_channel). What the data holds (its channels, event types, whether money is recorded) is
read from it, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from siyu.contract.schema import ACTIVITY_ROLES
from siyu.features.compiler import relation_sql

EVENTS = "ops_events"
USERS = "ops_users"
ACTIVITY = "role IN (" + ", ".join(f"'{r}'" for r in ACTIVITY_ROLES) + ")"
PURCHASE = "role = 'purchase'"
SPEND = "role IN ('purchase', 'refund')"
NO_CHANNEL = "(none)"
ALL = "all"


@dataclass(frozen=True)
class OpsData:
    """A connection holding `ops_events` / `ops_users` as of `as_of`, and what the data holds."""

    con: duckdb.DuckDBPyConnection
    as_of: date
    first_day: date  # the local date of the first event: nothing before it is observable
    n_users: int
    n_events: int
    has_amount: bool  # False when every amount is null: money tables are skipped, not zero
    event_types: tuple[str, ...]
    channels: tuple[str, ...]
    source_channels: tuple[str, ...]

    def df(self, sql: str):  # noqa: ANN201 - a pandas DataFrame
        """Run `sql` on the staged tables and return a pandas DataFrame."""
        return self.con.execute(sql).df()


def date_sql(day: date) -> str:
    """A DATE literal."""
    return f"DATE '{day.isoformat()}'"


def stage(con: duckdb.DuckDBPyConnection, events: str | Path, users: str | Path | None, as_of: date) -> OpsData:
    """Stage the clean events and users as of `as_of` on `con`; raise ValueError when no event precedes it."""
    cut = f"TIMESTAMP '{as_of.isoformat()}'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {EVENTS} AS
        SELECT user_id, ts, CAST(ts AS DATE) AS day, event_type, role,
               coalesce(channel, '{NO_CHANNEL}') AS channel, amount
        FROM {relation_sql(events)} WHERE ts < {cut}""")
    n_events, first_ts, n_amounts = con.execute(
        f"SELECT count(*), min(ts), count(amount) FROM {EVENTS}").fetchone()
    if not n_events:
        raise ValueError(f"no clean event before as-of {as_of}: nothing to analyze (pass a later --as-of, "
                         "or run `siyu validate` first)")
    con.execute(_users_sql(con, users, cut))
    n_users = con.execute(f"SELECT count(*) FROM {USERS}").fetchone()[0]

    def values(sql: str) -> tuple[str, ...]:
        return tuple(r[0] for r in con.execute(sql).fetchall())

    return OpsData(
        con=con, as_of=as_of, first_day=first_ts.date(), n_users=n_users, n_events=n_events,
        has_amount=n_amounts > 0,
        event_types=values(f"SELECT DISTINCT event_type FROM {EVENTS} ORDER BY 1"),
        channels=values(f"SELECT DISTINCT channel FROM {EVENTS} ORDER BY 1"),
        source_channels=values(f"SELECT DISTINCT source_channel FROM {USERS} ORDER BY 1"),
    )


def _users_sql(con: duckdb.DuckDBPyConnection, users: str | Path | None, cut: str) -> str:
    """Users known before as-of; a missing join time is the first event, a missing source channel '(unknown)'."""
    first = f"(SELECT user_id, min(ts) AS first_ts FROM {EVENTS} GROUP BY user_id)"
    if users is None:
        body = f"SELECT user_id, first_ts AS joined_at, NULL AS source_channel FROM {first}"
    else:
        rel = relation_sql(users)
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
        joined = "coalesce(u.joined_at, f.first_ts)" if "joined_at" in cols else "f.first_ts"
        source = "u.source_channel" if "source_channel" in cols else "NULL"
        body = (f"SELECT coalesce(u.user_id, f.user_id) AS user_id, {joined} AS joined_at, {source} AS source_channel "
                f"FROM {rel} u FULL OUTER JOIN {first} f ON u.user_id = f.user_id")
    return f"""
        CREATE OR REPLACE TEMP TABLE {USERS} AS
        SELECT user_id, joined_at, CAST(joined_at AS DATE) AS join_day,
               coalesce(CAST(source_channel AS VARCHAR), '(unknown)') AS source_channel
        FROM ({body}) WHERE joined_at < {cut}"""
