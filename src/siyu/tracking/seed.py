"""A new SQLite tracking store starts as a copy of an empty one, already migrated.

Why: MLflow creates a new SQLite store by running every one of its schema migrations: 1.7-1.9 s
per store once MLflow is imported (3.3 s for a process's first), against 0.05-0.08 s for a copy
on the test machine, paid by the first command of every new project and by every test that
opens a store of its own. The migrated, empty database is the same for every store of one MLflow
version, so it is built once per version in siyu's cache folder (`SIYU_CACHE_DIR`, else
`$XDG_CACHE_HOME/siyu`, else `~/.cache/siyu`) and copied.

The template holds the schema, its alembic version and the rows the migrations insert, but not
MLflow's "Default" experiment: its artifact location and creation time belong to the store, so
MLflow adds it itself on first open, as it does for any store that lacks it. Seeding is only a
shortcut: when it cannot be done (a folder not writable, an unexpected layout) MLflow creates
the store as it always did.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where siyu keeps what it can rebuild: `SIYU_CACHE_DIR`, else `$XDG_CACHE_HOME/siyu`, else
    `~/.cache/siyu`."""
    if os.environ.get("SIYU_CACHE_DIR"):
        return Path(os.environ["SIYU_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "siyu"


def sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///` tracking URI (None for any other store or an in-memory one)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix):].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def seed_sqlite_store(uri: str) -> bool:
    """Create the store of `uri` as a copy of the migrated empty template when it is a SQLite file
    that does not exist yet (its folder does). Returns whether it did; never raises."""
    target = sqlite_path(uri)
    if target is None or target.exists() or not target.parent.is_dir():
        return False
    try:
        _link_copy(_template(), target)
    except FileExistsError:  # another process created the store meanwhile: theirs stands
        return False
    except Exception as exc:  # noqa: BLE001 - a shortcut only: MLflow creates the store instead
        log.debug("could not seed %s from a template (%s); MLflow creates it", target, exc)
        return False
    return True


def _template() -> Path:
    """The migrated empty store of the installed MLflow, built on first need."""
    import mlflow

    folder = cache_dir()
    path = folder / f"mlflow-{mlflow.__version__}-empty.db"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".building-", suffix=".db", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # MLflow sees no file, as for any new store
    try:
        _migrated(f"sqlite:///{tmp}")
        with sqlite3.connect(tmp) as con:
            # the store's own row: MLflow adds it with the right artifact location on first open
            con.execute("DELETE FROM experiments WHERE experiment_id = 0")
        con.close()
        os.replace(tmp, path)  # whole or not at all, whoever builds it last
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _migrated(uri: str) -> None:
    """Let MLflow create (migrate) the store of `uri`, then let go of its connections."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    with tempfile.TemporaryDirectory() as artifacts:
        store = SqlAlchemyStore(uri, artifacts)
        store.engine.dispose()


def _link_copy(template: Path, target: Path) -> None:
    """Copy `template` to `target`, which appears whole or not at all and is never overwritten
    (FileExistsError when it exists by then); the file's mode is what the umask gives a new file,
    as MLflow's own would have."""
    tmp = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out, template.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.link(tmp, target)
    finally:
        tmp.unlink()
