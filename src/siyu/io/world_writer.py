"""Write a synthetic world to disk: events parts, users, truth and world.json (docs/INTERFACES.md §1).

The truth holds the hidden-state oracle (`p_churn_30d`, `p_purchase_7d`, `ltv_net_90d`) and the
observable oracle (the same names with `_observable`, see `siyu.synth.observable`).

The simulation hands over integer codes; here they become the strings and timestamps of the
files, with Arrow kernels (no Python loop over rows).
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from siyu.synth.calendar import treatment_shares
from siyu.synth.membership import MemberHistory
from siyu.synth.params import (
    AGE_BANDS,
    CATEGORIES,
    CATEGORY_CODES,
    CHANNELS,
    EVENT_TYPES,
    MEMBER_LEVELS,
    REGIONS,
    SOURCE_CHANNELS,
    TREATMENTS,
)
from siyu.synth.population import given_names, surnames
from siyu.synth.simulate import EventBatch
from siyu.synth.truth import TruthBatch, UpliftBatch
from siyu.synth.world import WorldPlan

EVENTS_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("user_id", pa.string()), ("ts", pa.timestamp("us")),
    ("event_type", pa.string()), ("channel", pa.string()), ("amount", pa.float64()),
    ("item_id", pa.string()), ("category", pa.string()), ("session_id", pa.string()),
    ("campaign_id", pa.string()),
])
USERS_SCHEMA = pa.schema([
    ("user_id", pa.string()), ("joined_at", pa.timestamp("us")), ("source_channel", pa.string()),
    ("member_level", pa.string()), ("region", pa.string()), ("age_band", pa.string()),
    ("name", pa.string()), ("phone", pa.string()),
])
TRUTH_SCHEMA = pa.schema([
    ("user_id", pa.string()), ("cutoff", pa.timestamp("us")), ("p_churn_30d", pa.float64()),
    ("p_purchase_7d", pa.float64()), ("ltv_net_90d", pa.float64()),
    # The observable oracle: the same labels given only the history before the cutoff.
    ("p_churn_30d_observable", pa.float64()), ("p_purchase_7d_observable", pa.float64()),
    ("ltv_net_90d_observable", pa.float64()),
])
# Dictionary-encode only the low-cardinality columns: trying it on ids is slow and useless.
_DICTIONARY_COLUMNS = ["user_id", "event_type", "channel", "item_id", "category", "campaign_id"]
# Min/max statistics only where readers prune on them (string ids would cost time for nothing).
_STATISTICS_COLUMNS = ["user_id", "ts", "event_type", "amount"]
_EPOCH = date(1970, 1, 1)
_US = 1_000_000


def _prefixed(prefix: str, numbers: np.ndarray, width: int, mask: np.ndarray | None = None) -> pa.Array:
    """Strings like 'u0000042' from integers, zero-padded to `width` digits (null where `mask`)."""
    digits = pa.array(numbers, mask=mask).cast(pa.string())
    if width > 1:
        digits = pc.utf8_lpad(digits, width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _lookup(vocabulary: tuple[str, ...] | pa.Array, codes: np.ndarray) -> pa.Array:
    """Vocabulary strings for integer codes, dictionary-encoded; negative codes are null.

    Parquet stores a dictionary array as its string values (read back as plain strings), and
    handing the dictionary over saves building and re-hashing millions of strings.
    """
    vocab = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(vocabulary, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes < 0), vocab)


def _plain(vocabulary: tuple[str, ...] | pa.Array, codes: np.ndarray) -> pa.Array:
    """Like `_lookup`, as a plain string array."""
    return _lookup(vocabulary, codes).cast(pa.string())


def _timestamps(start: date, day: np.ndarray, second: np.ndarray) -> pa.Array:
    base = (start - _EPOCH).days
    micros = ((base + day.astype(np.int64)) * 86_400 + second.astype(np.int64)) * _US
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us"))


def user_ids(n_users: int) -> pa.Array:
    """The world's user ids in user order: 'u' followed by at least 7 digits."""
    return _prefixed("u", np.arange(1, n_users + 1), max(7, len(str(n_users))))


