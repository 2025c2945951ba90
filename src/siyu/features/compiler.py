"""Compile feature specs into ONE DuckDB query over many cutoffs (pure: specs in, SQL out).

The design (cost grows with user-days, not with events × cutoffs):

1. `ud`: the events are read once, in place, and aggregated into a compact user × local-day
   table with one column per measure the specs need (counts / amounts by role, type and
   channel, last timestamps, sessions, dayparts, ...).
2. `pre`: running totals per user over their days, in day order (window functions, one sort):
   running sums for additive measures, running max for last timestamps, the first non-null
   value for first-purchase amounts.
3. `g`: per (user, cutoff) the user's last day before each boundary `cutoff - offset` is found
   with narrow ASOF joins on integer keys (dense user number, day number), and the running
   totals of that day are fetched with hash joins; every windowed count or sum over
   [C - w, C - u) is then `prefix(C - u) - prefix(C - w)`, so there is no per-window
   aggregation and no wide aggregate over (user, cutoff).
4. Distinct channels / categories: per (user, value) only the latest day before each cutoff
   is kept and counted when it lies inside the window (no DISTINCT aggregates).
5. RFM quintiles rank purchasers per cutoff on a narrow projection.

Point in time: only events with `ts < cutoff` enter a cutoff's features, because a cutoff is a
local midnight and only days strictly before it are read. A running total at a day depends
only on that user's earlier days, so a feature at a cutoff does not depend on which other
cutoffs share the run, nor on events at or after it (windowed amount sums are differences of
running sums, exact to a few ulps of the user's running total).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

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

_DAY_S = 86400.0
_EPOCH = date(1970, 1, 1)  # day numbers: the heavy stages join and sort on integers


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def _role_pred(role: str) -> str:
    roles = roles_of(role)
    return "TRUE" if role == "any" else f"role IN ({', '.join(_q(r) for r in roles)})"


def _pred(role: str = "any", event_type: str | None = None, channel: str | None = None) -> str:
    parts = [_role_pred(role)]
    if event_type is not None:
        parts.append(f"event_type = {_q(event_type)}")
    if channel is not None:
        parts.append(f"channel = {_q(channel)}")
    return " AND ".join(parts)


_ACTIVITY = _pred("activity")


@dataclass
class _Plan:
    """Columns of each stage, deduplicated by their SQL expression."""

    ud: dict[str, str] = field(default_factory=dict)  # day-level aggregate SQL -> alias
    run: dict[str, str] = field(default_factory=dict)  # running-total window SQL -> alias
    agg: dict[str, str] = field(default_factory=dict)  # per (user, cutoff) expression -> alias
    offsets: set[int] = field(default_factory=lambda: {0})
    pc: set[int] = field(default_factory=set)  # campaign response windows (within_days)
    gaps: bool = False
    ux: set[str] = field(default_factory=set)
    dist: dict[str, str] = field(default_factory=dict)  # distinct channel/category counts

    def _add(self, table: dict[str, str], sql: str, prefix: str) -> str:
        if sql not in table:
            table[sql] = f"{prefix}{len(table)}"
        return table[sql]

    def run_col(self, day_expr: str, fn: str = "sum") -> str:
        """A running total (`sum`, `max` or `first` non-null) of a per-day expression."""
        if fn == "first":
            return self._add(self.run, f"first_value({day_expr} IGNORE NULLS) OVER w", "b")
        return self._add(self.run, f"{fn}({day_expr}) OVER w", "b")

    def day_sum(self, day_sql: str) -> str:
        """A day-level additive quantity; returns its running-sum column."""
        return self.run_col(self._add(self.ud, day_sql, "d"))

    def before(self, run_col: str) -> str:
        """The running total over the user's days before the cutoff (all history)."""
        return self._add(self.agg, f"r0.{run_col}", "a")

    def window(self, run_col: str, days: int | None, upto: int = 0) -> str:
        """Sum over [C - days, C - upto) (all history when days is None): the difference of
        two running sums, each looked up at the user's last day before its boundary."""
        if days is None:
            return self.before(run_col)
        self.offsets.update({days, upto})
        return self._add(self.agg, f"coalesce(r{upto}.{run_col}, 0) - coalesce(r{days}.{run_col}, 0)", "a")

    def count(self, days: int | None, role: str = "any", event_type: str | None = None,
              channel: str | None = None, upto: int = 0) -> str:
        return self.window(self.day_sum(_day_count(_pred(role, event_type, channel))), days, upto)

    def amount(self, days: int | None, role: str, event_type: str | None = None,
               channel: str | None = None) -> str:
        return self.window(self.day_sum(f"sum(CASE WHEN {_pred(role, event_type, channel)} THEN amount END)"), days)

    def last_ts(self, pred: str) -> str:
        d = self._add(self.ud, f"max(CASE WHEN {pred} THEN ts END)", "d")
        return self.before(self.run_col(d, "max"))


