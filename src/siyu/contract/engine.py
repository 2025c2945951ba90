"""The validation engine: the contract's rules run in DuckDB over a mapped table, on a
connection the caller opens (`siyu.jobs.validate` wires it to the files).

Passes over the events (each streams the source; nothing is loaded into pandas):
1. duplicate candidates: `hash(event_id)` of every row, streamed out and sorted (cheaper
   than a GROUP BY over 50M distinct strings); only hashes seen twice survive;
2. suspects: one scan keeps the rows failing any other error rule or carrying a candidate
   hash (a small table); duplicates are then confirmed exactly on the ids there, keeping
   the first *otherwise valid* row of each; the rejects (`reject_reason`: all failing rules,
   '; '; the source file and row; the source values as text), the per-rule counts and
   examples all come from this small table;
3. clean rows: every mapped row but the rejected ones (an anti-join on their row keys), in
   canonical columns;
4. warnings are counted on the clean rows.
Users come after, from the users table (PII dropped) or derived from the clean events.
The engine returns SQL for what is to be written; the job writes it and checks the invariant
(clean rows + rejected rows == input rows) on the written files.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa

from siyu.contract.mapping import MappedTable, literal, quote, raw_name
from siyu.contract.report import RuleOutcome, TableReport, ValidationReport, example_text
from siyu.contract.rules import Rule, applicable, rules_for
from siyu.io.duck import memory_lent, memory_limit_bytes

EXAMPLES = 5
EMPTY_USER_REJECTS_SQL = ("SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_row, "
                          "CAST(NULL AS VARCHAR) AS reject_reason, CAST(NULL AS VARCHAR) AS user_id LIMIT 0")


@dataclass(frozen=True)
class CheckedTable:
    """A table ready to be split: its checked view, rules, and (once counted) what they found."""

    name: str
    source: str
    view: str
    mapped: MappedTable
    rules: tuple[Rule, ...]
    predicates: dict[str, str]
    malformed: str | None = None  # relation of source lines that are no row (CSV)
    suspects: str = ""  # view of the few rows failing an error rule or sharing a duplicate hash
    max_abs_amount: float = 1e9
    rows_in: int = 0
    rows_rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def error_sql(self) -> str:
        errors = [self.predicates[r.name] for r in self.rules if r.severity == "error"]
        return " OR ".join(errors) if errors else "false"

    def rules_of(self, severity: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.severity == severity)


# Values that are personal data whatever the column is called (checked on a sample of each
# column offered as a feature): more than half of the sample matching refuses the column.
PII_VALUE_PATTERNS: dict[str, str] = {
    "Chinese mobile numbers": r"^\s*(\+?86[- ]?)?1[3-9][0-9]{9}\s*$",
    "e-mail addresses": r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$",
}


def pii_content_issues(con: duckdb.DuckDBPyConnection, relation: str, offered: dict[str, str],
                       *, sample: int = 2000) -> list[str]:
    """Messages for columns offered as features (`{column: where offered}`) whose values look like
    personal data (rule `pii_as_feature`, by content)."""
    from siyu.contract.rules import PII_BY_CONTENT

    out = []
    for column, where in offered.items():
        counts = ", ".join(f"count(*) FILTER (WHERE regexp_matches(v, {literal(p)}))" for p in PII_VALUE_PATTERNS.values())
        n, *hits = con.execute(
            f"SELECT count(*), {counts} FROM (SELECT CAST({quote(column)} AS VARCHAR) AS v FROM {relation} "
            f"WHERE {quote(column)} IS NOT NULL LIMIT {sample})").fetchall()[0]
        for what, k in zip(PII_VALUE_PATTERNS, hits, strict=True):
            if n and k / n > 0.5:
                rule = f"{k:,} of {n:,} sampled values look like {what}"
                out.append(PII_BY_CONTENT.message.format(column=column, detail=f"listed in {where}", rule=rule))
    return out


def local_as_of(as_of: datetime | None, timezone: str) -> datetime | None:
    """`as_of` as naive local time in `timezone` (aware times converted, naive ones kept)."""
    if as_of is None or as_of.tzinfo is None:
        return as_of
    return as_of.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def rule_condition(rule: Rule, as_of: datetime | None, max_abs_amount: float = 1e9) -> str:
    """A rule's predicate with its parameters filled in: true when the row fails (or NULL)."""
    sql = rule.predicate or "false"
    if "{as_of}" in sql:
        sql = sql.replace("{as_of}", f"TIMESTAMP {literal(as_of.isoformat(sep=' '))}")  # type: ignore[union-attr]
    return sql.replace("{max_abs_amount}", repr(float(max_abs_amount)))


