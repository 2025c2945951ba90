"""Compile feature specs into a `FeatureProgram` (pure: specs in, a plan and SQL out).

The program has two halves:

- **one DuckDB query** that reads the events in place, keeps the rows before the last cutoff,
  joins them to the user dictionary and projects each event onto a few narrow codes (user
  index, microsecond time, role / event-type / channel codes, amount, hashed session,
  channel and category); it is sorted by user and time and streamed once;
- **a plan** for `siyu.features.engine`: the per-user-day *measures* to accumulate (counts
  and sums under an event predicate, active days, sessions, purchase gaps, campaign
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
from siyu.features.specs import (
    AOV,
    DAYPARTS,
    RFM,
    WEEKDAYS,
    ActiveDays,
    Attribute,
    CampaignResponse,
    CouponRate,
    Distinct,
    FeatureSet,
    FirstPurchase,
    InterPurchase,
    Lifecycle,
    Recency,
    RefundShare,
    Share,
    SpecError,
    Tenure,
    Trend,
    Window,
    roles_of,
)

RFM_SEGMENTS: tuple[str, ...] = ("champions", "loyal", "potential", "at_risk", "promising", "hibernating", "no_purchase")
LIFECYCLE_STAGES: tuple[str, ...] = ("potential", "new", "active", "silent", "churned")
ROLE_CODES: dict[str, int] = {r: i for i, r in enumerate(ROLES)}


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def relation_sql(source: str | Path) -> str:
    """A FROM-clause for a Parquet file / folder / glob (read in place) or a table/view name."""
    text = str(source)
    if isinstance(source, Path) or "/" in text or text.endswith(".parquet") or "*" in text:
        p = Path(text)
        glob = (p / "**" / "*.parquet").as_posix() if p.is_dir() else p.as_posix()
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


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Pred:
    """An event predicate: roles (None: every role), an event type, a channel, an hour range."""

    roles: tuple[str, ...] | None = None
    event_type: str | None = None
    channel: str | None = None
    hours: tuple[int, int] | None = None


def pred(role: str = "any", event_type: str | None = None, channel: str | None = None,
         hours: tuple[int, int] | None = None) -> Pred:
    return Pred(None if role == "any" else roles_of(role), event_type, channel, hours)


ACTIVITY = pred("activity")


@dataclass(frozen=True)
class Measure:
    """A per-user-day quantity, summed over the days of a window.

    kind: ``count`` / ``amount`` of events matching `pred`; ``active`` (1 on a day with a
    matching event); ``sessions`` (distinct sessions of activity events that day);
    ``weekday`` (activity events on a day whose ISO weekday is `arg`); ``gap_n`` /
    ``gap_sum`` / ``gap_sq`` (gaps in days between consecutive purchases, booked on the later
    purchase); ``response`` (purchases within `arg` days after the latest campaign contact).
    """

    kind: str
    pred: Pred = Pred()
    arg: int = 0


@dataclass(frozen=True)
class Win:
    """Sum of a measure over [cutoff - days, cutoff - upto) days; all history when days is None."""

    measure: Measure
    days: int | None
    upto: int = 0


@dataclass(frozen=True)
class Ratio:
    """num / den, NaN when den is 0 (or NaN); `negate` flips the numerator's sign."""

    num: Win
    den: Win
    negate: bool = False


@dataclass(frozen=True)
class Since:
    """Days from the latest matching event before the cutoff to the cutoff (NaN: none)."""

    pred: Pred


@dataclass(frozen=True)
class DistinctIn:
    """Distinct non-null values of `column` (channel / category) among activity events in the window."""

    column: str
    days: int


@dataclass(frozen=True)
class GapStd:
    """Sample standard deviation of the purchase gaps before the cutoff (NaN below two gaps)."""


@dataclass(frozen=True)
class TenureDays:
    """Days from the join time to the cutoff."""


@dataclass(frozen=True)
class FirstAmount:
    """Amount of the user's first purchase before the cutoff."""


@dataclass(frozen=True)
class Stage:
    """Lifecycle stage at the cutoff."""

    spec: Lifecycle


