"""Duplicate candidates (`siyu.contract.engine._repeated_hashes`): held in memory and sorted on
two threads while they fit half of DuckDB's memory_limit, sorted by DuckDB past that; both give
exactly the values seen more than once."""

import duckdb
import numpy as np
import pyarrow as pa

from siyu.contract import engine
from siyu.contract.engine import _repeated_hashes, _repeated_sorted
from siyu.io.duck import memory_limit_bytes


def _values() -> np.ndarray:
    """1M values spread over the whole UBIGINT range (both halves), with repeats twice and
    thrice, far apart in the stream, so they straddle DuckDB's batches."""
    rng = np.random.default_rng(5)
    unique = np.unique(np.frombuffer(rng.bytes(8 * 1_000_000), dtype=np.uint64))
    twice, thrice = unique[:400], unique[400:430]
    values = np.concatenate([unique, twice, thrice, thrice, np.array([0, 0, 2**64 - 1, 2**64 - 1], dtype=np.uint64)])
    return rng.permutation(values)


def _connection(values: np.ndarray, limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    con.register("v", pa.table({"h": values}))
    return con


def _expected(values: np.ndarray) -> np.ndarray:
    uniq, counts = np.unique(values, return_counts=True)
    return uniq[counts > 1]


def test_values_within_half_the_memory_limit_are_sorted_in_memory(monkeypatch):
    handed_over = []
    monkeypatch.setattr(engine, "_repeated_sorted", lambda con, sql: handed_over.append(sql))
    values = _values()
    expected = _expected(values)
    assert len(expected) == 432
    con = _connection(values, "1GB")  # 8 MB of values: well inside half of 1 GB
    before = memory_limit_bytes(con)
    found = _repeated_hashes(con, "SELECT h FROM v")
    assert handed_over == []
    assert memory_limit_bytes(con) == before // 2**20 * 2**20  # DuckDB's share given back
    np.testing.assert_array_equal(found, expected)


def test_values_past_half_the_memory_limit_are_handed_to_duckdb(monkeypatch):
    # The hand-over is decided under a 12 MB limit; DuckDB's sort itself runs below on a
    # roomier one, since a sort squeezed into 12 MB may fail to pin a block (seen in CI).
    handed_over = []
    monkeypatch.setattr(engine, "_repeated_sorted",
                        lambda con, sql: handed_over.append((sql, memory_limit_bytes(con))) or np.empty(0))
    con = _connection(_values(), "12MB")  # 8 MB of values: more than half of 12 MB
    before = memory_limit_bytes(con)
    _repeated_hashes(con, "SELECT h FROM v")
    assert handed_over == [("SELECT h FROM v", before // 2**20 * 2**20)]  # DuckDB's whole limit given back first


def test_duckdb_sort_finds_repeats_across_its_batches():
    values = _values()
    found = _repeated_sorted(_connection(values, "256MB"), "SELECT h FROM v")
    np.testing.assert_array_equal(found, _expected(values))


def test_no_values_and_no_repeats():
    con = duckdb.connect()
    assert len(_repeated_hashes(con, "SELECT CAST(range AS UBIGINT) FROM range(0)")) == 0
    assert len(_repeated_hashes(con, "SELECT CAST(range AS UBIGINT) * 7919 FROM range(100000)")) == 0
