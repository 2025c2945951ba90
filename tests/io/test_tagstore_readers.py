"""Readers of the tag store are never blocked by a publish and never write (issue 18, item 7).

Real DuckDB files and real processes: DuckDB's file lock is per process, so threads would prove
nothing. A read-only directory is made binding for root too by reading as `nobody`."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml
from tagstore_runs import publish, run_table

from siyu.io.tagsnapshot import snapshot_dir
from siyu.io.tagstore import TagStoreError, open_tag_store

AS_OF = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 1, 0, 0)
SRC = str(Path(__file__).resolve().parents[2] / "src")
_CHILD_ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

HERE = str(Path(__file__).resolve().parent)
PRELUDE = f"import sys; sys.path.insert(0, {HERE!r})\n"
WRITER = PRELUDE + textwrap.dedent("""
    import datetime as dt
    from tagstore_runs import publish
    from pathlib import Path
    from siyu.io.tagstore import open_tag_store

    url, runs, done = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    store = open_tag_store(url)
    t0 = dt.datetime(2026, 3, 3)
    for i in range(runs):
        at = t0 + dt.timedelta(hours=i)
        run_id = f"r{i:02d}-n{20_000 + i}"
        publish(store, run_id, 20_000 + i, dt.date(2026, 3, 3) + dt.timedelta(days=i), at)
        if i % 4 == 3:  # now and then, take the run back: readers then see the one before, whole
            store.rollback(run_id, at + dt.timedelta(minutes=1))
    store.close()
    done.write_text("done")
""")

READER = PRELUDE + textwrap.dedent("""
    import json
    from tagstore_runs import users_of
    from pathlib import Path
    from siyu.io.tagstore import open_tag_store

    url, done = sys.argv[1], Path(sys.argv[2])
    out = {"reads": 0, "failures": [], "mixed": [], "runs_seen": []}
    while not done.exists():
        try:
            store = open_tag_store(url, read_only=True)
            view = store.read_current_view()
            current = store.current_run()
            wide = store.read_wide(current.run_id, ["churn_risk"]) if current else None
            store.runs()
            store.close()
        except Exception as exc:
            out["failures"].append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        out["reads"] += 1
        ids = set(view["run_id"])
        if len(ids) != 1:
            out["mixed"].append(sorted(ids)[:5])
            continue
        (run_id,) = ids
        whole = len(view) == 2 * users_of(run_id) and set(view["value"]) == {run_id}
        whole = whole and (wide is None or len(wide) == users_of(current.run_id))
        if not whole:
            out["mixed"].append([run_id, len(view)])
        if run_id not in out["runs_seen"]:
            out["runs_seen"].append(run_id)
    print(json.dumps(out))
