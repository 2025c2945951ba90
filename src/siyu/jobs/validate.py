"""Validate a dataset in DuckDB over the files in place: clean rows, rejects and a report.

The rules run in `siyu.contract.engine`; this job opens the sources and the connection, writes
what the engine selects (rejects first, then clean events and users, each staged and checked
against the input row count) and the report.

Invariant: clean rows + rejected rows == input rows, for events and for users; both are
checked on the written files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from siyu.config import DatasetConfig, SiyuConfig
from siyu.contract.engine import (
    EMPTY_USER_REJECTS_SQL,
    CheckedTable,
    clean_rows_sql,
    clean_users_sql,
    count_warnings,
    local_as_of,
    mark_rejects,
    over_threshold,
    parquet_rows,
    prepare,
    summary,
    table_report,
    tally_rejects,
    users_report,
)
from siyu.contract.errors import ValidationFailed
from siyu.contract.mapping import (
    check_config,
    literal,
    map_events,
    map_users,
)
from siyu.contract.report import TableReport, ValidationReport
from siyu.io.duck import connect
from siyu.io.readers import open_source, quiet
from siyu.io.workspace import write_profile
from siyu.io.writers import (
    commit_folder,
    discard_folder,
    stage_parquet_folder,
    write_json,
    write_parquet_file,
)


@dataclass(frozen=True)
class ValidationResult:
    """What `validate_dataset` wrote and found."""

    report: ValidationReport
    clean_events: Path
    clean_users: Path
    rejects_events: Path
    rejects_users: Path
    report_path: Path

    @property
    def passed(self) -> bool:
        return self.report.passed


def validate_dataset(cfg: SiyuConfig, as_of: datetime | None = None, *,
                     on_step: Callable[[str], None] | None = None) -> ValidationResult:
    """Validate `cfg.dataset`; write clean / rejects / report; raise ValidationFailed past the threshold.

    `as_of` (naive local, or aware) enables the rule `ts_after_as_of`; None skips it.
    `on_step` is told what runs next (for a progress display).
    """
    ds = cfg.dataset
    check_config(ds)
    as_of_local = local_as_of(as_of, ds.timezone)
    paths = cfg.paths
    out = {
        "clean_events": paths.clean_events,
        "clean_users": paths.clean_users,
        "rejects_events": paths.rejects_dir / "events.parquet",
        "rejects_users": paths.rejects_dir / "users.parquet",
        "report": paths.reports_dir / "validation.json",
    }
    con = connect(memory_limit=cfg.memory_limit, threads=cfg.threads,
                  temp_directory=paths.work_dir / "tmp" / "duckdb")
    try:
        # In a Jupyter kernel DuckDB refuses this setting without ipywidgets; harmless to skip.
        with contextlib.suppress(duckdb.Error):
            quiet(con)
        con.execute(f"SET TimeZone = {literal(ds.timezone)}")
        events_report, users_report, failed = _run(con, ds, as_of_local, out, on_step or (lambda _: None))
        if not failed:
            (on_step or (lambda _: None))("profiling the clean data")
            write_profile(cfg, con)
    finally:
        con.close()
    report = ValidationReport(
        dataset=ds.name, as_of=as_of_local.isoformat(sep=" ") if as_of_local else None,
        timezone=ds.timezone, max_reject_rate=ds.max_reject_rate,
        events=events_report, users=users_report, status="failed" if failed else "passed")
    report = replace(report, summary=summary(report))
    write_json(report.to_dict(), out["report"])
    if failed:
        raise ValidationFailed(report.summary, report)
    return ValidationResult(report, out["clean_events"], out["clean_users"], out["rejects_events"],
                            out["rejects_users"], out["report"])


def _run(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, as_of: datetime | None,
         out: dict[str, Path], step: Callable[[str], None]) -> tuple[TableReport, TableReport, bool]:
    """Open, map, check and split both tables; returns their reports and whether the run failed.

    Rejects are written first (from the small suspects table): past the reject threshold the
    clean events are not written at all, and the previous ones stay.
    """
    step("opening sources")
    events_src = open_source(con, ds.events, "events")
    events_map = map_events(ds, events_src.columns, events_src.relation, events_src.label)
    users: CheckedTable | None = None
    if ds.users is not None:  # open both sources first: schema errors before any row is read
        users_src = open_source(con, ds.users.source, "users")
        users_map = map_users(ds.users, ds.timezone, users_src.columns, users_src.relation, users_src.label)
        users = prepare(con, "users", users_src.label, users_map, None, dup_key="user_id",
                         malformed=users_src.malformed)
        users = _split_rejects(con, users, out["rejects_users"])
    else:
        write_parquet_file(con, EMPTY_USER_REJECTS_SQL, out["rejects_users"])
    step("looking for duplicate events")
    events = prepare(con, "events", events_src.label, events_map, as_of, dup_key="event_id",
                      malformed=events_src.malformed)
    step("writing rejected rows")
    events = _split_rejects(con, events, out["rejects_events"])
    failed = over_threshold(events, ds.max_reject_rate) or (
        users is not None and over_threshold(users, ds.max_reject_rate))
    if failed:  # the clean events are not replaced: no need to write them
        events = count_warnings(con, events, f"SELECT * FROM {events.view} WHERE NOT ({events.error_sql})")
    else:
        step("writing clean events")
        staged = stage_parquet_folder(con, clean_rows_sql(con, events), out["clean_events"])
        clean_rows = parquet_rows(con, staged)
        if clean_rows != events.rows_in - events.rows_rejected:  # the invariant, checked on the files
            discard_folder(staged)
            raise RuntimeError(f"events: {clean_rows} clean + {events.rows_rejected} rejected rows "
                               f"written for {events.rows_in} input rows")
        commit_folder(staged, out["clean_events"])
        clean_glob = literal((out["clean_events"] / "*.parquet").as_posix())
        events = count_warnings(con, events, f"SELECT * FROM read_parquet({clean_glob})")
    if users is not None:
        users = count_warnings(con, users, f"SELECT * FROM {users.view} WHERE NOT ({users.error_sql})")
    added: tuple[int, list[dict[str, Any]]] = (0, [])
    if not failed:
        step("writing clean users")
        added = _write_clean_users(con, users, out["clean_events"], out["clean_users"])
    events_report = table_report(con, events, out["clean_events"], out["rejects_events"], failed, as_of)
    return events_report, users_report(con, users, out, failed, *added), failed


def _split_rejects(con: duckdb.DuckDBPyConnection, checked: CheckedTable, path: Path) -> CheckedTable:
    """Write the rows failing any error rule to `path`; count them per rule, with examples."""
    sql, rows_in = mark_rejects(con, checked)
    write_parquet_file(con, sql, path)
    return tally_rejects(con, checked, rows_in, path)


def _write_clean_users(con: duckdb.DuckDBPyConnection, users: CheckedTable | None, clean_events: Path,
                       clean_users: Path) -> tuple[int, list[dict[str, Any]]]:
    """Write clean users (no PII); return (users added from events, examples of them)."""
    sql, added, examples = clean_users_sql(con, users, clean_events)
    write_parquet_file(con, sql, clean_users)
    return added, examples