@dataclass(frozen=True)
class RfmScore:
    """One RFM output column (`which`: recency / frequency / monetary score, or segment)."""

    spec: RFM
    which: str


@dataclass(frozen=True)
class UserAttr:
    """A users-table column, as a categorical."""

    column: str


Expr = Win | Ratio | Since | DistinctIn | GapStd | TenureDays | FirstAmount | Stage | RfmScore | UserAttr
CATEGORICAL = (Stage, RfmScore, UserAttr)


def _count(days: int | None, role: str = "any", event_type: str | None = None, channel: str | None = None,
           upto: int = 0) -> Win:
    return Win(Measure("count", pred(role, event_type, channel)), days, upto)


def _amount(days: int | None, role: str) -> Win:
    return Win(Measure("amount", pred(role)), days)


def _exprs(spec) -> list[tuple[str, Expr]]:  # noqa: C901 - one dispatch table
    """(column, expression) for one spec."""
    if isinstance(spec, Recency):
        return [(spec.name, Since(pred(spec.role, spec.event_type, spec.channel)))]
    if isinstance(spec, Window):
        kind = "count" if spec.agg == "count" else "amount"
        return [(spec.name, Win(Measure(kind, pred(spec.role, spec.event_type, spec.channel)), spec.days))]
    if isinstance(spec, ActiveDays):
        return [(spec.name, Win(Measure("active", pred(spec.role)), spec.days))]
    if isinstance(spec, Distinct):
        if spec.column == "session":
            return [(spec.name, Win(Measure("sessions", ACTIVITY), spec.days))]
        return [(spec.name, DistinctIn(spec.column, spec.days))]
    if isinstance(spec, Trend):
        recent = _count(spec.days, spec.role)
        prior = _count(2 * spec.days, spec.role, upto=spec.days)
        return [(spec.name, Ratio(recent, prior))]
    if isinstance(spec, InterPurchase):
        if spec.stat == "mean":
            return [(spec.name, Ratio(Win(Measure("gap_sum"), None), Win(Measure("gap_n"), None)))]
        return [(spec.name, GapStd())]
    if isinstance(spec, Tenure):
        return [(spec.name, TenureDays())]
    if isinstance(spec, FirstPurchase):
        return [(spec.name, FirstAmount())]
    if isinstance(spec, AOV):
        return [(spec.name, Ratio(_amount(spec.days, "purchase"), _count(spec.days, "purchase")))]
    if isinstance(spec, RefundShare):
        return [(spec.name, Ratio(_amount(spec.days, "refund"), _amount(spec.days, "purchase"), negate=True))]
    if isinstance(spec, CouponRate):
        return [(spec.name, Ratio(_count(spec.days, event_type=spec.redeem_type),
                                  _count(spec.days, event_type=spec.claim_type)))]
    if isinstance(spec, CampaignResponse):
        resp = Win(Measure("response", arg=spec.within_days), spec.days)
        if spec.stat == "count":
            return [(spec.name, resp)]
        return [(spec.name, Ratio(resp, _count(spec.days, "contact")))]
    if isinstance(spec, Share):
        total = _count(spec.days, "activity")
        if spec.kind == "daypart":
            part = Win(Measure("count", pred("activity", hours=DAYPARTS[spec.value])), spec.days)
        else:
            part = Win(Measure("weekday", ACTIVITY, WEEKDAYS.index(spec.value) + 1), spec.days)
        return [(spec.name, Ratio(part, total))]
    if isinstance(spec, Lifecycle):
        return [(spec.name, Stage(spec))]
    if isinstance(spec, RFM):
        return [(c, RfmScore(spec, c)) for c in ("rfm_recency_score", "rfm_frequency_score",
                                                 "rfm_monetary_score", "rfm_segment")]
    if isinstance(spec, Attribute):
        return [(spec.name, UserAttr(spec.column))]
    raise SpecError(f"no compiler for spec {spec!r}")


