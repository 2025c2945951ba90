"""Shared pytest setup. Package-specific fixtures live in tests/<package>/conftest.py."""

import os

import pytest

# Plots are written to files; no screen here or in CI.
os.environ.setdefault("MPLBACKEND", "Agg")


def _spark_session():
    """ONE local Spark session for the whole test run (a cold start costs ~10-60 s)."""
    try:
        from siyu.io.spark import SparkUnavailable, spark_session
    except ImportError as exc:  # pragma: no cover - siyu itself broken
        pytest.skip(f"siyu.io.spark: {exc}")
    try:
        return spark_session("local[2]", {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
        }, app_name="siyu-tests")
    except SparkUnavailable as exc:
        pytest.skip(f"Spark tests: {exc}")


@pytest.fixture(scope="session")
def spark():
    """The shared Spark session (tests marked `spark`); skipped with a reason without Java."""
    session = _spark_session()
    yield session
    session.stop()