""")


def test_reads_from_other_processes_never_fail_and_always_see_one_whole_run_while_runs_publish(tmp_path):
    url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    store = open_tag_store(url)
    publish(store, "r-first-n20000", 20_000, AS_OF, T0)  # readers start with a current run to see
    store.close()
    done = tmp_path / "done"
    readers = [subprocess.Popen([sys.executable, "-c", READER, url, str(done)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_CHILD_ENV) for _ in range(4)]
    writer = subprocess.run([sys.executable, "-c", WRITER, url, "12", str(done)], capture_output=True,
                            text=True, timeout=300, env=_CHILD_ENV)
    done.write_text("done")  # even if the writer failed, so the readers stop
    results = []
    for proc in readers:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        results.append(json.loads(stdout))
    assert writer.returncode == 0, writer.stderr
    assert [r["failures"] for r in results] == [[]] * 4
    assert [r["mixed"] for r in results] == [[]] * 4
    reads = sum(r["reads"] for r in results)
    seen = {run for r in results for run in r["runs_seen"]}
    assert reads >= 40 and len(seen) >= 4, (reads, seen)  # the reads really overlapped many publishes
    # and once the last publish returned, readers see exactly what the store itself shows
    reader, writer_view = open_tag_store(url, read_only=True), open_tag_store(url)
    assert reader.current_run().run_id == writer_view.current_run().run_id == "r10-n20010"  # r11 rolled back
    assert [r.status for r in reader.runs()] == [r.status for r in writer_view.runs()]
    assert len(reader.read_current_view()) == 2 * 20_010


def test_a_reader_sees_a_publish_and_a_rollback_as_soon_as_they_return(tmp_path):
    url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    writer, reader = open_tag_store(url), open_tag_store(url, read_only=True)
    publish(writer, "a-n10", 10, AS_OF, T0)
    assert reader.current_run().run_id == "a-n10"
    publish(writer, "b-n12", 12, AS_OF + dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    assert set(reader.read_current_view()["run_id"]) == {"b-n12"}
    assert len(reader.changes("a-n10", "b-n12", ["churn_risk"])) == 12  # every value moved, two users are new
    writer.rollback("b-n12", T0 + dt.timedelta(days=2))
    assert reader.current_run().run_id == "a-n10" and reader.run("b-n12").status == "rolled_back"
    assert reader.read_long("b-n12").num_rows == 24  # history stays readable
    with writer.locked("c-n1", AS_OF, T0):
        assert reader.lock_holder()["run_id"] == "c-n1"
    assert reader.lock_holder() is None


def test_a_failed_publish_leaves_the_readers_copy_as_it_was(tmp_path):
    url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    writer, reader = open_tag_store(url), open_tag_store(url, read_only=True)
    publish(writer, "a-n10", 10, AS_OF, T0)

    def die(index: int, rows: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), writer.locked("b-n10", AS_OF, T0):
        writer.begin_run("b-n10", AS_OF, T0, run_key="b", model_versions={}, forced=False)
        writer.publish("b-n10", run_table("b-n10", 10, AS_OF + dt.timedelta(days=1)), finished_at=T0,
                       counts={}, timings={}, chunk_rows=4, on_chunk=die)
    assert set(reader.read_current_view()["run_id"]) == {"a-n10"}
    assert reader.read_long("b-n10").num_rows == 0 and reader.run("b-n10").status == "running"


@pytest.mark.parametrize("scheme", ["duckdb", "sqlite"])
def test_a_reader_store_creates_nothing_and_refuses_to_write(tmp_path, scheme):
    path = tmp_path / "nowhere" / "tags.db"
    reader = open_tag_store(f"{scheme}:///{path}", read_only=True)
    assert reader.current_run() is None and reader.runs() == [] and reader.read_current_view().empty
    assert not path.parent.exists()  # not even the folder
    with pytest.raises(TagStoreError, match="opened read-only .for reading tags.; open it with open_tag_store"):
        reader.acquire_lock("r1", AS_OF, T0)


def test_a_store_from_before_snapshots_is_read_from_the_file_itself_then_copied_by_the_next_writer(tmp_path):
    url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    writer = open_tag_store(url)
    publish(writer, "old-n5", 5, AS_OF, T0)
    shutil.rmtree(snapshot_dir(tmp_path / "tags.duckdb"))  # as an older siyu left it
    reader = open_tag_store(url, read_only=True)
    assert reader.current_run().run_id == "old-n5" and len(reader.read_current_view()) == 10
    open_tag_store(url).close()  # any writer of this version makes the copy, history included
    assert (snapshot_dir(tmp_path / "tags.duckdb") / "tags" / "old-n5.parquet").exists()
    assert reader.read_long("old-n5").num_rows == 10


def test_a_snapshot_that_cannot_be_refreshed_is_withdrawn_not_left_stale(tmp_path, monkeypatch):
    import siyu.io.tagsnapshot as tagsnapshot

    url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    writer, reader = open_tag_store(url), open_tag_store(url, read_only=True)
    publish(writer, "a-n3", 3, AS_OF, T0)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tagsnapshot, "refresh", no_space)
    publish(writer, "b-n4", 4, AS_OF + dt.timedelta(days=1), T0)  # committed; the copy could not follow
    assert not (snapshot_dir(tmp_path / "tags.duckdb") / "runs.parquet").exists()
    assert reader.current_run().run_id == "b-n4"  # read from the store itself, not the stale copy


# ---------------------------------------------------------------- a read-only directory, as `tags show` sees it
_SIYU = "import sys; from siyu.cli.main import main; sys.argv = ['siyu', *sys.argv[1:]]; main()"
# a read-only bind mount of the store's folder in a mount namespace of its own: the kernel then
# refuses every write with EROFS, which binds root too (permission bits do not)
_RO_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _read_only_runner(folder: Path):  # noqa: ANN202 - returns the runner
    """A function running `siyu ARGS` with `folder` read-only, or None when this host cannot make it so."""
    unshare = ["unshare", "-m"] + (["-r"] if os.geteuid() != 0 else [])  # -r: a user namespace, for non-root
    probe = subprocess.run([*unshare, "sh", "-c", _RO_MOUNT, str(folder), "touch", str(folder / "probe")],
                           capture_output=True, text=True) if shutil.which("unshare") else None
    if probe is not None and "Read-only file system" in probe.stderr:
        prefix = [*unshare, "sh", "-c", _RO_MOUNT, str(folder)]
    elif os.geteuid() != 0:  # no namespaces here: permission bits bind a non-root reader
        folder.chmod(0o555)
        prefix = []
    else:
        return None

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, sys.executable, "-c", _SIYU, *args], capture_output=True, text=True,
                              timeout=120, env=_CHILD_ENV)

    return run


@pytest.fixture
def readonly_project(tmp_path):
    """(config path, store folder, run): `run(args)` runs the siyu CLI with the store folder read-only."""
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    config = {"dataset": {"name": "t", "events": {"path": str(tmp_path / "events")}, "roles": {}},
              "paths": {"work": str(tmp_path / "work")},
              "scoring": {"tag_store_url": f"duckdb:///{store_dir / 'tags.duckdb'}",
                          "exports_dir": str(tmp_path / "exports")}}
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = _read_only_runner(store_dir)
    if run is None:
        pytest.skip("running as root without mount namespaces: nothing here can make a folder read-only for root")
    yield path, store_dir, run
    store_dir.chmod(0o755)


def _contents(folder: Path) -> dict[str, tuple[float, int]]:
    return {str(p): (p.stat().st_mtime, p.stat().st_size) for p in folder.rglob("*")}


def _one_line_no_traceback(proc: subprocess.CompletedProcess) -> str:
    said = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in said and len(said.splitlines()) == 1, said
    return said


def test_tags_show_runs_and_export_read_a_read_only_store(readonly_project, tmp_path):
    config, store_dir, run = readonly_project
    writer = open_tag_store(f"duckdb:///{store_dir / 'tags.duckdb'}")
    publish(writer, "r1-n7", 7, AS_OF, T0)
    writer.close()
    for source in ("the readers' copy", "the file itself (a store older than the copy)"):
        if source.startswith("the file"):
            shutil.rmtree(snapshot_dir(store_dir / "tags.duckdb"))
        before = _contents(store_dir)
        shown = run(["tags", "show", "--config", str(config)])
        assert shown.returncode == 0 and "current tags: run r1-n7" in shown.stdout, (source, shown.stderr)
        runs = run(["tags", "runs", "--config", str(config)])
        assert runs.returncode == 0 and "r1-n7" in runs.stdout, (source, runs.stderr)
        out = tmp_path / f"export-{len(before)}.csv"
        exported = run(["tags", "export", "--config", str(config), "--out", str(out)])
        assert exported.returncode == 0, exported.stderr
        assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 1 + 7  # header, every user
        assert _contents(store_dir) == before, source  # nothing written, nothing made


def test_tags_show_on_a_read_only_folder_with_nothing_in_it_says_so_in_one_line(readonly_project):
    config, store_dir, run = readonly_project
    shown = run(["tags", "show", "--config", str(config)])
    assert shown.returncode == 1
    assert _one_line_no_traceback(shown) == (f"no published scoring run yet in duckdb:///{store_dir / 'tags.duckdb'}; "
                                             "run `siyu score`")
    assert list(store_dir.iterdir()) == []


def test_a_damaged_snapshot_is_one_line_naming_it(readonly_project):
    config, store_dir, run = readonly_project
    writer = open_tag_store(f"duckdb:///{store_dir / 'tags.duckdb'}")
    publish(writer, "r1-n7", 7, AS_OF, T0)
    writer.close()
    runs_file = snapshot_dir(store_dir / "tags.duckdb") / "runs.parquet"
    runs_file.write_bytes(runs_file.read_bytes()[:40])  # cut short, as a full disk without fsync could leave it
    shown = run(["tags", "show", "--config", str(config)])
    assert shown.returncode == 2
    said = _one_line_no_traceback(shown)
    assert said.startswith(f"{runs_file.parent}: cannot read the tag store's snapshot (") and "rewrite it" in said


# ---------------------------------------------------------------- PostgreSQL: MVCC, and no DDL from readers
@pytest.mark.postgres
def test_a_postgres_reader_neither_waits_for_nor_sees_an_open_publish(postgres_url):
    writer = open_tag_store(postgres_url)
    publish(writer, "a-n10", 10, AS_OF, T0)
    mid_write, finish = threading.Event(), threading.Event()

    def hold(index: int, rows: int) -> None:
        mid_write.set()
        finish.wait(30)  # the publish transaction stays open, rows inserted, until the reader is done

    def second_run() -> None:
        with writer.locked("b-n10", AS_OF, T0):
            writer.begin_run("b-n10", AS_OF, T0, run_key="b", model_versions={}, forced=False)
            writer.publish("b-n10", run_table("b-n10", 10, AS_OF + dt.timedelta(days=1)),
                           finished_at=T0, counts={}, timings={}, chunk_rows=5, on_chunk=hold)

    thread = threading.Thread(target=second_run)
    thread.start()
    try:
        assert mid_write.wait(30)
        clock = time.monotonic()
        reader = open_tag_store(postgres_url, read_only=True)  # no CREATE INDEX: it would wait for the commit
        assert set(reader.read_current_view()["run_id"]) == {"a-n10"}
        assert reader.lock_holder()["run_id"] == "b-n10"
        assert time.monotonic() - clock < 5
        reader.close()
    finally:
        finish.set()
        thread.join(60)
    assert open_tag_store(postgres_url, read_only=True).current_run().run_id == "b-n10"
    writer.close()