def _day_count(pred: str) -> str:
    # DOUBLE from the first stage on: sums stay DOUBLE (no HUGEINT states in the big aggregates).
    return f"CAST(count(CASE WHEN {pred} THEN 1 END) AS DOUBLE)"


def _num(expr: str) -> str:
    return f"CAST({expr} AS DOUBLE)"


def _ratio(num: str, den: str) -> str:
    return _num(f"{num} / NULLIF({den}, 0)")


def _days_since(ts_col: str) -> str:
    return _num(f"date_diff('second', {ts_col}, g.cutoff) / {_DAY_S}")


def _feature_sql(spec, plan: _Plan) -> list[tuple[str, str]]:  # noqa: C901 - one dispatch table
    """(column, SQL over the final join `p`) for one spec; registers what it needs in `plan`."""
    a = lambda alias: f"coalesce(g.{alias}, 0)"  # noqa: E731 - counts are 0 with no events
    if isinstance(spec, Recency):
        return [(spec.name, _days_since("g." + plan.last_ts(_pred(spec.role, spec.event_type, spec.channel))))]
    if isinstance(spec, Window):
        if spec.agg == "count":
            alias = plan.count(spec.days, spec.role, spec.event_type, spec.channel)
        else:
            alias = plan.amount(spec.days, spec.role, spec.event_type, spec.channel)
        return [(spec.name, _num(a(alias)))]
    if isinstance(spec, ActiveDays):
        flag = plan.day_sum(f"CAST(count(CASE WHEN {_pred(spec.role)} THEN 1 END) > 0 AS DOUBLE)")
        return [(spec.name, _num(a(plan.window(flag, spec.days))))]
    if isinstance(spec, Distinct):
        if spec.column == "session":
            sess = plan.day_sum(f"CAST(count(DISTINCT CASE WHEN {_ACTIVITY} THEN session_id END) AS DOUBLE)")
            return [(spec.name, _num(a(plan.window(sess, spec.days))))]
        plan.ux.add(spec.column)
        plan.offsets.add(spec.days)
        alias = plan._add(
            plan.dist, f"count(CASE WHEN k = {_q(spec.column)} AND day >= d_{spec.days} THEN 1 END)", "x"
        )
        return [(spec.name, _num(f"coalesce(x.{alias}, 0)"))]
    if isinstance(spec, Trend):
        recent = plan.count(spec.days, spec.role)
        prior = plan.count(2 * spec.days, spec.role, upto=spec.days)
        return [(spec.name, _ratio(a(recent), f"g.{prior}"))]
    if isinstance(spec, InterPurchase):
        plan.gaps = True
        n, s, q = (plan.before(plan.run_col(c)) for c in ("gap_n", "gap_sum", "gap_sq"))
        if spec.stat == "mean":
            return [(spec.name, _ratio(f"g.{s}", f"g.{n}"))]
        var = f"greatest(g.{q} - g.{s} * g.{s} / g.{n}, 0) / (g.{n} - 1)"
        return [(spec.name, _num(f"CASE WHEN g.{n} >= 2 THEN sqrt({var}) END"))]
    if isinstance(spec, Tenure):
        return [(spec.name, _days_since("g.joined_at"))]
    if isinstance(spec, FirstPurchase):
        pred = _pred("purchase")
        amt = plan._add(plan.ud, f"arg_min(amount, ts) FILTER (WHERE {pred})", "d")
        return [(spec.name, _num("g." + plan.before(plan.run_col(amt, "first"))))]
    if isinstance(spec, AOV):
        return [(spec.name, _ratio(f"g.{plan.amount(spec.days, 'purchase')}", f"g.{plan.count(spec.days, 'purchase')}"))]
    if isinstance(spec, RefundShare):
        refunded = f"-coalesce(g.{plan.amount(spec.days, 'refund')}, 0)"
        return [(spec.name, _ratio(refunded, f"g.{plan.amount(spec.days, 'purchase')}"))]
    if isinstance(spec, CouponRate):
        redeem = plan.count(spec.days, "any", spec.redeem_type)
        claim = plan.count(spec.days, "any", spec.claim_type)
        return [(spec.name, _ratio(f"coalesce(g.{redeem}, 0)", f"g.{claim}"))]
    if isinstance(spec, CampaignResponse):
        plan.pc.add(spec.within_days)
        resp = plan.window(plan.run_col(f"resp_{spec.within_days}"), spec.days)
        if spec.stat == "count":
            return [(spec.name, _num(a(resp)))]
        return [(spec.name, _ratio(a(resp), f"g.{plan.count(spec.days, 'contact')}"))]
    if isinstance(spec, Share):
        total = plan.count(spec.days, "activity")
        if spec.kind == "daypart":
            lo, hi = DAYPARTS[spec.value]
            part = plan.day_sum(_day_count(f"{_ACTIVITY} AND hour(ts) >= {lo} AND hour(ts) < {hi}"))
            part_alias = plan.window(part, spec.days)
        else:
            act = plan._add(plan.ud, _day_count(_ACTIVITY), "d")
            isodow = WEEKDAYS.index(spec.value) + 1
            run = plan.run_col(f"CASE WHEN isodow(day) = {isodow} THEN {act} END")
            part_alias = plan.window(run, spec.days)
        return [(spec.name, _ratio(a(part_alias), f"g.{total}"))]
    if isinstance(spec, Lifecycle):
        return [(spec.name, _lifecycle_sql(spec, plan))]
    if isinstance(spec, RFM):
        return _rfm_base(spec, plan)
    if isinstance(spec, Attribute):
        return [(spec.name, f"CAST(g.{_ident(spec.column)} AS VARCHAR)")]
    raise SpecError(f"no compiler for spec {spec!r}")