def rule_predicate(rule: Rule, as_of: datetime | None, max_abs_amount: float = 1e9) -> str:
    """A rule's predicate, never NULL (so `NOT` of it keeps the rows it does not fail)."""
    return f"coalesce(({rule_condition(rule, as_of, max_abs_amount)}), false)"


def prepare(con: duckdb.DuckDBPyConnection, name: str, source: str, mapped: MappedTable,
             as_of: datetime | None, *, dup_key: str, malformed: str | None,
             max_abs_amount: float = 1e9) -> CheckedTable:
    """Create `<name>_checked` (every mapped row, with what the duplicate rule needs) and
    `<name>_suspects_checked` (only the rows that may fail an error rule). `name` is `users`,
    `events` or `events_<source>` (a further events source: the event rules)."""
    present = set(mapped.present) | ({"as_of"} if as_of is not None else set())
    present |= {"malformed"} if malformed else set()
    rules = tuple(r for r in rules_for("users" if name == "users" else "events")
                  if r.scope in ("source", "row") and applicable(r, present))
    predicates = {r.name: rule_predicate(r, as_of, max_abs_amount) for r in rules}
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_mapped AS {mapped.sql}")
    dup_rule = next((r.name for r in rules if r.name.startswith("duplicate_")), None)
    others = [predicates[r.name] for r in rules if r.severity == "error" and r.name != dup_rule]
    # A WHERE keeps a row only where the OR is true, and drops NULL as it drops false: the bare
    # conditions select the rows the coalesced predicates do, a fifth faster over every row.
    suspect = " OR ".join(f"({rule_condition(r, as_of, max_abs_amount)})" for r in rules
                          if r.severity == "error" and r.name != dup_rule) or "false"
    if dup_rule is not None:
        hashes = _repeated_hashes(con, f"SELECT hash({dup_key}) FROM {name}_mapped WHERE {dup_key} IS NOT NULL")
        if len(hashes):
            con.register(f"{name}_dup_hash_arrow", pa.table({"h": hashes}))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_dup_hashes AS SELECT h FROM {name}_dup_hash_arrow")
            con.unregister(f"{name}_dup_hash_arrow")
            suspect += f" OR ({dup_key} IS NOT NULL AND hash({dup_key}) IN (SELECT h FROM {name}_dup_hashes))"
    # Every row of a duplicated id carries a repeated hash, so all of them are suspects: the
    # exact check (and the first otherwise valid row of each id) needs only this small table.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_suspects AS SELECT * FROM {name}_mapped WHERE {suspect}")
    with_dups = False
    if dup_rule is not None:
        not_other = f"NOT ({' OR '.join(others)})" if others else "true"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name}_dups AS SELECT {dup_key} AS _dup_id, "
            f"count(*) AS _dup_n, min(_row_key) FILTER (WHERE {not_other}) AS _dup_keep "
            f"FROM {name}_suspects WHERE {dup_key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1")
        with_dups = con.execute(f"SELECT count(*) FROM {name}_dups").fetchone()[0] > 0
    view = f"{name}_checked"
    for rows_view, rows_of in ((view, f"{name}_mapped"), (f"{name}_suspects_checked", f"{name}_suspects")):
        if with_dups:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {rows_view} AS SELECT m.*, d._dup_n, d._dup_keep "
                f"FROM {rows_of} m LEFT JOIN {name}_dups d ON m.{dup_key} = d._dup_id")
        else:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {rows_view} AS SELECT *, CAST(NULL AS BIGINT) AS _dup_n, "
                f"CAST(NULL AS BIGINT) AS _dup_keep FROM {rows_of}")
    return CheckedTable(name, source, view, mapped, rules, predicates, malformed, f"{name}_suspects_checked",
                        max_abs_amount=max_abs_amount)


def _repeated_hashes(con: duckdb.DuckDBPyConnection, sql: str) -> np.ndarray:
    """The distinct values seen more than once in the one UBIGINT column of `sql`.

    While they fit in half the connection's memory_limit, the values are streamed into one
    array (DuckDB's limit lowered by as much meanwhile), which two threads sort, a half of the
    value range each: 4.2 s and 6.5 CPU s for 50M values where DuckDB's sort took 5.8 s and
    11 CPU s. Past that DuckDB sorts them, spilling to disk (`_repeated_sorted`).
    """
    budget = memory_limit_bytes(con) // 2
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    with memory_lent(con, budget):
        batches: list[np.ndarray] = []
        held = 0
        reader = con.sql(sql).to_arrow_reader(1 << 20)
        for batch in reader:
            values = batch.column(0).to_numpy()
            held += values.nbytes
            if held > budget:  # too many for Python's share: DuckDB sorts them instead
                batches.clear()
                reader.close()
                break
            batches.append(values)
        else:
            return _repeated_in_memory(batches, threads=min(threads, 2))
    return _repeated_sorted(con, sql)


