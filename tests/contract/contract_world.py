"""Helpers for the data-contract tests: a tiny world in the generator's layout, configs over it.

A module with a unique name (not conftest.py), so that test modules can import it whatever
other packages' conftest files are loaded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from siyu.cli._config import load_dataset_config
from siyu.config import DatasetConfig, PathsConfig, SiyuConfig, SourceConfig

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = datetime(2025, 3, 1)

EVENT_COLUMNS_SQL = (
    "event_id, user_id, ts, event_type, channel, amount, item_id, category, session_id, campaign_id"
)
GOOD_EVENTS = [
    ("e1", "u1", "2025-01-06 09:00:00", "msg_open", "group", None, None, None, "s1", None),
    ("e2", "u1", "2025-01-07 10:00:00", "purchase", "mini_program", 99.5, "i1", "c1", "s2", None),
    ("e3", "u2", "2025-01-08 10:00:00", "refund", "store", -20.0, "i1", "c1", None, None),
    ("e4", "u2", "2025-01-09 08:00:00", "campaign_contact", "wecom", None, None, None, None, "k1"),
    ("e5", "u3", "2025-01-10 21:30:00", "article_read", "official_account", None, None, None, None, None),
]
# Good rows and one row failing each of several rules (in the generator layout).
MIXED_ROWS = [
    ("e1", "u1", "2025-01-06 09:00:00", "msg_open", "group", None, None, None, "s1", None),
    ("e2", "u1", "2025-01-07 10:00:00", "purchase", "mini_program", 99.5, "i1", "c1", "s2", None),
    ("e3", "u2", "2025-01-08 10:00:00", "refund", "store", 20.0, "i1", "c1", "", None),  # refunds turn negative
    ("e4", "u2", "2025-01-09 08:00:00", "campaign_contact", "wecom", None, None, None, None, "k1"),
    ("e5", "u3", "2025-01-10 21:30:00", "teleport", "", None, None, None, None, None),  # unknown type: kept
    ("e6", None, "2025-01-10 21:30:00", "msg_open", "group", None, None, None, None, None),  # no user
    ("e2", "u3", "2025-01-11 10:00:00", "msg_open", "group", None, None, None, None, None),  # duplicate id
    ("e7", "u3", "2025-01-12 10:00:00", "purchase", "store", None, None, None, None, None),  # no amount
    ("e8", "u1", "2031-01-01 00:00:00", "msg_open", "group", None, None, None, None, None),  # after as-of
    ("e9", "u2", "2025-01-13 10:00:00", "msg_open", "group", -1.0, None, None, None, None),  # negative
]

GOOD_USERS = [
    ("u1", "2025-01-01 00:00:00", "group", "gold", "east", "25-34", "张三", "13800000001"),
    ("u2", "2025-01-02 00:00:00", "store", "silver", "north", "35-44", "李四", "13800000002"),
    ("u3", "2025-01-03 00:00:00", "live", None, "south", "18-24", "王五", "13800000003"),
]


def write_events(path: Path, rows: list[tuple]) -> Path:
    """Events in the generator layout (INTERFACES.md §1) as one Parquet file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE e (event_id VARCHAR, user_id VARCHAR, ts TIMESTAMP, event_type VARCHAR, "
        "channel VARCHAR, amount DOUBLE, item_id VARCHAR, category VARCHAR, session_id VARCHAR, "
        "campaign_id VARCHAR)")
    if rows:
        con.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"COPY e TO '{path.as_posix()}' (FORMAT parquet)")
    con.close()
    return path


def write_users(path: Path, rows: list[tuple]) -> Path:
    """Users in the generator layout, with fake PII (name, phone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE u (user_id VARCHAR, joined_at TIMESTAMP, source_channel VARCHAR, "
        "member_level VARCHAR, region VARCHAR, age_band VARCHAR, name VARCHAR, phone VARCHAR)")
    if rows:
        con.executemany("INSERT INTO u VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"COPY u TO '{path.as_posix()}' (FORMAT parquet)")
    con.close()
    return path


def synthetic_dataset() -> DatasetConfig:
    return load_dataset_config(ROOT / "configs" / "datasets" / "synthetic.yaml")


def project(tmp_path: Path, dataset: DatasetConfig) -> SiyuConfig:
    """A SiyuConfig writing under tmp_path/work, with small DuckDB limits."""
    return SiyuConfig(dataset=dataset, paths=PathsConfig(world=str(tmp_path / "world"), work=str(tmp_path / "work")),
                      memory_limit="256MB", threads=1)


def write_history(path: Path, lines: list[str]) -> Path:
    """A member-level history CSV: user_id,attribute,value,valid_from (text, so any value can be bad)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["user_id,attribute,value,valid_from", *lines]) + "\n", encoding="utf-8")
    return path


def world_config(tmp_path: Path, events: list[tuple], users: list[tuple] | None = None, *,
                 history: list[str] | None = None, **update) -> SiyuConfig:
    """The synthetic dataset config pointed at a tiny hand-made world under tmp_path; with
    `history` (CSV lines), member_level is changing and read from that history, else static."""
    ds = synthetic_dataset()
    events_dir = tmp_path / "world" / "events"
    write_events(events_dir / "part-0.parquet", events)
    users_path = write_users(tmp_path / "world" / "users.parquet", GOOD_USERS if users is None else users)
    assert ds.users is not None and ds.users.history is not None
    changes: dict = {"changing": (), "history": None}
    if history is not None:
        path = write_history(tmp_path / "world" / "member_level_history.csv", history)
        changes = {"changing": ("member_level",), "history": ds.users.history.model_copy(
            update={"source": SourceConfig(path=str(path), format="csv")})}
    ds = ds.model_copy(update={
        "events": SourceConfig(path=str(events_dir), format="parquet"),
        "users": ds.users.model_copy(update={"source": SourceConfig(path=str(users_path)), **changes}),
        **update,
    })
    return project(tmp_path, ds)


CSV_HEADER = "event_id,user_id,ts,event_type,channel,amount,item_id,category,session_id,campaign_id"
GOOD_CSV_LINES = [
    "e1,u1,2025-01-06 09:00:00,msg_open,group,,,,s1,",
    "e2,u1,2025-01-07 10:00:00,purchase,mini_program,99.5,i1,c1,s2,",
    "e3,u2,2025-01-08 10:00:00,refund,store,-20.0,i1,c1,,",
    "e4,u2,2025-01-09 08:00:00,campaign_contact,wecom,,,,,k1",
    "e5,u3,2025-01-10 21:30:00,article_read,official_account,,,,,",
]


def csv_config(tmp_path: Path, lines: list[str], *, users: list[tuple] | None = None, **update) -> SiyuConfig:
    """The synthetic mapping over an events CSV (text values, so any value can be malformed)."""
    cfg = world_config(tmp_path, [], users, **update)
    path = tmp_path / "world" / "events.csv"
    path.write_text("\n".join([CSV_HEADER, *lines]) + "\n", encoding="utf-8")
    ds = cfg.dataset.model_copy(update={"events": SourceConfig(path=str(path), format="csv")})
    return cfg.model_copy(update={"dataset": ds})


def parquet_rows(path: Path) -> list[dict]:
    """All rows of a Parquet file or folder, as dicts (tiny test outputs only)."""
    from siyu.features import relation_sql

    cursor = duckdb.connect().execute(f"SELECT * FROM {relation_sql(path)}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
