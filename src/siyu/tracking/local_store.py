"""Read a local SQLite MLflow store with `sqlite3`, without importing MLflow.

Every command that only reads the registry (compare, explain, report, target, experiment, the
champion loading of score) paid about 2.5 s before it read a row: `import mlflow` (its GenAI
gateway, FastAPI) and the SQLAlchemy store (71 ORM classes, alembic). The rows they need are a
few dozen, in six tables whose layout MLflow has kept since 2.x. So a store named
`sqlite:///<file>` whose artifacts are local files is read here, read-only; any other store, a
file that does not exist yet, or a schema that lacks a column read here goes through MLflow as
before (`open_local` returns None). Writes (train, promote, the scoring run's log) always go
through MLflow. `tests/tracking/test_local_store.py` holds each read equal to MlflowClient's.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

# MLflow marks a deleted version with this stage and keeps the row; its searches skip it.
_DELETED_STAGE = "Deleted_Internal"
_WORKSPACE = "default"
_COLUMNS = {
    "experiments": {"experiment_id", "name", "lifecycle_stage"},
    "runs": {"run_uuid", "status", "start_time", "lifecycle_stage", "artifact_uri", "experiment_id"},
    "tags": {"key", "value", "run_uuid"},
    "latest_metrics": {"key", "value", "is_nan", "run_uuid"},
    "model_versions": {"name", "version", "run_id", "storage_location", "current_stage"},
    "registered_model_aliases": {"alias", "version", "name"},
}


@dataclass(frozen=True)
class StoredVersion:
    """A registered model version as the registry holds it."""

    name: str
    version: str
    run_id: str
    storage_location: str  # where the model's files are (a file: URI for a local store)


@dataclass(frozen=True)
class StoredRun:
    """A run's attributes, tags and latest metrics."""

    run_id: str
    start_time: int
    status: str
    artifact_uri: str
    tags: dict[str, str]
    metrics: dict[str, float]


def local_path(uri: str) -> Path | None:
    """The file behind a `file:` URI or a plain path, or None for a remote location (s3:, http: ...)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    return Path(uri) if parsed.scheme == "" else None


def _database_file(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    name = uri[len("sqlite:///"):].split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


class LocalStore:
    """Read-only queries on one SQLite MLflow store; a connection per call (sqlite3 connections
    belong to their thread, and opening one costs well under a millisecond)."""

    def __init__(self, path: Path, workspaced: set[str]) -> None:
        self.path = path
        self._workspaced = workspaced  # tables with MLflow 3's `workspace` column

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def _in_workspace(self, table: str, alias: str) -> str:
        return f" AND {alias}.workspace = '{_WORKSPACE}'" if table in self._workspaced else ""

    def version(self, name: str, *, version: str | None = None, alias: str | None = None) -> StoredVersion | None:
        """The version `version` of `name`, or the one holding `alias`; None when there is none."""
        if alias is not None:
            held = self._rows("SELECT a.version FROM registered_model_aliases a WHERE a.name = ? AND a.alias = ?"
                              + self._in_workspace("registered_model_aliases", "a"), (name, alias))
            if not held:
                return None
            version = str(held[0][0])
        if version is None or not str(version).isdigit():
            return None
        rows = self._rows("SELECT v.name, v.version, v.run_id, v.storage_location FROM model_versions v "
                          "WHERE v.name = ? AND v.version = ? AND v.current_stage != ?"
                          + self._in_workspace("model_versions", "v"), (name, int(version), _DELETED_STAGE))
        return _version(rows[0]) if rows else None

    def versions(self, name: str) -> list[StoredVersion]:
        """Every version of `name`, newest first."""
        rows = self._rows("SELECT v.name, v.version, v.run_id, v.storage_location FROM model_versions v "
                          "WHERE v.name = ? AND v.current_stage != ?" + self._in_workspace("model_versions", "v")
                          + " ORDER BY v.version DESC", (name, _DELETED_STAGE))
        return [_version(r) for r in rows]

    def aliases(self, name: str) -> dict[str, str]:
        """{alias: version} of `name`."""
        rows = self._rows("SELECT a.alias, a.version FROM registered_model_aliases a WHERE a.name = ?"
                          + self._in_workspace("registered_model_aliases", "a"), (name,))
        return {alias: str(version) for alias, version in rows}

    def runs(self, run_ids: list[str]) -> dict[str, StoredRun]:
        """{run id: run} for the ids that exist, deleted runs included (as MLflow's `get_run`)."""
        ids = sorted(set(run_ids))
        found: dict[str, StoredRun] = {}
        for start in range(0, len(ids), 500):  # SQLite's default limit on bound parameters is 999
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(self._with_data(self._rows(
                "SELECT run_uuid, start_time, status, artifact_uri FROM runs "
                f"WHERE run_uuid IN ({marks})", tuple(chunk))))
        return found

    def experiment_id(self, name: str) -> str | None:
        """The id of the experiment called `name`, or None."""
        rows = self._rows("SELECT e.experiment_id FROM experiments e WHERE e.name = ?"
                          + self._in_workspace("experiments", "e"), (name,))
        return str(rows[0][0]) if rows else None

    def search_runs(self, experiment_id: str, tags: dict[str, str], status: str) -> list[StoredRun]:
        """Active runs of one experiment with `status` and every tag in `tags`, newest first
        (MLflow's `search_runs` with `tags.k = 'v'` filters and `attributes.start_time DESC`)."""
        where = ["r.experiment_id = ?", "r.lifecycle_stage = 'active'", "r.status = ?"]
        params: list[object] = [int(experiment_id), status]
        for key, value in tags.items():
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ? AND t.value = ?)")
            params += [key, value]
        rows = self._rows("SELECT r.run_uuid, r.start_time, r.status, r.artifact_uri FROM runs r WHERE "
                          + " AND ".join(where) + " ORDER BY r.start_time DESC, r.run_uuid", tuple(params))
        found = self._with_data(rows)
        return [found[r[0]] for r in rows]

    def _with_data(self, rows: list[tuple]) -> dict[str, StoredRun]:
        """Runs from (id, start, status, artifact uri) rows, with their tags and latest metrics."""
        if not rows:
            return {}
        ids = [r[0] for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
        for start in range(0, len(ids), 500):
            chunk = tuple(ids[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            for run_id, key, value in self._rows(f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})",
                                                 chunk):
                tags[run_id][key] = value
            for run_id, key, value, is_nan in self._rows(
                    f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", chunk):
                metrics[run_id][key] = math.nan if is_nan else float(value)
        return {r[0]: StoredRun(run_id=r[0], start_time=int(r[1] or 0), status=str(r[2]), artifact_uri=str(r[3]),
                                tags=tags[r[0]], metrics=metrics[r[0]]) for r in rows}


def _version(row: tuple) -> StoredVersion:
    return StoredVersion(name=row[0], version=str(row[1]), run_id=row[2] or "", storage_location=row[3] or "")


def open_local(uri: str) -> LocalStore | None:
    """A reader of the SQLite store at `uri`, or None when MLflow must read it: another kind of
    store, a file not created yet, or a schema without a column these queries name."""
    path = _database_file(uri)
    if path is None or not path.is_file():
        return None
    workspaced = set()
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            for table, wanted in _COLUMNS.items():
                have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
                if not wanted <= have:
                    return None
                if "workspace" in have:
                    workspaced.add(table)
        finally:
            con.close()
    except sqlite3.Error:  # not a database, locked for schema changes, unreadable: MLflow says what
        return None
    return LocalStore(path, workspaced)


__all__ = ["LocalStore", "StoredRun", "StoredVersion", "local_path", "open_local"]