def _lifecycle_sql(spec: Lifecycle, plan: _Plan) -> str:
    last = "g." + plan.last_ts(_ACTIVITY)
    return (
        f"CASE WHEN {last} IS NULL THEN 'potential' "
        f"WHEN g.joined_at >= g.cutoff - INTERVAL {spec.new_days} DAY THEN 'new' "
        f"WHEN {last} >= g.cutoff - INTERVAL {spec.active_days} DAY THEN 'active' "
        f"WHEN {last} >= g.cutoff - INTERVAL {spec.churned_days} DAY THEN 'silent' "
        "ELSE 'churned' END"
    )


def _rfm_base(spec: RFM, plan: _Plan) -> list[tuple[str, str]]:
    """Raw R, F, M inputs; scores and segment are ranked per cutoff in the outer query."""
    last = "g." + plan.last_ts(_pred("purchase"))
    freq = plan.count(spec.days, "purchase")
    money = plan.amount(spec.days, "spend")
    return [
        ("__rfm_r", _days_since(last)),
        ("__rfm_f", _num(f"coalesce(g.{freq}, 0)")),
        ("__rfm_m", _num(f"coalesce(g.{money}, 0)")),
    ]


RFM_SEGMENTS: tuple[str, ...] = ("champions", "loyal", "potential", "at_risk", "promising", "hibernating", "no_purchase")
LIFECYCLE_STAGES: tuple[str, ...] = ("potential", "new", "active", "silent", "churned")


