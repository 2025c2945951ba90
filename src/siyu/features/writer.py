"""Stream feature batches into one Parquet file, encoding on a second thread while the engine
computes the next batch.

Why a thread: pyarrow encodes a batch's ~150 float columns on one core, for about as long as
the engine takes to compute them (10M events x 12 cutoffs: ~10 s of writing alone against
13-24 s of compute, host-dependent; `benchmarks/bench_features.py`), and it releases the GIL
while it does. Much of the engine's time is single-threaded numpy, pandas and Arrow work that
leaves the second core idle, so encoding batch k while batch k + 1 is computed hides most of
the writing. The queue holds one batch: memory grows by at most one batch (~300 MB at the
default batch size), and an error on either side stops both.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_DONE = object()


def _drain(batches: queue.Queue, writer: pq.ParquetWriter, failure: list[BaseException]) -> None:
    """Write every queued batch until _DONE; after a failure keep taking batches (unwritten) so
    the producer never blocks on a full queue."""
    while (batch := batches.get()) is not _DONE:
        if failure:
            continue
        try:
            writer.write_batch(batch)
        except BaseException as e:  # noqa: BLE001 - handed to the producer's thread, raised there
            failure.append(e)


def parquet_writer(path: str | Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The Parquet writer of a features file.

    Dictionary-encode only the text columns: on float features it costs more than it saves.
    Statistics only on the keys a reader filters on: min / max of ~150 float columns per row
    group cost ~5 % of the writing and no reader uses them. Snappy: with LZ4, Parquet's v2
    data pages or both, writing took the same time (+/- 5 %); zstd level 1 halved the file and
    took 1.6x as long. Also measured on the full family set's rows, and not worth their cost:
    float32 for the integral columns (110 of 153) wrote 5 % faster, and the never-null columns
    declared required wrote no faster."""
    strings = [f.name for f in schema if pa.types.is_string(f.type)]
    keys = [f.name for f in schema if f.name in ("user_id", "cutoff")]
    return pq.ParquetWriter(str(path), schema, use_dictionary=strings, compression="snappy", write_statistics=keys)


def write_batches(reader: pa.RecordBatchReader, path: str | Path) -> int:
    """Write every batch of `reader` into the Parquet file `path`; returns the number of rows."""
    failure: list[BaseException] = []
    batches: queue.Queue = queue.Queue(maxsize=1)
    n = 0
    with parquet_writer(path, reader.schema) as writer:
        worker = threading.Thread(target=_drain, args=(batches, writer, failure), name="siyu-parquet", daemon=True)
        worker.start()
        try:
            for batch in reader:
                if failure:
                    break
                batches.put(batch)
                n += batch.num_rows
        finally:
            batches.put(_DONE)
            worker.join()
        if failure:
            raise failure[0]
    return n
