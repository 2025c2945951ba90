"""The clean EventLog as a view: canonical columns computed from a Parquet source on read.

When the events come from Parquet files whose columns already have the canonical types
(text ids, a naive TIMESTAMP, numeric money), the clean log differs from the source only by
the rejected rows and a few cheap expressions (empty ids to NULL, the role from the event
type, refunds negative). Validation then writes no copy of every row: it records the source
files and the keys of the rejected rows, and readers compute these columns on the fly.

Pure: `view_columns` says, from the config and the source's column types, whether a source
qualifies and gives each canonical column as a DuckDB and a Spark SQL expression over the
source's own columns (the same meaning as `siyu.contract.mapping.map_events`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from siyu.config import DatasetConfig
from siyu.contract.mapping import literal, quote, role_expr
from siyu.contract.schema import EVENT_COLUMNS

_ID_COLUMNS = ("user_id", "event_type", "channel", "item_id", "category", "session_id", "event_id",
               "order_id", "campaign_id")
_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE")


@dataclass(frozen=True)
class ViewColumn:
    """One clean column: its name, and the expression computing it in DuckDB and in Spark SQL."""

    name: str
    duckdb: str
    spark: str


def _spark_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _base(duckdb_type: str) -> str:
    return duckdb_type.upper().split("(")[0].strip()


def view_columns(ds: DatasetConfig, columns: Mapping[str, str]) -> tuple[ViewColumn, ...] | None:
    """The clean columns as expressions over a Parquet events source with `columns` (name ->
    DuckDB type), or None when the source does not qualify (then validation writes the rows).

    Qualifies: one Parquet source, no item table to fill categories from, ids as text, `ts` a
    naive TIMESTAMP read as is (no `ts_format`), amount and quantity numeric. Anything that
    needs parsing per row (text times, text numbers) is paid once, by writing the clean rows.
    """
    mapped = _view_sources(ds, columns)
    if mapped is None:
        return None
    return tuple(ViewColumn(name, _expr(name, mapped, ds, quote, "VARCHAR"), _expr(name, mapped, ds, _spark_quote, "STRING"))
                 for name in (*(c.name for c in EVENT_COLUMNS), *ds.feature_columns))


def profile_groups_sql(ds: DatasetConfig, columns: Mapping[str, str], relation: str) -> str | None:
    """The profile's groups (`siyu.contract.profile.profile_sql`: event_type, role, channel,
    category, n, sessions, amounts) of every row of `relation`, a source `view_columns`
    accepts (None otherwise).

    The rows are grouped by the source's own columns and the clean expressions applied to the
    few groups: the same groups as over the clean columns, without computing them per row.
    """
    mapped = _view_sources(ds, columns)
    if mapped is None:
        return None
    keys = sorted({mapped[c] for c in ("event_type", "channel", "category") if c in mapped})
    sessions = f"count(NULLIF({quote(mapped['session_id'])}, ''))" if "session_id" in mapped else "0"
    amounts = f"count({quote(mapped['amount'])})" if "amount" in mapped else "0"
    grouped = (f"SELECT {''.join(f'{quote(k)}, ' for k in keys)}count(*) AS _n, {sessions} AS _sessions, "
               f"{amounts} AS _amounts FROM {relation}" + (" GROUP BY ALL" if keys else ""))
    role = _expr("role", mapped, ds, quote, "VARCHAR")
    canonical = ", ".join(f"{_expr(c, mapped, ds, quote, 'VARCHAR')} AS {c}" for c in ("event_type", "role", "channel", "category"))
    # A money column is non-null exactly where the source's is (refund signs and unit prices keep NULL).
    return (f"SELECT {canonical}, sum(_n) AS n, sum(_sessions) AS sessions, "
            f"coalesce(sum(_amounts) FILTER (WHERE {role} IN ('purchase', 'refund')), 0) AS amounts "
            f"FROM ({grouped}) GROUP BY ALL")


def _view_sources(ds: DatasetConfig, columns: Mapping[str, str]) -> dict[str, str] | None:
    """The source column of each canonical one, for a source `view_columns` accepts (else None)."""
    if ds.events.format != "parquet" or ds.more_events or ds.items is not None or ds.events.ts_format:
        return None
    cmap = ds.columns
    if cmap.event_type is None and ds.roles.default_event_type is None:
        return None  # map_events raises the error that explains this
    mapped = {c: getattr(cmap, c) for c in (*_ID_COLUMNS, "ts", "amount") if getattr(cmap, c) is not None}
    mapped = {c: s for c, s in mapped.items() if s in columns}
    if cmap.amount_per_unit:
        if cmap.quantity not in columns or "amount" not in mapped:
            return None
        mapped["quantity"] = cmap.quantity
    if any(n not in columns for n in ds.feature_columns) or "user_id" not in mapped or "ts" not in mapped:
        return None
    kinds = {c: _base(columns[s]) for c, s in mapped.items()}
    if kinds["ts"] != "TIMESTAMP" or any(kinds[c] != "VARCHAR" for c in _ID_COLUMNS if c in mapped):
        return None
    if any(kinds[c] not in _NUMBER_TYPES for c in ("amount", "quantity") if c in mapped):
        return None
    return mapped


def _expr(name: str, mapped: Mapping[str, str], ds: DatasetConfig, q: Callable[[str], str], text: str) -> str:
    """One clean column in one dialect (`q` quotes identifiers, `text` names the string type)."""
    if name in ds.feature_columns:
        return q(name)
    if name in _ID_COLUMNS:
        if name in mapped:
            return f"NULLIF({q(mapped[name])}, '')"
        if name == "event_type":
            return literal(ds.roles.default_event_type or "")
        return f"CAST(NULL AS {text})"
    if name == "ts":
        return q(mapped["ts"])
    if name == "role":
        return role_expr(ds.roles, _expr("event_type", mapped, ds, q, text))
    # amount: the row's total (unit price x quantity when so configured); refunds negative
    if "amount" not in mapped:
        return "CAST(NULL AS DOUBLE)"
    gross = f"CAST({q(mapped['amount'])} AS DOUBLE)"
    if "quantity" in mapped:
        gross = f"{gross} * coalesce(CAST({q(mapped['quantity'])} AS DOUBLE), 1.0)"
    return f"CASE WHEN {role_expr(ds.roles, _expr('event_type', mapped, ds, q, text))} = 'refund' " \
           f"THEN -abs({gross}) ELSE {gross} END"
