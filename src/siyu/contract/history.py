"""The history of changing user attributes (`users.history`), checked row by row (pure SQL).

One row per change: user, attribute, new value, `valid_from`. A row is rejected (kept in the
rejects file with its reason, never dropped) when its user id or value is empty, its time does
not parse, or it names an attribute not declared `users.changing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from siyu.contract.errors import MissingColumnsError
from siyu.contract.mapping import _id_expr, literal, quote, ts_expr

if TYPE_CHECKING:
    from siyu.config import UsersConfig

HISTORY_COLUMNS = ("user_id", "attribute", "value", "valid_from")

# (rule, condition on the mapped row, what it means)
HISTORY_RULES: tuple[tuple[str, str, str], ...] = (
    ("user_id_missing", "user_id IS NULL", "no user id"),
    ("valid_from_unparseable", "valid_from IS NULL", "the time does not parse"),
    ("value_missing", "value IS NULL", "no value"),
    ("attribute_not_changing", "attribute IS NULL OR attribute NOT IN ({changing})",
     "the attribute is not declared under users.changing"),
)


def history_sql(users: UsersConfig, columns: Mapping[str, str], relation: str, label: str, ts_format: str | None,
                timezone: str) -> str:
    """The history source mapped to `user_id, attribute, value, valid_from` (naive local time),
    with `_source_file, _source_row, reject_reason` (NULL for a clean row; reasons joined by '; ')
    and the source text of each mapped column (`raw_<column>`), for the rejects file."""
    history = users.history
    if history is None:
        raise ValueError("users.history is not configured")
    wanted = {c: getattr(history, c) for c in HISTORY_COLUMNS}
    missing = {c: src for c, src in wanted.items() if src not in columns}
    if missing:
        raise MissingColumnsError(
            f"users.history {label}: no column(s) {sorted(missing.values())} (for {sorted(missing)}); columns are "
            f"{sorted(columns)[:12]}; fix users.history.{'/'.join(sorted(missing))} in the dataset config")
    changing = ", ".join(literal(c) for c in users.changing)
    mapped = ", ".join([
        f"{_id_expr(wanted['user_id'], columns[wanted['user_id']])} AS user_id",
        f"NULLIF(trim(CAST({quote(wanted['attribute'])} AS VARCHAR)), '') AS attribute",
        f"NULLIF(trim(CAST({quote(wanted['value'])} AS VARCHAR)), '') AS value",
        f"{ts_expr(wanted['valid_from'], columns[wanted['valid_from']], ts_format, timezone)} AS valid_from",
        *(f"CAST({quote(src)} AS VARCHAR) AS raw_{c}" for c, src in wanted.items()),
        "_source_file", "CAST(_source_row AS BIGINT) AS _source_row",
    ])
    reasons = ", ".join(f"CASE WHEN {cond.format(changing=changing)} THEN {literal(rule)} END"
                        for rule, cond, _ in HISTORY_RULES)
    return f"SELECT *, NULLIF(concat_ws('; ', {reasons}), '') AS reject_reason FROM (SELECT {mapped} FROM {relation})"


def as_of_sql(history: str, attribute: str, cutoffs: str) -> str:
    """`user_id, cutoff, value`: each user's `attribute` as of each cutoff (the latest change with
    valid_from < cutoff; ties broken by the larger value, so the answer does not depend on row
    order); `cutoffs` is a relation with one TIMESTAMP column `cutoff`."""
    return (
        f"SELECT h.user_id, c.cutoff, arg_max(h.value, (h.valid_from, h.value)) AS value "
        f"FROM {history} h JOIN {cutoffs} c ON h.valid_from < c.cutoff "
        f"WHERE h.attribute = {literal(attribute)} GROUP BY h.user_id, c.cutoff"
    )
