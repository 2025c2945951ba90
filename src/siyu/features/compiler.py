"""Compile feature specs into ONE DuckDB query over many cutoffs (pure: specs in, SQL out).

The design (cost grows with user-days, not with events × cutoffs):

1. `ud`: the events are read once, in place, and aggregated into a compact user × local-day
   table with one column per measure the specs need (counts / amounts by role, type and
   channel, last timestamps, sessions, dayparts, ...).
2. `ub`: days are folded into *bins* whose edges are every `cutoff - window` boundary of the
   run, so each user has at most one row per bin and every window of every cutoff is an exact
   union of whole bins.
3. `ul`: per user one row of lists, the user's bins in time order and each bin column.
4. `g`: per (user, cutoff) the number of the user's bins before each boundary `cutoff - offset`
   is counted once; every windowed count or sum is then the sum of one contiguous slice of a
   list, so there is no per-window aggregation and no wide hash aggregate over (user, cutoff).
5. Distinct channels / categories: per (user, value) only the latest bin before each cutoff
   is kept and counted when it lies inside the window (no DISTINCT aggregates).
6. RFM quintiles rank purchasers per cutoff on a narrow projection.

Per-day quantities (active days, sessions, weekday counts) are summed from days, never
recounted per bin, so a feature at a cutoff does not depend on which other cutoffs share the
run (amount sums may differ in the last floating-point bit). Point in time: only events with
`ts < cutoff` enter a cutoff's features, because every cutoff is a bin edge and only bins
wholly before it are read.
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
    ub: dict[str, str] = field(default_factory=dict)  # bin-level aggregate SQL -> alias
    agg: dict[str, str] = field(default_factory=dict)  # per (user, cutoff) expression -> alias
    lists: set[str] = field(default_factory=set)  # bin columns gathered into per-user lists
    offsets: set[int] = field(default_factory=lambda: {0})
    pc: set[int] = field(default_factory=set)  # campaign response windows (within_days)
    gaps: bool = False
    ux: set[str] = field(default_factory=set)
    dist: dict[str, str] = field(default_factory=dict)  # distinct channel/category counts

    def _add(self, table: dict[str, str], sql: str, prefix: str) -> str:
        if sql not in table:
            table[sql] = f"{prefix}{len(table)}"
        return table[sql]

    def bin_col(self, ub_sql: str) -> str:
        """A bin-level column, gathered per user into a list ordered by bin."""
        b = self._add(self.ub, ub_sql, "b")
        self.lists.add(b)
        return b

    def day_sum(self, day_sql: str) -> str:
        """A day-level additive quantity, summed into bins; returns the bin column."""
        d = self._add(self.ud, day_sql, "d")
        return self.bin_col(f"sum({d})")

    def before(self, bin_col: str, fn: str = "list_sum") -> str:
        """`fn` over the user's bins before the cutoff (all history)."""
        return self._add(self.agg, f"{fn}({bin_col}[1:i_0])", "a")

    def window(self, bin_col: str, days: int | None, upto: int = 0) -> str:
        """Sum of a bin column over [C - days, C - upto) (all history when days is None).

        The bins of a window are one contiguous slice of the user's sorted bin list, located
        by counting the user's bins before each boundary (`i_<offset>`)."""
        if days is None:
            return self.before(bin_col)
        self.offsets.update({days, upto})
        return self._add(self.agg, f"coalesce(list_sum({bin_col}[i_{days} + 1:i_{upto}]), 0)", "a")

    def count(self, days: int | None, role: str = "any", event_type: str | None = None,
              channel: str | None = None, upto: int = 0) -> str:
        return self.window(self.day_sum(_day_count(_pred(role, event_type, channel))), days, upto)

    def amount(self, days: int | None, role: str, event_type: str | None = None,
               channel: str | None = None) -> str:
        return self.window(self.day_sum(f"sum(CASE WHEN {_pred(role, event_type, channel)} THEN amount END)"), days)

    def last_ts(self, pred: str) -> str:
        d = self._add(self.ud, f"max(CASE WHEN {pred} THEN ts END)", "d")
        return self.before(self.bin_col(f"max({d})"), "list_max")


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
            plan.dist, f"count(CASE WHEN k = {_q(spec.column)} AND bin >= ib_{spec.days} THEN 1 END)", "x"
        )
        return [(spec.name, _num(f"coalesce(x.{alias}, 0)"))]
    if isinstance(spec, Trend):
        recent = plan.count(spec.days, spec.role)
        prior = plan.count(2 * spec.days, spec.role, upto=spec.days)
        return [(spec.name, _ratio(a(recent), f"g.{prior}"))]
    if isinstance(spec, InterPurchase):
        plan.gaps = True
        n, s, q = (plan.window(plan.bin_col(f"sum({c})"), None) for c in ("gap_n", "gap_sum", "gap_sq"))
        if spec.stat == "mean":
            return [(spec.name, _ratio(f"g.{s}", f"g.{n}"))]
        var = f"greatest(g.{q} - g.{s} * g.{s} / g.{n}, 0) / (g.{n} - 1)"
        return [(spec.name, _num(f"CASE WHEN g.{n} >= 2 THEN sqrt({var}) END"))]
    if isinstance(spec, Tenure):
        return [(spec.name, _days_since("g.joined_at"))]
    if isinstance(spec, FirstPurchase):
        pred = _pred("purchase")
        ts = plan._add(plan.ud, f"min(ts) FILTER (WHERE {pred})", "d")
        amt = plan._add(plan.ud, f"arg_min(amount, ts) FILTER (WHERE {pred})", "d")
        bamt = plan.bin_col(f"arg_min({amt}, {ts})")
        first = f"list_filter({bamt}[1:i_0], lambda x: x IS NOT NULL)[1]"  # bins are in time order
        return [(spec.name, _num("g." + plan._add(plan.agg, first, "a")))]
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
        resp = plan.window(plan.bin_col(f"sum(resp_{spec.within_days})"), spec.days)
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
            bin_col = plan.bin_col(f"sum(CASE WHEN isodow(u.day) = {isodow} THEN {act} END)")
            part_alias = plan.window(bin_col, spec.days)
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


