"""Shared pytest setup. Package-specific fixtures live in tests/<package>/conftest.py."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`make test` runs the suite in two processes (pytest-xdist `-n 2`), each taking whole folders
    of tests/: a folder's session fixtures (a trained world) are then built once, not once per
    process, and its modules run in their order. Every `test_spark_*` module goes to one process,
    wherever it sits, so one Spark session serves them all. (xdist's own `loadgroup` marks do not
    reach its scheduler under pytest 9.2, which keeps a node's id elsewhere.) Any `--dist` other
    than the default `load` is xdist's own."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFolder(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            parts = nodeid.split("::")[0].split("/")  # tests/<folder>/test_x.py
            if parts[-1].startswith("test_spark_"):
                return "spark"
            return parts[1] if len(parts) > 2 else "tests"

    return ByFolder(config, log)


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


# ---------------------------------------------------------------- PostgreSQL (tag store tests)
SKIP_REASON = "PostgreSQL server binaries not found (apt-get install postgresql)"


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root: run the server as the postgres user when we are root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this test session: its base URL (trust auth)."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    base = Path(tempfile.mkdtemp(prefix="siyu-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    try:
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                     "--no-sync", "-E", "UTF8"]), **run)
        opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB")
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                                     "-l", str(base / "server.log"), "-w", "start"]), **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL from {bindir}: {exc.stderr or exc.stdout}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def _fresh_database(server: str) -> Iterator[str]:
    import psycopg

    name = f"siyu_{uuid.uuid4().hex[:10]}"
    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, dropped afterwards."""
    with _fresh_database(postgres_server) as url:
        yield url
