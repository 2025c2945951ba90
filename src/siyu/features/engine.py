"""Evaluate a `FeatureProgram` on sorted event arrays.

Events arrive sorted by (user, time). For a batch of (user, cutoff) rows, `kernels.windows`
takes the rows user by user: it walks the user's events once into per-user-day running sums of
every measure (one row of all measures per user-day) and forward-filled last-event times, in a
scratch area of a few KB that stays in cache, and each of the user's rows then finds, per window
boundary, how many of the user's days lie before it (a binary search), so every window of every
measure is the difference of two running sums: two lookups, whatever the window or the number
of cutoffs. Nothing per user-day outlives its user, so a chunk's memory is its events alone.
Ratios, stages, RFM scores and the other derived columns are numpy on top of those columns.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa

from siyu.features import kernels
from siyu.features.compiler import (
    ACTIVITY,
    LIFECYCLE_STAGES,
    RFM_SEGMENTS,
    ROLE_CODES,
    DistinctIn,
    Expr,
    FeatureProgram,
    FirstAmount,
    GapStd,
    Measure,
    Pred,
    Ratio,
    RfmScore,
    Since,
    Stage,
    TenureDays,
    UserAttr,
    UserAttrAsOf,
    Win,
    rfm_inputs,
    walk,
)
from siyu.features.plan import BtydColumn
from siyu.features.specs import RFM

US_PER_DAY = kernels.US_PER_DAY
AMOUNT_SCALE = 10_000
NEVER = kernels.NEVER  # "no such event"
UNKNOWN = kernels.UNKNOWN  # "join time unknown": never in the population
_EPOCH = datetime(1970, 1, 1)


def cutoff_us(cutoffs: tuple[date, ...]) -> np.ndarray:
    """Cutoffs (local midnights) as microseconds since 1970-01-01 local."""
    return np.array([int((datetime.combine(c, datetime.min.time()) - _EPOCH).total_seconds()) * 1_000_000
                     for c in cutoffs], dtype=np.int64)


@dataclass(frozen=True)
class EventArrays:
    """One chunk's events, sorted by (u, t): codes as written by `compiler.events_sql`."""

    u: np.ndarray  # int32 user index local to the chunk
    t: np.ndarray  # int64 microseconds since 1970-01-01, local time
    r: np.ndarray  # int8 role code (compiler.ROLE_CODES)
    et: np.ndarray  # int16 event-type code: 1 + index in program.event_types, 0 any other
    ch: np.ndarray  # int16 channel code: 1 + index in program.channels, 0 any other
    amount: np.ndarray | None = None
    keys: dict[str, np.ndarray] = field(default_factory=dict)  # distinct column -> uint32 hashed value, 0 = NULL

    def __len__(self) -> int:
        return int(self.u.size)


@dataclass(frozen=True)
class Layout:
    """Which measures and last times each event code feeds (CSR tables, see `kernels`), for a
    set of measures and last-time predicates."""

    c_ptr: np.ndarray
    c_idx: np.ndarray
    c_kind: np.ndarray
    c_arg: np.ndarray
    a_ptr: np.ndarray
    a_idx: np.ndarray
    n_amounts: int
    l_ptr: np.ndarray
    l_idx: np.ndarray
    f_kind: np.ndarray
    slots: dict[Measure, tuple[int, int]]  # measure -> (table, column)
    lasts: tuple[Pred, ...]
    n_types: int
    n_channels: int


@dataclass(frozen=True)
class Tables:
    """One chunk's events, indexed by user, and the per-user facts every cutoff reads."""

    ev: EventArrays
    fixed: np.ndarray  # int64 amounts in 1/AMOUNT_SCALE (one zero when the program sums none)
    ustart: np.ndarray  # (n_users + 1) each user's first event
    first_t: np.ndarray  # per user: first event time (UNKNOWN: none)
    first_purchase_t: np.ndarray
    first_purchase_amount: np.ndarray
    pairs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # column -> (per-user start, values, days)


