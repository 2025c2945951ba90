"""The tag store: tag history, scoring runs, the current-tags view, a run lock, rollback.

One small interface over two engines, chosen by URL:

- ``duckdb:///work/tags.duckdb`` (embedded default) through the DuckDB API, bulk-loaded from
  Arrow (duckdb-engine is not a dependency, so SQLAlchemy is not used for DuckDB);
- any SQLAlchemy URL: ``postgresql+psycopg://...`` (bulk-loaded with COPY), ``sqlite:///...``.

Safety rules, the same on every engine:

- a run is published in ONE transaction (its tag rows plus its ``published`` status): a run
  that dies mid-write leaves nothing, and ``current_tags`` keeps showing the previous run;
- a run has a ``kind``: ``score`` (``siyu score``: bands, rule tags, reasons, segment) or
  ``plan`` (``siyu target``: next_action, expected_gain, holdout). ``current_tags`` shows, for
  each kind, the rows of its latest published run (latest ``as_of``, then latest finish), so a
  contact plan and the scores live side by side and ``rollback`` only has to mark a run
  ``rolled_back`` for the view to follow (back to the run before it of the same kind);
- one run at a time holds the ``scoring_lock`` row; a second one gets ``TagStoreLocked``
  naming the holder; a lock left by a dead process on this host is reclaimed;
- a reader (``open_tag_store(url, read_only=True)``: tags show / export, reports, experiments)
  never waits for a publish and never writes: on DuckDB it reads the snapshot the writer keeps
  beside the file (``siyu.io.tagsnapshot``), on PostgreSQL a READ ONLY transaction (MVCC), and
  a store that does not exist yet reads as empty instead of being created.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from siyu.config import mask_url
from siyu.io import tagsnapshot
from siyu.scoring.tags import TAG_HISTORY_SCHEMA

log = logging.getLogger(__name__)

LOCK_NAME = "scoring"
TAG_COLUMNS = tuple(TAG_HISTORY_SCHEMA.names)
RUN_STATUSES = ("running", "published", "blocked", "failed", "unchanged", "rolled_back")
RUN_KINDS = ("score", "plan")  # which family of tags a run publishes; each kind has its own current run
_SAFE = re.compile(r"^[A-Za-z0-9_.:\- ]+$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")

_DDL = (
    """CREATE TABLE IF NOT EXISTS scoring_runs (
        run_id VARCHAR(64) PRIMARY KEY, as_of DATE NOT NULL, status VARCHAR(16) NOT NULL,
        started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, counts TEXT, model_versions TEXT,
        timings TEXT, guards TEXT, forced BOOLEAN NOT NULL, message TEXT, run_key VARCHAR(128),
        n_rows BIGINT, pid INTEGER, host VARCHAR(255), rolled_back_at TIMESTAMP,
        kind VARCHAR(16) DEFAULT 'score')""",
    """CREATE TABLE IF NOT EXISTS tag_history (
        user_id VARCHAR(128) NOT NULL, tag VARCHAR(64) NOT NULL, value TEXT NOT NULL,
        score DOUBLE PRECISION, model VARCHAR(128), model_version VARCHAR(64),
        run_id VARCHAR(64) NOT NULL, as_of DATE NOT NULL, computed_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS scoring_lock (
        name VARCHAR(32) PRIMARY KEY, run_id VARCHAR(64) NOT NULL, as_of DATE,
        started_at TIMESTAMP NOT NULL, pid INTEGER, host VARCHAR(255))""",
    # per kind, the latest published run (a store made before kinds existed is migrated by init_schema)
    """CREATE VIEW current_tags AS
        SELECT h.user_id, h.tag, h.value, h.score, h.model, h.model_version, h.run_id, h.as_of,
               h.computed_at
        FROM tag_history h
        WHERE h.run_id IN (
            SELECT latest.run_id FROM (
                SELECT r.run_id, ROW_NUMBER() OVER (
                    PARTITION BY COALESCE(r.kind, 'score')
                    ORDER BY r.as_of DESC, r.finished_at DESC, r.run_id DESC) AS rank_in_kind
                FROM scoring_runs r WHERE r.status = 'published') latest
            WHERE latest.rank_in_kind = 1)""",
)
_VIEWS = tuple(stmt for stmt in _DDL if stmt.lstrip().startswith("CREATE VIEW"))  # built over the tables
_RUN_FIELDS = ("run_id", "as_of", "status", "started_at", "finished_at", "counts", "model_versions",
               "timings", "guards", "forced", "message", "run_key", "n_rows", "pid", "host",
               "rolled_back_at", "kind")


class TagStoreError(RuntimeError):
    """The tag store refused an operation (unknown run, rollback of a non-latest run, ...)."""


class TagStoreLocked(TagStoreError):
    """Another scoring run holds the lock."""

    def __init__(self, holder: Mapping[str, Any], wanted_by: str) -> None:
        self.holder = dict(holder)
        super().__init__(
            f"tag store is locked by scoring run {holder.get('run_id')} (as-of {holder.get('as_of')}, "
            f"started {holder.get('started_at')} UTC, pid {holder.get('pid')} on {holder.get('host')}); "
            f"run {wanted_by} cannot publish at the same time. Wait for it to finish; if that process "
            "is gone on another host, delete the row in scoring_lock."
        )


@dataclass(frozen=True)
class RunRecord:
    """One row of scoring_runs (json fields decoded)."""

    run_id: str
    as_of: dt.date
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    counts: dict | None = None
    model_versions: dict | None = None
    timings: dict | None = None
    guards: list | None = None
    forced: bool = False
    message: str | None = None
    run_key: str | None = None
    n_rows: int | None = None
    pid: int | None = None
    host: str | None = None
    rolled_back_at: dt.datetime | None = None
    kind: str = "score"


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _to_ts(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _record(row: Sequence[Any]) -> RunRecord:
    d = dict(zip(_RUN_FIELDS, row, strict=True))
    for key in ("counts", "model_versions", "timings", "guards"):
        d[key] = json.loads(d[key]) if d[key] else None
    d["as_of"] = _to_date(d["as_of"])
    for key in ("started_at", "finished_at", "rolled_back_at"):
        d[key] = _to_ts(d[key])
    d["forced"] = bool(d["forced"])
    d["kind"] = d["kind"] or "score"
    return RunRecord(**d)


def _kind(kind: str) -> str:
    if kind not in RUN_KINDS:
        raise TagStoreError(f"run kind {kind!r}: expected one of {', '.join(RUN_KINDS)}")
    return kind


def _safe(text: str, what: str) -> str:
    if not _SAFE.match(text):
        raise TagStoreError(f"{what} {text!r}: only letters, digits and _.:- are allowed")
    return text


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{int(pid)}/stat")
    with contextlib.suppress(OSError, IndexError):
        return stat.read_text().split(")")[-1].split()[0] != "Z"  # a zombie is dead
    return True


class _Session:
    """One connection inside one transaction: the primitives each engine implements."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        raise NotImplementedError

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def insert_tags(self, batch: pa.Table) -> None:
        raise NotImplementedError


class TagStore:
    """Tag history, scoring runs and the current-tags view behind one small interface."""

    url: str
    is_constraint_error: Callable[[BaseException], bool]
    read_only: bool = False

    # ---------------------------------------------------------------- engine primitives
    def _session(self) -> contextlib.AbstractContextManager[_Session]:
        """A transaction that may write (the lock, runs, publish, rollback)."""
        raise NotImplementedError

    def _read_session(self) -> contextlib.AbstractContextManager[_Session]:
        """A transaction that only reads; on a store opened read_only it never blocks a publish."""
        return self._session()

    def _refuse_writes(self) -> None:
        if self.read_only:
            raise TagStoreError(f"{self.url} was opened read-only (for reading tags); "
                                "open it with open_tag_store(url) to write")

    def _ddl(self) -> tuple[str, ...]:
        return _DDL

    def close(self) -> None:
        """Release the engine's resources."""

    # ---------------------------------------------------------------- schema
    def init_schema(self) -> None:
        """Create the tables and the current_tags view if they do not exist yet."""
        with self._session() as s:
            existing = self._existing_relations(s)
            if "scoring_runs" in existing and "kind" not in self._columns(s, "scoring_runs"):
                # a store from before run kinds: every run in it is a scoring run, and the view
                # is recreated to show the latest run of each kind
                if "current_tags" in existing:
                    s.execute("DROP VIEW current_tags")
                    existing.discard("current_tags")
                s.execute("ALTER TABLE scoring_runs ADD COLUMN kind VARCHAR(16) DEFAULT 'score'")
                s.execute("UPDATE scoring_runs SET kind = 'score' WHERE kind IS NULL")
            for stmt in self._ddl():
                if stmt.lstrip().startswith("CREATE VIEW") and "current_tags" in existing:
                    continue
                s.execute(stmt)

    def _existing_relations(self, s: _Session) -> set[str]:
        rows = s.execute("SELECT table_name FROM information_schema.tables")
        return {r[0] for r in rows}

    def _columns(self, s: _Session, table: str) -> set[str]:
        rows = s.execute("SELECT column_name FROM information_schema.columns WHERE table_name = :t", {"t": table})
        return {str(r[0]).lower() for r in rows}

    # ---------------------------------------------------------------- lock
    def acquire_lock(self, run_id: str, as_of: dt.date, started_at: dt.datetime) -> None:
        """Take the scoring lock for `run_id`, or raise TagStoreLocked naming the holder.

        A lock whose holder process is gone on this host is reclaimed (its run marked failed).
        """
        try:
            with self._session() as s:
                rows = s.execute(
                    "SELECT run_id, as_of, started_at, pid, host FROM scoring_lock WHERE name = :name",
                    {"name": LOCK_NAME},
                )
                if rows:
                    holder = dict(zip(("run_id", "as_of", "started_at", "pid", "host"), rows[0], strict=True))
                    if holder["run_id"] == run_id:
                        return
                    if holder["host"] != socket.gethostname() or _pid_alive(holder["pid"]):
                        raise TagStoreLocked(holder, run_id)
                    self._reclaim(s, holder, started_at)
                s.execute(
                    "INSERT INTO scoring_lock (name, run_id, as_of, started_at, pid, host) "
                    "VALUES (:name, :run_id, :as_of, :started_at, :pid, :host)",
                    {"name": LOCK_NAME, "run_id": run_id, "as_of": as_of, "started_at": started_at,
                     "pid": os.getpid(), "host": socket.gethostname()},
                )
        except TagStoreLocked:
            raise
        except Exception as exc:  # the other run inserted the lock row between our read and write
            if not self.is_constraint_error(exc):
                raise
            holder = self.lock_holder() or {"run_id": "(unknown)"}
            raise TagStoreLocked(holder, run_id) from exc

    def _reclaim(self, s: _Session, holder: Mapping[str, Any], now: dt.datetime) -> None:
        s.execute("DELETE FROM scoring_lock WHERE name = :name", {"name": LOCK_NAME})
        s.execute(
            "UPDATE scoring_runs SET status = 'failed', finished_at = :now, message = :msg "
            "WHERE run_id = :run_id AND status = 'running'",
            {"now": now, "run_id": holder["run_id"],
             "msg": f"abandoned: process {holder['pid']} on {holder['host']} died holding the lock"},
        )

    def lock_holder(self) -> dict[str, Any] | None:
        """The run holding the scoring lock (run_id, as_of, started_at, pid, host), or None."""
        with self._read_session() as s:
            rows = s.execute(
                "SELECT run_id, as_of, started_at, pid, host FROM scoring_lock WHERE name = :name",
                {"name": LOCK_NAME},
            )
        return dict(zip(("run_id", "as_of", "started_at", "pid", "host"), rows[0], strict=True)) if rows else None

    def release_lock(self, run_id: str) -> None:
        """Drop the lock if `run_id` holds it."""
        with self._session() as s:
            s.execute("DELETE FROM scoring_lock WHERE name = :name AND run_id = :run_id",
                      {"name": LOCK_NAME, "run_id": run_id})

    @contextlib.contextmanager
    def locked(self, run_id: str, as_of: dt.date, started_at: dt.datetime) -> Iterator[None]:
        """Hold the scoring lock for the duration of a block."""
        self.acquire_lock(run_id, as_of, started_at)
        try:
            yield
        finally:
            self.release_lock(run_id)

    # ---------------------------------------------------------------- runs
    def begin_run(self, run_id: str, as_of: dt.date, started_at: dt.datetime, *, run_key: str,
                  model_versions: Mapping[str, Any], forced: bool, kind: str = "score") -> None:
        """Record a run of `kind` as `running` (its own small transaction, before any tag is written)."""
        _safe(run_id, "run id")
        with self._session() as s:
            s.execute(
                "INSERT INTO scoring_runs (run_id, as_of, status, started_at, model_versions, forced, "
                "run_key, pid, host, kind) VALUES (:run_id, :as_of, 'running', :started_at, :mv, :forced, "
                ":run_key, :pid, :host, :kind)",
                {"run_id": run_id, "as_of": as_of, "started_at": started_at,
                 "mv": json.dumps(model_versions, sort_keys=True), "forced": forced,
                 "run_key": run_key, "pid": os.getpid(), "host": socket.gethostname(), "kind": _kind(kind)},
            )

    def finish_run(self, run_id: str, status: str, finished_at: dt.datetime, *, message: str = "",
                   counts: Mapping | None = None, timings: Mapping | None = None,
                   guards: Sequence | None = None) -> None:
        """Close a run that did not publish (blocked, failed, unchanged), with its reason."""
        if status not in RUN_STATUSES or status in ("published", "running"):
            raise TagStoreError(f"finish_run: status {status!r} is not a final non-published status")
        with self._session() as s:
            s.execute(
                "UPDATE scoring_runs SET status = :status, finished_at = :fin, message = :msg, "
                "counts = :counts, timings = :timings, guards = :guards WHERE run_id = :run_id",
                {"status": status, "fin": finished_at, "msg": message, "run_id": run_id,
                 "counts": json.dumps(counts) if counts is not None else None,
                 "timings": json.dumps(timings) if timings is not None else None,
                 "guards": json.dumps(list(guards), default=str) if guards is not None else None},
            )

    def publish(
        self,
        run_id: str,
        tags: pa.Table,
        *,
        finished_at: dt.datetime,
        counts: Mapping,
        timings: Mapping,
        guards: Sequence = (),
        forced: bool = False,
        message: str = "",
        chunk_rows: int = 1_000_000,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> int:
        """Write the run's tag rows and mark it published, all in one transaction; rows written.

        `on_chunk(chunk_index, rows_so_far)` is called after each bulk chunk (progress; tests
        use it to fail mid-write). The caller must hold the scoring lock.
        """
        if tags.schema.names != list(TAG_COLUMNS):
            raise TagStoreError(f"publish: tag table columns {tags.schema.names}, expected {list(TAG_COLUMNS)}")
        if tags.schema != TAG_HISTORY_SCHEMA:
            tags = tags.cast(TAG_HISTORY_SCHEMA)
        with self._session() as s:
            holder = s.execute("SELECT run_id FROM scoring_lock WHERE name = :name", {"name": LOCK_NAME})
            if not holder or holder[0][0] != run_id:
                raise TagStoreError(
                    f"publish: run {run_id} does not hold the scoring lock "
                    f"(held by {holder[0][0] if holder else 'nobody'}); acquire it first"
                )
            written = 0
            for i, batch in enumerate(tags.to_batches(max_chunksize=chunk_rows)):
                s.insert_tags(pa.Table.from_batches([batch], schema=TAG_HISTORY_SCHEMA))
                written += batch.num_rows
                if on_chunk is not None:
                    on_chunk(i, written)
            s.execute(
                "UPDATE scoring_runs SET status = 'published', finished_at = :fin, counts = :counts, "
                "timings = :timings, guards = :guards, forced = :forced, message = :msg, n_rows = :n "
                "WHERE run_id = :run_id",
                {"fin": finished_at, "counts": json.dumps(counts), "timings": json.dumps(timings),
                 "guards": json.dumps(list(guards), default=str), "forced": forced, "msg": message,
                 "n": written, "run_id": run_id},
            )
        return written

    def record_timings(self, run_id: str, timings: Mapping[str, float]) -> None:
        """Replace a run's stage timings (the write itself is only timed after its commit)."""
        with self._session() as s:
            s.execute("UPDATE scoring_runs SET timings = :t WHERE run_id = :r",
                      {"t": json.dumps(dict(timings)), "r": run_id})

    def run(self, run_id: str) -> RunRecord:
        """One scoring run, or TagStoreError if unknown."""
        with self._read_session() as s:
            rows = s.execute(f"SELECT {', '.join(_RUN_FIELDS)} FROM scoring_runs WHERE run_id = :r",
                             {"r": run_id})
        if not rows:
            raise TagStoreError(f"no scoring run {run_id!r} in {self.url} (see `siyu tags runs`)")
        return _record(rows[0])

    def runs(self) -> list[RunRecord]:
        """Every scoring run, newest start first."""
        with self._read_session() as s:
            rows = s.execute(f"SELECT {', '.join(_RUN_FIELDS)} FROM scoring_runs "
                             "ORDER BY started_at DESC, run_id DESC")
        return [_record(r) for r in rows]

    def published_runs(self, kind: str = "score") -> list[RunRecord]:
        """Published runs of `kind` in current-view order: the current one first."""
        with self._read_session() as s:
            rows = s.execute(f"SELECT {', '.join(_RUN_FIELDS)} FROM scoring_runs WHERE status = 'published' "
                             "AND COALESCE(kind, 'score') = :kind ORDER BY as_of DESC, finished_at DESC, run_id DESC",
                             {"kind": _kind(kind)})
        return [_record(r) for r in rows]

    def current_run(self, kind: str = "score") -> RunRecord | None:
        """The published run of `kind` the current_tags view shows, or None before the first one."""
        runs = self.published_runs(kind)
        return runs[0] if runs else None

    def find_published(self, run_key: str, kind: str = "score") -> RunRecord | None:
        """The published run of `kind` with this key (as-of + model versions), if any: a re-run is a no-op."""
        return next((r for r in self.published_runs(kind) if r.run_key == run_key), None)

    def rollback(self, run_id: str, at: dt.datetime) -> RunRecord | None:
        """Mark the current run of its kind rolled back, so the view shows the run of that kind
        before it; that run or None."""
        with self.locked(f"rollback-{run_id}"[:64], dt.date(1970, 1, 1), at), self._session() as s:
            target = s.execute("SELECT status, COALESCE(kind, 'score') FROM scoring_runs WHERE run_id = :r",
                               {"r": run_id})
            if not target:
                raise TagStoreError(f"rollback: no scoring run {run_id!r} in {self.url}")
            kind = target[0][1]
            current = s.execute(
                "SELECT run_id, status FROM scoring_runs WHERE status = 'published' "
                "AND COALESCE(kind, 'score') = :kind "
                "ORDER BY as_of DESC, finished_at DESC, run_id DESC LIMIT 1", {"kind": kind})
            if target[0][0] != "published":
                raise TagStoreError(f"rollback: run {run_id} is {target[0][0]}, only a published run can be rolled back")
            if current[0][0] != run_id:
                raise TagStoreError(
                    f"rollback: run {run_id} is not the current run ({current[0][0]} is); "
                    f"roll back {current[0][0]} first"
                )
            s.execute("UPDATE scoring_runs SET status = 'rolled_back', rolled_back_at = :at WHERE run_id = :r",
                      {"at": at, "r": run_id})
        return self.current_run(kind)

    # ---------------------------------------------------------------- reading tags
    def run_tags(self, run_id: str) -> list[str]:
        """The tags a run wrote, sorted."""
        with self._read_session() as s:
            rows = s.execute("SELECT DISTINCT tag FROM tag_history WHERE run_id = :r", {"r": run_id})
        return sorted(r[0] for r in rows)

    def read_long(self, run_id: str, tags: Sequence[str] | None = None) -> pa.Table:
        """A run's rows (TAG_HISTORY_SCHEMA columns), optionally only some tags."""
        where = self._tag_filter(tags)
        sql = f"SELECT {', '.join(TAG_COLUMNS)} FROM tag_history WHERE run_id = '{_safe(run_id, 'run id')}'{where}"
        with self._read_session() as s:
            return s.arrow(sql)

    def read_wide(self, run_id: str, tags: Sequence[str], *, scores: Sequence[str] = ()) -> pd.DataFrame:
        """One row per user of a run: user_id, a column per tag, `<tag>_score` for `scores`."""
        cols = []
        for tag in tags:
            _ident(tag)
            cols.append(f"MAX(CASE WHEN tag = '{tag}' THEN value END) AS {tag}")
        for tag in scores:
            _ident(tag)
            cols.append(f"MAX(CASE WHEN tag = '{tag}' THEN score END) AS {tag}_score")
        sql = (f"SELECT user_id, {', '.join(cols)} FROM tag_history "
               f"WHERE run_id = '{_safe(run_id, 'run id')}'{self._tag_filter(tags)} "
               "GROUP BY user_id ORDER BY user_id")
        with self._read_session() as s:
            table = s.arrow(sql)
        frame = table.to_pandas()
        for tag in scores:  # a CSV round trip (PostgreSQL COPY) may type an all-empty column as text
            frame[f"{tag}_score"] = pd.to_numeric(frame[f"{tag}_score"], errors="coerce")
        return frame

    def read_current_view(self) -> pd.DataFrame:
        """The current_tags view as a frame (user_id, tag, value, score, model, ...)."""
        with self._read_session() as s:
            return s.arrow(f"SELECT {', '.join(TAG_COLUMNS)} FROM current_tags").to_pandas()

    def read_user(self, user_id: str) -> pd.DataFrame:
        """One user's rows of the current_tags view (the columns of `read_current_view`); empty
        when the user has none. Reads only that user's rows, whatever the store's size."""
        with self._read_session() as s:
            table = s.arrow(f"SELECT {', '.join(TAG_COLUMNS)} FROM current_tags WHERE user_id = :u",
                            {"u": str(user_id)})
        return table.to_pandas()

    def changes(self, old_run: str, new_run: str, tags: Sequence[str]) -> pd.DataFrame:
        """Who moved between two runs: user_id, tag, old, new (old/new empty when absent)."""
        old_r, new_r = _safe(old_run, "run id"), _safe(new_run, "run id")
        where = self._tag_filter(tags)
        sql = (
            "SELECT COALESCE(n.user_id, o.user_id) AS user_id, COALESCE(n.tag, o.tag) AS tag, "
            "o.value AS old, n.value AS new FROM "
            f"(SELECT user_id, tag, value FROM tag_history WHERE run_id = '{new_r}'{where}) n "
            f"FULL OUTER JOIN (SELECT user_id, tag, value FROM tag_history WHERE run_id = '{old_r}'{where}) o "
            "ON n.user_id = o.user_id AND n.tag = o.tag "
            "WHERE o.value IS NULL OR n.value IS NULL OR o.value <> n.value "
            "ORDER BY 1, 2"
        )
        with self._read_session() as s:
            frame = s.arrow(sql).to_pandas()
        frame = frame.reindex(columns=["user_id", "tag", "old", "new"]).astype(object)
        return frame.where(frame.notna(), None)

    @staticmethod
    def _tag_filter(tags: Sequence[str] | None) -> str:
        if tags is None:
            return ""
        if not tags:
            return " AND 1 = 0"
        return " AND tag IN (" + ", ".join(f"'{_ident(t)}'" for t in tags) + ")"


def _ident(tag: str) -> str:
    if not _IDENT.match(tag):
        raise TagStoreError(f"tag name {tag!r}: expected lower-case letters, digits and _ (e.g. churn_risk)")
    return tag


@contextlib.contextmanager
def _empty_session() -> Iterator[_Session]:
    """A store with the schema and no rows: what a reader sees where no store has been made yet."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        for stmt in _DDL:
            con.execute(stmt)
        yield _DuckSession(con)
    finally:
        con.close()


# ===================================================================== DuckDB (embedded default)
class _DuckSession(_Session):
    def __init__(self, con: Any) -> None:
        self.con = con

    @staticmethod
    def _sql(sql: str) -> str:
        return re.sub(r"(?<![:\w]):(\w+)", r"$\1", sql)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        cur = self.con.execute(self._sql(sql), dict(params) if params else None)
        return cur.fetchall() if cur.description else []

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self.con.sql(self._sql(sql), params=dict(params) if params else None).to_arrow_table()

    def insert_tags(self, batch: pa.Table) -> None:
        self.con.register("_siyu_tag_batch", batch)
        try:
            self.con.execute(f"INSERT INTO tag_history SELECT {', '.join(TAG_COLUMNS)} FROM _siyu_tag_batch")
        finally:
            self.con.unregister("_siyu_tag_batch")


class DuckDBTagStore(TagStore):
    """The embedded tag store: one DuckDB file, opened per operation so other processes can wait.

    Every committed write also refreshes the readers' snapshot beside the file; a store opened
    `read_only` reads that snapshot (or, for a store no writer of this version has touched yet,
    the file itself opened read-only, waiting out a publish), so it never takes the write lock.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0, threads: int = 2,
                 read_only: bool = False) -> None:
        self.path = Path(path)
        self.url = f"duckdb:///{self.path}"
        self.busy_timeout_s = busy_timeout_s
        self.threads = threads
        self.read_only = read_only
        self.snapshot = tagsnapshot.snapshot_dir(self.path)

    @staticmethod
    def is_constraint_error(exc: BaseException) -> bool:
        import duckdb

        return isinstance(exc, duckdb.ConstraintException | duckdb.TransactionException)

    def _connect(self, *, read_only: bool = False) -> Any:
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.busy_timeout_s
        pause = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config={"threads": int(self.threads)})
            except duckdb.IOException as exc:  # another process has the file open: wait
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise TagStoreError(f"{self.path}: cannot open the tag store ({_first_line(exc)})") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _session(self) -> contextlib.AbstractContextManager[_Session]:
        self._refuse_writes()
        return self._live_session(refresh=True)

    @contextlib.contextmanager
    def _live_session(self, *, refresh: bool) -> Iterator[_Session]:
        con = self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield _DuckSession(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            if refresh:
                self._refresh_snapshot(con)  # still holding the file: no other writer can interleave
        finally:
            con.close()

    def _refresh_snapshot(self, con: Any) -> None:
        try:
            tagsnapshot.refresh(con, self.snapshot, _RUN_FIELDS)
        except Exception as exc:  # the write is committed; the copy is a cache, but never a stale one
            try:
                tagsnapshot.forget(self.snapshot)
            except OSError as gone:  # raising now would have the caller record a committed run as failed
                log.error("tag store %s: readers' snapshot is stale and could not be withdrawn (%s; %s); delete "
                          "%s so readers read the store itself", self.path, _first_line(exc), _first_line(gone),
                          self.snapshot / tagsnapshot.RUNS_FILE)
                return
            log.warning("tag store %s: readers' snapshot not refreshed (%s); readers open the store itself "
                        "until the next write refreshes it", self.path, _first_line(exc))

    @contextlib.contextmanager
    def _read_session(self) -> Iterator[_Session]:
        if not self.read_only:  # the writer's own reads (previous tags, the run key) see the store itself
            with self._live_session(refresh=False) as s:
                yield s
            return
        with contextlib.ExitStack() as stack:
            try:
                con = stack.enter_context(tagsnapshot.open_snapshot(self.snapshot, _VIEWS, threads=self.threads))
            except FileNotFoundError:  # no copy yet (an older store), or a writer withdrew one it could not refresh
                con = None
            except (OSError, pa.ArrowException) as exc:
                raise TagStoreError(f"{self.snapshot}: cannot read the tag store's snapshot ({_first_line(exc)}); "
                                    "check its permissions, or let the next `siyu score` rewrite it") from None
            if con is not None:
                yield _DuckSession(con)
                return
        if not self.path.exists():
            with _empty_session() as s:
                yield s
            return
        con = self._connect(read_only=True)  # a store from before snapshots: wait out a publish
        try:
            yield _DuckSession(con)
        finally:
            con.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ===================================================================== SQLAlchemy (PostgreSQL, SQLite)
class _SqlSession(_Session):
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        from sqlalchemy import text

        result = self.conn.execute(text(sql), dict(params or {}))
        return [tuple(r) for r in result] if result.returns_rows else []

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        if self.dialect == "postgresql" and not params:
            return self._copy_out(sql)
        from sqlalchemy import text

        result = self.conn.execute(text(sql), dict(params or {}))
        names = list(result.keys())
        rows = result.fetchall()
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}) if rows else _empty(names)

    def _copy_out(self, sql: str) -> pa.Table:
        raw = self.conn.connection.driver_connection
        buf = io.BytesIO()
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as copy:
            for data in copy:
                buf.write(data)
        if buf.tell() == 0:
            return pa.table({})
        buf.seek(0)
        names = buf.readline().decode().strip().split(",")
        buf.seek(0)
        # explicit types: a user id like "00123" or "NA" must stay the string it is
        types = {n: _COPY_TYPES.get(n, pa.float64() if n.endswith("score") else pa.string()) for n in names}
        return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False))

    def insert_tags(self, batch: pa.Table) -> None:
        if self.dialect == "postgresql":
            self._copy_in(batch)
            return
        from sqlalchemy import text

        cols = ", ".join(TAG_COLUMNS)
        marks = ", ".join(f":{c}" for c in TAG_COLUMNS)
        self.conn.execute(text(f"INSERT INTO tag_history ({cols}) VALUES ({marks})"), batch.to_pylist())

    def _copy_in(self, batch: pa.Table) -> None:
        buf = io.BytesIO()
        # strings are always quoted by pyarrow, so "" stays an empty string and nothing is NULL by accident
        pacsv.write_csv(batch, buf, write_options=pacsv.WriteOptions(include_header=False))
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(
            f"COPY tag_history ({', '.join(TAG_COLUMNS)}) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(buf.getvalue())


_COPY_TYPES = {"as_of": pa.date32(), "computed_at": pa.timestamp("us")}


def _empty(names: Sequence[str]) -> pa.Table:
    return pa.table({n: pa.array([], pa.null()) for n in names})


class SqlAlchemyTagStore(TagStore):
    """The tag store in a real database reached by a SQLAlchemy URL (PostgreSQL, SQLite)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        from sqlalchemy import create_engine

        self.url = mask_url(url)  # what messages show; the engine keeps the credentials
        self.engine = create_engine(url)
        self.read_only = read_only

    def _ddl(self) -> tuple[str, ...]:
        ddl = _DDL + ("CREATE INDEX IF NOT EXISTS tag_history_run_tag ON tag_history (run_id, tag)",)
        if self.engine.dialect.name == "sqlite":
            ddl = tuple(stmt.replace(" BOOLEAN", " INTEGER") for stmt in ddl)
        return ddl

    def _existing_relations(self, s: _Session) -> set[str]:
        from sqlalchemy import inspect

        insp = inspect(s.conn)  # type: ignore[attr-defined]
        return set(insp.get_table_names()) | set(insp.get_view_names())

    def _columns(self, s: _Session, table: str) -> set[str]:
        from sqlalchemy import inspect

        return {str(c["name"]).lower() for c in inspect(s.conn).get_columns(table)}  # type: ignore[attr-defined]

    @staticmethod
    def is_constraint_error(exc: BaseException) -> bool:
        from sqlalchemy.exc import IntegrityError

        return isinstance(exc, IntegrityError)

    @contextlib.contextmanager
    def _session(self) -> Iterator[_Session]:
        self._refuse_writes()
        with self.engine.begin() as conn:
            yield _SqlSession(conn)

    @contextlib.contextmanager
    def _read_session(self) -> Iterator[_Session]:
        from sqlalchemy import inspect, text

        database = self.engine.url.database
        if self.read_only and self.engine.dialect.name == "sqlite" and database and not Path(database).exists():
            with _empty_session() as s:  # connecting would create the file
                yield s
            return
        with self.engine.begin() as conn:
            if self.read_only and not inspect(conn).has_table("scoring_runs"):  # nothing made here yet
                with _empty_session() as s:
                    yield s
                return
            if self.engine.dialect.name == "postgresql":
                # MVCC: a snapshot of the last commit, no row locks, and a promise to write nothing
                conn.execute(text("SET TRANSACTION READ ONLY"))
            yield _SqlSession(conn)

    def close(self) -> None:
        self.engine.dispose()


def open_tag_store(url: str, *, base_dir: str | Path | None = None, read_only: bool = False) -> TagStore:
    """A ready (schema created) tag store for a URL; relative DuckDB/SQLite paths resolve from base_dir.

    `read_only`: for reading tags only (show, export, reports). Nothing is created or written, no
    lock a publish needs is taken, and a store that does not exist yet reads as empty.
    """
    if url.startswith("duckdb:///"):
        path = Path(url.removeprefix("duckdb:///"))
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        store: TagStore = DuckDBTagStore(path, read_only=read_only)
    elif "://" in url:
        if url.startswith("sqlite:///") and base_dir is not None:
            rel = url.removeprefix("sqlite:///")
            if rel and not rel.startswith("/"):
                if not read_only:
                    Path(base_dir, rel).parent.mkdir(parents=True, exist_ok=True)
                url = f"sqlite:///{Path(base_dir, rel)}"
        store = SqlAlchemyTagStore(url, read_only=read_only)
    else:
        raise TagStoreError(
            f"tag_store_url {url!r}: expected duckdb:///path.duckdb, sqlite:///path.db or "
            "postgresql+psycopg://user@host/db"
        )
    if not read_only:  # schema DDL takes locks (on PostgreSQL, CREATE INDEX waits for a publish to commit)
        store.init_schema()
    return store
