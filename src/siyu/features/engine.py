"""Evaluate a `FeatureProgram` on sorted event arrays (pure numpy, vectorized).

Events arrive sorted by (user, time). They are grouped into user-days once; every measure
becomes one prefix-sum array over the user-days, and every last-event time one forward-filled
array. A (user, cutoff) row then finds, per window boundary, how many of the user's days lie
before it (one binary search over the user-day keys) and every window of every measure is
`prefix[i_upto] - prefix[i_days]`: two lookups, whatever the window or the number of cutoffs.
No Python loop runs over users, events or cutoffs; the loops are over measures and columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

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
    Win,
    rfm_inputs,
)
from siyu.features.specs import RFM

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
AMOUNT_SCALE = 10_000
SEGMENTED = ("gap_n", "gap_sum", "gap_sq")  # float measures: prefix sums restart at each user
NEVER = np.iinfo(np.int64).min  # "no such event"
UNKNOWN = np.iinfo(np.int64).max  # "join time unknown": never in the population
_EPOCH = datetime(1970, 1, 1)


def cutoff_us(cutoffs: tuple[date, ...]) -> np.ndarray:
    """Cutoffs (local midnights) as microseconds since 1970-01-01 local."""
    return np.array([int((datetime.combine(c, datetime.min.time()) - _EPOCH).total_seconds()) * 1_000_000
                     for c in cutoffs], dtype=np.int64)


@dataclass(frozen=True)
class EventArrays:
    """One chunk's events, sorted by (u, t): codes as written by `compiler.events_sql`."""

    u: np.ndarray  # int64 user index local to the chunk
    t: np.ndarray  # int64 microseconds since 1970-01-01, local time
    r: np.ndarray  # role code (compiler.ROLE_CODES)
    et: np.ndarray  # event-type code: 1 + index in program.event_types, 0 any other
    ch: np.ndarray  # channel code: 1 + index in program.channels, 0 any other
    amount: np.ndarray | None = None
    session_key: np.ndarray | None = None
    keys: dict[str, np.ndarray] = field(default_factory=dict)  # distinct column -> hashed value, 0 = NULL

    def __len__(self) -> int:
        return int(self.u.size)


@dataclass
class Tables:
    """Per-chunk user-day tables every cutoff reads from."""

    span: int
    day0: int
    gkey: np.ndarray  # sorted user-day keys: u * span + (day - day0)
    prefix: dict[Measure, np.ndarray]
    last: dict[Pred, np.ndarray]  # per user-day: latest matching time up to that day (NEVER: none)
    first_t: np.ndarray  # per user: first event time (UNKNOWN: none)
    first_purchase_t: np.ndarray
    first_purchase_amount: np.ndarray
    pairs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # column -> (pair user, pair first, pair keys)