def _bounds(cutoffs: tuple[date, ...], offsets: set[int]) -> list[date]:
    return sorted({c - timedelta(days=w) for c in cutoffs for w in offsets})


def _cuts_cte(cutoffs: tuple[date, ...], offsets: set[int], bounds: list[date]) -> str:
    pos = {b: i + 1 for i, b in enumerate(bounds)}
    cols = ["cutoff"] + [f"ib_{w}" for w in sorted(offsets)]
    rows = []
    for c in cutoffs:
        vals = [f"TIMESTAMP {_q(c.isoformat())}"] + [str(pos[c - timedelta(days=w)]) for w in sorted(offsets)]
        rows.append("(" + ", ".join(vals) + ")")
    return (
        f"cuts AS (SELECT * FROM (VALUES {', '.join(rows)}) AS t({', '.join(cols)})),\n"
        # bc: every (bin, cutoff) with the bin wholly before the cutoff (bin 0: before all bounds).
        "bc AS (SELECT b.bin, c.* FROM (SELECT unnest(range(0, " + str(len(bounds) + 1) + ")) AS bin) b "
        "JOIN cuts c ON b.bin < c.ib_0)"
    )


def _daymap_cte(bounds: list[date]) -> str:
    values = ", ".join(f"(DATE {_q(b.isoformat())}, {i + 1})" for i, b in enumerate(bounds))
    return (
        f"bnd AS (SELECT * FROM (VALUES {values}) AS t(b, bin)),\n"
        f"daymap AS (SELECT CAST(g.day AS DATE) AS day, bnd.bin FROM "
        f"generate_series(DATE {_q(bounds[0].isoformat())}, DATE {_q(bounds[-1].isoformat())}, INTERVAL 1 DAY) g(day) "
        f"ASOF JOIN bnd ON CAST(g.day AS DATE) >= bnd.b)"
    )


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
    bounds = _bounds(cuts, plan.offsets)
    ctes = [
        _cuts_cte(cuts, plan.offsets, bounds),
        _daymap_cte(bounds),
        f"ev AS (SELECT user_id, ts, CAST(ts AS DATE) AS day, event_type, role, channel, amount, category, "
        f"session_id FROM {events} WHERE ts < TIMESTAMP {_q(cuts[-1].isoformat())})",
        "ud AS (SELECT user_id, day, " + ", ".join(f"{s} AS {a}" for s, a in plan.ud.items())
        + " FROM ev GROUP BY user_id, day)",
    ]
    day_tables = ["ud"]
    if plan.gaps or plan.pc:
        ctes.append(_purchase_contact_cte(plan))
        day_tables.append("pcd")
    ub_cols = {**plan.ub, "min(first_ts)": "first_ts"}
    ctes.append(
        "ub AS (SELECT u.user_id, coalesce(m.bin, 0) AS bin, "
        + ", ".join(f"{s} AS {a}" for s, a in ub_cols.items())
        + " FROM (" + " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in day_tables)
        + ") u LEFT JOIN daymap m ON u.day = m.day GROUP BY ALL)"
    )
    ctes.append(_users_cte(users, specs, user_columns))
    ctes.append(_population_cte(specs))
    ctes.append(_lists_cte(plan, specs))
    if plan.ux:
        ctes.append(_distinct_cte(plan))
    return _final_sql(ctes, cols, specs, plan)