def _item_vocabulary(items_per_category: int) -> pa.Array:
    ranks = np.tile(np.arange(1, items_per_category + 1), len(CATEGORY_CODES))
    codes = np.repeat(np.asarray(CATEGORY_CODES), items_per_category)
    return pc.binary_join_element_wise(pa.array(codes), pc.utf8_lpad(pa.array(ranks).cast(pa.string()), 4, "0"), "")


def events_table(batch: EventBatch, plan: WorldPlan, ids: pa.Array, first_event_number: int) -> pa.Table:
    """The events of a batch as an Arrow table; string columns may be dictionary-encoded.

    Written with `store_schema=False`, the file reads back with exactly `EVENTS_SCHEMA`.
    """
    n = len(batch)
    first_user = int(batch.user.min()) if n else 0
    users = ids.slice(first_user, int(batch.user.max()) - first_user + 1 if n else 0)  # this chunk's ids only
    columns = [
        _prefixed("e", np.arange(first_event_number, first_event_number + n), 1),
        _lookup(users, batch.user - first_user),
        _timestamps(plan.start, batch.day, batch.second),
        _lookup(EVENT_TYPES, batch.event_type),
        _lookup(CHANNELS, batch.channel),
        pa.array(batch.amount, pa.float64(), mask=np.isnan(batch.amount)),
        _lookup(_item_vocabulary(plan.params.commerce.items_per_category), batch.item),
        _lookup(CATEGORIES, batch.category),
        _prefixed("s", batch.session, 1, mask=batch.session < 0),
        _lookup(plan.campaign_ids, batch.campaign),
    ]
    return pa.Table.from_arrays(columns, names=EVENTS_SCHEMA.names)


def member_history_table(history: MemberHistory, plan: WorldPlan, ids: pa.Array) -> pa.Table:
    """Member-level changes as a brand's attribute table: `user_id, attribute ('member_level'),
    value, valid_from` (the join level at the join time, then each upgrade)."""
    n = int(history.user.size)
    return pa.table({
        "user_id": ids.take(pa.array(history.user)),
        "attribute": pa.array(["member_level"] * n, pa.string()),
        "value": _plain(MEMBER_LEVELS, history.level),
        "valid_from": _timestamps(plan.start, history.day, history.second),
    })


def users_table(plan: WorldPlan, ids: pa.Array, member_level: np.ndarray | None = None) -> pa.Table:
    """The users of the world with their attributes and fake PII (`USERS_SCHEMA`); `member_level`:
    each user's level today (the end of the world), default the level at joining."""
    pop = plan.population
    given = pa.array((*given_names(), ""))
    second_char = np.where(pop.name_given[:, 1] < 0, len(given) - 1, pop.name_given[:, 1])
    name = pc.binary_join_element_wise(
        _plain(surnames(), pop.name_surname), given.take(pa.array(pop.name_given[:, 0])),
        given.take(pa.array(second_char)), "",
    )
    columns = [
        ids,
        _timestamps(plan.start, pop.join_day, pop.join_second),
        _plain(SOURCE_CHANNELS, pop.source_channel),
        _plain(MEMBER_LEVELS, pop.member_level if member_level is None else member_level),
        _plain(REGIONS, pop.region),
        _plain(AGE_BANDS, pop.age_band),
        name,
        _prefixed("138", pop.phone_number, 8),
    ]
    return pa.Table.from_arrays(columns, schema=USERS_SCHEMA)


def uplift_table(batch: UpliftBatch, plan: WorldPlan, ids: pa.Array) -> pa.Table:
    """Contact-effect truth rows: `user_id, cutoff, campaign_id (null on a day without a campaign),
    tau_<label>_<h>d__<treatment>...` (docs/INTERFACES.md §1)."""
    columns = {
        "user_id": ids.take(pa.array(batch.user)),
        "cutoff": _timestamps(plan.start, batch.cutoff_day, np.zeros(len(batch), np.int64)),
        "campaign_id": _lookup(plan.campaign_ids, plan.calendar.campaign_index[batch.cutoff_day]).cast(pa.string()),
    }
    columns |= {name: pa.array(values, pa.float64()) for name, values in batch.effects.items()}
    return pa.table(columns)