def _rfm_outer() -> list[tuple[str, str]]:
    """Quintile scores among purchasers per cutoff: ceil(5 * cume_dist), ties share a score."""

    def score(col: str, order: str) -> str:
        win = f"PARTITION BY cutoff, (__rfm_f > 0) ORDER BY {col} {order}"
        return f"CASE WHEN __rfm_f > 0 THEN CAST(ceil(5 * cume_dist() OVER ({win})) AS DOUBLE) END"

    r, f, m = score("__rfm_r", "DESC"), score("__rfm_f", "ASC"), score("__rfm_m", "ASC")
    return [("rfm_recency_score", r), ("rfm_frequency_score", f), ("rfm_monetary_score", m)]


_SEGMENT_SQL = (
    "CASE WHEN rfm_frequency_score IS NULL THEN 'no_purchase' "
    "WHEN rfm_monetary_score >= 3 AND rfm_recency_score >= 3 AND rfm_frequency_score >= 3 THEN 'champions' "
    "WHEN rfm_monetary_score >= 3 AND rfm_frequency_score >= 3 THEN 'loyal' "
    "WHEN rfm_monetary_score >= 3 AND rfm_recency_score >= 3 THEN 'potential' "
    "WHEN rfm_monetary_score >= 3 THEN 'at_risk' "
    "WHEN rfm_recency_score >= 3 THEN 'promising' "
    "ELSE 'hibernating' END"
)


def _cuts_cte(cutoffs: tuple[date, ...], offsets: set[int]) -> str:
    """Per cutoff its timestamp and, per offset w, the boundary day `d_w = cutoff - w`."""
    cols = ["cutoff"] + [f"d_{w}" for w in sorted(offsets)] + [f"n_{w}" for w in sorted(offsets)]
    rows = []
    for c in cutoffs:
        bounds = [c - timedelta(days=w) for w in sorted(offsets)]
        vals = [f"TIMESTAMP {_q(c.isoformat())}"] + [f"DATE {_q(b.isoformat())}" for b in bounds] + [
            str((b - _EPOCH).days) for b in bounds
        ]
        rows.append("(" + ", ".join(vals) + ")")
    return f"cuts AS (SELECT * FROM (VALUES {', '.join(rows)}) AS t({', '.join(cols)}))"


def compile_features(
    specs: FeatureSet,
    *,
    events: str,
    users: str | None,
    cutoffs: Sequence[date | datetime | str],
    user_columns: Sequence[str] | None = None,
) -> str:
    """One SQL query: `user_id, cutoff, <features...>` for every user known before each cutoff.

    `events` / `users` are FROM-clauses (see `relation_sql`); `users=None` derives the users
    from the events (joined at their first event). `user_columns` (the users table's columns,
    when known) turns attributes the table lacks into NULL. Pure: nothing is executed here.
    """
    cuts = normalize_cutoffs(cutoffs)
    plan = _Plan()
    plan.ud["min(ts)"] = "first_ts"
    cols: list[tuple[str, str]] = []
    for spec in specs:
        cols.extend(_feature_sql(spec, plan))
    ctes = [
        _cuts_cte(cuts, plan.offsets),
        f"ev AS (SELECT user_id, ts, CAST(ts AS DATE) AS day, event_type, role, channel, amount, category, "
        f"session_id FROM {events} WHERE ts < TIMESTAMP {_q(cuts[-1].isoformat())})",
        "ud AS (SELECT user_id, day, " + ", ".join(f"{s} AS {a}" for s, a in plan.ud.items())
        + " FROM ev GROUP BY user_id, day)",
    ]
    days = "ud"
    if plan.gaps or plan.pc:
        ctes.append(_purchase_contact_cte(plan))
        # pcd's days are days with events, so a left join keeps every user-day exactly once.
        days = "(SELECT * FROM ud LEFT JOIN pcd USING (user_id, day))"
    # Integer user keys (dense, exact) and day numbers for the window sort and the ASOF joins.
    ctes.append("ids AS (SELECT user_id, CAST(row_number() OVER () AS INTEGER) AS uid FROM (SELECT DISTINCT user_id FROM ud))")
    run = ", ".join(f"{sql} AS {a}" for sql, a in plan.run.items()) or "NULL AS b"
    ctes.append(
        f"pre AS (SELECT i.uid, CAST(u.day - DATE {_q(_EPOCH.isoformat())} AS INTEGER) AS dn, {run} "
        f"FROM {days} u JOIN ids i ON u.user_id = i.user_id "
        "WINDOW w AS (PARTITION BY i.uid ORDER BY u.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))"
    )
    ctes.append(_users_cte(users, specs, user_columns))
    ctes.append(_population_cte(specs))
    ctes.append(_lookup_cte(plan, specs))
    if plan.ux:
        ctes.append(_distinct_cte(plan))
    return _final_sql(ctes, cols, specs, plan)