def rfm_inputs(spec: RFM) -> tuple[Since, Win, Win]:
    """RFM raw inputs: days since the last purchase, purchases, net spend (within spec.days)."""
    return Since(pred("purchase")), _count(spec.days, "purchase"), _amount(spec.days, "spend")


def stage_inputs() -> Since:
    return Since(ACTIVITY)


def walk(expr: Expr):
    """Every sub-expression an expression reads (itself included)."""
    yield expr
    if isinstance(expr, Ratio):
        yield expr.num
        yield expr.den
    elif isinstance(expr, GapStd):
        yield from (Win(Measure(k), None) for k in ("gap_n", "gap_sum", "gap_sq"))
    elif isinstance(expr, RfmScore):
        yield from rfm_inputs(expr.spec)
    elif isinstance(expr, Stage):
        yield stage_inputs()


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
    needs_session: bool

    @property
    def categorical(self) -> tuple[str, ...]:
        """Text columns: stage, RFM segment, user attributes (the RFM scores are numbers)."""
        return tuple(name for name, e in self.columns
                     if isinstance(e, CATEGORICAL) and not (isinstance(e, RfmScore) and e.which != "rfm_segment"))


def compile_features(specs: FeatureSet, cutoffs: Sequence[date | datetime | str]) -> FeatureProgram:
    """The program computing `specs` at `cutoffs` (validated: local midnights, at least one)."""
    cuts = normalize_cutoffs(cutoffs)
    columns = tuple(col for spec in specs for col in _exprs(spec))
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
        needs_amount=bool(kinds & {"amount"}) or any(isinstance(e, FirstAmount) for _, e in columns),
        needs_session="sessions" in kinds,
    )


# --------------------------------------------------------------------------- the event query
def _code(column: str, values: Sequence[str]) -> str:
    if not values:
        return "CAST(0 AS SMALLINT)"
    whens = " ".join(f"WHEN {_q(v)} THEN {i + 1}" for i, v in enumerate(values))
    return f"CAST(CASE {column} {whens} ELSE 0 END AS SMALLINT)"


def _key(column: str) -> str:
    # 0 stands for NULL; the low bit keeps every real value's key nonzero. Keys are only
    # compared within one user (sessions of a day, channels or categories of a user), where
    # 32 bits make a collision vanishingly rare and halve what the sort carries.
    return (f"CASE WHEN {column} IS NULL THEN CAST(0 AS UINTEGER) "
            f"ELSE CAST(hash(CAST({column} AS VARCHAR)) >> 32 AS UINTEGER) | 1 END")


def events_sql(program: FeatureProgram, events: str, user_dict: str, only_roles: Sequence[str] | None = None) -> str:
    """The event stream: one narrow row per event before the last cutoff of a known user,
    sorted by user index and time. Nothing downstream depends on the order of simultaneous
    events (the engine lets a contact answer a purchase at the same instant either way), so
    the sort carries no tie-breakers."""
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
    if program.needs_session:
        cols.append(f"{_key('e.session_id')} AS session_key")
    cols += [f"{_key('e.' + c)} AS {c}_key" for c in program.distinct_columns]
    last = program.cutoffs[-1].isoformat()
    only = f" AND e.role IN ({', '.join(_q(r) for r in only_roles)})" if only_roles else ""
    return (
        f"SELECT {', '.join(cols)} FROM {events} e JOIN {user_dict} d ON CAST(e.user_id AS VARCHAR) = d.user_id "
        f"WHERE e.ts < TIMESTAMP {_q(last)}{only} ORDER BY u, t"
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
    "ACTIVITY", "CATEGORICAL", "LIFECYCLE_STAGES", "RFM_SEGMENTS", "ROLE_CODES", "DistinctIn", "Expr",
    "FeatureProgram", "FirstAmount", "GapStd", "Measure", "Pred", "Ratio", "RfmScore", "Since", "Stage",
    "TenureDays", "UserAttr", "Win", "compile_features", "events_sql", "normalize_cutoffs", "pred",
    "relation_sql", "rfm_inputs", "stage_inputs", "users_sql", "walk",
]