# --------------------------------------------------------------------------- tables
def _mask(program: FeatureProgram, ev: EventArrays, p: Pred, cache: dict) -> np.ndarray:
    if p in cache:
        return cache[p]
    m = np.ones(len(ev), dtype=bool)
    if p.roles is not None:
        lut = np.zeros(len(ROLE_CODES), dtype=bool)
        lut[[ROLE_CODES[r] for r in p.roles]] = True
        m &= lut[ev.r]
    if p.event_type is not None:
        m &= ev.et == program.event_types.index(p.event_type) + 1
    if p.channel is not None:
        m &= ev.ch == program.channels.index(p.channel) + 1
    if p.hours is not None:
        hour = (ev.t // US_PER_HOUR) % 24
        m &= (hour >= p.hours[0]) & (hour < p.hours[1])
    cache[p] = m
    return m


def _group_sum(values: np.ndarray, gstart: np.ndarray, dtype) -> np.ndarray:
    if gstart.size == 0:
        return np.zeros(0, dtype=dtype)
    return np.add.reduceat(values, gstart, dtype=dtype)


def _purchase_gaps(ev: EventArrays) -> tuple[np.ndarray, np.ndarray]:
    """Per event: whether it is a purchase with an earlier purchase of the same user, and the gap in days."""
    pi = np.flatnonzero(ev.r == ROLE_CODES["purchase"])
    has = np.zeros(len(ev), dtype=bool)
    gap = np.zeros(len(ev), dtype=np.float64)
    if pi.size > 1:
        same = ev.u[pi[1:]] == ev.u[pi[:-1]]
        at = pi[1:][same]
        has[at] = True
        gap[at] = (ev.t[pi[1:]] - ev.t[pi[:-1]])[same] / US_PER_DAY
    return has, gap


def _responses(ev: EventArrays, within_days: int, user_first: np.ndarray) -> np.ndarray:
    """Per event: a purchase within `within_days` after the user's latest campaign contact."""
    n = len(ev)
    contact = np.where(ev.r == ROLE_CODES["contact"], np.arange(n), -1)
    latest = np.maximum.accumulate(contact) if n else contact
    ok = (ev.r == ROLE_CODES["purchase"]) & (latest >= user_first[ev.u]) & (latest >= 0)
    lag = ev.t - ev.t[np.maximum(latest, 0)] if n else ev.t
    return ok & (lag <= within_days * US_PER_DAY)


def _sessions(ev: EventArrays, gid: np.ndarray, act: np.ndarray, n_groups: int) -> np.ndarray:
    """Distinct sessions of activity events per user-day."""
    sel = np.flatnonzero(act & (ev.session_key != 0))
    if sel.size == 0:
        return np.zeros(n_groups, dtype=np.int64)
    g, k = gid[sel], ev.session_key[sel]
    order = np.lexsort((k, g))
    g, k = g[order], k[order]
    first = np.ones(g.size, dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (k[1:] != k[:-1])
    return np.bincount(g[first], minlength=n_groups)


def _pairs(ev: EventArrays, keys: np.ndarray, act: np.ndarray, day: np.ndarray, day0: int, span: int):
    """Distinct (user, value, day) of activity events, sorted; per pair its user and first row."""
    sel = np.flatnonzero(act & (keys != 0))
    u, k, d = ev.u[sel], keys[sel], day[sel] - day0
    order = np.lexsort((d, k, u))
    u, k, d = u[order], k[order], d[order]
    keep = np.ones(u.size, dtype=bool)
    keep[1:] = (u[1:] != u[:-1]) | (k[1:] != k[:-1]) | (d[1:] != d[:-1])
    u, k, d = u[keep], k[keep], d[keep]
    new_pair = np.ones(u.size, dtype=bool)
    new_pair[1:] = (u[1:] != u[:-1]) | (k[1:] != k[:-1])
    pair = np.cumsum(new_pair) - 1
    first = np.flatnonzero(new_pair)
    return u[first], first, pair * span + d


def build_tables(program: FeatureProgram, ev: EventArrays, n_users: int) -> Tables:
    """User-day prefix sums and forward-filled last times for every measure of `program`."""
    n = len(ev)
    day = ev.t // US_PER_DAY
    day0 = int(day.min()) if n else 0
    span = int(day.max() - day0 + 2) if n else 2
    key = ev.u * span + (day - day0)
    new = np.ones(n, dtype=bool)
    new[1:] = key[1:] != key[:-1]
    gstart = np.flatnonzero(new)
    gid = np.cumsum(new) - 1
    gkey = key[gstart]
    n_groups = gstart.size
    gday = day[gstart]
    user_first = np.full(n_users + 1, n, dtype=np.int64)  # first event row of each user
    uu, fi = np.unique(ev.u, return_index=True)
    user_first[uu] = fi
    cache: dict = {}
    act = _mask(program, ev, ACTIVITY, cache)
    count_dtype = np.int32 if n < 2**31 else np.int64
    gaps, fixed = None, None
    prefix: dict[Measure, np.ndarray] = {}
    for m in program.measures:
        if m.kind == "count":
            g = _group_sum(_mask(program, ev, m.pred, cache), gstart, count_dtype)
        elif m.kind == "active":
            g = (_group_sum(_mask(program, ev, m.pred, cache), gstart, count_dtype) > 0).astype(count_dtype)
        elif m.kind == "weekday":
            isodow = (gday + 3) % 7 + 1  # 1970-01-01 was a Thursday
            g = np.where(isodow == m.arg, _group_sum(act, gstart, count_dtype), 0).astype(count_dtype)
        elif m.kind == "sessions":
            g = _sessions(ev, gid, act, n_groups).astype(count_dtype)
        elif m.kind == "response":
            g = _group_sum(_responses(ev, m.arg, user_first), gstart, count_dtype)
        elif m.kind == "amount":
            # Fixed point (1/10,000 of a currency unit): exact sums, so a user's window never
            # depends on the rounding of other users' or other cutoffs' amounts.
            fixed = fixed if fixed is not None else np.round(np.nan_to_num(ev.amount, nan=0.0) * AMOUNT_SCALE).astype(np.int64)
            g = _group_sum(np.where(_mask(program, ev, m.pred, cache), fixed, 0), gstart, np.int64)
        else:  # gap_n / gap_sum / gap_sq
            gaps = gaps or _purchase_gaps(ev)
            has, gap = gaps
            w = {"gap_n": has.astype(np.float64), "gap_sum": gap, "gap_sq": gap * gap}[m.kind]
            g = _group_sum(w, gstart, np.float64)
            # Per-user running sums (not one global one): a float sum never mixes users.
            seg = pd.Series(g).groupby(gkey // span).cumsum().to_numpy()
            prefix[m] = np.concatenate([np.zeros(1), seg])
            continue
        prefix[m] = np.concatenate([np.zeros(1, dtype=g.dtype), np.cumsum(g, dtype=g.dtype)])
    group_user_first = np.searchsorted(gkey, (gkey // span) * span)
    last = {p: _forward_last(ev.t, _mask(program, ev, p, cache), gstart, group_user_first) for p in program.lasts}
    first_t = np.full(n_users, UNKNOWN, dtype=np.int64)
    first_t[uu] = ev.t[fi]
    fp_t = np.full(n_users, UNKNOWN, dtype=np.int64)
    fp_amount = np.full(n_users, np.nan)
    pi = np.flatnonzero(ev.r == ROLE_CODES["purchase"])
    pu, pf = np.unique(ev.u[pi], return_index=True)
    fp_t[pu] = ev.t[pi[pf]]
    if ev.amount is not None:
        fp_amount[pu] = ev.amount[pi[pf]]
    pairs = {c: _pairs(ev, ev.keys[c], act, day, day0, span) for c in program.distinct_columns}
    return Tables(span=span, day0=day0, gkey=gkey, prefix=prefix, last=last, first_t=first_t,
                  first_purchase_t=fp_t, first_purchase_amount=fp_amount, pairs=pairs)


def _forward_last(t: np.ndarray, mask: np.ndarray, gstart: np.ndarray, group_user_first: np.ndarray) -> np.ndarray:
    """Per user-day: the latest matching time on that day or before (same user), NEVER if none."""
    if gstart.size == 0:
        return np.zeros(0, dtype=np.int64)
    day_last = np.maximum.reduceat(np.where(mask, t, NEVER), gstart)
    idx = np.maximum.accumulate(np.where(day_last != NEVER, np.arange(gstart.size), -1))
    ok = idx >= group_user_first
    return np.where(ok, day_last[np.maximum(idx, 0)], NEVER)


# --------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Rows:
    """(user, cutoff) rows of one chunk, sorted by cutoff then user."""

    u: np.ndarray
    c: np.ndarray

    def __len__(self) -> int:
        return int(self.u.size)

    def slice(self, lo: int, hi: int) -> Rows:
        return Rows(self.u[lo:hi], self.c[lo:hi])


def population(joined_us: np.ndarray, cuts_us: np.ndarray) -> Rows:
    """Every user joined strictly before each cutoff."""
    c, u = np.nonzero(joined_us[None, :] < cuts_us[:, None])
    return Rows(u.astype(np.int64), c.astype(np.int64))


class RowContext:
    """Window positions of a batch of rows, computed once per boundary and shared by columns."""

    def __init__(self, program: FeatureProgram, tables: Tables, rows: Rows, cuts_us: np.ndarray,
                 joined_us: np.ndarray) -> None:
        self.program, self.tables, self.rows = program, tables, rows
        self.cut_us = cuts_us[rows.c]
        self.cut_day = self.cut_us // US_PER_DAY
        self.joined = joined_us[rows.u]
        self._pos: dict[int | None, np.ndarray] = {}
        self._memo: dict[Expr, np.ndarray] = {}

    def pos(self, days: int | None) -> np.ndarray:
        """Per row: the number of user-days (global position) before cutoff - days (all: None)."""
        if days not in self._pos:
            t = self.tables
            base = self.rows.u * t.span
            if days is None:
                needle = base
            else:
                needle = base + np.clip(self.cut_day - days - t.day0, 0, t.span - 1)
            self._pos[days] = np.searchsorted(t.gkey, needle)
        return self._pos[days]

    def value(self, e: Expr) -> np.ndarray:
        if e not in self._memo:
            self._memo[e] = _evaluate(self, e)
        return self._memo[e]


def _window(ctx: RowContext, w: Win) -> np.ndarray:
    p = ctx.tables.prefix[w.measure]
    hi, lo = ctx.pos(w.upto), ctx.pos(w.days)
    if w.measure.kind in SEGMENTED:
        start = ctx.pos(None)
        return np.where(hi > start, p[hi], 0.0) - np.where(lo > start, p[lo], 0.0)
    out = (p[hi] - p[lo]).astype(np.float64)
    return out / AMOUNT_SCALE if w.measure.kind == "amount" else out


def _since_us(ctx: RowContext, s: Since) -> np.ndarray:
    """Latest matching time before the cutoff (NEVER: none)."""
    hi = ctx.pos(0)
    has = hi > ctx.pos(None)
    last = ctx.tables.last[s.pred]
    return np.where(has, last[np.maximum(hi - 1, 0)] if last.size else NEVER, NEVER)


def _days_since(ctx: RowContext, t_us: np.ndarray) -> np.ndarray:
    return np.where(t_us == NEVER, np.nan, (ctx.cut_us - t_us) / US_PER_DAY)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def _distinct(ctx: RowContext, d: DistinctIn) -> np.ndarray:
    """Per row: pairs (user, value) whose latest day before the cutoff lies inside the window."""
    pair_user, pair_first, pkey = ctx.tables.pairs[d.column]
    if pair_user.size == 0:
        return np.zeros(len(ctx.rows))
    t, rows = ctx.tables, ctx.rows
    # Every pair of every row's user: rows are few per user, pairs few per user.
    starts = np.searchsorted(pair_user, rows.u)
    ends = np.searchsorted(pair_user, rows.u, side="right")
    n = ends - starts
    row_of = np.repeat(np.arange(len(rows)), n)
    pair = np.repeat(starts - np.cumsum(n) + n, n) + np.arange(n.sum())
    cut_off = np.clip(ctx.cut_day[row_of] - t.day0, 0, t.span - 1)
    at = np.searchsorted(pkey, pair * t.span + cut_off) - 1
    inside = at >= pair_first[pair]
    last_day = pkey[np.maximum(at, 0)] - pair * t.span + t.day0
    hit = inside & (last_day >= ctx.cut_day[row_of] - d.days)
    return np.bincount(row_of, weights=hit, minlength=len(rows)).astype(np.float64)


def _gap_std(ctx: RowContext) -> np.ndarray:
    n, s, q = (ctx.value(Win(Measure(k), None)) for k in ("gap_n", "gap_sum", "gap_sq"))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(q - s * s / np.where(n > 0, n, 1), 0) / np.where(n >= 2, n - 1, 1)
    return np.where(n >= 2, np.sqrt(var), np.nan)


def _stage(ctx: RowContext, e: Stage) -> np.ndarray:
    """Lifecycle stage codes into LIFECYCLE_STAGES."""
    last = _since_us(ctx, Since(ACTIVITY))
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
        return _window(ctx, e)
    if isinstance(e, Ratio):
        num = ctx.value(e.num)
        return _ratio(-num if e.negate else num, ctx.value(e.den))
    if isinstance(e, Since):
        return _days_since(ctx, _since_us(ctx, e))
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
    """Every column but the RFM scores and user attributes (lifecycle: codes)."""
    return {name: ctx.value(e) for name, e in ctx.program.columns if not isinstance(e, RfmScore | UserAttr)}


# --------------------------------------------------------------------------- RFM
def rfm_raw(ctx: RowContext, spec: RFM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recency (days since the last purchase), frequency, monetary per row."""
    since, freq, money = rfm_inputs(spec)
    return ctx.value(since), ctx.value(freq), ctx.value(money)


def _cume_rank(values: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per element: how many of its group have a value <= its own (ties share the top), and
    the group's size: cume_dist as an exact fraction."""
    order = np.lexsort((values, group))
    v, g = values[order], group[order]
    size = np.bincount(g, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    # End of each element's tie run: the next position whose (group, value) differs.
    brk = np.ones(v.size, dtype=bool)
    brk[:-1] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    run_end = np.flip(np.minimum.accumulate(np.flip(np.where(brk, np.arange(v.size), v.size))))
    k = np.empty(v.size, dtype=np.int64)
    k[order] = run_end + 1 - start[g]
    return k, size[group]


def rfm_scores(r: np.ndarray, f: np.ndarray, m: np.ndarray, c: np.ndarray, n_cuts: int) -> np.ndarray:
    """(n, 3) quintile scores 1..5 among purchasers (f > 0) of each cutoff; NaN for the others.

    ceil(5 * cume_dist): recency ranks descending days (recent is high), F and M ascending."""
    out = np.full((r.size, 3), np.nan)
    buyers = np.flatnonzero(f > 0)
    if buyers.size:
        cb = c[buyers]
        for j, v in enumerate((-r[buyers], f[buyers], m[buyers])):
            k, n = _cume_rank(v, cb, n_cuts)
            out[buyers, j] = (5 * k + n - 1) // n  # ceil(5 k / n) in integers
    return out


def rfm_segment(scores: np.ndarray) -> np.ndarray:
    """Segment codes into RFM_SEGMENTS from (recency, frequency, monetary) scores."""
    r, f, m = scores[:, 0], scores[:, 1], scores[:, 2]
    hi_r, hi_f, hi_m = r >= 3, f >= 3, m >= 3
    return np.select(
        [np.isnan(f), hi_m & hi_r & hi_f, hi_m & hi_f, hi_m & hi_r, hi_m, hi_r],
        [6, 0, 1, 2, 3, 4], default=5,
    ).astype(np.int8)


__all__ = ["LIFECYCLE_STAGES", "NEVER", "RFM_SEGMENTS", "UNKNOWN", "US_PER_DAY", "EventArrays", "RowContext",
           "Rows", "Tables", "build_tables", "cutoff_us", "numeric_columns", "population", "rfm_raw",
           "rfm_scores", "rfm_segment"]
