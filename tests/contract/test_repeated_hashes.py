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


def _found(limit: str) -> np.ndarray:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    con.register("v", pa.table({"h": _values()}))
    before = memory_limit_bytes(con)
    found = _repeated_hashes(con, "SELECT h FROM v")
    assert memory_limit_bytes(con) == before // 2**20 * 2**20  # DuckDB's share given back
    return found


def test_repeated_values_found_exactly_in_memory_and_by_duckdb(monkeypatch):
    sorted_by_duckdb = []
    monkeypatch.setattr(engine, "_repeated_sorted",
                        lambda con, sql: sorted_by_duckdb.append(sql) or _repeated_sorted(con, sql))
    values = _values()
    uniq, counts = np.unique(values, return_counts=True)
    expected = uniq[counts > 1]
    assert len(expected) == 432
    in_memory = _found("1GB")  # 8 MB of values: well inside half of 1 GB
    assert sorted_by_duckdb == []
    by_duckdb = _found("12MB")  # more than half of 12 MB: DuckDB sorts them
    assert len(sorted_by_duckdb) == 1
    np.testing.assert_array_equal(in_memory, expected)
    np.testing.assert_array_equal(by_duckdb, expected)


def test_no_values_and_no_repeats():
    con = duckdb.connect()
    assert len(_repeated_hashes(con, "SELECT CAST(range AS UBIGINT) FROM range(0)")) == 0
    assert len(_repeated_hashes(con, "SELECT CAST(range AS UBIGINT) * 7919 FROM range(100000)")) == 0