def _repeated_in_memory(batches: list[np.ndarray], *, threads: int = 2) -> np.ndarray:
    """`_repeated_hashes` of values held in `batches` (emptied as it goes, so the values are
    held about once): the lower half of the value range is packed from the array's start,
    the upper from its end, and each half is sorted on its own thread when two are allowed
    (numpy's sort lets go of the GIL); equal values fall in the same half."""
    top = np.uint64(1 << 63)
    n = sum(len(b) for b in batches)
    values = np.empty(n, dtype=np.uint64)
    low, high = 0, n
    while batches:
        batch = batches.pop(0)
        upper = batch >= top
        lows = batch[~upper]
        values[low:low + len(lows)] = lows
        low += len(lows)
        highs = batch[upper]
        values[high - len(highs):high] = highs
        high -= len(highs)
    halves = (values[:low], values[low:])
    with ThreadPoolExecutor(max(threads, 1)) as pool:
        list(pool.map(np.ndarray.sort, halves))
    found = [h[1:][h[1:] == h[:-1]] for h in halves]
    return np.unique(np.concatenate(found))


def _repeated_sorted(con: duckdb.DuckDBPyConnection, sql: str) -> np.ndarray:
    """`_repeated_hashes` by DuckDB: it sorts the values (spilling past its memory limit) and
    streams them out in order, so equal values are neighbours; a batch at a time, only the
    repeated ones are kept, so Python holds one batch, not every value."""
    found: list[np.ndarray] = []
    last = np.empty(0, dtype=np.uint64)  # the previous batch's last value: a repeat may straddle batches
    for batch in con.sql(f"SELECT * FROM ({sql}) t(h) ORDER BY h").to_arrow_reader(1 << 20):
        values = np.concatenate([last, batch.column(0).to_numpy()])
        repeated = values[1:][values[1:] == values[:-1]]
        if len(repeated):
            found.append(repeated)
        last = values[-1:]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.uint64)


def mark_rejects(con: duckdb.DuckDBPyConnection, checked: CheckedTable) -> tuple[str, int]:
    """(SQL of the rows failing any error rule, in the rejects file's columns; rows in). Marks
    their keys in `<name>_rejected` so the clean rows are an anti-join. The rows come from the
    (small) suspects table; a CSV's malformed lines are rejects too."""
    errors = checked.rules_of("error")
    reasons = ", ".join(f"CASE WHEN {checked.predicates[r.name]} THEN {literal(r.name)} END" for r in errors)
    reason_sql = f"concat_ws('; ', {reasons})" if reasons else "CAST(NULL AS VARCHAR)"
    columns = ", ".join(
        ["_source_file AS source_file", "CAST(_source_row AS BIGINT) AS source_row", f"{reason_sql} AS reject_reason"]
        + _source_value_columns(checked))
    rows_in = int(con.execute(f"SELECT count(*) FROM {checked.name}_source").fetchone()[0])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {checked.name}_rejected AS "
                f"SELECT _row_key FROM {checked.suspects} WHERE {checked.error_sql}")
    sql = f"SELECT {columns} FROM {checked.suspects} WHERE {checked.error_sql} ORDER BY _row_key"
    if checked.malformed:
        sql = (f"SELECT * FROM ({sql}) UNION ALL BY NAME SELECT _source_file AS source_file, "
               "CAST(_source_row AS BIGINT) AS source_row, 'malformed_line' AS reject_reason, _raw_line AS raw_line "
               f"FROM {checked.malformed} ORDER BY source_file, source_row")
        rows_in += int(con.execute(f"SELECT count(*) FROM {checked.malformed}").fetchone()[0])
    return sql, rows_in


def tally_rejects(con: duckdb.DuckDBPyConnection, checked: CheckedTable, rows_in: int, path: Path) -> CheckedTable:
    """Count the rejects file at `path` per rule, with up to 5 example rows each."""
    rejects = f"read_parquet({literal(path.as_posix())})"
    hits = {r.name: f"list_contains(string_split(reject_reason, '; '), {literal(r.name)})"
            for r in checked.rules_of("error")}
    tallies = "".join(f", count(*) FILTER (WHERE {hit})" for hit in hits.values())
    rows_rejected, *per_rule = con.execute(f"SELECT count(*){tallies} FROM {rejects}").fetchone()
    counts = {rule: int(n) for rule, n in zip(hits, per_rule, strict=True)}
    examples = {rule: _rows(con, f"SELECT * EXCLUDE (reject_reason) FROM {rejects} WHERE {hit} "
                                 f"ORDER BY source_file, source_row LIMIT {EXAMPLES}")
                for rule, hit in hits.items() if counts[rule]}
    return replace(checked, rows_in=rows_in, rows_rejected=int(rows_rejected), counts=counts, examples=examples)


