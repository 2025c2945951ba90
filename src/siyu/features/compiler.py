"""Compile feature specs into a `FeatureProgram` (pure: specs in, a plan and SQL out).

The program has two halves:

- **one DuckDB query** that reads the events in place, keeps the rows before the last cutoff,
  joins them to the user dictionary and projects each event onto a few narrow codes (user
  index, microsecond time, role / event-type / channel codes, amount, and the hashed values
  of the distinct-count columns: channel, category, session); it is sorted by user and time and streamed once;
- **a plan** for `siyu.features.engine`: the per-user-day *measures* to accumulate (counts
  and sums under an event predicate, active days, purchase gaps, campaign
  responses), the *last-event times* to carry forward, and one small expression per output
  column (a window of a measure, a ratio, days since, a distinct count, a stage, ...).

Every window of every cutoff is then the difference of two running sums over the user-days
of one measure (cost grows with user-days, not with events × cutoffs). Only events with
`ts < cutoff` enter a cutoff's features: windows are whole local days before the cutoff,
which is a local midnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from siyu.contract.schema import ROLES
from siyu.features.families.lifecycle import LIFECYCLE_STAGES
from siyu.features.families.rfm import RFM_SEGMENTS
from siyu.features.family import SpecError
from siyu.features.plan import (
    ACTIVITY,
    BtydColumn,
    DistinctIn,
    Expr,
    FirstAmount,
    GapStd,
    Measure,
    Pred,
    Ratio,
    RfmScore,
    Since,
    Stage,
    TenureDays,
    UserAttr,
    UserAttrAsOf,
    Win,
    pred,
    rfm_inputs,
    stage_inputs,
    walk,
)
from siyu.features.specs import FeatureSet

ROLE_CODES: dict[str, int] = {r: i for i, r in enumerate(ROLES)}


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def relation_sql(source: str | Path) -> str:
    """A FROM-clause for a Parquet file / folder / glob (read in place) or a table/view name."""
    text = str(source)
    if isinstance(source, Path) or "/" in text or text.endswith(".parquet") or "*" in text:
        p = Path(text)
        if p.is_dir():
            # The clean events folder may be a view over the source: its one reader decides.
            from siyu.io.cleanlog import events_relation

            return events_relation(p)
        glob = p.as_posix()
        return f"read_parquet({_q(glob)})"
    if not text.replace("_", "").replace(".", "").isalnum():
        raise SpecError(f"events/users source: expected a Parquet path or a table name, got {text!r}")
    return text


def normalize_cutoffs(cutoffs: Sequence[date | datetime | str]) -> tuple[date, ...]:
    """Sorted unique cutoffs as dates; a cutoff is a local midnight (a time of day is an error)."""
    out: set[date] = set()
    for c in cutoffs:
        if isinstance(c, str):
            c = datetime.fromisoformat(c)
        if isinstance(c, datetime):
            if c.time() != datetime.min.time():
                raise SpecError(f"cutoff {c.isoformat()}: a cutoff is a local midnight; got a time of day")
            c = c.date()
        if not isinstance(c, date):
            raise SpecError(f"cutoff: expected a date, got {c!r}")
        out.add(c)
    if not out:
        raise SpecError("cutoffs: expected at least one cutoff, got none")
    return tuple(sorted(out))


@dataclass(frozen=True)
class FeatureProgram:
    """Everything the engine and the event query need for one feature set and cutoffs."""

    columns: tuple[tuple[str, Expr], ...]
    cutoffs: tuple[date, ...]
    measures: tuple[Measure, ...]
    lasts: tuple[Pred, ...]
    windows: tuple[Win, ...]  # every window a column reads (itself, or inside a ratio, a std, RFM)
    offsets: tuple[int, ...]  # window boundaries in days before a cutoff (0 included)
    event_types: tuple[str, ...]  # coded 1.. in the event query (0: any other type)
    channels: tuple[str, ...]
    distinct_columns: tuple[str, ...]
    attributes: tuple[str, ...]
    needs_amount: bool
    categorical: tuple[str, ...] = ()  # text columns, as the families describe them


def compile_features(specs: FeatureSet, cutoffs: Sequence[date | datetime | str]) -> FeatureProgram:
    """The program computing `specs` at `cutoffs` (validated: local midnights, at least one)."""
    cuts = normalize_cutoffs(cutoffs)
    columns = tuple(col for spec in specs for col in spec.compile())
    subs = [s for _, e in columns for s in walk(e)]
    wins = [s for s in subs if isinstance(s, Win)]
    measures = tuple(dict.fromkeys(w.measure for w in wins))
    lasts = tuple(dict.fromkeys(s.pred for s in subs if isinstance(s, Since)))
    offsets = {0} | {w.upto for w in wins} | {w.days for w in wins if w.days is not None}
    offsets |= {s.days for s in subs if isinstance(s, DistinctIn)}
    preds = [m.pred for m in measures] + list(lasts)
    kinds = {m.kind for m in measures}
    return FeatureProgram(
        columns=columns,
        cutoffs=cuts,
        measures=measures,
        lasts=lasts,
        windows=tuple(dict.fromkeys(wins)),
        offsets=tuple(sorted(offsets)),
        event_types=tuple(sorted({p.event_type for p in preds if p.event_type is not None})),
        channels=tuple(sorted({p.channel for p in preds if p.channel is not None})),
        distinct_columns=tuple(sorted({s.column for s in subs if isinstance(s, DistinctIn)})),
        attributes=tuple(dict.fromkeys(e.column for _, e in columns if isinstance(e, UserAttr))),
        needs_amount=bool(kinds & {"amount"}) or any(isinstance(e, FirstAmount | BtydColumn) for _, e in columns),
        categorical=tuple(c.name for spec in specs for c in spec.describe() if c.dtype == "categorical"),
    )


# --------------------------------------------------------------------------- the event query
def _code(column: str, values: Sequence[str]) -> str:
    if not values:
        return "CAST(0 AS SMALLINT)"
    whens = " ".join(f"WHEN {_q(v)} THEN {i + 1}" for i, v in enumerate(values))
    return f"CAST(CASE {column} {whens} ELSE 0 END AS SMALLINT)"


def _key(column: str) -> str:
    # 0 stands for NULL; the low bit keeps every real value's key nonzero. Keys are only
    # compared within one user (sessions, channels or categories of a user), where
    # 32 bits make a collision vanishingly rare and halve what the sort carries.
    return (f"CASE WHEN {column} IS NULL THEN CAST(0 AS UINTEGER) "
            f"ELSE CAST(hash(CAST({column} AS VARCHAR)) >> 32 AS UINTEGER) | 1 END")


def events_sql(program: FeatureProgram, events: str, user_dict: str, only_roles: Sequence[str] | None = None,
               *, sort: bool = True) -> str:
    """The event stream: one narrow row per event before the last cutoff of a known user,
    sorted by user index and time (unless `sort` is false: the engine sorts a chunk that holds
    every event itself). Nothing downstream depends on the order of simultaneous events (the
    engine lets a contact answer a purchase at the same instant either way), so the sort
    carries no tie-breakers."""
    roles = " ".join(f"WHEN {_q(r)} THEN {i}" for r, i in ROLE_CODES.items())
    cols = [
        "CAST(d.uidx AS INTEGER) AS u",
        "epoch_us(CAST(e.ts AS TIMESTAMP)) AS t",
        f"CAST(CASE e.role {roles} ELSE {ROLE_CODES['other']} END AS TINYINT) AS r",
        f"{_code('e.event_type', program.event_types)} AS et",
        f"{_code('e.channel', program.channels)} AS ch",
    ]
    if program.needs_amount:
        cols.append("CAST(e.amount AS DOUBLE) AS amount")
    cols += [f"{_key('e.' + c)} AS {c}_key" for c in program.distinct_columns]
    last = program.cutoffs[-1].isoformat()
    only = f" AND e.role IN ({', '.join(_q(r) for r in only_roles)})" if only_roles else ""
    return (
        f"SELECT {', '.join(cols)} FROM {events} e JOIN {user_dict} d ON CAST(e.user_id AS VARCHAR) = d.user_id "
        f"WHERE e.ts < TIMESTAMP {_q(last)}{only}" + (" ORDER BY u, t" if sort else "")
    )


def orders_sql(events: str) -> str:
    """The events with each order as one event: the purchase (or refund) lines of one user and
    order id become one row at the first line's time, with the lines' summed amount and the
    order's most frequent category, so purchase counts, gaps and RFM frequency count orders,
    not product lines. Ties (lines at the same time, equally frequent categories) take the
    smallest value, so any engine gives the same row. Rows without an order id pass unchanged."""
    cols = "user_id, ts, event_type, role, channel, amount, item_id, category, session_id, event_id, order_id"
    lines = "order_id IS NOT NULL AND role IN ('purchase', 'refund')"
    keys = "user_id, order_id, role"
    return (
        f"SELECT {cols} FROM {events} WHERE NOT ({lines}) "
        f"UNION ALL SELECT o.user_id, o.ts, o.event_type, o.role, o.channel, o.amount, CAST(NULL AS VARCHAR), "
        f"c.category, o.session_id, o.event_id, o.order_id FROM ("
        f"SELECT {keys}, min(ts) AS ts, first(event_type ORDER BY ts, event_type) AS event_type, "
        f"first(channel ORDER BY ts, channel) AS channel, sum(amount) AS amount, "
        f"first(session_id ORDER BY ts, session_id) AS session_id, min(event_id) AS event_id "
        f"FROM {events} WHERE {lines} GROUP BY {keys}) o LEFT JOIN ("
        f"SELECT {keys}, first(category ORDER BY n DESC, category) AS category FROM ("
        f"SELECT {keys}, category, count(*) AS n FROM {events} WHERE {lines} AND category IS NOT NULL "
        f"GROUP BY ALL) GROUP BY {keys}) c USING ({keys})"
    )


def users_sql(program: FeatureProgram, users: str | None, events: str, user_columns: Sequence[str] | None) -> str:
    """The user dictionary, sorted by user_id: `user_id, joined_us` (NULL: the first event
    stands for the join time) and the attribute columns (NULL where the table lacks them).
    Without a users table, every user with an event before the last cutoff."""
    if users is None:
        attrs = "".join(f", CAST(NULL AS VARCHAR) AS {_ident(a)}" for a in program.attributes)
        last = program.cutoffs[-1].isoformat()
        return (
            f"SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(NULL AS BIGINT) AS joined_us{attrs} FROM {events} "
            f"WHERE ts < TIMESTAMP {_q(last)} GROUP BY 1 ORDER BY 1"
        )
    have = set(program.attributes if user_columns is None else user_columns)
    attrs = "".join(
        f", CAST({_ident(a) if a in have else 'NULL'} AS VARCHAR) AS {_ident(a)}" for a in program.attributes
    )
    return (
        f"SELECT CAST(user_id AS VARCHAR) AS user_id, epoch_us(CAST(joined_at AS TIMESTAMP)) AS joined_us{attrs} "
        f"FROM {users} ORDER BY 1"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = [
    "ACTIVITY", "LIFECYCLE_STAGES", "RFM_SEGMENTS", "ROLE_CODES", "DistinctIn", "Expr",
    "FeatureProgram", "FirstAmount", "orders_sql", "GapStd", "Measure", "Pred", "Ratio", "RfmScore", "Since", "Stage",
    "TenureDays", "UserAttr", "UserAttrAsOf", "Win", "compile_features", "events_sql", "normalize_cutoffs", "pred",
    "relation_sql", "rfm_inputs", "stage_inputs", "users_sql", "walk",
]
