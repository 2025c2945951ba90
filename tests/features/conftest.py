"""Tiny hand-made canonical event logs (INTERFACES.md §2) loaded into DuckDB tables."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from siyu.io.duck import connect

EVENT_SQL_TYPES = {
    "user_id": "VARCHAR", "ts": "TIMESTAMP", "event_type": "VARCHAR", "role": "VARCHAR",
    "channel": "VARCHAR", "amount": "DOUBLE", "item_id": "VARCHAR", "category": "VARCHAR",
    "session_id": "VARCHAR", "event_id": "VARCHAR",
}
ROLE_OF = {"purchase": "purchase", "refund": "refund", "campaign_contact": "contact"}


def ev(user: str, ts: str, event_type: str = "msg_open", channel: str | None = "official_account",
       amount: float | None = None, category: str | None = None, session: str | None = None) -> dict:
    """One canonical event row; the role follows the synthetic dataset's mapping."""
    return {"user_id": user, "ts": ts, "event_type": event_type,
            "role": ROLE_OF.get(event_type, "interaction"), "channel": channel, "amount": amount,
            "item_id": None, "category": category, "session_id": session, "event_id": None}


def load_events(con: duckdb.DuckDBPyConnection, rows: list[dict], name: str = "events") -> str:
    """Create table `name` in the canonical events schema from row dicts."""
    cols = ", ".join(f"{c} {t}" for c, t in EVENT_SQL_TYPES.items())
    con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")
    if rows:
        frame = pd.DataFrame(rows, columns=list(EVENT_SQL_TYPES)).astype(object)
        con.register("_rows", frame)
        casts = ", ".join(f"CAST({c} AS {t})" for c, t in EVENT_SQL_TYPES.items())
        con.execute(f"INSERT INTO {name} SELECT {casts} FROM _rows")
        con.unregister("_rows")
    return name


def load_users(con: duckdb.DuckDBPyConnection, rows: list[tuple], name: str = "users") -> str:
    """Create table `name`: user_id, joined_at, source_channel, member_level."""
    con.execute(f"CREATE OR REPLACE TABLE {name} (user_id VARCHAR, joined_at TIMESTAMP, "
                "source_channel VARCHAR, member_level VARCHAR)")
    for r in rows:
        con.execute(f"INSERT INTO {name} VALUES (?, CAST(? AS TIMESTAMP), ?, ?)", list(r))
    return name


@pytest.fixture
def con():
    c = connect(memory_limit="512MB", threads=1)
    yield c
    c.close()


def demo_profile():
    """A data profile with the synthetic world's vocabulary (every channel carries every role)."""
    from siyu.contract.profile import DataProfile
    from siyu.synth.params import CHANNELS, INTERACTION_TYPES

    types = {t: {"role": "interaction", "rows": 100 - i} for i, t in enumerate(INTERACTION_TYPES)}
    types |= {"purchase": {"role": "purchase", "rows": 50}, "refund": {"role": "refund", "rows": 5},
              "campaign_contact": {"role": "contact", "rows": 20}}
    roles = {"interaction": 1000, "purchase": 50, "refund": 5, "contact": 20}
    return DataProfile(events=1075, users=10, roles=roles, event_types=types,
                       channels={c: dict(roles) for c in CHANNELS}, categories=5, sessions=100, amounts=55,
                       attributes={"source_channel": 7, "member_level": 4, "region": 4, "age_band": 5})


def default_specs():
    """configs/features.yaml resolved against the synthetic world's vocabulary."""
    from pathlib import Path

    import yaml

    from siyu.features.vocabulary import resolve_feature_specs

    path = Path(__file__).resolve().parents[2] / "configs" / "features.yaml"
    return resolve_feature_specs(yaml.safe_load(path.read_text(encoding="utf-8")), demo_profile()).specs