def count_warnings(con: duckdb.DuckDBPyConnection, checked: CheckedTable, kept_sql: str) -> CheckedTable:
    """Count warning rules over the kept rows (`kept_sql`), with up to 5 example rows each."""
    counts, examples = dict(checked.counts), dict(checked.examples)
    for rule in checked.rules_of("warning"):
        pred = checked.predicates[rule.name]
        counts[rule.name] = int(con.execute(f"SELECT count(*) FROM ({kept_sql}) WHERE {pred}").fetchone()[0])
        if counts[rule.name]:
            columns = ", ".join(quote(c) for c in checked.mapped.output_columns)
            examples[rule.name] = _rows(con, f"SELECT {columns} FROM ({kept_sql}) WHERE {pred} LIMIT {EXAMPLES}")
    return replace(checked, counts=counts, examples=examples)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def over_threshold(checked: CheckedTable, max_rate: float) -> bool:
    return checked.rows_in > 0 and checked.rows_rejected / checked.rows_in > max_rate


def _source_value_columns(checked: CheckedTable) -> list[str]:
    return [f"CAST({raw_name(canon)} AS VARCHAR) AS {quote(canon)}" for canon, _ in checked.mapped.source_names]


def clean_rows_sql(con: duckdb.DuckDBPyConnection, checked: CheckedTable,
                   columns_out: tuple[str, ...] | None = None) -> str:
    """Every mapped row but the rejected ones, in canonical columns (`columns_out`: these, NULL
    where this table lacks one, so several event sources union into one EventLog)."""
    have = set(checked.mapped.output_columns)
    columns = ", ".join(quote(c) if c in have else f"CAST(NULL AS VARCHAR) AS {quote(c)}"
                        for c in (columns_out or checked.mapped.output_columns))
    rejected = f"{checked.name}_rejected"
    if con.execute(f"SELECT count(*) FROM {rejected}").fetchall()[0][0] == 0:
        return f"SELECT {columns} FROM {checked.name}_mapped"
    # The rejected rows are known by their keys: an anti-join on one BIGINT costs less than
    # evaluating every rule (and joining the duplicate ids) again on every row.
    return f"SELECT {columns} FROM {checked.name}_mapped ANTI JOIN {rejected} USING (_row_key)"


