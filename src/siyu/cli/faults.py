"""One clear line for an unexpected fault at the edges (disk, permissions, database, MLflow):
what failed, what is safe, what to do. The traceback is behind `--debug`."""

from __future__ import annotations

import errno

from siyu.config import mask_url

SAFE = "nothing was published or replaced; the previous files, tags and models are intact"


def describe_fault(exc: BaseException) -> str:
    """A one- or two-line message for `exc` (secrets masked)."""
    first = mask_url(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"disk full{where}: {SAFE}.\nFree space (or point paths.work elsewhere) and run the command again."
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        where = exc.filename or "a file"
        return (f"cannot write {where}: {exc.strerror or first} (a read-only folder, or no permission); {SAFE}.\n"
                "Point paths.work (or the tag store URL) at a writable place.")
    module = type(exc).__module__.lstrip("_")  # DuckDB's exceptions live in `_duckdb`
    if module.startswith("sqlalchemy") or module.startswith("psycopg"):
        return (f"tag store database: {first}; {SAFE}.\nCheck scoring.tag_store_url: the server, the user and "
                "the password (shown masked).")
    if module.startswith("mlflow"):
        return (f"MLflow: {first}.\nCheck tracking.uri (or MLFLOW_TRACKING_URI) and that the model's artifacts "
                "are still where the registry says.")
    if module.startswith("duckdb"):
        # DuckDB reports the OS's error inside its own text (no errno attribute): read it there.
        path = _duckdb_path(first)
        if "No space left on device" in first or '"errno":"28"' in first:
            return describe_fault(OSError(errno.ENOSPC, "No space left on device", path))
        if "Read-only file system" in first or "Permission denied" in first:
            code = errno.EROFS if "Read-only" in first else errno.EACCES
            return describe_fault(OSError(code, "Read-only file system" if code == errno.EROFS else "Permission denied",
                                          path))
    if module.startswith("duckdb") and "lock" in first.lower():
        return (f"DuckDB: {first}.\nAnother siyu command holds the file; wait for it to finish and run again.")
    if isinstance(exc, OSError):
        return f"{first}; {SAFE}."
    return f"{type(exc).__name__}: {first}"


def _duckdb_path(text: str) -> str | None:
    """The file a DuckDB I/O error names (`... file "PATH": ...`), if any."""
    import re

    found = re.search(r'file \\?"([^"\\]+)\\?"', text)
    return found.group(1) if found else None
