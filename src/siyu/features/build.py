"""Run a feature program: DuckDB streams the narrow event codes once; the engine turns each
chunk of users into feature rows, emitted as Arrow record batches.

Memory stays bounded: events arrive in chunks of whole users sized from `memory_budget`, and
rows leave in batches. When every event fits in one chunk, DuckDB hands them over unsorted and
the engine sorts them by (user, time) itself; across several chunks DuckDB sorts them, so each
chunk can be cut at a user boundary as it streams. RFM scores rank users across the whole
population of a cutoff, so when the events need more than one chunk they are ranked first,
from a pass over the purchases and refunds only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from siyu.contract.history import as_of_sql
from siyu.features import engine, kernels
from siyu.features.btyd_summary import BTYD_COLUMNS, ORDER_COLUMN, btyd_summary_sql
from siyu.features.catalog import categorical_columns
from siyu.features.compiler import (
    LIFECYCLE_STAGES,
    RFM_SEGMENTS,
    DistinctIn,
    FeatureProgram,
    RfmScore,
    Stage,
    TenureDays,
    UserAttr,
    Win,
    compile_features,
    events_sql,
    orders_sql,
    relation_sql,
    rfm_inputs,
    users_sql,
)
from siyu.features.plan import BtydColumn, UserAttrAsOf
from siyu.features.specs import RFM, FeatureSet, Lifecycle
from siyu.features.writer import write_batches
from siyu.io.duck import memory_lent, memory_limit_bytes

Cutoffs = Sequence[date | datetime | str]
_DICT = "siyu_user_dict"
# A chunk's events as numpy codes (~40 B) and, while they are converted, as Arrow (~40 B); fixed-point
# amounts, days and the distinct counts' (value, day) pairs. The windows need nothing per event
# beyond that: each user's day tables are built in a scratch area of a few KB.
_BYTES_PER_EVENT = 128


UsersDone = Callable[[int, int], None]  # (users whose rows are computed, users in all)


@dataclass(frozen=True)
class _Run:
    program: FeatureProgram
    events: str
    users: pa.Table  # user_id, joined_us (filled later from first events), attributes
    cuts_us: np.ndarray
    memory_budget: int
    batch_rows: int
    threads: int  # the connection's `threads`: the compiled passes use as many
    history: str | None = None  # relation of the changing attributes' history (UserAttrAsOf columns)
    orders: bool = False  # the events carry order ids (each order is one event)
    on_users: UsersDone | None = None  # told (users done, users in all) after each batch


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run numba's parallel passes on `n` threads (in the current thread only)."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _user_dict(con: duckdb.DuckDBPyConnection, program: FeatureProgram, events: str, users: str | None) -> pa.Table:
    user_columns = None
    if users is not None:
        user_columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {users}").fetchall()]
    table = con.sql(users_sql(program, users, events, user_columns)).to_arrow_table().combine_chunks()
    # Plain `string` once here (DuckDB may hand over string views), not once per batch.
    strings = [name for name in table.column_names if name != "joined_us"]
    table = table.cast(pa.schema([pa.field(f.name, pa.string() if f.name in strings else f.type)
                                  for f in table.schema]))
    return table.append_column("uidx", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _always_valued(e) -> bool:
    """Whether a column holds a value on every row: windowed counts and sums (differences of
    integer running sums), distinct counts, tenure (every row's user joined before its cutoff),
    the lifecycle stage and the RFM segment (a label for every row)."""
    return (isinstance(e, Win | DistinctIn | TenureDays | Stage)
            or (isinstance(e, RfmScore) and e.which == "rfm_segment"))


def _schema(program: FeatureProgram) -> pa.Schema:
    """Columns that always hold a value are declared non-nullable: Parquet then writes them as
    required, with no definition levels to encode (a third of the writing at 10M x 12)."""
    cats = set(program.categorical)
    fields = [pa.field("user_id", pa.string()), pa.field("cutoff", pa.timestamp("us"))]
    fields += [pa.field(name, pa.string() if name in cats else pa.float64(), nullable=not _always_valued(e))
               for name, e in program.columns]
    return pa.schema(fields)


def _chunk_events(budget: int, program: FeatureProgram) -> int:
    return max(1, budget // _BYTES_PER_EVENT)


def _arrays(table: pa.Table, program: FeatureProgram, lo: int, n_users: int, *, ordered: bool) -> engine.EventArrays:
    """The chunk's event columns as numpy, sorted by (user, time) here unless `ordered`. Each
    column's Arrow memory is let go once converted (the caller keeps no reference to `table`),
    so a chunk is never held twice over."""
    wanted = {"u": np.int32, "t": np.int64, "r": np.int8, "et": np.int16, "ch": np.int16}
    if program.needs_amount:
        wanted["amount"] = np.float64
    wanted |= {f"{c}_key": np.uint32 for c in program.distinct_columns}
    order = None
    if not ordered:
        u = table.column("u").to_numpy(zero_copy_only=False).astype(np.int64) - lo
        order = kernels.user_time_order(u, table.column("t").to_numpy(zero_copy_only=False), n_users)
        del u
    out = {}
    for name, dtype in wanted.items():
        # Writable arrays of fixed dtypes: the compiled kernels then need one specialization,
        # whether Arrow handed over one chunk (a read-only view) or several (a fresh copy).
        a = table.column(name).to_numpy(zero_copy_only=False)
        table = table.drop_columns([name])
        out[name] = a if a.flags.writeable and a.dtype == dtype else a.astype(dtype)
        if order is not None:
            out[name] = _taken(out[name], order)
    out["u"] -= np.int32(lo)
    return engine.EventArrays(
        u=out["u"], t=out["t"], r=out["r"], et=out["et"], ch=out["ch"], amount=out.get("amount"),
        keys={c: out[f"{c}_key"] for c in program.distinct_columns},
    )


_SAME_WIDTH = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


def _taken(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`values[order]`, gathered on every core (as integers of the same width: one compiled
    version per width, not per dtype)."""
    out = np.empty(order.size, values.dtype)
    width = _SAME_WIDTH[values.dtype.itemsize]
    kernels.take(values.view(width), order, out.view(width))
    return out


def _event_chunks(con: duckdb.DuckDBPyConnection, run: _Run, sql: str, *,
                  whole: str | None = None) -> Iterator[tuple[int, int, _Handed]]:
    """(first user, end user, that user range's events) covering every user of the dictionary.
    `whole`: the same events unsorted, when they fit in one chunk: the engine sorts them (a
    counting sort by user). At 10M events x 12 cutoffs that made the whole compute ~1.9 s
    faster than DuckDB's sort (median of 6 same-run pairs, 5 of them faster)."""
    if whole is not None:
        yield 0, run.users.num_rows, _Handed(con.sql(whole).to_arrow_table(), ordered=False)
        return
    limit = _chunk_events(run.memory_budget, run.program)
    reader = con.sql(sql).to_arrow_reader(min(limit, 1_000_000))
    n_users, lo, pending = run.users.num_rows, 0, reader.schema.empty_table()
    try:
        for batch in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
            if pending.num_rows < limit:
                continue
            # Sorted by user: the last user may continue in the next batch. Look for where it
            # starts in the newest batch, and in the whole pending table only when it fills
            # that batch.
            u = batch.column("u").to_numpy()
            cut = pending.num_rows - batch.num_rows + int(np.searchsorted(u, u[-1]))
            if u[0] == u[-1]:
                u = pending.column("u").to_numpy()
                cut = int(np.searchsorted(u, u[-1]))
            if cut == 0:
                continue
            # The chunk is handed over with no reference left here: the engine frees its Arrow
            # copy once converted, instead of holding it (~40 B per event) through the chunk.
            chunk = _Handed(pending.slice(0, cut))
            pending = pending.slice(cut)
            yield lo, int(u[-1]), chunk
            lo = int(u[-1])
    finally:
        reader.close()
    chunk, pending = _Handed(pending), None
    yield lo, n_users, chunk


class _Handed:
    """A table passed on with no reference kept by the giver: `take` returns it once.
    `ordered`: its events come sorted by (user, time)."""

    def __init__(self, table: pa.Table, *, ordered: bool = True) -> None:
        self._table: pa.Table | None = table
        self.ordered = ordered

    def take(self) -> pa.Table:
        table, self._table = self._table, None
        return table


def _joined(run: _Run, lo: int, hi: int, first_t: np.ndarray) -> np.ndarray:
    column = run.users.column("joined_us").slice(lo, hi - lo).cast(pa.int64())
    joined = pc.fill_null(column, engine.UNKNOWN).to_numpy().astype(np.int64)
    return np.where(joined == engine.UNKNOWN, first_t, joined)


def _rfm_specs(program: FeatureProgram) -> list[RFM]:
    return list(dict.fromkeys(e.spec for _, e in program.columns if isinstance(e, RfmScore)))


def _rfm_of_chunk(run: _Run, tables: engine.Tables, rows: engine.Rows, joined: np.ndarray,
                  spec: RFM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ctx = engine.RowContext(run.program, tables, rows, run.cuts_us, joined, reads=rfm_inputs(spec))
    return engine.rfm_raw(ctx, spec)


def _rfm_dense(con: duckdb.DuckDBPyConnection, run: _Run, specs: list[RFM]) -> dict[RFM, np.ndarray]:
    """Per RFM spec: (n_cutoffs, n_users, 3) scores ranked over every user, from a pass over
    purchases and refunds only."""
    program = compile_features(FeatureSet(tuple(specs)), run.program.cutoffs)
    sub = replace(run, program=program)
    sql = events_sql(program, run.events, _DICT, only_roles=("purchase", "refund"))
    n_cuts, n_users = run.cuts_us.size, run.users.num_rows
    raw = {s: np.full((3, n_cuts, n_users), np.nan) for s in specs}
    for lo, hi, chunk in _event_chunks(con, sub, sql):
        with _threads(run.threads):
            ev = _arrays(chunk.take(), program, lo, hi - lo, ordered=chunk.ordered)
            tables = engine.build_tables(program, ev, hi - lo)
            joined = _joined(run, lo, hi, tables.first_t)
            rows = engine.population(joined, run.cuts_us)
            for s in specs:
                for j, v in enumerate(_rfm_of_chunk(sub, tables, rows, joined, s)):
                    raw[s][j, rows.c, lo + rows.u] = v
    out = {}
    for s in specs:
        # A user's raw inputs come from their purchases alone, so users without any are skipped
        # here exactly as in a single pass (f == 0: no score).
        c, u = np.nonzero(~np.isnan(raw[s][1]))
        with _threads(run.threads):
            out[s] = _ranked(raw[s][0][c, u], raw[s][1][c, u], raw[s][2][c, u], c, u, n_cuts, n_users)
    return out


def _ranked(r: np.ndarray, f: np.ndarray, m: np.ndarray, c: np.ndarray, u: np.ndarray, n_cuts: int,
            n_users: int) -> np.ndarray:
    """(n_cutoffs, n_users, 3) RFM scores of rows (c, u) from their raw inputs, NaN elsewhere."""
    dense = np.full((n_cuts, n_users, 3), np.nan)
    dense[c, u] = engine.rfm_scores(r, f, m, c, n_cuts)
    return dense


def _floats(values: np.ndarray, nullable: bool = True) -> pa.Array:
    """float64 with NaN as null (no validity bits when the column is never null). Built from
    buffers: the data is shared and the validity bits are one vectorized pass
    (pa.array(..., from_pandas=True) takes ~100x longer)."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    valid = pa.py_buffer(np.packbits(~np.isnan(v), bitorder="little")) if nullable else None
    return pa.Array.from_buffers(pa.float64(), v.size, [valid, pa.py_buffer(v)])


def _labels(levels: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(levels, type=pa.string()).take(pa.array(codes))


def _batch(run: _Run, tables: engine.Tables, rows: engine.Rows, joined: np.ndarray, lo: int,
           rfm: dict[RFM, np.ndarray], btyd: np.ndarray | None = None,
           as_of: dict[str, tuple[pa.Array, np.ndarray]] | None = None,
           pool: engine.Recycler | None = None) -> pa.RecordBatch:
    ctx = engine.RowContext(run.program, tables, rows, run.cuts_us, joined, pool=pool)
    values = engine.numeric_columns(ctx)
    scores = {s: d[rows.c, lo + rows.u] for s, d in rfm.items()}
    take = pa.array(lo + rows.u)
    users = run.users.take(take)
    arrays = [users.column("user_id").combine_chunks(), pa.array(run.cuts_us[rows.c], type=pa.timestamp("us"))]
    for name, e in run.program.columns:
        if isinstance(e, Stage):
            arrays.append(_labels(LIFECYCLE_STAGES, values[name]))
        elif isinstance(e, RfmScore):
            sc = scores[e.spec]
            if e.which == "rfm_segment":
                arrays.append(_labels(RFM_SEGMENTS, engine.rfm_segment(sc)))
            else:
                j = ("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score").index(e.which)
                arrays.append(_floats(sc[:, j]))
        elif isinstance(e, UserAttr):
            arrays.append(users.column(e.column).combine_chunks())
        elif isinstance(e, BtydColumn):
            arrays.append(_floats(btyd[rows.c, rows.u, BTYD_COLUMNS.index(e.column)]))
        elif isinstance(e, UserAttrAsOf):
            levels, codes = as_of[e.column]
            picked = codes[rows.c, lo + rows.u]
            arrays.append(levels.take(pa.array(picked, mask=picked < 0)))
        else:
            arrays.append(_floats(values[name], nullable=not _always_valued(e)))
    return pa.RecordBatch.from_arrays(arrays, schema=_schema(run.program))


def _n_events(con: duckdb.DuckDBPyConnection, run: _Run) -> int:
    last = run.program.cutoffs[-1].isoformat()
    return int(con.execute(f"SELECT count(*) FROM {run.events} WHERE ts < TIMESTAMP '{last}'").fetchall()[0][0])


def _run_batches(con: duckdb.DuckDBPyConnection, run: _Run) -> Iterator[pa.RecordBatch]:
    con.register(_DICT, run.users.select(["user_id", "uidx"]))
    try:
        # The engine's arrays live outside DuckDB: while they exist DuckDB gets what is left of
        # the limit, so the whole build stays within the configured memory_limit.
        with memory_lent(con, run.memory_budget):
            specs = _rfm_specs(run.program)
            several = _n_events(con, run) > _chunk_events(run.memory_budget, run.program)
            rfm = _rfm_dense(con, run, specs) if specs and several else {}
            # Without order ids a BTYD purchase unit is a customer-day, which the engine counts from
            # the event stream it reads anyway; orders (several a day, lines across midnight) are
            # grouped by their query.
            wants_btyd = any(isinstance(e, BtydColumn) for _, e in run.program.columns)
            btyd = _btyd_dense(con, run) if wants_btyd and run.orders else None
            as_of = _as_of_dense(con, run)
            pool = engine.Recycler()  # a batch the consumer has dropped lends its memory to the next
            whole = None if several else events_sql(run.program, run.events, _DICT, sort=False)
            for lo, hi, chunk in _event_chunks(con, run, events_sql(run.program, run.events, _DICT), whole=whole):
                yield from _chunk_batches(run, lo, hi, chunk, rfm, specs, btyd, as_of, pool)
                pool.release()  # the next chunk's events need the room more than the next batch
    finally:
        # A consumer that stopped on an error may close the connection before this generator is
        # collected: then there is nothing left to unregister.
        with suppress(duckdb.ConnectionException):
            con.unregister(_DICT)


def _btyd_dense(con: duckdb.DuckDBPyConnection, run: _Run) -> np.ndarray:
    """(n_cutoffs, n_users, 4) BTYD summaries (NaN: no purchase before the cutoff), from one query."""
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {run.events}").fetchall()}
    order = ORDER_COLUMN if ORDER_COLUMN in columns else None
    # Keyed by the dictionary's user index from the start: grouping and matching millions of
    # text user ids took longer than the rest of the query (a user unknown to the dictionary
    # has no feature row anyway).
    keep = f", e.{order}" if order else ""
    purchases = (f"(SELECT d.uidx AS user_id, e.ts, e.role, e.amount{keep} FROM {run.events} e "
                 f"JOIN {_DICT} d ON CAST(e.user_id AS VARCHAR) = d.user_id WHERE e.role = 'purchase')")
    summaries = btyd_summary_sql(purchases, run.program.cutoffs, order_column=order, sort=False)
    found = con.sql(f"SELECT user_id AS uidx, epoch_us(cutoff) AS cut_us, * FROM ({summaries})").fetchnumpy()
    dense = np.full((run.cuts_us.size, run.users.num_rows, len(BTYD_COLUMNS)), np.nan)
    c = np.searchsorted(run.cuts_us, found["cut_us"])
    u = np.asarray(found["uidx"], dtype=np.int64)
    for j, name in enumerate(BTYD_COLUMNS):
        dense[c, u, j] = np.ma.filled(np.ma.asarray(found[name]).astype(np.float64), np.nan)  # NULL: NaN
    return dense


def _dense_cells(run: _Run, found: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cutoff index, user index, kept) of query rows keyed by `user_id, cutoff`: where they go in a
    (n_cutoffs, n_users) array; a user unknown to the dictionary has no feature row anyway."""
    u = pd.Index(run.users.column("user_id").to_pylist()).get_indexer(found["user_id"].astype(str))
    c = pd.Index([pd.Timestamp(x) for x in run.program.cutoffs]).get_indexer(pd.to_datetime(found["cutoff"]))
    return c, u, (u >= 0) & (c >= 0)


def _as_of_dense(con: duckdb.DuckDBPyConnection, run: _Run) -> dict[str, tuple[pa.Array, np.ndarray]]:
    """Per changing attribute read as of the cutoff: (its values, (n_cutoffs, n_users) codes into
    them, -1 where the history has no change before the cutoff), from one query each."""
    wanted = list(dict.fromkeys(e.column for _, e in run.program.columns if isinstance(e, UserAttrAsOf)))
    if not wanted:
        return {}
    if run.history is None:
        raise FileNotFoundError(f"features {wanted} read the attributes' history, and none was given: configure "
                                "users.history in the dataset and run `siyu validate`")
    con.register("siyu_as_of_cutoffs", pd.DataFrame({"cutoff": [pd.Timestamp(c) for c in run.program.cutoffs]}))
    out = {}
    try:
        for column in wanted:
            found = con.sql(as_of_sql(run.history, column, "siyu_as_of_cutoffs")).df()
            levels = sorted(found["value"].dropna().astype(str).unique())
            dense = np.full((run.cuts_us.size, run.users.num_rows), -1, dtype=np.int32)
            c, u, keep = _dense_cells(run, found)
            dense[c[keep], u[keep]] = pd.Index(levels).get_indexer(found.loc[keep, "value"].astype(str))
            out[column] = (pa.array(levels, type=pa.string()), dense)
    finally:
        con.unregister("siyu_as_of_cutoffs")
    return out


def _chunk_batches(run: _Run, lo: int, hi: int, chunk: _Handed, rfm: dict[RFM, np.ndarray],
                   specs: list[RFM], btyd: np.ndarray | None = None,
                   as_of: dict[str, tuple[pa.Array, np.ndarray]] | None = None,
                   pool: engine.Recycler | None = None) -> Iterator[pa.RecordBatch]:
    with _threads(run.threads):
        ev = _arrays(chunk.take(), run.program, lo, hi - lo, ordered=chunk.ordered)
        tables = engine.build_tables(run.program, ev, hi - lo)
        del ev
        joined = _joined(run, lo, hi, tables.first_t)
        if specs and not rfm:  # one chunk holds every user (lo == 0): rank here
            rows = engine.population(joined, run.cuts_us)
            rfm = {s: _ranked(*_rfm_of_chunk(run, tables, rows, joined, s), rows.c, rows.u, run.cuts_us.size, hi - lo)
                   for s in specs}
        if btyd is not None:
            btyd = btyd[:, lo:hi]
        elif any(isinstance(e, BtydColumn) for _, e in run.program.columns):
            btyd = engine.btyd_summaries(tables, run.cuts_us)
    # A batch holds every cutoff of a block of users, so the kernel reads each user's
    # user-days once for all their cutoffs instead of once per cutoff.
    block = max(1, run.batch_rows // run.cuts_us.size)
    for start in range(0, hi - lo, block):
        stop = min(hi - lo, start + block)
        part = engine.population(joined[start:stop], run.cuts_us)
        if len(part):
            with _threads(run.threads):
                batch = _batch(run, tables, engine.Rows(part.u + start, part.c), joined, lo, rfm, btyd, as_of, pool)
            yield batch
        if run.on_users is not None:
            run.on_users(lo + stop, run.users.num_rows)


def _prepare(con, specs, events, users, cutoffs, *, memory_budget: int | None, batch_rows: int,
             history: str | Path | None = None, on_users: UsersDone | None = None) -> _Run:
    program = compile_features(specs, cutoffs)
    source = relation_sql(events)
    events_rel = _as_orders(con, source)
    users_rel = None if users is None else relation_sql(users)
    table = _user_dict(con, program, events_rel, users_rel)
    budget = memory_budget or _default_budget(con)
    per_row = 8 * (len(program.columns) + len(program.offsets) + 16)
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    return _Run(program, events_rel, table, engine.cutoff_us(program.cutoffs), budget,
                max(10_000, min(batch_rows, budget // 4 // per_row)), threads,
                None if history is None else relation_sql(history), orders=events_rel != source, on_users=on_users)


def _as_orders(con: duckdb.DuckDBPyConnection, events: str) -> str:
    """`events`, with each order's lines as one event when the log carries order ids."""
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {events}").fetchall()}
    if "order_id" not in columns:  # a log validated before order ids were part of the contract
        return events
    if con.execute(f"SELECT count(order_id) FROM {events}").fetchall()[0][0] == 0:
        return events
    return f"({orders_sql(events)})"


def _default_budget(con: duckdb.DuckDBPyConnection) -> int:
    """Half of the connection's memory_limit for the engine's arrays (DuckDB keeps the rest)."""
    return memory_limit_bytes(con) // 2


def feature_batches(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
    *,
    batch_rows: int = 250_000,
    memory_budget: int | None = None,
    history: str | Path | None = None,
    on_users: UsersDone | None = None,
) -> pa.RecordBatchReader:
    """`user_id, cutoff, <features...>` as Arrow record batches: one row per user known before
    each cutoff (sorted by user then cutoff within each batch, a block of users). `history`: the
    clean history of the changing attributes, for the specs that read one as of the cutoff.
    `on_users(done, total)` hears after each batch how many users have all their cutoffs computed."""
    run = _prepare(con, specs, events, users, cutoffs, memory_budget=memory_budget, batch_rows=batch_rows,
                   history=history, on_users=on_users)
    return pa.RecordBatchReader.from_batches(_schema(run.program), _run_batches(con, run))


def to_feature_frame(df: pd.DataFrame, specs: FeatureSet) -> pd.DataFrame:
    """Feature dtypes: categoricals as pandas `category` (fixed levels where the rule has
    them), numeric as float64, cutoff as datetime64."""
    fixed = {s.name: LIFECYCLE_STAGES for s in specs if isinstance(s, Lifecycle)}
    fixed["rfm_segment"] = RFM_SEGMENTS
    cats = set(categorical_columns(specs))
    out = {}
    for col in df.columns:
        s = df[col]
        if col == "user_id":
            out[col] = s.astype("string")
        elif col == "cutoff":
            out[col] = pd.to_datetime(s)
        elif col in cats:
            levels = fixed.get(col)
            if levels is None:
                levels = sorted(s.dropna().astype(str).unique())
            out[col] = pd.Categorical(s.astype("object"), categories=list(levels))
        else:
            out[col] = pd.to_numeric(s).astype("float64")
    return pd.DataFrame(out, index=df.index)


def build_features(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
    *,
    history: str | Path | None = None,
    on_users: UsersDone | None = None,
) -> pd.DataFrame:
    """`user_id, cutoff, <features...>`: one row per user known before each cutoff, sorted."""
    table = feature_batches(con, specs, events, users, cutoffs, history=history, on_users=on_users).read_all()
    df = table.to_pandas()
    df = df.sort_values(["cutoff", "user_id"], kind="stable").reset_index(drop=True)
    return to_feature_frame(df, specs)


def write_features(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
    path: str | Path,
    *,
    memory_budget: int | None = None,
    history: str | Path | None = None,
    on_users: UsersDone | None = None,
) -> int:
    """Stream the feature rows into one Parquet file; returns the number of rows."""
    reader = feature_batches(con, specs, events, users, cutoffs, memory_budget=memory_budget, history=history,
                             on_users=on_users)
    return write_batches(reader, path)