def _lists_cte(plan: _Plan, specs: FeatureSet) -> str:
    """Per user one row of lists (bins and every bin column, in bin order); per (user, cutoff)
    the number of the user's bins before each boundary; then every feature input as a slice."""
    cols = sorted(plan.lists, key=lambda b: int(b[1:]))
    # One sorted list of structs per user (one sort), then unpacked into one list per column.
    packed = ", ".join(["bin := bin", *(f"{b} := {b}" for b in cols)])
    lists = ", ".join(["list_transform(s, lambda x: x.bin) AS bins", *(f"list_transform(s, lambda x: x.{b}) AS {b}" for b in cols)])
    idx = ", ".join(f"len(list_filter(u.bins, lambda x: x < p.ib_{w})) AS i_{w}" for w in sorted(plan.offsets))
    attrs = "".join(f", {_ident(a)}" for a in _attribute_columns(specs))
    exprs = "".join(f", {sql} AS {a}" for sql, a in plan.agg.items())
    return (
        # list_sort after an unordered list(): an ordered aggregate buffers and sorts every group's
        # wide rows, sorting each small list is much cheaper; bins are unique per user and the
        # struct's first field, so the order is the bin order.
        f"ul AS (SELECT user_id, {lists} FROM (SELECT user_id, list_sort(list(struct_pack({packed}))) AS s "
        "FROM ub GROUP BY user_id)),\n"
        f"pi AS (SELECT p.user_id, p.cutoff, p.joined_at{attrs}, {', '.join(cols) or 'NULL AS b'}, {idx} "
        "FROM pop p LEFT JOIN ul u ON p.user_id = u.user_id),\n"
        f"g AS (SELECT user_id, cutoff, joined_at{attrs}{exprs} FROM pi)"
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
    the latest bin before each cutoff; the value is in a window iff that bin is inside it."""
    parts = [
        f"SELECT user_id, {_q(col)} AS k, CAST({col} AS VARCHAR) AS v, day FROM ev WHERE {_ACTIVITY} AND {col} IS NOT NULL"
        for col in sorted(plan.ux)
    ]
    return (
        "uxd AS (" + " UNION ALL ".join(parts) + "),\n"
        "ux AS (SELECT user_id, k, v, bin, lead(bin) OVER (PARTITION BY user_id, k, v ORDER BY bin) AS next_bin FROM "
        "(SELECT user_id, k, v, coalesce(m.bin, 0) AS bin FROM uxd LEFT JOIN daymap m ON uxd.day = m.day GROUP BY ALL)),\n"
        "uxc AS (SELECT ux.user_id, ux.k, ux.bin, c.* EXCLUDE (bin) FROM ux JOIN bc c ON ux.bin = c.bin "
        "WHERE ux.next_bin IS NULL OR ux.next_bin >= c.ib_0),\n"
        "x AS (SELECT user_id, cutoff, " + ", ".join(f"{s} AS {a}" for s, a in plan.dist.items())
        + " FROM uxc GROUP BY user_id, cutoff)"
    )


def _attribute_columns(specs: FeatureSet) -> list[str]:
    return [s.column for s in specs if isinstance(s, Attribute)]


def _users_cte(users: str | None, specs: FeatureSet, user_columns: Sequence[str] | None) -> str:
    attrs = _attribute_columns(specs)
    have = set(attrs if user_columns is None else user_columns)
    first = "(SELECT user_id, min(first_ts) AS first_ts FROM ub GROUP BY user_id)"
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
