"""The Parquet sink: every batch written in order while the next is computed, and an error on
either side (the engine or the disk) stops both and reaches the caller."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from siyu.features.writer import write_batches

SCHEMA = pa.schema([pa.field("user_id", pa.string()), pa.field("x", pa.float64())])


def _batch(k: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([f"u{k}", f"v{k}"]), pa.array([float(k), None])], schema=SCHEMA)


def test_every_batch_lands_in_order(tmp_path):
    path = tmp_path / "f.parquet"
    n = write_batches(pa.RecordBatchReader.from_batches(SCHEMA, (_batch(k) for k in range(5))), path)
    table = pq.read_table(path)
    assert n == 10 and table.schema == SCHEMA
    assert table.column("user_id").to_pylist() == [u for k in range(5) for u in (f"u{k}", f"v{k}")]
    assert table.column("x").to_pylist() == [v for k in range(5) for v in (float(k), None)]


def test_an_engine_error_reaches_the_caller(tmp_path):
    def batches():
        yield _batch(0)
        raise MemoryError("engine stopped")

    with pytest.raises(MemoryError, match="engine stopped"):
        write_batches(pa.RecordBatchReader.from_batches(SCHEMA, batches()), tmp_path / "f.parquet")


def test_a_writing_error_stops_the_engine_and_reaches_the_caller(tmp_path, monkeypatch):
    produced = []

    def batches():
        for k in range(100):
            produced.append(k)
            yield _batch(k)

    def full_disk(self, batch):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_batches(pa.RecordBatchReader.from_batches(SCHEMA, batches()), tmp_path / "f.parquet")
    assert len(produced) < 100  # the engine stopped within a batch or two of the failure
