"""Spark reads a clean-events view (the Parquet source minus the rejected rows) as DuckDB does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.contract.contract_world import AS_OF, MIXED_ROWS, world_config, write_events

from siyu.io.cleanlog import is_view, read_events_frame
from siyu.io.spark import read_events
from siyu.jobs.validate import validate_dataset

pytestmark = pytest.mark.spark


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order, missing values as None (all-NULL columns come back typed differently)."""
    frame = frame.sort_values(["event_id", "ts"]).reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def test_spark_reads_the_view_s_rows_across_files(spark, tmp_path: Path) -> None:
    cfg = world_config(tmp_path, MIXED_ROWS[:6], max_reject_rate=1.0)
    write_events(tmp_path / "world" / "events" / "part-1.parquet", MIXED_ROWS[6:])  # rejects in both files
    result = validate_dataset(cfg, as_of=AS_OF)
    assert is_view(result.clean_events) and result.report.events.rows_rejected == 5
    duck = read_events_frame(result.clean_events)
    got = read_events(spark, result.clean_events).toPandas()
    assert list(got.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(duck), check_dtype=False)
