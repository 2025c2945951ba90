"""The engine's row reading: any order of rows gives the same values, events in any order are
sorted by (user, time), and the recycled column memory is never handed out while anything can
still read it."""

from __future__ import annotations

import gc
from datetime import date

import numpy as np
import pyarrow as pa

from siyu.features import ActiveDays, FeatureSet, InterPurchase, Recency, Window, compile_features
from siyu.features.compiler import ROLE_CODES
from siyu.features.engine import (
    US_PER_DAY,
    EventArrays,
    Recycler,
    RowContext,
    Rows,
    build_tables,
    cutoff_us,
    numeric_columns,
)
from siyu.features.kernels import pairs, user_time_order

CUTS = (date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17), date(2025, 4, 1))
SPECS = FeatureSet((Window(7, role="activity"), Window(30, role="purchase"), Window(30, agg="sum", role="spend"),
                    ActiveDays(7), Recency(), Recency(role="purchase"), InterPurchase("mean")))


def _events(rng: np.random.Generator, n_users: int) -> EventArrays:
    """Random purchases, refunds and interactions of `n_users` users, sorted by (user, time)."""
    n = 400
    u = np.sort(rng.integers(0, n_users, n)).astype(np.int32)
    start = cutoff_us((date(2025, 1, 1),))[0]
    t = start + rng.integers(0, 95 * US_PER_DAY // 1_000_000, n) * 1_000_000
    order = np.lexsort((t, u))
    roles = np.array([ROLE_CODES["purchase"], ROLE_CODES["refund"], ROLE_CODES["interaction"]], dtype=np.int8)
    r = rng.choice(roles, n)
    amount = np.where(r == ROLE_CODES["interaction"], np.nan, np.round(rng.uniform(-50, 200, n), 2))
    return EventArrays(u=u[order], t=t[order], r=r[order], et=np.zeros(n, np.int16), ch=np.zeros(n, np.int16),
                       amount=amount[order])


def _columns(rows: Rows, seed: int = 0) -> dict[str, np.ndarray]:
    program = compile_features(SPECS, CUTS)
    ev = _events(np.random.default_rng(seed), 12)
    tables = build_tables(program, ev, 12)
    ctx = RowContext(program, tables, rows, cutoff_us(CUTS), np.full(12, np.iinfo(np.int64).min))
    return numeric_columns(ctx)


def test_rows_in_any_order_read_the_same_windows():
    c, u = np.meshgrid(np.arange(len(CUTS)), np.arange(12), indexing="ij")
    rows = Rows(u.ravel().astype(np.int64), c.ravel().astype(np.int64))  # by cutoff, then user
    shuffled = np.random.default_rng(1).permutation(len(rows))  # a user's cutoffs out of order
    by_order = _columns(rows)
    by_shuffle = _columns(Rows(rows.u[shuffled], rows.c[shuffled]))
    assert by_order["activity_count_7d"].sum() > 0 and np.isfinite(by_order["days_since_last_purchase"]).any()
    for name, values in by_order.items():
        np.testing.assert_array_equal(by_shuffle[name], values[shuffled], err_msg=name)


def test_events_in_any_order_are_put_in_user_then_time_order():
    """A counting sort by user, then time within a user: users in time order already (the
    usual log) and users whose events come shuffled, users with no events, ties in time."""
    rng = np.random.default_rng(3)
    n_users = 50
    u = rng.integers(0, n_users - 5, 2_000).astype(np.int32)  # the last 5 users have no events
    t = rng.integers(0, 40, u.size).astype(np.int64) * 1_000_000  # many simultaneous events
    in_time = rng.random(n_users) < 0.5
    t[in_time[u]] = np.sort(t[in_time[u]])  # half the users arrive in time order
    order = user_time_order(u, t, n_users)
    assert np.array_equal(np.sort(order), np.arange(u.size))  # a permutation
    expected = np.lexsort((t, u))
    np.testing.assert_array_equal(u[order], u[expected])
    np.testing.assert_array_equal(t[order], t[expected])


def test_distinct_pairs_are_each_users_values_and_days_sorted_and_unique():
    """Users with a few events (sorted in place) and with hundreds (sorted by numpy), repeated
    (value, day) pairs, values 0 (no value) and events that are no activity left out."""
    rng = np.random.default_rng(4)
    counts = np.array([0, 3, 40, 300, 1, 70])
    ustart = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    day = np.concatenate([np.sort(rng.integers(0, 30, n)) for n in counts]).astype(np.int64)
    key = rng.integers(0, 6, ustart[-1]).astype(np.uint32)
    act = rng.random(ustart[-1]) < 0.8
    start, keys, days = pairs(ustart, day, key, act)
    for u in range(counts.size):
        lo, hi = ustart[u], ustart[u + 1]
        keep = act[lo:hi] & (key[lo:hi] != 0)
        expected = sorted(set(zip(key[lo:hi][keep].tolist(), day[lo:hi][keep].tolist(), strict=True)))
        got = list(zip(keys[start[u]:start[u + 1]].tolist(), days[start[u]:start[u + 1]].tolist(), strict=True))
        assert got == expected, u


def test_recycler_reuses_memory_only_once_nothing_refers_to_it():
    pool = Recycler()
    a = pool.array((3, 1000))
    a[:] = 1.0
    view = a[1]
    del a
    b = pool.array((3, 1000))
    assert not np.shares_memory(b, view)  # a view kept the first buffer
    del view
    gc.collect()
    c = pool.array((3, 1000), fill=0.0)
    assert not np.shares_memory(c, b)
    assert (c == 0.0).all()
    held = pa.Array.from_buffers(pa.float64(), 1000, [None, pa.py_buffer(c[0])])  # as the batches hold columns
    del c
    d = pool.array((3, 1000))
    assert not np.shares_memory(d, np.asarray(held))
    del held, d
    gc.collect()
    assert len({pool.array((3, 1000)).ctypes.data for _ in range(3)}) == 1  # freed each time: one buffer


def test_release_forgets_free_buffers_and_keeps_used_ones():
    pool = Recycler()
    used = pool.array((2, 500))
    pool.array((2, 500))  # dropped at once: free
    assert len(pool._buffers) == 2
    pool.release()
    assert len(pool._buffers) == 1
    assert not np.shares_memory(pool.array((2, 500)), used)  # the used one is still not handed out
