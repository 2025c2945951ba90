"""A fault at the edges ends in one or two readable lines (secrets masked), the traceback behind --debug."""

from __future__ import annotations

import errno
import subprocess
import sys

import yaml

from siyu.cli.faults import describe_fault

SECRET = "pw-s3cret"


def test_each_fault_class_says_what_failed_what_is_safe_and_what_to_do():
    full = describe_fault(OSError(errno.ENOSPC, "No space left on device", "work/clean/events/part-0.parquet"))
    assert full.startswith("disk full writing work/clean/events/part-0.parquet") and "intact" in full
    ro = describe_fault(OSError(errno.EROFS, "Read-only file system", "work/tags.duckdb"))
    assert "cannot write work/tags.duckdb" in ro and "writable" in ro
    from mlflow.exceptions import MlflowException

    assert describe_fault(MlflowException("No such artifact: ''")).startswith("MLflow: No such artifact")
    from sqlalchemy.exc import OperationalError

    db = describe_fault(OperationalError(f"connect postgresql://siyu:{SECRET}@h/db", {}, Exception("refused")))
    assert db.startswith("tag store database:") and SECRET not in db
    assert all(len(m.splitlines()) <= 2 for m in (full, ro, db))


def test_duckdb_io_errors_are_read_for_the_os_error_inside_them():
    import duckdb

    # DuckDB's exceptions carry no errno and live in the `_duckdb` module: the OS's error is in the text.
    full = describe_fault(duckdb.IOException(
        'IO Error: Async write failed: {"exception_message":"Could not write file \\"work/clean/.events.tmp/'
        'data_0.parquet\\": No space left on device","errno":"28"}'))
    assert full.startswith("disk full writing work/clean/.events.tmp/data_0.parquet") and "intact" in full
    ro = describe_fault(duckdb.IOException('IO Error: Cannot open file "/ro/work/x.parquet": Read-only file system'))
    assert ro.startswith("cannot write /ro/work/x.parquet") and "writable" in ro
    lock = describe_fault(duckdb.IOException('IO Error: Could not set lock on file "w/tags.duckdb": Conflicting lock'))
    assert "Another siyu command holds the file" in lock


def test_an_unreachable_tag_store_is_one_line_not_a_traceback(tmp_path):
    config = {"dataset": {"name": "d", "events": {"path": "e.csv"}, "roles": {"purchase": ["p"]}},
              "paths": {"work": str(tmp_path / "work")},
              "scoring": {"tag_store_url": f"postgresql+psycopg://siyu:{SECRET}@127.0.0.1:9/tags"}}
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "siyu.cli.main", "tags", "runs", "--config", str(path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and SECRET not in run.stderr + run.stdout
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("tag store database:") and len(lines) <= 3, run.stderr
    debug = subprocess.run([sys.executable, "-m", "siyu.cli.main", "tags", "runs", "--config", str(path), "--debug"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "Traceback" in debug.stderr