def _lookup_cte(plan: _Plan, specs: FeatureSet) -> str:
    """Per (user, cutoff) the running totals at the user's last day before each boundary
    `d_w`: narrow ASOF joins on integer keys find that day (`m_w`), then hash joins on
    (uid, day) fetch only the columns read at each offset; every feature input is one
    lookup or the difference of two."""
    offs = sorted(plan.offsets)
    found = ", ".join(f"k{w}.dn AS m_{w}" for w in offs)
    asof = "".join(f" ASOF LEFT JOIN keys k{w} ON p.uid = k{w}.uid AND p.n_{w} > k{w}.dn" for w in offs)
    fetch = "".join(f" LEFT JOIN pre r{w} ON p.uid = r{w}.uid AND p.m_{w} = r{w}.dn" for w in offs)
    attrs = "".join(f", p.{_ident(a)}" for a in _attribute_columns(specs))
    exprs = "".join(f", {sql} AS {a}" for sql, a in plan.agg.items())
    return (
        "keys AS (SELECT uid, dn FROM pre),\n"
        f"pk AS (SELECT p.*, {found} FROM (SELECT pop.*, ids.uid FROM pop LEFT JOIN ids ON pop.user_id = ids.user_id) p"
        f"{asof}),\n"
        f"g AS (SELECT p.user_id, p.cutoff, p.joined_at{attrs}{exprs} FROM pk p{fetch})"
    )


def _purchase_contact_cte(plan: _Plan) -> str:
    """Per user-day: gaps between consecutive purchases and purchases that answer a contact."""
    resp = "".join(
        f", CAST(count(CASE WHEN role = 'purchase' AND prev_contact >= ts - INTERVAL {n} DAY THEN 1 END) AS DOUBLE)"
        f" AS resp_{n}"
        for n in sorted(plan.pc)
    )
    gap = "date_diff('second', prev_purchase, ts) / 86400.0"
    return (
        "pce AS (SELECT user_id, ts, day, role, "
        "max(CASE WHEN role = 'purchase' THEN ts END) OVER w AS prev_purchase, "
        "max(CASE WHEN role = 'contact' THEN ts END) OVER w AS prev_contact "
        "FROM ev WHERE role IN ('purchase', 'contact') "
        "WINDOW w AS (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)),\n"
        "pcd AS (SELECT user_id, day, "
        "CAST(count(CASE WHEN role = 'purchase' THEN prev_purchase END) AS DOUBLE) AS gap_n, "
        f"sum(CASE WHEN role = 'purchase' THEN {gap} END) AS gap_sum, "
        f"sum(CASE WHEN role = 'purchase' THEN ({gap}) * ({gap}) END) AS gap_sq{resp} "
        "FROM pce GROUP BY user_id, day)"
    )


