"""Spark sessions and the clean EventLog as Spark DataFrames (install the `spark` extra).

The engine in `siyu.engines.spark` reads naive local time stamps, so every session made here
runs in UTC (Spark then counts microseconds exactly as DuckDB's `epoch_us` does).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from siyu.features import FeatureSet

if TYPE_CHECKING:  # pyspark is the optional `spark` extra: imported where a session is made
    from pyspark.sql import DataFrame, SparkSession

REQUIRED = {"spark.sql.session.timeZone": "UTC"}
DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # A feature set aggregates ~150 columns at once: past Spark's default of 100 fields it drops
    # whole-stage code generation, and the JVM does not JIT the large generated methods unless
    # told to (together about 2x on the benchmark).
    "spark.sql.codegen.maxFields": "1000",
    "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods",
    "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods",
}


class SparkUnavailable(RuntimeError):
    """No pyspark or no Java runtime for Spark, with what to install."""


def java_available() -> bool:
    """Whether a `java` Spark can launch is on PATH (or under JAVA_HOME)."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or (home is not None and (Path(home) / "bin" / "java").exists())


def spark_session(master: str = "local[2]", settings: Mapping[str, str] | None = None,
                  app_name: str = "siyu") -> SparkSession:
    """A Spark session on `master` with `settings` (any `spark.*` keys) on top of siyu's
    defaults; the time zone is always UTC (see the module docstring)."""
    given = dict(settings or {})
    clash = {k: v for k, v in given.items() if k in REQUIRED and v != REQUIRED[k]}
    if clash:
        raise ValueError(f"spark settings: {clash} cannot be changed; siyu needs {REQUIRED}")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable(f"the Spark engine needs pyspark: pip install 'siyu[spark]' ({exc})") from exc
    if not java_available():
        raise SparkUnavailable("Spark needs Java 17 or later: install it (Debian: apt-get install "
                               "openjdk-17-jre-headless) or set JAVA_HOME")
    if master.startswith("local"):
        # Python UDFs (the champions' `spark_udf`) run in worker processes PySpark starts as
        # `python3` from PATH, which need not be this interpreter (a virtualenv not activated):
        # on a local master the workers are this machine, so they run this very interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**DEFAULTS, **given, **REQUIRED}.items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


def read_events(spark: SparkSession, path: str | Path) -> DataFrame:
    """The clean events: a Parquet file or folder, local or any Hadoop-compatible path, or the
    clean events folder as `siyu validate` left it (a view over the source included)."""
    from siyu.io.cleanlog import is_view, spark_events

    if is_view(Path(path)):
        return spark_events(spark, Path(path))
    return spark.read.parquet(str(path))


def read_users(spark: SparkSession, path: str | Path | None) -> DataFrame | None:
    """The clean users table (None: no users table)."""
    return None if path is None else spark.read.parquet(str(path))


@contextlib.contextmanager
def told_tasks(spark: SparkSession, on_tasks: Callable[[int, int], None] | None, *,
               every: float = 1.0) -> Iterator[None]:
    """While the body runs, tell `on_tasks(done, total)` every `every` seconds: the tasks done of
    the Spark stages running then (Spark counts tasks, not rows or users), when they changed.
    Read from Spark's status tracker on a thread of its own; nothing is told without a stage."""
    if on_tasks is None:
        yield
        return
    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()

    def poll() -> None:
        last = None
        while not stop.wait(every):
            try:
                stages = [i for i in map(tracker.getStageInfo, tracker.getActiveStageIds()) if i is not None]
            except Exception:  # noqa: BLE001 - progress only: a session going away ends the telling, not the build
                return
            now = (sum(i.numCompletedTasks for i in stages), sum(i.numTasks for i in stages))
            if stages and now != last:
                on_tasks(*now)
                last = now

    watcher = threading.Thread(target=poll, name="siyu-spark-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def write_spark_features(spark: SparkSession, specs: FeatureSet, events: str | Path, users: str | Path | None,
                         cutoffs: Sequence[date | datetime | str], out: str | Path, *,
                         history: str | Path | None = None) -> None:
    """Compute features on Spark and write them to the folder `out` (Parquet part files, each
    sorted by cutoff then user; the schema of `siyu.features.write_features`). Not a global
    sort: its sampling pass would run the whole build twice."""
    from siyu.engines.spark import feature_frame

    frame = feature_frame(specs, read_events(spark, events), read_users(spark, users), cutoffs,
                          history=None if history is None else spark.read.parquet(str(history)))
    frame.sortWithinPartitions("cutoff", "user_id").write.mode("overwrite").parquet(str(out))
