"""Validation rules as data: a name, a severity, a SQL predicate and a message template.

Row rules are predicates over a *mapped* view (see `siyu.contract.mapping`): typed canonical
columns (`user_id`, `ts`, `event_type`, `role`, `amount`, ...), whether the source gave a
value (`_given_ts`, `_given_amount`, ...), the parsed numbers (`_amount_value`, ...) and, for
duplicate checks, `_dup_n` / `_dup_keep` / `_row_key`. A predicate is true when the row
*fails*. Errors send the row to the rejects file; warnings keep it and are only counted.
Source rules (`malformed_line`) catch what the reader could not turn into a row at all; those
lines are rejected with their text. Schema and config rules have no predicate: they are
checked before any row is read. A reference rule (`unknown_user`) compares the two tables.

Message templates take `{column}`, `{count}`, `{share}`, `{examples}` (offending source
values), `{expected}` and `{rejects}` (where rejected rows went).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Scope = Literal["config", "schema", "source", "row", "reference"]
Table = Literal["events", "users"]


@dataclass(frozen=True)
class Rule:
    """One check of the contract; `predicate` is SQL over the mapped view (row rules only)."""

    name: str
    table: Table
    severity: Severity
    scope: Scope
    column: str
    message: str
    predicate: str | None = None
    requires: tuple[str, ...] = ()  # mapped columns (or 'as_of', 'malformed') it needs to apply


MISSING_COLUMN = Rule(
    "missing_column", "events", "error", "schema", "*",
    "{column}: required column {detail} not in the source; available columns: {available}",
)
MISSING_OPTIONAL_COLUMN = Rule(
    "missing_optional_column", "events", "warning", "schema", "*",
    "{column}: mapped from {detail}, which the source does not have; filled with NULL",
)
PII_AS_FEATURE = Rule(
    "pii_as_feature", "events", "error", "config", "*",
    "{column}: declared PII but also offered as a feature ({detail}); PII never becomes a "
    "feature: remove it from the feature list or from the PII list",
)
PII_BY_NAME = Rule(
    "pii_as_feature", "events", "error", "config", "*",
    "{column}: offered as a feature ({detail}) but {rule}, which names personal data; PII never becomes "
    "a feature: declare it under `pii` (it is then dropped), or under `not_pii` if it is not personal",
)
PII_BY_CONTENT = Rule(
    "pii_as_feature", "events", "error", "config", "*",
    "{column}: offered as a feature ({detail}) but {rule}; PII never becomes a feature: declare it under "
    "`pii` (it is then dropped), or under `not_pii` if it is not personal",
)

EVENT_RULES: tuple[Rule, ...] = (
    Rule("null_user_id", "events", "error", "row", "user_id",
         "user_id: {count} rows without a user id; written to {rejects}",
         "user_id IS NULL"),
    Rule("null_ts", "events", "error", "row", "ts",
         "ts: {count} rows without a timestamp; written to {rejects}",
         "NOT _given_ts"),
    Rule("ts_unparseable", "events", "error", "row", "ts",
         "ts: {count} rows unparseable (e.g. {examples}; expected {expected}); written to {rejects}",
         "_given_ts AND ts IS NULL"),
    Rule("null_event_type", "events", "error", "row", "event_type",
         "event_type: {count} rows without an event type; written to {rejects}",
         "event_type IS NULL"),
    Rule("amount_not_numeric", "events", "error", "row", "amount",
         "amount: {count} rows not a number (e.g. {examples}); written to {rejects}",
         "_given_amount AND _amount_value IS NULL", requires=("amount",)),
    Rule("quantity_not_numeric", "events", "error", "row", "quantity",
         "quantity: {count} rows not a number (e.g. {examples}); written to {rejects}",
         "_given_quantity AND _quantity_value IS NULL", requires=("quantity",)),
    Rule("amount_not_finite", "events", "error", "row", "amount",
         "amount: {count} rows with a non-finite amount (NaN or infinite, e.g. {examples}); written to {rejects}",
         "_amount_value IS NOT NULL AND (isnan(_amount_value) OR isinf(_amount_value))", requires=("amount",)),
    Rule("amount_out_of_range", "events", "error", "row", "amount",
         "amount: {count} rows beyond the bound {expected} (e.g. {examples}); written to {rejects}; "
         "raise max_abs_amount in the dataset config if they are real",
         "isfinite(_amount_value) AND abs(_amount_value * coalesce(_quantity_value, 1.0)) > {max_abs_amount}",
         requires=("amount",)),
    Rule("ts_after_as_of", "events", "error", "row", "ts",
         "ts: {count} rows after the as-of time {expected} (e.g. {examples}); written to {rejects}",
         "ts > {as_of}", requires=("as_of",)),
    Rule("purchase_without_amount", "events", "error", "row", "amount",
         "amount: {count} purchase rows without an amount; written to {rejects}",
         "role = 'purchase' AND NOT _given_amount", requires=("amount",)),
    Rule("negative_amount", "events", "error", "row", "amount",
         "amount: {count} rows with a negative amount on a non-refund event (e.g. {examples}); "
         "written to {rejects}",
         "amount < 0 AND role <> 'refund'"),
    Rule("duplicate_event_id", "events", "error", "row", "event_id",
         "event_id: {count} duplicate rows (e.g. {examples}); the first valid occurrence is "
         "kept, the rest written to {rejects}",
         "_dup_n IS NOT NULL AND _row_key IS DISTINCT FROM _dup_keep", requires=("event_id",)),
    Rule("malformed_line", "events", "error", "source", "raw_line",
         "{count} CSV lines do not split into the header's columns (e.g. {examples}); written to "
         "{rejects} with their raw text", requires=("malformed",)),
    Rule("unknown_event_type", "events", "warning", "row", "event_type",
         "event_type: {count} rows with an event type not listed under roles (e.g. {examples}); "
         "kept with role 'other': list them under roles in the dataset config",
         "event_type IS NOT NULL AND role = 'other'"),
)

USER_RULES: tuple[Rule, ...] = (
    Rule("null_user_id", "users", "error", "row", "user_id",
         "user_id: {count} users without a user id; written to {rejects}",
         "user_id IS NULL"),
    Rule("joined_at_unparseable", "users", "error", "row", "joined_at",
         "joined_at: {count} users with an unparseable join time (e.g. {examples}; expected "
         "{expected}); written to {rejects}",
         "_given_joined_at AND joined_at IS NULL", requires=("joined_at",)),
    Rule("duplicate_user_id", "users", "error", "row", "user_id",
         "user_id: {count} duplicate users (e.g. {examples}); the first valid row is kept, the "
         "rest written to {rejects}",
         "_dup_n IS NOT NULL AND _row_key IS DISTINCT FROM _dup_keep"),
    Rule("malformed_line", "users", "error", "source", "raw_line",
         "{count} CSV lines do not split into the header's columns (e.g. {examples}); written to "
         "{rejects} with their raw text", requires=("malformed",)),
    Rule("joined_at_missing", "users", "warning", "row", "joined_at",
         "joined_at: {count} users without a join time; set to their first event",
         "NOT _given_joined_at", requires=("joined_at",)),  # `joined_at: null` in the config says it already
    Rule("unknown_user", "users", "warning", "reference", "user_id",
         "user_id: {count} users have events but no row in the users table (e.g. {examples}); "
         "added with joined_at = their first event",
         ),
)


def rules_for(table: Table) -> tuple[Rule, ...]:
    """The row and reference rules of one table, in report order."""
    return EVENT_RULES if table == "events" else USER_RULES


def applicable(rule: Rule, present: set[str]) -> bool:
    """Whether a rule applies, given the columns mapped from the source (and 'as_of' if set)."""
    return all(name in present for name in rule.requires)
