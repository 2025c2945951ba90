"""The files `generate_world` writes: layout, schema, determinism and consistency (INTERFACES §1)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from siyu.io.world_writer import EVENTS_SCHEMA, TRUTH_SCHEMA, USERS_SCHEMA, WorldWriter
from siyu.jobs.generate import generate_world
from siyu.synth.params import CHANNELS, EVENT_TYPES, INTERACTION_TYPES, SOURCE_CHANNELS, WorldParams
from siyu.synth.world import plan_world

CHANNELS_OF_TYPE = {
    "msg_open": {"official_account", "wecom"},
    "article_read": {"official_account"},
    "group_msg": {"group"},
    "check_in": {"mini_program", "app"},
    "share": {"official_account", "mini_program", "group"},
    "live_view": {"live"},
    "mini_program_visit": {"mini_program"},
    "add_cart": {"mini_program", "app"},
    "coupon_claim": {"mini_program", "wecom", "group"},
    "coupon_redeem": {"mini_program", "store"},
    "service_contact": {"wecom"},
    "purchase": set(CHANNELS) - {"official_account", "group"},
    "refund": set(CHANNELS) - {"official_account", "group"},
    "campaign_contact": {"wecom", "official_account", "group"},
}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def events(tiny_world) -> pd.DataFrame:
    return pd.read_parquet(tiny_world[0] / "events")


@pytest.fixture(scope="module")
def users(tiny_world) -> pd.DataFrame:
    return pd.read_parquet(tiny_world[0] / "users.parquet")


def test_layout_and_schemas(tiny_world):
    out, summary = tiny_world
    parts = sorted((out / "events").glob("part-*.parquet"))
    assert len(parts) == summary.n_event_parts >= 1
    for part in parts:
        assert pq.read_schema(part).remove_metadata().equals(EVENTS_SCHEMA)
    assert pq.read_schema(out / "users.parquet").remove_metadata().equals(USERS_SCHEMA)
    assert pq.read_schema(out / "truth" / "truth.parquet").remove_metadata().equals(TRUTH_SCHEMA)


def test_world_json_matches_the_files(tiny_world, events):
    out, summary = tiny_world
    world = json.loads((out / "world.json").read_text(encoding="utf-8"))
    assert (world["seed"], world["users"], world["days"]) == (summary.seed, summary.users, summary.days)
    assert world["start"] == summary.start.isoformat()
    assert world["end"] == (summary.start + timedelta(days=summary.days)).isoformat() == summary.end.isoformat()
    assert world["timezone"] == "Asia/Shanghai"
    assert world["events"] == len(events) == summary.n_events
    assert world["event_counts"] == events["event_type"].value_counts().reindex(EVENT_TYPES, fill_value=0).to_dict()


def test_same_seed_same_bytes_other_seed_other_world(tmp_path):
    a = generate_world(300, 60, 5, tmp_path / "a")
    b = generate_world(300, 60, 5, tmp_path / "b")
    c = generate_world(300, 60, 6, tmp_path / "c")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert a.n_events == b.n_events
    assert _digest(tmp_path / "a")["events/part-00000.parquet"] != _digest(tmp_path / "c")["events/part-00000.parquet"]
    assert c.n_events != a.n_events


def test_regenerating_into_a_folder_replaces_the_old_world(tmp_path):
    generate_world(5000, 30, 1, tmp_path, with_truth=True)  # two parts
    small = generate_world(200, 30, 1, tmp_path, with_truth=False)
    assert sorted(p.name for p in (tmp_path / "events").glob("*.parquet")) == ["part-00000.parquet"]
    assert not (tmp_path / "truth" / "truth.parquet").exists()
    assert len(pd.read_parquet(tmp_path / "events")) == small.n_events


def test_event_values_are_consistent(events, users):
    assert events["event_id"].is_unique
    assert set(events["event_type"]) <= set(EVENT_TYPES)
    for event_type, channels in CHANNELS_OF_TYPE.items():
        seen = set(events.loc[events["event_type"] == event_type, "channel"])
        assert seen and seen <= channels, event_type
    money = events["event_type"].isin(["purchase", "refund"])
    assert events.loc[~money, "amount"].isna().all()
    assert (events.loc[events["event_type"] == "purchase", "amount"] > 0).all()
    assert (events.loc[events["event_type"] == "refund", "amount"] < 0).all()
    contact = events["event_type"].isin(["campaign_contact", "coupon_push"])
    assert events.loc[contact, "campaign_id"].notna().all()
    assert events.loc[~contact & ~events["event_type"].isin(["msg_open", "group_msg"]), "campaign_id"].isna().all()
    sessions = events["session_id"].notna()
    assert set(events.loc[sessions, "channel"]) == {"mini_program", "app"}
    assert events.loc[events["channel"].isin(["mini_program", "app"]), "session_id"].notna().all()
    assert set(events["user_id"]) <= set(users["user_id"])


def test_timestamps_inside_the_world_and_after_joining(tiny_world, events, users):
    summary = tiny_world[1]
    start, end = pd.Timestamp(summary.start), pd.Timestamp(summary.end)
    assert events["ts"].min() >= start and events["ts"].max() < end
    first = events.groupby("user_id")["ts"].min()
    joined = users.set_index("user_id")["joined_at"].reindex(first.index)
    assert (first >= joined).all()
    assert users["joined_at"].between(start, end, inclusive="left").all()
    hours = events.loc[events["event_type"] == "live_view", "ts"].dt.hour
    assert hours.between(19, 23).mean() > 0.6  # live streams are watched in the evening


def test_coupons_are_claimed_before_redemption_and_refunds_follow_purchases(events):
    redeem = events[events["event_type"] == "coupon_redeem"]
    claims = events[events["event_type"] == "coupon_claim"]
    pair = redeem.merge(claims, on="user_id", suffixes=("", "_claim"))
    pair = pair[(pair["ts_claim"] <= pair["ts"]) & (pair["ts_claim"].dt.normalize() == pair["ts"].dt.normalize())]
    assert redeem["event_id"].isin(pair["event_id"]).all()
    refunds = events[events["event_type"] == "refund"]
    buys = events[events["event_type"] == "purchase"]
    match = refunds.merge(buys, on=["user_id", "item_id"], suffixes=("", "_buy"))
    match = match[(match["ts_buy"] < match["ts"]) & np.isclose(match["amount_buy"], -match["amount"])]
    assert len(refunds) > 0 and refunds["event_id"].isin(match["event_id"]).all()


def test_pii_only_in_users(tiny_world, users):
    out, _ = tiny_world
    assert users["phone"].str.fullmatch(r"138\d{8}").all() and users["phone"].is_unique
    assert users["name"].str.len().between(2, 3).all()
    pii = set(users["phone"]) | set(users["name"])
    for path in [*(out / "events").glob("*.parquet"), out / "truth" / "truth.parquet"]:
        table = pq.read_table(path)
        assert not {"name", "phone"} & set(table.column_names)
        for name in table.column_names:
            if table.schema.field(name).type == "string":
                assert not pii & set(table.column(name).drop_null().unique().to_pylist()), name
    assert not any(p in (out / "world.json").read_text(encoding="utf-8") for p in list(pii)[:200])


def test_users_attributes(tiny_world, users):
    assert users["user_id"].is_unique and len(users) == tiny_world[1].users
    assert set(users["source_channel"]) == set(SOURCE_CHANNELS)
    assert users["joined_at"].is_monotonic_increasing  # ids are given in join order
    assert set(users["member_level"]) == {"regular", "silver", "gold", "diamond"}


def test_truth_rows_cover_joined_users_at_every_monday(tiny_world, users):
    out, summary = tiny_world
    truth = pd.read_parquet(out / "truth" / "truth.parquet")
    cutoffs = sorted(truth["cutoff"].unique())
    start, end = pd.Timestamp(summary.start), pd.Timestamp(summary.end)
    assert all(((c - pd.Timestamp("1970-01-05")).days % 7 == 0) and c == c.normalize() for c in cutoffs)
    assert cutoffs[0] >= start + pd.Timedelta(days=28) and cutoffs[-1] <= end
    assert len(cutoffs) == summary.n_cutoffs
    expected = sum(int((users["joined_at"] < c).sum()) for c in cutoffs)
    assert len(truth) == expected == summary.n_truth_rows
    assert not truth.duplicated(["user_id", "cutoff"]).any()
    assert truth[["p_churn_30d", "p_purchase_7d"]].apply(lambda s: s.between(0, 1)).all().all()


def test_interaction_types_are_all_generated(events):
    assert set(INTERACTION_TYPES) <= set(events["event_type"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="users: expected at least 1 user, got 0"):
        plan_world(0, 10, date(2025, 1, 6), 1)
    with pytest.raises(ValueError, match="days: expected at least 1 day, got -3"):
        plan_world(10, -3, date(2025, 1, 6), 1)


def test_truth_needs_a_writer_opened_for_it(tmp_path):
    plan = plan_world(10, 40, date(2025, 1, 6), 1)
    with WorldWriter(tmp_path, plan, with_truth=False) as writer, pytest.raises(RuntimeError, match="with_truth=False"):
        writer.write_truth(None)  # type: ignore[arg-type]


def test_start_is_respected(tmp_path):
    summary = generate_world(50, 10, 2, tmp_path, date(2026, 11, 9))
    ts = pd.read_parquet(tmp_path / "events")["ts"]
    assert ts.min() >= datetime(2026, 11, 9) and ts.max() < datetime(2026, 11, 19)
    assert summary.end == date(2026, 11, 19)


def test_users_are_simulated_in_chunks_one_part_each(tmp_path):
    calls = []
    summary = generate_world(250, 40, 3, tmp_path, params=WorldParams(chunk_users=100),
                             on_chunk=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)] and summary.n_event_parts == 3
    ranges = [pd.read_parquet(p, columns=["user_id"])["user_id"] for p in sorted((tmp_path / "events").glob("*.parquet"))]
    assert all(a.max() < b.min() for a, b in zip(ranges, ranges[1:], strict=False))  # disjoint, in user order
    assert sum(len(r) for r in ranges) == summary.n_events
