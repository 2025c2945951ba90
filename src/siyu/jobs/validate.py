"""Validate a dataset in DuckDB over the files in place: clean rows, rejects and a report.

The rules run in `siyu.contract.engine`; this job opens the sources and the connection, writes
what the engine selects (rejects first, then clean events and users, each staged and checked
against the input row count) and the report. The clean events of one canonical Parquet source
are a view over it (`siyu.contract.view`, `siyu.io.cleanlog`): its files, stamped before any
row is read, and the rejected rows' keys; other sources are written as Parquet. A view's
profile is the source's profile groups less the rejected rows' (counts add up).

Invariant: clean rows + rejected rows == input rows, for events and for users; both are
checked on what later steps read (the written files, or the view).
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
    pii_content_issues,
    prepare,
    summary,
    table_report,
    tally_rejects,
    users_report,
)
from siyu.contract.errors import PiiFeatureError, ValidationFailed
from siyu.contract.history import HISTORY_RULES, history_sql
from siyu.contract.mapping import (
    check_config,
    literal,
    map_events,
    map_users,
    offered_features,
    quote,
)
from siyu.contract.profile import groups_without, profile_sql
from siyu.contract.report import RuleOutcome, TableReport, ValidationReport
from siyu.contract.view import profile_groups_sql, view_columns
from siyu.io.cleanlog import events_relation, stage_view, stamp_files
from siyu.io.duck import connect
from siyu.io.readers import SourceTable, open_source, parquet_files, quiet
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
        "clean_history": paths.clean_history,
        "rejects_history": paths.rejects_dir / "attribute_history.parquet",
        "report": paths.reports_dir / "validation.json",
    }
    con = connect(memory_limit=cfg.memory_limit, threads=cfg.threads,
                  temp_directory=paths.work_dir / "tmp" / "duckdb")
    try:
        # In a Jupyter kernel DuckDB refuses this setting without ipywidgets; harmless to skip.
        with contextlib.suppress(duckdb.Error):
            quiet(con)
        con.execute(f"SET TimeZone = {literal(ds.timezone)}")
        # The history is checked first: past the reject threshold nothing clean is replaced, events included.
        history_report = None
        if ds.users is not None and ds.users.history is not None:
            (on_step or (lambda _: None))("checking the attribute history")
            history_report = _check_history(con, ds, out)
        history_failed = history_report is not None and history_report.reject_rate > ds.max_reject_rate
        events_reports, users_report, failed, groups = _run(con, ds, as_of_local, out, on_step or (lambda _: None),
                                                            blocked=history_failed)
        if history_report is None:
            out["clean_history"].unlink(missing_ok=True)  # a history of an earlier config must not linger
        elif not failed:
            _write_clean_history(con, out, history_report)
        if not failed:
            (on_step or (lambda _: None))("profiling the clean data")
            # `event_users` (one row per user with events) was grouped for the clean users.
            write_profile(cfg, con, users_with_events=int(con.execute("SELECT count(*) FROM event_users").fetchone()[0]),
                          groups=groups)
    finally:
        con.close()
    report = ValidationReport(
        dataset=ds.name, as_of=as_of_local.isoformat(sep=" ") if as_of_local else None,
        timezone=ds.timezone, max_reject_rate=ds.max_reject_rate,
        events=events_reports[0], more_events=tuple(events_reports[1:]), users=users_report,
        attribute_history=history_report, status="failed" if failed else "passed")
    report = replace(report, summary=summary(report))
    write_json(report.to_dict(), out["report"])
    if failed:
        raise ValidationFailed(report.summary, report)
    return ValidationResult(report, out["clean_events"], out["clean_users"], out["rejects_events"],
                            out["rejects_users"], out["report"])


def _run(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, as_of: datetime | None,
         out: dict[str, Path], step: Callable[[str], None], *,
         blocked: bool = False) -> tuple[list[TableReport], TableReport, bool, list[tuple] | None]:
    """Open, map, check and split both tables; returns their reports, whether the run failed and,
    when the clean events are a view, their profile's groups (`siyu.contract.profile.profile_sql`).

    Rejects are written first (from the small suspects table): past the reject threshold the
    clean events are not written at all, and the previous ones stay.
    """
    step("opening sources")
    sources = [("events", ds, out["rejects_events"])] + [
        (f"events_{src.name}", ds.source_view(src), out["rejects_events"].with_name(f"events_{src.name}.parquet"))
        for src in ds.more_events]
    opened = []
    for name, view, rejects in sources:  # every source opened and mapped first: schema errors before any row
        src = open_source(con, view.events, name)
        opened.append((name, view, rejects, src, map_events(view, src.columns, src.relation, src.label)))
    columns = view_columns(ds, opened[0][3].columns)
    # The very files the source view reads, stamped before any row is read: a file rewritten
    # while validation runs fails the view's first reader.
    stamps = None if columns is None else (columns, parquet_files(ds.events.path)[0], stamp_files(opened[0][3].files))
    users_src = users_map = None
    if ds.users is not None:  # both tables mapped before any row is read: schema errors first
        users_src = open_source(con, ds.users.source, "users")
        users_map = map_users(ds.users, ds.timezone, users_src.columns, users_src.relation, users_src.label)
    offered = {c: w for c, w in offered_features(ds).items() if c not in ds.not_pii}
    found = pii_content_issues(con, opened[0][3].relation, {c: w for c, w in offered.items() if w == "feature_columns"})
    if users_src is not None:
        found += pii_content_issues(con, users_src.relation,
                                    {c: w for c, w in offered.items() if w == "users.attributes"})
    if found:
        raise PiiFeatureError(f"dataset '{ds.name}': pii_as_feature (error):\n  " + "\n  ".join(found))
    users: CheckedTable | None = None
    if users_src is not None:
        users = prepare(con, "users", users_src.label, users_map, None, dup_key="user_id",
                         malformed=users_src.malformed)
        users = _split_rejects(con, users, out["rejects_users"])
    else:
        write_parquet_file(con, EMPTY_USER_REJECTS_SQL, out["rejects_users"])
    checked: list[CheckedTable] = []
    for name, _, rejects, src, mapped in opened:
        step("looking for duplicate events" + ("" if name == "events" else f" ({name})"))
        table = prepare(con, name, src.label, mapped, as_of, dup_key="event_id", malformed=src.malformed,
                        max_abs_amount=ds.max_abs_amount)
        step("writing rejected rows" + ("" if name == "events" else f" ({name})"))
        checked.append(_split_rejects(con, table, rejects))
    failed = blocked or any(over_threshold(t, ds.max_reject_rate) for t in checked) or (
        users is not None and over_threshold(users, ds.max_reject_rate))
    if failed:  # the clean events are not replaced: no need to write them
        checked = [count_warnings(con, t, f"SELECT * FROM {t.view} WHERE NOT ({t.error_sql})") for t in checked]
    else:
        step("writing clean events")
        staged = _stage_clean_events(con, ds, checked, stamps, out["clean_events"])
        clean_rows = int(con.execute(f"SELECT count(*) FROM {events_relation(staged)}").fetchone()[0])
        expected = sum(t.rows_in - t.rows_rejected for t in checked)
        if clean_rows != expected:  # the invariant, checked on what readers will read
            discard_folder(staged)
            raise RuntimeError(f"events: {clean_rows} clean rows written for {expected} input rows not rejected "
                               f"({sum(t.rows_in for t in checked)} in)")
        commit_folder(staged, out["clean_events"])
        if len(checked) == 1:  # the clean events are the one source's kept rows: count there
            clean = events_relation(out["clean_events"])
            checked = [count_warnings(con, checked[0], f"SELECT * FROM {clean}")]
        else:
            checked = [count_warnings(con, t, f"SELECT * FROM {t.view} WHERE NOT ({t.error_sql})") for t in checked]
    if users is not None:
        users = count_warnings(con, users, f"SELECT * FROM {users.view} WHERE NOT ({users.error_sql})")
    added: tuple[int, list[dict[str, Any]]] = (0, [])
    if not failed:
        step("writing clean users")
        added = _write_clean_users(con, users, out["clean_events"], out["clean_users"])
    groups = None
    if not failed and stamps is not None:
        groups = _view_profile_groups(con, ds, opened[0][3], checked[0])
    reports = [table_report(con, t, out["clean_events"], rejects, failed, as_of)
               for t, (_, _, rejects, _, _) in zip(checked, opened, strict=True)]
    return reports, users_report(con, users, out, failed, *added), failed, groups


def _view_profile_groups(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, src: SourceTable,
                         checked: CheckedTable) -> list[tuple]:
    """The profile's groups of clean events that are a view: those of every source row, less
    those of the rejected rows (from the small suspects table), so no row is matched against
    the rejected keys and no clean column is computed per row."""
    every_row = con.execute(profile_groups_sql(ds, src.columns, src.relation)).fetchall()
    rejected = f"(SELECT * FROM {checked.suspects} WHERE {checked.error_sql})"
    return groups_without(every_row, con.execute(profile_sql(rejected, count_users=False)["groups"]).fetchall())


def _check_history(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, out: dict[str, Path]) -> TableReport:
    """Check `users.history` row by row (into the temp table `history_checked`): rejects, with
    their reasons and source text, to their file; counts and examples per rule."""
    users = ds.users
    src = open_source(con, users.history.source, "history")
    sql = history_sql(users, src.columns, src.relation, src.label, users.history.source.ts_format, ds.timezone)
    con.execute(f"CREATE OR REPLACE TEMP TABLE history_checked AS {sql}")
    write_parquet_file(con, "SELECT _source_file AS source_file, _source_row AS source_row, reject_reason, "
                            "raw_user_id AS user_id, raw_attribute AS attribute, raw_value AS value, "
                            "raw_valid_from AS valid_from FROM history_checked WHERE reject_reason IS NOT NULL "
                            "ORDER BY source_file, source_row", out["rejects_history"])
    rows_in, rejected = con.execute(
        "SELECT count(*), count(*) FILTER (reject_reason IS NOT NULL) FROM history_checked").fetchone()
    outcomes = []
    for rule, _, meaning in HISTORY_RULES:
        count, examples = con.execute(
            "SELECT count(*), list(struct_pack(source_row := _source_row, user_id := raw_user_id, "
            "attribute := raw_attribute, value := raw_value, valid_from := raw_valid_from) ORDER BY _source_row)[1:3] "
            f"FROM history_checked WHERE contains(coalesce(reject_reason, ''), {literal(rule)})").fetchone()
        outcomes.append(RuleOutcome(
            rule=rule, table="attribute_history", severity="error", scope="row", column=rule.split("_")[0],
            count=int(count), share=count / rows_in if rows_in else 0.0,
            message=f"{count} history row(s): {meaning}; written to {out['rejects_history']}",
            examples=tuple(examples or ())))
    return TableReport(table="attribute_history", source=src.label, rows_in=int(rows_in),
                       rows_clean=int(rows_in - rejected), rows_rejected=int(rejected),
                       clean_path=str(out["clean_history"]), rejects_path=str(out["rejects_history"]),
                       outcomes=tuple(outcomes))


def _write_clean_history(con: duckdb.DuckDBPyConnection, out: dict[str, Path], report: TableReport) -> None:
    """The clean history rows, sorted by user and time; rows in = clean + rejected, checked on the file."""
    write_parquet_file(con, "SELECT user_id, attribute, value, valid_from FROM history_checked "
                            "WHERE reject_reason IS NULL ORDER BY user_id, valid_from, value", out["clean_history"])
    written = con.execute(f"SELECT count(*) FROM read_parquet({literal(out['clean_history'].as_posix())})").fetchone()[0]
    if written != report.rows_clean:  # the invariant, checked on the file
        raise RuntimeError(f"users.history: {written} clean rows written for {report.rows_clean} expected")


def _with_item_categories(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, union: str) -> str:
    """The clean events with `category` filled from the item table where an event has none (one
    category per item: the first listed), rows unchanged in number."""
    items = ds.items
    src = open_source(con, items.source, "items")
    missing = [c for c in (items.item_id, items.category) if c not in src.columns]
    if missing:
        raise ValueError(f"items source {src.label}: no column(s) {missing}; columns are {sorted(src.columns)[:12]}; "
                         "fix items.item_id / items.category in the dataset config")
    con.execute(f"CREATE OR REPLACE TEMP TABLE item_categories AS SELECT CAST({quote(items.item_id)} AS VARCHAR) "
                f"AS _item, any_value(NULLIF(trim(CAST({quote(items.category)} AS VARCHAR)), '')) AS _category "
                f"FROM {src.relation} WHERE {quote(items.item_id)} IS NOT NULL GROUP BY 1")
    return (f"SELECT e.* REPLACE (coalesce(e.category, i._category) AS category) FROM ({union}) e "
            "LEFT JOIN item_categories i ON e.item_id = i._item")


def _stage_clean_events(con: duckdb.DuckDBPyConnection, ds: DatasetConfig, checked: list[CheckedTable],
                        stamps: tuple | None, folder: Path) -> Path:
    """Stage the clean events beside `folder`: a view over the source when it qualifies
    (`siyu.contract.view`), else the clean rows written as Parquet."""
    if stamps is not None:
        columns, pattern, stamped = stamps
        return stage_view(con, folder, pattern=pattern, stamps=stamped, columns=columns,
                          rejected_sql=f"SELECT _row_key FROM {checked[0].name}_rejected", source=ds.events.path)
    names = checked[0].mapped.output_columns
    union = " UNION ALL ".join(f"({clean_rows_sql(con, t, names)})" for t in checked)
    if ds.items is not None:
        union = _with_item_categories(con, ds, union)
    return stage_parquet_folder(con, union, folder)


def _split_rejects(con: duckdb.DuckDBPyConnection, checked: CheckedTable, path: Path) -> CheckedTable:
    """Write the rows failing any error rule to `path`; count them per rule, with examples."""
    sql, rows_in = mark_rejects(con, checked)
    write_parquet_file(con, sql, path)
    return tally_rejects(con, checked, rows_in, path)


def _write_clean_users(con: duckdb.DuckDBPyConnection, users: CheckedTable | None, clean_events: Path,
                       clean_users: Path) -> tuple[int, list[dict[str, Any]]]:
    """Write clean users (no PII); return (users added from events, examples of them)."""
    sql, added, examples = clean_users_sql(con, users, events_relation(clean_events))
    write_parquet_file(con, sql, clean_users)
    return added, examples