def clean_users_sql(con: duckdb.DuckDBPyConnection, users: CheckedTable | None,
                    events: str) -> tuple[str, int, list[dict[str, Any]]]:
    """(SQL of the clean users (no PII), users added from events, examples of them); `events`:
    a FROM-clause giving the clean events.

    Every user's first event is found in one grouping of the clean events (`event_users`: its
    rows are also the distinct users the profile counts). Without a users table every user is
    derived from it. With one, only users that have events but no row are derived, and a
    missing joined_at is filled with the user's first event.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE event_users AS SELECT user_id, min(ts) AS first_ts, "
                f"arg_min(channel, ts) AS first_channel FROM {events} GROUP BY user_id")
    if users is None:
        added = int(con.execute("SELECT count(*) FROM event_users").fetchone()[0])
        return "SELECT user_id, first_ts AS joined_at, first_channel AS source_channel FROM event_users", added, []
    attrs = [quote(c) for c in users.mapped.output_columns[3:]]
    where = f"WHERE NOT ({users.error_sql})" if users.rows_rejected else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE users_kept AS SELECT * FROM {users.view} {where}")
    con.execute("CREATE OR REPLACE TEMP TABLE unknown_users AS SELECT * FROM event_users ANTI JOIN users_kept "
                "USING (user_id)")
    con.execute("CREATE OR REPLACE TEMP TABLE first_events AS SELECT * FROM event_users SEMI JOIN "
                "(SELECT user_id FROM users_kept WHERE joined_at IS NULL) k USING (user_id)")
    unknown = int(con.execute("SELECT count(*) FROM unknown_users").fetchone()[0])
    examples = _rows(con, "SELECT user_id, first_ts AS first_event_ts FROM unknown_users "
                          f"ORDER BY user_id LIMIT {EXAMPLES}")
    null_attrs = "".join(f", CAST(NULL AS VARCHAR) AS {a}" for a in attrs)
    kept_attrs = "".join(f", k.{a}" for a in attrs)
    sql = (f"SELECT k.user_id, coalesce(k.joined_at, f.first_ts) AS joined_at, k.source_channel{kept_attrs} "
           "FROM users_kept k LEFT JOIN first_events f USING (user_id) "
           f"UNION ALL SELECT user_id, first_ts, first_channel{null_attrs} FROM unknown_users")
    return sql, unknown, examples


def _values(rows: list[dict[str, Any]], column: str) -> str:
    seen: list[str] = []
    for row in rows:
        text = example_text(row.get(column))
        if text not in seen:
            seen.append(text)
    return ", ".join(seen[:3]) or "-"


def _outcome(rule: Rule, count: int, rows_in: int, rows: list[dict[str, Any]], rejects: Path,
             expected: str) -> RuleOutcome:
    message = rule.message.format(
        column=rule.column, count=f"{count:,}", share=f"{count / rows_in:.2%}" if rows_in else "0%",
        examples=_values(rows, rule.column), expected=expected, rejects=rejects.as_posix())
    return RuleOutcome(rule.name, rule.table, rule.severity, rule.scope, rule.column, count,
                       count / rows_in if rows_in else 0.0, message, tuple(rows))


def table_report(con: duckdb.DuckDBPyConnection, checked: CheckedTable, clean: Path,
                  rejects: Path, failed: bool, as_of: datetime | None) -> TableReport:
    outcomes = [RuleOutcome(i.rule, i.table, i.severity, i.scope, i.column, None, None, i.message)
                for i in checked.mapped.issues]
    for rule in checked.rules:
        expected = as_of.isoformat(sep=" ") if rule.name == "ts_after_as_of" and as_of else checked.mapped.ts_expected
        if rule.name == "amount_out_of_range":
            expected = f"|amount| <= {checked.max_abs_amount:g}"
        outcomes.append(_outcome(rule, checked.counts.get(rule.name, 0), checked.rows_in,
                                 checked.examples.get(rule.name, []), rejects, expected))
    # Clean rows are what the job wrote and checked against rows in minus rejected, on the files.
    rows_clean = checked.rows_in - checked.rows_rejected
    return TableReport(checked.name, checked.source, checked.rows_in, rows_clean, checked.rows_rejected,
                       "" if failed else clean.as_posix(), rejects.as_posix(), tuple(outcomes))


def parquet_rows(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Rows of a Parquet file, or of every Parquet file in a folder."""
    target = (path / "*.parquet") if path.is_dir() else path
    return int(con.execute(f"SELECT count(*) FROM read_parquet({literal(target.as_posix())})").fetchone()[0])


def users_report(con: duckdb.DuckDBPyConnection, users: CheckedTable | None, out: dict[str, Path],
                  failed: bool, added: int, examples: list[dict[str, Any]]) -> TableReport:
    clean, rejects = out["clean_users"], out["rejects_users"]
    if users is None:
        rows_clean = 0 if failed else parquet_rows(con, clean)
        return TableReport("users", "events (no users table: joined_at = first event)", 0, rows_clean - added, 0,
                           "" if failed else clean.as_posix(), rejects.as_posix(), (), rows_added=added)
    base = table_report(con, users, clean, rejects, failed, None)
    if failed:
        return base
    if parquet_rows(con, clean) != base.rows_clean + added:  # the invariant, checked on the files
        raise RuntimeError(f"users: {clean} does not hold the {base.rows_clean} kept + {added} added users")
    reference = next(r for r in rules_for("users") if r.scope == "reference")
    # A share of the clean users table the message describes: added users can outnumber the rows in.
    outcome = _outcome(reference, added, base.rows_clean + added, examples, rejects, "")
    return replace(base, outcomes=(*base.outcomes, outcome), rows_added=added)


def summary(report: ValidationReport) -> str:
    lines = []
    for table in report.tables:
        lines.append(
            f"{table.table}: {table.rows_in:,} rows in, {table.rows_clean:,} clean, "
            f"{table.rows_rejected:,} rejected ({table.reject_rate:.2%})"
            + (f", {table.rows_added:,} derived from events" if table.rows_added else ""))
        lines += [f"  [{o.severity}] {o.message}" for o in table.failing()]
    if report.status == "failed":
        worst = max(report.tables, key=lambda t: t.reject_rate)
        head = (f"validation failed: {worst.table} reject rate {worst.reject_rate:.2%} is above "
                f"max_reject_rate {report.max_reject_rate:.2%}; fix the source or the column "
                "mapping (or raise max_reject_rate in the dataset config). Clean data not written; "
                f"rejects in {worst.rejects_path}")
        return "\n".join([head, *lines])
    return "\n".join(lines)