def campaigns_table(plan: WorldPlan) -> pa.Table:
    """The campaigns inside the world: `campaign_id, cutoff (midnight of its day), channel,
    propensity__<treatment>` (the share of joined users sent each treatment: the design)."""
    days = np.flatnonzero(plan.calendar.campaign_index[: plan.n_days] >= 0)
    shares = treatment_shares(plan.calendar, days)
    columns = {
        "campaign_id": pa.array([plan.campaign_ids[i] for i in plan.calendar.campaign_index[days]], pa.string()),
        "cutoff": _timestamps(plan.start, days, np.zeros(days.size, np.int64)),
        "channel": _plain(CHANNELS, plan.calendar.campaign_channel[days]),
    }
    columns |= {f"propensity__{t}": pa.array(shares[:, i], pa.float64()) for i, t in enumerate(TREATMENTS)}
    return pa.table(columns)


def truth_table(batch: TruthBatch, plan: WorldPlan, ids: pa.Array) -> pa.Table:
    """Truth rows as an Arrow table with `TRUTH_SCHEMA`."""
    columns = [
        ids.take(pa.array(batch.user)),
        _timestamps(plan.start, batch.cutoff_day, np.zeros(len(batch), np.int64)),
        pa.array(batch.p_churn_30d, pa.float64()),
        pa.array(batch.p_purchase_7d, pa.float64()),
        pa.array(batch.ltv_net_90d, pa.float64()),
        pa.array(batch.p_churn_30d_observable, pa.float64()),
        pa.array(batch.p_purchase_7d_observable, pa.float64()),
        pa.array(batch.ltv_net_90d_observable, pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=TRUTH_SCHEMA)


class WorldWriter:
    """Writes a world into `out`: events/part-NNNNN.parquet, users.parquet, truth/, world.json.

    Use as a context manager; stale parts of an earlier world in `out` are removed first.
    Conversion and Parquet encoding run on one background thread (Arrow releases the GIL),
    so they overlap with the simulation of the next chunk; at most one chunk waits.
    """

    def __init__(self, out: str | Path, plan: WorldPlan, *, with_truth: bool = True) -> None:
        self.out = Path(out)
        self.plan = plan
        self.with_truth = with_truth
        self.ids = user_ids(plan.population.n_users)
        self.n_events = 0
        self.n_truth_rows = 0
        self.event_counts = np.zeros(len(EVENT_TYPES), dtype=np.int64)
        self._part = 0
        self._truth_writer: pq.ParquetWriter | None = None
        self._uplift_writer: pq.ParquetWriter | None = None
        self.n_uplift_rows = 0
        self._members_writer: pq.ParquetWriter | None = None
        self.member_level = plan.population.member_level.copy()  # today's level, once every chunk is in
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def __enter__(self) -> WorldWriter:
        events_dir = self.out / "events"
        events_dir.mkdir(parents=True, exist_ok=True)
        for stale in events_dir.glob("part-*.parquet"):
            stale.unlink()
        truth_file = self.out / "truth" / "truth.parquet"
        for stale in ("truth.parquet", "uplift.parquet", "campaigns.parquet"):
            (self.out / "truth" / stale).unlink(missing_ok=True)
        self._members_writer = pq.ParquetWriter(self.out / "member_level_history.parquet", pa.schema([
            ("user_id", pa.string()), ("attribute", pa.string()), ("value", pa.string()),
            ("valid_from", pa.timestamp("us"))]), compression="zstd")
        if self.with_truth:
            truth_file.parent.mkdir(parents=True, exist_ok=True)
            self._truth_writer = pq.ParquetWriter(truth_file, TRUTH_SCHEMA, compression="zstd",
                                                  use_dictionary=["user_id"])
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siyu-world-writer")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            for writer in (self._truth_writer, self._uplift_writer, self._members_writer):
                if writer is not None:
                    writer.close()

    def _wait(self) -> None:
        """Block until the previous background write is done; re-raise its error."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _submit(self, write) -> None:
        if self._pool is None:
            raise RuntimeError("WorldWriter: use it as a context manager (with WorldWriter(...) as writer)")
        self._wait()
        self._pending = self._pool.submit(write)

    def write_events(self, batch: EventBatch) -> None:
        """Write one chunk of events as the next part file."""
        first, path = self.n_events + 1, self.out / "events" / f"part-{self._part:05d}.parquet"

        def write() -> None:
            table = events_table(batch, self.plan, self.ids, first)
            pq.write_table(table, path, compression="zstd", use_dictionary=_DICTIONARY_COLUMNS,
                           write_statistics=_STATISTICS_COLUMNS, store_schema=False)

        self._submit(write)
        self._part += 1
        self.n_events += len(batch)
        self.event_counts += np.bincount(batch.event_type, minlength=len(EVENT_TYPES))

    def write_truth(self, batch: TruthBatch) -> None:
        """Append truth rows to truth/truth.parquet."""
        writer = self._truth_writer
        if writer is None:
            raise RuntimeError("truth: this writer was opened with with_truth=False")
        self._submit(lambda: writer.write_table(truth_table(batch, self.plan, self.ids)))
        self.n_truth_rows += len(batch)

    def write_uplift(self, batch: UpliftBatch) -> None:
        """Append contact-effect truth rows to truth/uplift.parquet (the campaigns table with the first)."""
        if not self.with_truth:
            raise RuntimeError("truth: this writer was opened with with_truth=False")

        def write() -> None:
            table = uplift_table(batch, self.plan, self.ids)
            if self._uplift_writer is None:
                pq.write_table(campaigns_table(self.plan), self.out / "truth" / "campaigns.parquet")
                self._uplift_writer = pq.ParquetWriter(self.out / "truth" / "uplift.parquet", table.schema,
                                                       compression="zstd", use_dictionary=["user_id", "campaign_id"])
            self._uplift_writer.write_table(table)

        self._submit(write)
        self.n_uplift_rows += len(batch)

    def write_members(self, history: MemberHistory, lo: int, hi: int) -> None:
        """Append a chunk's member-level changes to member_level_history.parquet."""
        self.member_level[lo:hi] = history.final_levels(lo, hi)
        writer = self._members_writer
        self._submit(lambda: writer.write_table(member_history_table(history, self.plan, self.ids)))

    def write_users(self) -> None:
        """Write users.parquet, with each user's member level as of the end of the world (after
        every chunk's `write_members`): the snapshot a CRM export gives."""
        table = users_table(self.plan, self.ids, self.member_level)
        pq.write_table(table, self.out / "users.parquet", compression="zstd")

    def write_manifest(self, seed: int) -> dict:
        """Write world.json and return its content."""
        plan = self.plan
        cutoffs = [plan.start + timedelta(days=int(d)) for d in plan.cutoff_days]
        manifest = {
            "seed": seed,
            "users": plan.population.n_users,
            "days": plan.n_days,
            "start": plan.start.isoformat(),
            "end": (plan.start + timedelta(days=plan.n_days)).isoformat(),
            "timezone": "Asia/Shanghai",
            "events": self.n_events,
            "event_counts": {t: int(c) for t, c in zip(EVENT_TYPES, self.event_counts, strict=True)},
            "event_parts": self._part,
            "truth_rows": self.n_truth_rows if self.with_truth else None,
            "truth_cutoffs": [datetime.combine(c, datetime.min.time()).isoformat() for c in cutoffs],
            "campaigns": int((plan.calendar.campaign_index[: plan.n_days] >= 0).sum()),
            "treatments": list(TREATMENTS),
            "uplift_rows": self.n_uplift_rows if self.with_truth else None,
        }
        (self.out / "world.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        return manifest