def _distinct_cte(plan: _Plan) -> str:
    """Distinct values in a window, without DISTINCT aggregates: for each (user, value) keep
    the latest day before each cutoff; the value is in a window iff that day is inside it."""
    parts = [
        f"SELECT user_id, {_q(col)} AS k, CAST({col} AS VARCHAR) AS v, day FROM ev WHERE {_ACTIVITY} AND {col} IS NOT NULL"
        for col in sorted(plan.ux)
    ]
    return (
        "uxd AS (" + " UNION ALL ".join(parts) + "),\n"
        "ux AS (SELECT user_id, k, v, day, lead(day) OVER (PARTITION BY user_id, k, v ORDER BY day) AS next_day FROM "
        "(SELECT DISTINCT user_id, k, v, day FROM uxd)),\n"
        "uxc AS (SELECT ux.user_id, ux.k, ux.day, c.* FROM ux JOIN cuts c ON ux.day < c.d_0 "
        "AND (ux.next_day IS NULL OR ux.next_day >= c.d_0)),\n"
        "x AS (SELECT user_id, cutoff, " + ", ".join(f"{s} AS {a}" for s, a in plan.dist.items())
        + " FROM uxc GROUP BY user_id, cutoff)"
    )


def _attribute_columns(specs: FeatureSet) -> list[str]:
    return [s.column for s in specs if isinstance(s, Attribute)]


def _users_cte(users: str | None, specs: FeatureSet, user_columns: Sequence[str] | None) -> str:
    attrs = _attribute_columns(specs)
    have = set(attrs if user_columns is None else user_columns)
    first = "(SELECT user_id, min(first_ts) AS first_ts FROM ud GROUP BY user_id)"
    if users is None:
        attr_sql = "".join(f", CAST(NULL AS VARCHAR) AS {_ident(a)}" for a in attrs)
        return f"us AS (SELECT user_id, first_ts AS joined_at{attr_sql} FROM {first} f)"
    attr_sql = "".join(
        f", CAST({'u.' + _ident(a) if a in have else 'NULL'} AS VARCHAR) AS {_ident(a)}" for a in attrs
    )
    # A user without a join time is known from their first event on.
    return (
        f"us AS (SELECT CAST(u.user_id AS VARCHAR) AS user_id, coalesce(CAST(u.joined_at AS TIMESTAMP), f.first_ts) "
        f"AS joined_at{attr_sql} FROM {users} u LEFT JOIN {first} f ON CAST(u.user_id AS VARCHAR) = f.user_id)"
    )


def _population_cte(specs: FeatureSet) -> str:
    attrs = "".join(f", us.{_ident(a)}" for a in _attribute_columns(specs))
    return f"pop AS (SELECT us.user_id, c.*, us.joined_at{attrs} FROM us JOIN cuts c ON us.joined_at < c.cutoff)"


def _final_sql(ctes: list[str], cols: list[tuple[str, str]], specs: FeatureSet, plan: _Plan) -> str:
    inner = ", ".join(f"{sql} AS {_ident(name)}" for name, sql in cols)
    join = " LEFT JOIN x ON g.user_id = x.user_id AND g.cutoff = x.cutoff" if plan.ux else ""
    ctes.append(f"base AS (SELECT g.user_id, g.cutoff, {inner} FROM g{join})")
    out = []
    for spec in specs:
        if isinstance(spec, RFM):
            out += ["rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score", f"{_SEGMENT_SQL} AS rfm_segment"]
        else:
            out.append(_ident(spec.name))
    if not any(isinstance(s, RFM) for s in specs):
        return "WITH " + ",\n".join(ctes) + f"\nSELECT user_id, cutoff, {', '.join(out)} FROM base"
    # Rank on a narrow projection: window operators carry every column they are given.
    scored = ", ".join(f"{sql} AS {n}" for n, sql in _rfm_outer())
    ctes.append(f"rk AS (SELECT user_id, cutoff, {scored} FROM (SELECT user_id, cutoff, __rfm_r, __rfm_f, __rfm_m FROM base))")
    return (
        "WITH " + ",\n".join(ctes)
        + f"\nSELECT user_id, cutoff, {', '.join(out)} FROM base JOIN rk USING (user_id, cutoff)"
    )