# --------------------------------------------------------------------------- tables
_COUNT_KINDS = {"count": kernels.COUNT, "active": kernels.ACTIVE, "weekday": kernels.WEEKDAY,
                "response": kernels.RESPONSE}
_FLOAT_KINDS = {"gap_n": kernels.GAP_N, "gap_sum": kernels.GAP_SUM, "gap_sq": kernels.GAP_SQ}


def _code_parts(program: FeatureProgram) -> tuple[int, int, dict[str, np.ndarray]]:
    """Every event code (see `kernels`) split back into its role, type, channel and hour."""
    n_types, n_channels = len(program.event_types) + 1, len(program.channels) + 1
    code = np.arange(len(ROLE_CODES) * n_types * n_channels * 24)
    parts = {"hour": code % 24, "ch": code // 24 % n_channels, "et": code // (24 * n_channels) % n_types,
             "r": code // (24 * n_channels * n_types)}
    return n_types, n_channels, parts


def _matches(program: FeatureProgram, parts: dict[str, np.ndarray], p: Pred) -> np.ndarray:
    """Per event code: whether `p` holds."""
    m = np.ones(parts["r"].size, dtype=bool)
    if p.roles is not None:
        m &= np.isin(parts["r"], [ROLE_CODES[r] for r in p.roles])
    if p.event_type is not None:
        m &= parts["et"] == program.event_types.index(p.event_type) + 1
    if p.channel is not None:
        m &= parts["ch"] == program.channels.index(p.channel) + 1
    if p.hours is not None:
        m &= (parts["hour"] >= p.hours[0]) & (parts["hour"] < p.hours[1])
    return m


def _csr(columns: list[np.ndarray], n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, idx): per event code, the columns whose predicate it matches."""
    if not columns:
        return np.zeros(n_codes + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    table = np.stack(columns, axis=1)
    ptr = np.concatenate([[0], np.cumsum(table.sum(axis=1))]).astype(np.int64)
    return ptr, np.nonzero(table)[1].astype(np.int64)


def layout(program: FeatureProgram, measures: list[Measure], lasts: list[Pred]) -> Layout:
    """The CSR tables of `measures` and `lasts` over the event codes of `program`."""
    n_types, n_channels, parts = _code_parts(program)
    n_codes = parts["r"].size
    counted = [m for m in measures if m.kind in _COUNT_KINDS]
    summed = [m for m in measures if m.kind == "amount"]
    floated = [m for m in measures if m.kind in _FLOAT_KINDS]
    c_ptr, c_idx = _csr([_matches(program, parts, ACTIVITY if m.kind == "weekday" else m.pred)
                         if m.kind in ("count", "active", "weekday") else np.zeros(n_codes, dtype=bool)
                         for m in counted], n_codes)
    a_ptr, a_idx = _csr([_matches(program, parts, m.pred) for m in summed], n_codes)
    l_ptr, l_idx = _csr([_matches(program, parts, p) for p in lasts], n_codes)
    slots = {m: (kernels.COUNTS, j) for j, m in enumerate(counted)}
    slots |= {m: (kernels.AMOUNTS, j) for j, m in enumerate(summed)}
    slots |= {m: (kernels.FLOATS, j) for j, m in enumerate(floated)}
    return Layout(c_ptr=c_ptr, c_idx=c_idx, c_kind=np.array([_COUNT_KINDS[m.kind] for m in counted], dtype=np.int64),
                  c_arg=np.array([m.arg for m in counted], dtype=np.int64), a_ptr=a_ptr, a_idx=a_idx,
                  n_amounts=len(summed), l_ptr=l_ptr, l_idx=l_idx,
                  f_kind=np.array([_FLOAT_KINDS[m.kind] for m in floated], dtype=np.int64), slots=slots,
                  lasts=tuple(lasts), n_types=n_types, n_channels=n_channels)


def build_tables(program: FeatureProgram, ev: EventArrays, n_users: int) -> Tables:
    """Index a chunk's events by user: first events, first purchases and the (value, day) pairs
    of the distinct counts. The windows are read from the events themselves (`RowContext`)."""
    n = len(ev)
    ustart = np.searchsorted(ev.u, np.arange(n_users + 1, dtype=ev.u.dtype)).astype(np.int64)
    has = ustart[1:] > ustart[:-1]
    first_t = np.full(n_users, UNKNOWN, dtype=np.int64)
    first_t[has] = ev.t[ustart[:-1][has]]
    amount = ev.amount if ev.amount is not None else np.full(n, np.nan)
    summed = any(m.kind == "amount" for m in program.measures)
    # Fixed point (1/10,000 of a currency unit): exact sums, so a user's window never depends
    # on the rounding of other users' or other cutoffs' amounts.
    fixed = np.round(np.nan_to_num(amount, nan=0.0) * AMOUNT_SCALE).astype(np.int64) if summed else np.zeros(1, np.int64)
    fp_t = np.full(n_users, UNKNOWN, dtype=np.int64)
    fp_amount = np.full(n_users, np.nan)
    kernels.first_purchases(ustart, ev.t, ev.r, amount, fp_t, fp_amount)
    pairs = {}
    if program.distinct_columns:
        day = ev.t // US_PER_DAY
        act = np.isin(ev.r, [ROLE_CODES[r] for r in ACTIVITY.roles])
        pairs = {c: kernels.pairs(ustart, day, ev.keys[c], act) for c in program.distinct_columns}
    return Tables(ev=ev, fixed=fixed, ustart=ustart, first_t=first_t, first_purchase_t=fp_t,
                  first_purchase_amount=fp_amount, pairs=pairs)


def btyd_summaries(tables: Tables, cuts_us: np.ndarray) -> np.ndarray:
    """(n_cutoffs, n_users, 4) BTYD summaries of a chunk's users with one purchase unit per day
    (`siyu.features.btyd_summary`'s columns; NaN: no purchase before the cutoff)."""
    ev = tables.ev
    out = np.empty((cuts_us.size, tables.ustart.size - 1, 4))
    amount = ev.amount if ev.amount is not None else np.full(len(ev), np.nan)
    kernels.btyd(tables.ustart, ev.t, ev.r, amount, cuts_us // US_PER_DAY, out)
    return out


# --------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Rows:
    """(user, cutoff) rows of a block of users, sorted by user then cutoff."""

    u: np.ndarray
    c: np.ndarray

    def __len__(self) -> int:
        return int(self.u.size)


def population(joined_us: np.ndarray, cuts_us: np.ndarray) -> Rows:
    """Every user joined strictly before each cutoff, user by user: a user's rows sit side by
    side, so the windows kernel writes each column's values for them into one or two cache
    lines (by cutoff then user, each of a user's ~150 x 12 values was a line and a page of its
    own: 22 % more kernel time at 10M events x 12 cutoffs)."""
    u, c = np.nonzero(joined_us[:, None] < cuts_us[None, :])
    return Rows(u.astype(np.int64), c.astype(np.int64))


_ALL = 1 << 40  # a window boundary before every day: "all history"


class Recycler:
    """Numpy arrays over Arrow buffers that are handed out again once nothing refers to them.

    Why: a batch of rows needs ~300 MB of columns, and fresh memory is not free: the kernel
    faults in and zeroes every new page (~0.5 s per GB measured here, so ~4 CPU seconds for the
    7 GB of a 10M events x 12 cutoffs build), and both numpy and Arrow's pool hand blocks that
    large back to the OS as soon as they are freed. A consumer that writes each batch and drops
    it (the Parquet writer) releases its buffers, and the next batch reuses them; one that keeps
    every batch (`read_all`) keeps them, and new ones are taken. The columns end up in Arrow
    record batches zero-copy, and an Arrow array over a buffer holds a Python reference to it,
    so a buffer is reused only when no array, view or batch can still read it."""

    def __init__(self, keep: int = 512) -> None:
        self._buffers: list[pa.Buffer] = []
        self._keep = keep  # buffers remembered (used or free); the oldest are forgotten first
        probe = [pa.allocate_buffer(1)]
        self._unshared = sys.getrefcount(probe[0])  # the count of a buffer only this list holds

    def array(self, shape: tuple[int, ...], dtype=np.float64, fill=None) -> np.ndarray:
        """An array of `shape` (uninitialized unless `fill`)."""
        n = int(np.prod(shape))
        size = max(n, 1) * np.dtype(dtype).itemsize
        buf = self._take(size)
        out = np.frombuffer(buf, dtype=dtype, count=n).reshape(shape)
        if fill is not None:
            out.fill(fill)
        return out

    def release(self) -> None:
        """Forget the buffers nothing else refers to (their memory goes back to the OS)."""
        self._buffers = [b for b in self._buffers if sys.getrefcount(b) > self._unshared + 1]

    def _take(self, size: int) -> pa.Buffer:
        best = -1
        for k in range(len(self._buffers)):
            have = self._buffers[k].size
            if (size <= have <= 2 * size and (best < 0 or have < self._buffers[best].size)
                    and sys.getrefcount(self._buffers[k]) == self._unshared):
                best = k
        if best >= 0:
            return self._buffers[best]
        buf = pa.allocate_buffer(size)
        self._buffers.append(buf)
        if len(self._buffers) > self._keep:
            del self._buffers[0]
        return buf


class RowContext:
    """The columns of a batch of rows. Every window and last time `reads` needs (default: the
    whole program) comes from one pass of `kernels.windows`; the rest is derived from them
    column by column."""

    def __init__(self, program: FeatureProgram, tables: Tables, rows: Rows, cuts_us: np.ndarray,
                 joined_us: np.ndarray, reads: tuple[Expr, ...] | None = None, pool: Recycler | None = None) -> None:
        self.program, self.tables, self.rows = program, tables, rows
        self.pool = pool if pool is not None else Recycler()
        self.cut_us = cuts_us[rows.c]
        self.cut_day = self.cut_us // US_PER_DAY
        self.joined = joined_us[rows.u]
        self._memo: dict[Expr, np.ndarray] = {}
        self._last: dict[Pred, np.ndarray] = {}
        self._reads = reads
        self._windows_read = False

    def value(self, e: Expr) -> np.ndarray:
        if isinstance(e, Win | Ratio | Since) and not self._windows_read:
            self._read_windows()
        if e not in self._memo:
            self._memo[e] = _evaluate(self, e)
        return self._memo[e]

    def last_us(self, p: Pred) -> np.ndarray:
        """Per row: the latest event matching `p` before the cutoff (NEVER: none)."""
        if not self._windows_read:
            self._read_windows()
        return self._last[p]

    def _read_windows(self) -> None:
        program, t = self.program, self.tables
        wins, lasts = list(program.windows), list(program.lasts)
        if self._reads is not None:
            subs = {s for e in self._reads for s in walk(e)}
            wins = [w for w in wins if w in subs]
            lasts = [p for p in lasts if Since(p) in subs]
        # Ratios of two windows are divided in the same pass, while the row's windows are in cache.
        at_win = {w: k for k, w in enumerate(wins)}
        ratios = [e for _, e in program.columns if isinstance(e, Ratio) and e.num in at_win and e.den in at_win]
        if self._reads is not None:
            ratios = [e for e in ratios if e in subs]
        lay = layout(program, list(dict.fromkeys(w.measure for w in wins)), lasts)
        bounds = list(program.offsets) + [_ALL]
        at = {d: i for i, d in enumerate(bounds)}
        slot = [lay.slots[w.measure] for w in wins]
        out = self.pool.array((len(wins), len(self.rows)))
        last = self.pool.array((len(lasts), len(self.rows)), np.int64)
        since = self.pool.array((len(lasts), len(self.rows)))
        ratio = self.pool.array((len(ratios), len(self.rows)))
        # Rows user by user (a user's rows are read from one build of their day tables).
        order = np.argsort(self.rows.u, kind="stable")
        users = self.rows.u[order]
        rstart = np.concatenate([[0], np.flatnonzero(users[1:] != users[:-1]) + 1, [users.size]]).astype(np.int64)
        ev = t.ev
        kernels.windows(
            order, users, rstart, t.ustart, ev.t, ev.r, ev.et, ev.ch, t.fixed, lay.n_types, lay.n_channels, lay.c_ptr,
            lay.c_idx, lay.c_kind, lay.c_arg, lay.a_ptr, lay.a_idx, lay.n_amounts, lay.l_ptr, lay.l_idx,
            len(lasts), lay.f_kind, self.cut_day, np.array(bounds, dtype=np.int64),
            np.array([s[0] for s in slot], dtype=np.int64), np.array([s[1] for s in slot], dtype=np.int64),
            np.array([at[w.upto] for w in wins], dtype=np.int64),
            np.array([at[_ALL if w.days is None else w.days] for w in wins], dtype=np.int64),
            np.array([AMOUNT_SCALE if w.measure.kind == "amount" else 1.0 for w in wins]),
            np.arange(len(lasts), dtype=np.int64), np.array([at_win[e.num] for e in ratios], dtype=np.int64),
            np.array([at_win[e.den] for e in ratios], dtype=np.int64),
            np.array([e.negate for e in ratios], dtype=np.bool_), self.cut_us, out, last, since, ratio,
        )
        self._memo.update(zip(wins, out, strict=True))
        self._memo.update(zip((Since(p) for p in lasts), since, strict=True))
        self._memo.update(zip(ratios, ratio, strict=True))
        self._last.update(zip(lasts, last, strict=True))
        self._windows_read = True


def _days_since(ctx: RowContext, t_us: np.ndarray) -> np.ndarray:
    out = ctx.pool.array(t_us.shape)
    np.divide(ctx.cut_us - t_us, US_PER_DAY, out=out)
    out[t_us == NEVER] = np.nan
    return out


def _ratio(pool: Recycler, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = pool.array(num.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out)  # NaN already where den is NaN
    out[den == 0] = np.nan
    return out


def _distinct(ctx: RowContext, d: DistinctIn) -> np.ndarray:
    """Per row: values whose latest day (of an activity event) before the cutoff lies in the
    window; every window of the column is read in one pass."""
    start, keys, days = ctx.tables.pairs[d.column]
    wanted = [e for e in _distinct_exprs(ctx.program) if e.column == d.column]
    out = ctx.pool.array((len(wanted), len(ctx.rows)), fill=0.0)
    kernels.distinct(ctx.rows.u, ctx.cut_day, start, keys, days, np.array([e.days for e in wanted], dtype=np.int64),
                     out)
    for e, values in zip(wanted, out, strict=True):
        ctx._memo[e] = values
    return ctx._memo[d]


def _distinct_exprs(program: FeatureProgram) -> list[DistinctIn]:
    return list(dict.fromkeys(e for _, e in program.columns if isinstance(e, DistinctIn)))


def _gap_std(ctx: RowContext) -> np.ndarray:
    n, s, q = (ctx.value(Win(Measure(k), None)) for k in ("gap_n", "gap_sum", "gap_sq"))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(q - s * s / np.where(n > 0, n, 1), 0) / np.where(n >= 2, n - 1, 1)
    return np.where(n >= 2, np.sqrt(var), np.nan)


def _stage(ctx: RowContext, e: Stage) -> np.ndarray:
    """Lifecycle stage codes into LIFECYCLE_STAGES."""
    last = ctx.last_us(ACTIVITY)
    spec = e.spec
    c = ctx.cut_us
    return np.select(
        [last == NEVER, ctx.joined >= c - spec.new_days * US_PER_DAY, last >= c - spec.active_days * US_PER_DAY,
         last >= c - spec.churned_days * US_PER_DAY],
        [0, 1, 2, 3], default=4,
    ).astype(np.int8)


def _evaluate(ctx: RowContext, e: Expr) -> np.ndarray:  # noqa: C901 - one dispatch table
    t = ctx.tables
    if isinstance(e, Win):
        raise KeyError(f"{e!r}: not among the program's windows")
    if isinstance(e, Ratio):
        num = ctx.value(e.num)
        return _ratio(ctx.pool, -num if e.negate else num, ctx.value(e.den))
    if isinstance(e, Since):
        return _days_since(ctx, ctx.last_us(e.pred))
    if isinstance(e, DistinctIn):
        return _distinct(ctx, e)
    if isinstance(e, GapStd):
        return _gap_std(ctx)
    if isinstance(e, TenureDays):
        return (ctx.cut_us - ctx.joined) / US_PER_DAY
    if isinstance(e, FirstAmount):
        fp = t.first_purchase_t[ctx.rows.u]
        return np.where(fp < ctx.cut_us, t.first_purchase_amount[ctx.rows.u], np.nan)
    if isinstance(e, Stage):
        return _stage(ctx, e)
    raise TypeError(f"{e!r} is evaluated by the caller (RFM scores, attributes)")


def numeric_columns(ctx: RowContext) -> dict[str, np.ndarray]:
    """Every column but the RFM scores, user attributes and BTYD summaries (lifecycle: codes)."""
    return {name: ctx.value(e) for name, e in ctx.program.columns
            if not isinstance(e, RfmScore | UserAttr | UserAttrAsOf | BtydColumn)}


# --------------------------------------------------------------------------- RFM
def rfm_raw(ctx: RowContext, spec: RFM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recency (days since the last purchase), frequency, monetary per row."""
    since, freq, money = rfm_inputs(spec)
    return ctx.value(since), ctx.value(freq), ctx.value(money)


def rfm_scores(r: np.ndarray, f: np.ndarray, m: np.ndarray, c: np.ndarray, n_cuts: int) -> np.ndarray:
    """(n, 3) quintile scores 1..5 among purchasers (f > 0) of each cutoff; NaN for the others.

    ceil(5 * rank / n) with tied values at their lowest shared rank: recency ranks descending
    days (recent is high), F and M ascending. Ties share the bottom, not the top, so a mass of
    equal values (most buyers bought once) scores low: with ties at the top, 65 % one-time
    buyers of an orders log all scored 4 or 5 on frequency and became "champions"."""
    out = np.full((r.size, 3), np.nan)
    buyers = np.flatnonzero(f > 0)
    if buyers.size:
        cb = c[buyers]
        rows = buyers[np.argsort(cb, kind="stable")]  # the buyers group by group
        starts = np.concatenate([[0], np.cumsum(np.bincount(cb, minlength=n_cuts))]).astype(np.int64)
        grouped = np.empty((3, rows.size))
        grouped[0], grouped[1], grouped[2] = r[rows], f[rows], m[rows]
        np.negative(grouped[0], out=grouped[0])
        # numpy sorts floats several times faster than a compiled loop can (SIMD sorting)
        ranked = np.empty(grouped.shape, np.int64)
        for j in range(3):
            for lo, hi in zip(starts[:-1], starts[1:], strict=True):
                ranked[j, lo:hi] = lo + np.argsort(grouped[j, lo:hi])
        kernels.quintiles(grouped, ranked, starts, rows, out)
    return out


def rfm_segment(scores: np.ndarray) -> np.ndarray:
    """Segment codes into RFM_SEGMENTS from (recency, frequency, monetary) scores."""
    r, f, m = scores[:, 0], scores[:, 1], scores[:, 2]
    hi_r, hi_f, hi_m = r >= 3, f >= 3, m >= 3
    return np.select(
        [np.isnan(f), hi_m & hi_r & hi_f, hi_m & hi_f, hi_m & hi_r, hi_m, hi_r],
        [6, 0, 1, 2, 3, 4], default=5,
    ).astype(np.int8)


__all__ = ["LIFECYCLE_STAGES", "NEVER", "RFM_SEGMENTS", "Recycler", "UNKNOWN", "US_PER_DAY", "EventArrays", "RowContext",
           "Layout", "Rows", "Tables", "btyd_summaries", "build_tables", "layout", "cutoff_us", "numeric_columns", "population", "rfm_raw",
           "rfm_scores", "rfm_segment"]
