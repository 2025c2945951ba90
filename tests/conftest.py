"""Shared pytest setup. Package-specific fixtures live in tests/<package>/conftest.py."""

import os

import pytest

# Plots are written to files; no screen here or in CI.
os.environ.setdefault("MPLBACKEND", "Agg")


def _spark_session():
    """ONE local Spark session for the whole test run (a cold start costs ~10-60 s)."""
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark tests need Java 17+ (apt-get install openjdk-17-jre-headless); none found")
    try:
        from siyu.io.spark import spark_session
    except ImportError as exc:
        pytest.skip(f"Spark tests need the spark extra (pip install -e '.[spark]'): {exc}")
    return spark_session("local[2]", {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
    }, app_name="siyu-tests")


@pytest.fixture(scope="session")
def spark():
    """The shared Spark session (tests marked `spark`); skipped with a reason without Java."""
    session = _spark_session()
    yield session
    session.stop()
