"""Column mapping: from a source's own columns to the canonical EventLog and users, as SQL.

Pure functions: they take the dataset config and the source's column names and DuckDB types
and return the SELECT that maps a source relation (as opened by `siyu.io.readers`, with
`_row_key`, `_source_file`, `_source_row`) into canonical, typed columns. Nothing is read here.

Decisions, in one place:
- `ts`: a naive TIMESTAMP in the dataset time zone. Naive source times are read as local
  times in that zone; times with an offset (TIMESTAMPTZ columns, '...+08:00' / 'Z' strings,
  `%z` formats) are converted to local time in the zone. DATE columns become local midnight.
  Text is parsed with `ts_format` (strptime) when given, else as ISO-8601.
- `amount`: the row's total by default. With `columns.amount_per_unit: true` the source
  amount is a unit price and the canonical amount is quantity × unit price (null quantity = 1).
  Refund amounts are stored negative (`-abs(amount)`), whatever sign the source uses.
- `event_type`: from its column, or the constant `roles.default_event_type` when the source
  has none (a transactions-only log: every row a purchase).
- `role`: from `roles`; event types not listed get role 'other' (a warning, rows kept).
- Missing *required* source columns are an error naming them and the available ones; a
  missing optional column is a warning and the canonical column is NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from siyu.config import DatasetConfig, EventRoles, UsersConfig
from siyu.contract.errors import MissingColumnsError, PiiFeatureError
from siyu.contract.rules import MISSING_COLUMN, MISSING_OPTIONAL_COLUMN, PII_AS_FEATURE, PII_BY_NAME
from siyu.contract.schema import EVENT_COLUMNS, USER_BASE_COLUMNS

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL")
_NAIVE_TS_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME", "DATE")
_REQUIRED_EVENT_COLUMNS = ("user_id", "ts", "event_type")


@dataclass(frozen=True)
class SchemaIssue:
    """A schema- or config-level finding (no rows involved)."""

    rule: str
    table: str
    severity: str
    scope: str
    column: str
    message: str


@dataclass(frozen=True)
class MappedTable:
    """The SQL that maps one source into canonical columns, and what it found on the way."""

    table: str
    # SELECT ... FROM <relation>: canonical typed columns, `_raw_<col>` (source value, for
    # rejects), `_given_<col>` (source value not null, for rules), row keys
    sql: str
    output_columns: tuple[str, ...]  # the clean table's columns, in order
    present: frozenset[str]  # canonical columns read from the source (not NULL fillers)
    source_names: tuple[tuple[str, str], ...]  # (canonical, source column) for rejects/examples
    ts_expected: str  # what a timestamp should look like, for messages
    issues: tuple[SchemaIssue, ...]


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def raw_name(canonical: str) -> str:
    """The (quoted) column holding a mapped column's source value, in the source's type.

    It is cast to text only where rows are rejected: casting every row (a timestamp or a
    number to VARCHAR) would cost a scan's worth of time for the few rows that need it.
    """
    return quote(f"_raw_{canonical}")


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.upper().split("(")[0].strip()


def _text(src: str) -> str:
    return f"CAST({quote(src)} AS VARCHAR)"


def _id_expr(src: str, duckdb_type: str) -> str:
    # No trim(): it costs as much as the rest of the mapping together on 50M rows; an
    # empty string is still no id.
    if _base_type(duckdb_type) == "VARCHAR":
        return f"NULLIF({quote(src)}, '')"
    return _text(src)


def _number_expr(src: str, duckdb_type: str) -> str:
    if _base_type(duckdb_type) in _NUMERIC_TYPES:
        return f"CAST({quote(src)} AS DOUBLE)"
    return f"TRY_CAST(trim({_text(src)}) AS DOUBLE)"


def ts_expr(src: str, duckdb_type: str, ts_format: str | None, timezone: str) -> str:
    """SQL turning a source time column into a naive local TIMESTAMP (NULL when unparseable)."""
    base = _base_type(duckdb_type)
    tz = literal(timezone)
    if ts_format:
        parsed = f"try_strptime(trim({_text(src)}), {literal(ts_format)})"
        return f"timezone({tz}, {parsed})" if "%z" in ts_format or "%Z" in ts_format else parsed
    if base in _NAIVE_TS_TYPES:
        return f"CAST({quote(src)} AS TIMESTAMP)"
    if base == "TIMESTAMP WITH TIME ZONE" or duckdb_type.upper().startswith("TIMESTAMP WITH TIME ZONE"):
        return f"timezone({tz}, {quote(src)})"
    # Text: naive strings are read in the session time zone (the job sets it to `timezone`),
    # strings with an offset are converted; both end as local naive time.
    return f"timezone({tz}, TRY_CAST(trim({_text(src)}) AS TIMESTAMPTZ))"


def _ts_expected(ts_format: str | None) -> str:
    return f"format {ts_format!r}" if ts_format else "ISO-8601 like '2024-03-01 09:30:00'"


def role_expr(roles: EventRoles, event_type_sql: str = "event_type") -> str:
    """SQL CASE giving each event type its role; unlisted types are 'other'."""
    branches = []
    for role in ("purchase", "refund", "interaction", "contact"):
        types = getattr(roles, role)
        if types:
            branches.append(f"WHEN {event_type_sql} IN ({', '.join(literal(t) for t in types)}) THEN '{role}'")
    if not branches:
        return "'other'"
    return "CASE " + " ".join(branches) + " ELSE 'other' END"


def _missing(table: str, wanted: dict[str, str], columns: Mapping[str, str], label: str) -> None:
    absent = {canon: src for canon, src in wanted.items() if src not in columns}
    if absent:
        lines = [
            MISSING_COLUMN.message.format(
                column=canon, detail=f"{src!r}", available=", ".join(columns) or "(none)")
            for canon, src in absent.items()
        ]
        raise MissingColumnsError(
            f"{table} source {label}: missing_column (error):\n  " + "\n  ".join(lines)
            + f"\nFix the column mapping of the {table} in the dataset config, or the source."
        )


def _optional_issue(table: str, canon: str, src: str) -> SchemaIssue:
    return SchemaIssue(MISSING_OPTIONAL_COLUMN.name, table, "warning", "schema", canon,
                       MISSING_OPTIONAL_COLUMN.message.format(column=canon, detail=f"{src!r}"))


def _event_sources(ds: DatasetConfig, columns: Mapping[str, str], label: str) -> tuple[dict[str, str], list[SchemaIssue]]:
    """canonical -> source column for every mapped column the source has; warnings for the rest."""
    cmap = ds.columns
    if cmap.event_type is None and ds.roles.default_event_type is None:
        raise MissingColumnsError(
            "events: no event_type column mapped and no roles.default_event_type; map "
            "columns.event_type, or set roles.default_event_type (e.g. 'purchase' for a "
            "transactions-only log)")
    required = {"user_id": cmap.user_id, "ts": cmap.ts}
    if cmap.event_type is not None:
        required["event_type"] = cmap.event_type
    if cmap.amount_per_unit:  # quantity is read only to multiply a unit price
        required |= {"amount": cmap.amount, "quantity": cmap.quantity}  # type: ignore[dict-item]
    _missing("events", required | {name: name for name in ds.feature_columns}, columns, label)
    mapped = dict(required)
    issues: list[SchemaIssue] = []
    for canon in ("channel", "amount", "item_id", "category", "session_id", "event_id", "order_id", "campaign_id"):
        src = getattr(cmap, canon)
        if src is None or canon in mapped:
            continue
        if src in columns:
            mapped[canon] = src
        else:
            issues.append(_optional_issue("events", canon, src))
    return mapped, issues


def map_events(ds: DatasetConfig, columns: Mapping[str, str], relation: str, label: str) -> MappedTable:
    """The mapping of an events source with `columns` (name -> DuckDB type) onto EVENT_COLUMNS."""
    mapped, issues = _event_sources(ds, columns, label)
    typed: list[str] = []
    for canon in ("user_id", "event_type", "channel", "item_id", "category", "session_id", "event_id", "order_id", "campaign_id"):
        if canon in mapped:
            typed.append(f"{_id_expr(mapped[canon], columns[mapped[canon]])} AS {canon}")
        elif canon == "event_type":
            typed.append(f"{literal(ds.roles.default_event_type or '')} AS event_type")
        else:
            typed.append(f"CAST(NULL AS VARCHAR) AS {canon}")
    typed.append(f"{ts_expr(mapped['ts'], columns[mapped['ts']], ds.events.ts_format, ds.timezone)} AS ts")
    for canon in ("amount", "quantity"):
        value = _number_expr(mapped[canon], columns[mapped[canon]]) if canon in mapped else "CAST(NULL AS DOUBLE)"
        typed.append(f"{value} AS _{canon}_value")
    raw = [f"{quote(src)} AS {raw_name(canon)}" for canon, src in mapped.items()]
    for canon in ("ts", "amount", "quantity"):
        raw.append(f"{quote(mapped[canon]) + ' IS NOT NULL' if canon in mapped else 'false'} AS _given_{canon}")
    extras = [quote(name) for name in ds.feature_columns]
    gross = "_amount_value * coalesce(_quantity_value, 1.0)" if ds.columns.amount_per_unit else "_amount_value"
    inner = ", ".join(typed + raw + extras + ["_row_key", "_source_file", "_source_row"])
    sql = (
        f"SELECT *, CASE WHEN role = 'refund' THEN -abs(_amount_gross) ELSE _amount_gross END AS amount "
        f"FROM (SELECT *, {role_expr(ds.roles)} AS role, {gross} AS _amount_gross "
        f"FROM (SELECT {inner} FROM {relation}))"
    )
    output = tuple(c.name for c in EVENT_COLUMNS) + tuple(ds.feature_columns)
    return MappedTable("events", sql, output, frozenset(mapped), tuple(mapped.items()),
                       _ts_expected(ds.events.ts_format), tuple(issues))


def map_users(users: UsersConfig, timezone: str, columns: Mapping[str, str], relation: str, label: str) -> MappedTable:
    """The mapping of a users source onto USER_BASE_COLUMNS + declared attributes (no PII)."""
    required = {"user_id": users.user_id} | {name: name for name in users.attributes}
    _missing("users", required, columns, label)
    issues: list[SchemaIssue] = []
    mapped = {"user_id": users.user_id}
    for canon in ("joined_at", "source_channel"):
        src = getattr(users, canon)
        if src is None:
            continue
        if src in columns:
            mapped[canon] = src
        else:
            issues.append(_optional_issue("users", canon, src))
    typed = [f"{_id_expr(users.user_id, columns[users.user_id])} AS user_id"]
    if "joined_at" in mapped:
        src = mapped["joined_at"]
        typed.append(f"{ts_expr(src, columns[src], users.source.ts_format, timezone)} AS joined_at")
    else:
        typed.append("CAST(NULL AS TIMESTAMP) AS joined_at")
    if "source_channel" in mapped:
        typed.append(f"{_id_expr(mapped['source_channel'], columns[mapped['source_channel']])} AS source_channel")
    else:
        typed.append("CAST(NULL AS VARCHAR) AS source_channel")
    typed += [f"NULLIF(trim({_text(a)}), '') AS {quote(a)}" for a in users.attributes]
    attrs = {a: a for a in users.attributes}
    raw = [f"{quote(src)} AS {raw_name(canon)}" for canon, src in (mapped | attrs).items()]
    given = f"{quote(mapped['joined_at'])} IS NOT NULL" if "joined_at" in mapped else "false"
    raw.append(f"{given} AS _given_joined_at")
    sql = f"SELECT {', '.join(typed + raw + ['_row_key', '_source_file', '_source_row'])} FROM {relation}"
    output = tuple(c.name for c in USER_BASE_COLUMNS) + tuple(users.attributes)
    return MappedTable("users", sql, output, frozenset(mapped), tuple((mapped | attrs).items()),
                       _ts_expected(users.source.ts_format), tuple(issues))


# Column names that say "personal data" (English tokens, Chinese substrings): such a column is
# refused as a feature unless the dataset config lists it under `not_pii`.
PII_NAME_TOKENS = frozenset({
    "phone", "mobile", "tel", "telephone", "cellphone", "name", "fullname", "firstname", "lastname", "surname",
    "username", "nickname", "email", "mail", "wechat", "weixin", "wx", "openid", "unionid", "address", "addr",
    "idcard", "passport", "ssn",
})
PII_NAME_PAIRS = frozenset({("id", "card"), ("id", "number"), ("wechat", "id"), ("e", "mail"), ("real", "name")})
PII_NAME_ZH = ("手机", "电话", "姓名", "名字", "昵称", "邮箱", "微信", "地址", "身份证", "证件")


def pii_name_rule(column: str) -> str | None:
    """Which name rule marks `column` as personal data, or None."""
    import re

    tokens = [t for t in re.split(r"[^0-9a-z]+", column.lower()) if t]
    hit = next((t for t in tokens if t in PII_NAME_TOKENS), None)
    if hit:
        return f"its name holds {hit!r}"
    pair = next(((a, b) for a, b in zip(tokens, tokens[1:], strict=False) if (a, b) in PII_NAME_PAIRS), None)
    if pair:
        return f"its name holds {'_'.join(pair)!r}"
    zh = next((w for w in PII_NAME_ZH if w in column), None)
    return f"its name holds {zh!r}" if zh else None


def offered_features(ds: DatasetConfig) -> dict[str, str]:
    """Source columns offered as features -> where the config offers them."""
    offered = {name: "feature_columns" for name in ds.feature_columns}
    offered |= {name: "users.attributes" for name in (ds.users.attributes if ds.users else ())}
    return offered


def pii_issues(ds: DatasetConfig) -> tuple[SchemaIssue, ...]:
    """Config-level rule `pii_as_feature`: a column declared PII, or named like personal data and
    not listed under `not_pii`, offered as a feature."""
    pii = set(ds.pii) | set(ds.users.pii if ds.users else ())
    issues = []
    for name, where in sorted(offered_features(ds).items()):
        table = "users" if where.startswith("users") else "events"
        if name in pii:
            message = PII_AS_FEATURE.message.format(column=name, detail=f"listed in {where}")
        elif name not in ds.not_pii and (rule := pii_name_rule(name)):
            message = PII_BY_NAME.message.format(column=name, detail=f"listed in {where}", rule=rule)
        else:
            continue
        issues.append(SchemaIssue(PII_AS_FEATURE.name, table, "error", "config", name, message))
    return tuple(issues)


def check_config(ds: DatasetConfig) -> None:
    """Raise PiiFeatureError when the dataset config offers a PII column as a feature."""
    issues = pii_issues(ds)
    if issues:
        raise PiiFeatureError(
            f"dataset '{ds.name}': pii_as_feature (error):\n  "
            + "\n  ".join(i.message for i in issues)
        )
