"""Compile a `FeatureProgram` to Spark DataFrame operations.

The same plan the embedded engine runs (`siyu.features.compiler`), in four steps whose cost
grows with user-days, not with events x cutoffs:

1. **events**: narrow columns (user, microsecond local time, local day, hour, role, ...)
   before the last cutoff, of the users the dictionary knows;
2. **tiles**: one row per user-day with that day's value of every measure (counts, fixed-
   point amount sums, active flags, weekday counts, campaign responses,
   purchase gaps) and its latest time per `Since` predicate; the float gap sums become
   running sums per user (in day order, added exactly as the embedded engine adds them);
3. **windows**: each tile is paired with the cutoffs after it (a small literal array), and
   every window of every cutoff is a conditional sum over a user's tiles; distinct channels
   / categories / sessions pair each (user, value, day) with the cutoffs where that day is the value's
   latest one;
4. **rows**: every user joined strictly before each cutoff, with the derived columns
   (ratios, days since, stage, RFM quintiles ranked per cutoff, attributes).

Semantics are the embedded engine's (`siyu.features.engine`): windows are whole local days
before a cutoff (a local midnight); amounts are summed in 1/10,000 units so sums are exact;
a ratio with a zero denominator is null; days since an event that never happened is null.
Time stamps are naive local time: the session's time zone must be UTC so that Spark turns
them into the same microsecond counts as DuckDB's `epoch_us`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F
from pyspark.sql import types as T

from siyu.contract.schema import ROLES
from siyu.features.btyd_summary import ORDER_COLUMN
from siyu.features.build import to_feature_frame
from siyu.features.compiler import (
    ACTIVITY,
    LIFECYCLE_STAGES,
    RFM_SEGMENTS,
    DistinctIn,
    FeatureProgram,
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
    compile_features,
    rfm_inputs,
)
from siyu.features.engine import AMOUNT_SCALE, US_PER_DAY, cutoff_us
from siyu.features.plan import BtydColumn
from siyu.features.specs import RFM, FeatureSet, SpecError

US_PER_HOUR = 3_600_000_000
_FLOAT_KINDS = ("gap_n", "gap_sum", "gap_sq")
_PURCHASE_KINDS = (*_FLOAT_KINDS, "response")
_UNBOUNDED = SparkWindow.unboundedPreceding
_SCORES = ("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score")


class SparkEngineError(ValueError):
    """A Spark session or input the engine cannot run on, with what to change."""


# --------------------------------------------------------------------------- inputs
def _floor_div(name: str, unit: int) -> Column:
    """Integer floor division (numpy's //), exact for any microsecond count."""
    return F.expr(f"({name} - pmod({name}, {unit})) div {unit}").cast("long")


def _micros(col: Column) -> Column:
    return F.unix_micros(col.cast("timestamp"))


def _events(program: FeatureProgram, events: DataFrame, last_us: int) -> DataFrame:
    """Narrow event rows before the last cutoff: user_id, t, day, hour, role and what the
    program reads (event_type, channel, amount, fixed, distinct columns)."""
    t = _micros(F.col("ts"))
    cols = [
        F.col("user_id").cast("string").alias("user_id"),
        t.alias("t"),
        F.when(F.col("role").isin(list(ROLES)), F.col("role")).otherwise(F.lit("other")).alias("role"),
        F.col("event_type").cast("string").alias("event_type"),
        F.col("channel").cast("string").alias("channel"),
        # NaN and null alike mean "no amount" (the embedded engine reads both as NaN).
        F.when(F.isnan(F.col("amount")), F.lit(None)).otherwise(F.col("amount").cast("double")).alias("amount"),
    ]
    cols += [F.col(c).cast("string").alias(f"v_{c}") for c in program.distinct_columns]
    if _needs_btyd(program):
        order = F.col(ORDER_COLUMN).cast("string") if ORDER_COLUMN in events.columns else F.lit(None).cast("string")
        cols.append(order.alias("order_id"))
    # A null user matches no user of the dictionary on the embedded engine either.
    out = events.select(*cols).where((F.col("t") < F.lit(last_us)) & F.col("user_id").isNotNull())
    day = _floor_div("t", US_PER_DAY)
    hour = F.pmod(_floor_div("t", US_PER_HOUR), F.lit(24))
    # Fixed point, rounded half to even like numpy's round: exact sums in any order.
    fixed = F.coalesce(F.bround(F.col("amount") * F.lit(float(AMOUNT_SCALE)), 0), F.lit(0.0)).cast("long")
    return out.withColumn("day", day).withColumn("hour", hour).withColumn("fixed", fixed)


def as_orders(events: DataFrame) -> DataFrame:
    """`events` with each order's purchase (or refund) lines as one event, as the embedded
    engine reads them (`siyu.features.compiler.orders_sql`): at the first line's time, the
    lines' summed amount, the order's most frequent category. Unchanged without order ids.
    Where lines tie (same time, or equally frequent categories) Spark takes the smallest value;
    DuckDB takes any of them."""
    if "order_id" not in events.columns or events.where(F.col("order_id").isNotNull()).limit(1).count() == 0:
        return events
    lines = F.col("order_id").isNotNull() & F.col("role").isin("purchase", "refund")
    first = {c: F.min_by(F.col(c), F.struct(F.col("ts"), F.col(c))) for c in ("event_type", "channel", "session_id")}
    orders = events.where(lines).groupBy("user_id", "order_id", "role").agg(
        F.min("ts").alias("ts"), first["event_type"].alias("event_type"), first["channel"].alias("channel"),
        F.sum("amount").alias("amount"), F.lit(None).cast("string").alias("item_id"),
        F.mode(F.col("category"), deterministic=True).alias("category"), first["session_id"].alias("session_id"),
        F.min("event_id").alias("event_id"))
    cols = ["user_id", "ts", "event_type", "role", "channel", "amount", "item_id", "category", "session_id",
            "event_id", "order_id"]
    return events.where(~lines).select(*cols).unionByName(orders.select(*cols))


def _users(program: FeatureProgram, events: DataFrame, users: DataFrame | None) -> DataFrame:
    """The user dictionary: user_id, joined_us (null: the first event stands for it), attributes."""
    if users is None:
        attrs = [F.lit(None).cast("string").alias(a) for a in program.attributes]
        return events.select("user_id").distinct().select(
            "user_id", F.lit(None).cast("long").alias("joined_us"), *attrs)
    have = set(users.columns)
    attrs = [(F.col(a) if a in have else F.lit(None)).cast("string").alias(a) for a in program.attributes]
    return users.select(F.col("user_id").cast("string").alias("user_id"),
                        _micros(F.col("joined_at")).alias("joined_us"), *attrs)


# --------------------------------------------------------------------------- tiles
def _pred(p: Pred) -> Column:
    c = F.lit(True)
    if p.roles is not None:
        c = c & F.col("role").isin(list(p.roles))
    if p.event_type is not None:
        c = c & (F.col("event_type") == F.lit(p.event_type))
    if p.channel is not None:
        c = c & (F.col("channel") == F.lit(p.channel))
    if p.hours is not None:
        c = c & (F.col("hour") >= F.lit(p.hours[0])) & (F.col("hour") < F.lit(p.hours[1]))
    return F.coalesce(c, F.lit(False))


def _n(cond: Column) -> Column:
    return F.sum(F.when(cond, F.lit(1)).otherwise(F.lit(0))).cast("long")


def _isodow(day: Column) -> Column:
    return F.pmod(day + F.lit(3), F.lit(7)) + F.lit(1)  # 1970-01-01 was a Thursday


class _Names:
    """Column names of the program's measures, windows and last times."""

    def __init__(self, program: FeatureProgram) -> None:
        self.measure = {m: f"m{i}" for i, m in enumerate(program.measures)}
        self.window = {w: f"w{i}" for i, w in enumerate(program.windows)}
        self.last = {p: f"l{i}" for i, p in enumerate(program.lasts)}


def _day_measure(m: Measure) -> Column:
    """A measure's value for one user-day (an aggregate over that day's events)."""
    if m.kind == "count":
        return _n(_pred(m.pred))
    if m.kind == "amount":
        return F.sum(F.when(_pred(m.pred), F.col("fixed")).otherwise(F.lit(0))).cast("long")
    if m.kind == "active":
        return F.least(_n(_pred(m.pred)), F.lit(1)).cast("long")
    if m.kind == "weekday":
        return F.when(_isodow(F.col("day")) == F.lit(m.arg), _n(_pred(ACTIVITY))).otherwise(F.lit(0)).cast("long")
    raise SpecError(f"measure {m!r}: no Spark tile for kind {m.kind!r}")


def _ordered_sum(values: Column) -> Column:
    """Sum of a day's purchase values in time order (as the embedded engine adds them)."""
    items = F.array_sort(F.collect_list(F.when(values.isNotNull(), F.struct(F.col("t"), values.alias("x")))))
    return F.aggregate(items, F.lit(0.0), lambda acc, e: acc + e["x"])


def _purchase_days(program: FeatureProgram, ev: DataFrame, names: _Names) -> DataFrame | None:
    """Per user-day with purchases: purchase gaps (count, sum, sum of squares; booked on the
    later purchase) and campaign responses (purchases within N days after the latest contact,
    a contact at the same instant included)."""
    wanted = [m for m in program.measures if m.kind in _PURCHASE_KINDS]
    if not wanted:
        return None
    by_time = SparkWindow.partitionBy("user_id").orderBy("t")
    pc = ev.where(F.col("role").isin("purchase", "contact")).select("user_id", "t", "day", "role")
    pc = pc.withColumn("last_contact", F.max(F.when(F.col("role") == "contact", F.col("t"))).over(
        by_time.rangeBetween(_UNBOUNDED, SparkWindow.currentRow)))
    pc = pc.withColumn("prev_purchase", F.last(F.when(F.col("role") == "purchase", F.col("t")), ignorenulls=True).over(
        by_time.rowsBetween(_UNBOUNDED, -1)))
    gap = (F.col("t") - F.col("prev_purchase")).cast("double") / F.lit(float(US_PER_DAY))
    purchases = pc.where(F.col("role") == "purchase").withColumn("gap", gap)
    aggs = []
    for m in wanted:
        if m.kind == "gap_n":
            agg = F.count(F.col("gap")).cast("double")
        elif m.kind == "gap_sum":
            agg = _ordered_sum(F.col("gap"))
        elif m.kind == "gap_sq":
            agg = _ordered_sum(F.col("gap") * F.col("gap"))
        else:
            since = F.col("t") - F.col("last_contact")
            agg = _n(F.col("last_contact").isNotNull() & (since <= F.lit(m.arg * US_PER_DAY)))
        aggs.append(agg.alias(names.measure[m]))
    days = purchases.groupBy("user_id", "day").agg(*aggs)
    # Gap measures become running sums per user (day order; each day's sum added to the
    # running total, as the embedded engine adds them). They change only on purchase days, so
    # a window reads them at the user's last purchase day before its boundary.
    running = SparkWindow.partitionBy("user_id").orderBy("day").rowsBetween(_UNBOUNDED, SparkWindow.currentRow)
    return days.withColumns({names.measure[m]: F.sum(F.col(names.measure[m])).over(running)
                             for m in wanted if m.kind in _FLOAT_KINDS})


def _tiles(program: FeatureProgram, ev: DataFrame, names: _Names) -> DataFrame:
    """One row per user-day: every measure's day value (float measures as running sums per
    user, on purchase days only) and the latest time of every `Since` predicate that day."""
    aggs = [_day_measure(m).alias(names.measure[m]) for m in program.measures if m.kind not in _PURCHASE_KINDS]
    aggs += [F.max(F.when(_pred(p), F.col("t"))).alias(names.last[p]) for p in program.lasts]
    if not aggs:
        aggs = [F.count(F.lit(1)).alias("_n")]
    # The purchase measures are tiled apart: an ordered list in the main aggregate would push
    # all ~50 measures into Spark's slow sort-based object aggregation.
    tiles = ev.groupBy("user_id", "day").agg(*aggs)
    purchase_days = _purchase_days(program, ev, names)
    if purchase_days is not None:
        tiles = tiles.join(purchase_days, ["user_id", "day"], "left")
    cols = {names.measure[m]: F.coalesce(F.col(names.measure[m]), F.lit(0)).cast("long")
            for m in program.measures if m.kind == "response"}
    return tiles.withColumns(cols) if cols else tiles


# --------------------------------------------------------------------------- windows
def _cut_days(program: FeatureProgram) -> list[int]:
    return [int(us // US_PER_DAY) for us in cutoff_us(program.cutoffs)]


def _later_cutoffs(cut_days: list[int], day: Column, upper: Column | None = None) -> Column:
    """The cutoff days after `day` (and at most `upper`), one row each."""
    cuts = F.array(*[F.lit(c).cast("long") for c in cut_days])
    if upper is None:
        return F.explode(F.filter(cuts, lambda c: c > day))
    return F.explode(F.filter(cuts, lambda c: (c > day) & (c <= upper)))


def _window_agg(w: Win, names: _Names) -> Column:
    m = F.col(names.measure[w.measure])
    day, cut = F.col("day"), F.col("cut_day")
    if w.measure.kind in _FLOAT_KINDS:
        # Running sums: the value at the last purchase day before each boundary (null elsewhere).
        def at(offset: int | None) -> Column:
            if offset is None:
                return F.lit(0.0)
            return F.coalesce(F.max_by(m, F.when((day < cut - F.lit(offset)) & m.isNotNull(), day)), F.lit(0.0))

        return at(w.upto) - at(w.days)
    inside = day < cut - F.lit(w.upto)
    if w.days is not None:
        inside = inside & (day >= cut - F.lit(w.days))
    total = F.sum(F.when(inside, m).otherwise(F.lit(0))).cast("long").cast("double")
    return total / F.lit(float(AMOUNT_SCALE)) if w.measure.kind == "amount" else total


def _windows(program: FeatureProgram, tiles: DataFrame, names: _Names) -> DataFrame:
    """Per (user, cutoff day) with a user-day before it: every window and last time."""
    paired = tiles.withColumn("cut_day", _later_cutoffs(_cut_days(program), F.col("day")))
    aggs = [_window_agg(w, names).alias(names.window[w]) for w in program.windows]
    aggs += [F.max(F.col(names.last[p])).alias(names.last[p]) for p in program.lasts]
    if not aggs:
        aggs = [F.count(F.lit(1)).alias("_n")]
    return paired.groupBy("user_id", "cut_day").agg(*aggs)


def _distinct_name(d: DistinctIn) -> str:
    return f"d_{d.column}_{d.days}"


def _distinct(program: FeatureProgram, ev: DataFrame, column: str) -> DataFrame:
    """Per (user, cutoff day): values of `column` among activity events in each window. A
    value counts when its latest day before the cutoff lies in the window, so each (value,
    day) is paired only with the cutoffs up to the value's next day."""
    wanted = list(dict.fromkeys(e for _, e in program.columns if isinstance(e, DistinctIn) and e.column == column))
    value = F.col(f"v_{column}")
    pairs = ev.where(_pred(ACTIVITY) & value.isNotNull()).select("user_id", value.alias("value"), "day").distinct()
    nxt = F.lead("day").over(SparkWindow.partitionBy("user_id", "value").orderBy("day"))
    horizon = F.col("day") + F.lit(max(d.days for d in wanted))
    upper = F.least(F.coalesce(F.col("next_day"), horizon), horizon)
    paired = pairs.withColumn("next_day", nxt).withColumn(
        "cut_day", _later_cutoffs(_cut_days(program), F.col("day"), upper))
    aggs = [_n(F.col("day") >= F.col("cut_day") - F.lit(d.days)).cast("double").alias(_distinct_name(d))
            for d in wanted]
    return paired.groupBy("user_id", "cut_day").agg(*aggs)


def _needs_btyd(program: FeatureProgram) -> bool:
    return any(isinstance(e, BtydColumn) for _, e in program.columns)


def _btyd(program: FeatureProgram, ev: DataFrame) -> DataFrame:
    """Per (user, cutoff day) with a purchase before it: the BTYD summary of
    `siyu.features.btyd_summary` (a purchase unit is an order, else a day; its day is its first
    purchase's day before the cutoff)."""
    date = F.date_add(F.lit("1970-01-01").cast("date"), F.col("day").cast("int")).cast("string")
    units = (ev.where(F.col("role") == "purchase")
             .select("user_id", "day", F.coalesce(F.col("order_id"), date).alias("unit"), "amount")
             .withColumn("cut_day", _later_cutoffs(_cut_days(program), F.col("day")))
             .groupBy("user_id", "cut_day", "unit")
             .agg(F.min("day").alias("first_day"), F.sum("amount").alias("spend")))
    first, last = F.min("first_day"), F.max("first_day")
    return units.groupBy("user_id", "cut_day").agg(
        (F.count(F.lit(1)) - F.lit(1)).cast("double").alias("btyd_x"),
        (last - first).cast("double").alias("btyd_t_x_days"),
        (F.first("cut_day") - first - F.lit(1)).cast("double").alias("btyd_T_days"),
        F.avg("spend").alias("btyd_spend_mean"),
    )


def _first_purchase(ev: DataFrame) -> DataFrame:
    """Per user: the first purchase time and amount (the smallest known amount among
    simultaneous first purchases)."""
    first = F.min(F.struct(F.col("t"), F.col("amount").isNull().alias("unknown"), F.col("amount")))
    return (ev.where(F.col("role") == "purchase").groupBy("user_id").agg(first.alias("fp"))
            .select("user_id", F.col("fp.t").alias("fp_t"), F.col("fp.amount").alias("fp_amount")))


# --------------------------------------------------------------------------- rows
def _cutoffs_frame(spark: SparkSession, program: FeatureProgram) -> DataFrame:
    schema = T.StructType([T.StructField("cut_day", T.LongType()), T.StructField("cut_us", T.LongType()),
                           T.StructField("cutoff", T.TimestampNTZType())])
    rows = [(int(us // US_PER_DAY), int(us), datetime.combine(c, datetime.min.time()))
            for c, us in zip(program.cutoffs, cutoff_us(program.cutoffs), strict=True)]
    return spark.createDataFrame(rows, schema)


def _days_since(t: Column) -> Column:
    return F.when(t.isNotNull(), (F.col("cut_us") - t).cast("double") / F.lit(float(US_PER_DAY)))


def _ratio(num: Column, den: Column, negate: bool) -> Column:
    return F.when(den != F.lit(0.0), (-num if negate else num) / den)


def _gap_std(n: Column, s: Column, q: Column) -> Column:
    var = F.greatest(q - s * s / F.when(n > 0, n).otherwise(F.lit(1.0)), F.lit(0.0)) / F.when(
        n >= 2, n - F.lit(1.0)).otherwise(F.lit(1.0))
    return F.when(n >= 2, F.sqrt(var))


def _stage(spec, last: Column) -> Column:
    cut, joined = F.col("cut_us"), F.col("joined_us")
    labels = F.when(last.isNull(), F.lit(LIFECYCLE_STAGES[0]))
    labels = labels.when(joined >= cut - F.lit(spec.new_days * US_PER_DAY), F.lit(LIFECYCLE_STAGES[1]))
    labels = labels.when(last >= cut - F.lit(spec.active_days * US_PER_DAY), F.lit(LIFECYCLE_STAGES[2]))
    labels = labels.when(last >= cut - F.lit(spec.churned_days * US_PER_DAY), F.lit(LIFECYCLE_STAGES[3]))
    return labels.otherwise(F.lit(LIFECYCLE_STAGES[4]))


def _value(e, names: _Names) -> Column:  # noqa: C901 - one dispatch table
    if isinstance(e, Win):
        return F.col(names.window[e])
    if isinstance(e, Ratio):
        return _ratio(_value(e.num, names), _value(e.den, names), e.negate)
    if isinstance(e, Since):
        return _days_since(F.col(names.last[e.pred]))
    if isinstance(e, DistinctIn):
        return F.col(_distinct_name(e))
    if isinstance(e, GapStd):
        n, s, q = (F.col(names.window[Win(Measure(k), None)]) for k in _FLOAT_KINDS)
        return _gap_std(n, s, q)
    if isinstance(e, TenureDays):
        return (F.col("cut_us") - F.col("joined_us")).cast("double") / F.lit(float(US_PER_DAY))
    if isinstance(e, FirstAmount):
        return F.when(F.col("fp_t") < F.col("cut_us"), F.col("fp_amount"))
    if isinstance(e, Stage):
        return _stage(e.spec, F.col(names.last[ACTIVITY]))
    if isinstance(e, UserAttr):
        return F.col(e.column)
    if isinstance(e, UserAttrAsOf):
        return F.col(_as_of_name(e.column))
    if isinstance(e, BtydColumn):
        return F.col(e.column)
    raise SpecError(f"{e!r}: no Spark column for this expression")


def _rfm_prefix(spec: RFM, specs: list[RFM]) -> str:
    return f"rfm{specs.index(spec)}"


def _with_rfm(rows: DataFrame, specs: list[RFM], names: _Names) -> DataFrame:
    """RFM quintile scores among each cutoff's purchasers: ceil(5 k / n), k the row's rank
    (ties share the lowest rank: 1 + the purchasers with a smaller value), n the cutoff's
    purchasers."""
    for spec in specs:
        since, freq, money = rfm_inputs(spec)
        prefix = _rfm_prefix(spec, specs)
        values = (-_days_since(F.col(names.last[since.pred])), F.col(names.window[freq]), F.col(names.window[money]))
        rows = rows.withColumns({"_buyer": F.col(names.window[freq]) > F.lit(0.0)}
                                | {f"_v{j}": v for j, v in enumerate(values)})
        group = SparkWindow.partitionBy("cut_day", "_buyer")
        ranks = {"_n": F.count(F.lit(1)).over(group)}
        ranks |= {f"_k{j}": F.rank().over(group.orderBy(f"_v{j}")) for j in range(3)}
        rows = rows.withColumns(ranks)
        # ceil(5 k / n) in integers
        scores = {f"{prefix}_{j}": F.when(F.col("_buyer"), F.expr(f"(5 * _k{j} + _n - 1) div _n").cast("double"))
                  for j in range(3)}
        rows = rows.withColumns(scores).drop("_buyer", "_n", *(f"_{x}{j}" for x in "vk" for j in range(3)))
    return rows


def _segment(r: Column, f: Column, m: Column) -> Column:
    hi_r, hi_f, hi_m = r >= 3, f >= 3, m >= 3
    s = RFM_SEGMENTS
    return (F.when(f.isNull(), F.lit(s[6])).when(hi_m & hi_r & hi_f, F.lit(s[0])).when(hi_m & hi_f, F.lit(s[1]))
            .when(hi_m & hi_r, F.lit(s[2])).when(hi_m, F.lit(s[3])).when(hi_r, F.lit(s[4])).otherwise(F.lit(s[5])))


def _check_session(spark: SparkSession) -> None:
    tz = spark.conf.get("spark.sql.session.timeZone")
    if tz not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise SparkEngineError(
            f"spark.sql.session.timeZone is {tz!r}; the engine reads naive local time stamps and needs 'UTC' "
            "(siyu.io.spark.spark_session sets it; or set spark.sql.session.timeZone=UTC)")


def _as_of_name(column: str) -> str:
    return f"_as_of_{column}"


def _as_of(history: DataFrame, column: str, cutoffs: DataFrame) -> DataFrame:
    """`user_id, cut_day, _as_of_<column>`: the latest change before each cutoff (ties: the larger
    value, as `siyu.contract.history.as_of_sql`)."""
    rows = (history.where(F.col("attribute") == F.lit(column))
            .join(F.broadcast(cutoffs.select("cut_day", "cutoff")), F.col("valid_from") < F.col("cutoff")))
    return rows.groupBy("user_id", "cut_day").agg(
        F.max_by("value", F.struct("valid_from", "value")).alias(_as_of_name(column)))


def feature_frame(specs: FeatureSet, events: DataFrame, users: DataFrame | None,
                  cutoffs: Sequence[date | datetime | str], *, history: DataFrame | None = None) -> DataFrame:
    """`user_id, cutoff, <features...>` as a Spark DataFrame (unordered): one row per user
    joined strictly before each cutoff, the same values as `siyu.features.build_features`.

    `events`: the clean EventLog (user_id, ts naive local, event_type, role, channel, amount,
    category, session_id, ...); `users`: the clean users table or None (users are then
    those with an event before the last cutoff, joined at their first event); `history`: the
    clean history of the changing attributes (`user_id, attribute, value, valid_from`), for specs
    that read an attribute as of the cutoff."""
    spark = events.sparkSession
    _check_session(spark)
    program = compile_features(specs, cutoffs)
    names = _Names(program)
    last_us = int(cutoff_us(program.cutoffs)[-1])
    ev = _events(program, as_orders(events), last_us)
    dictionary = _users(program, ev, users)
    ev = ev.join(dictionary.select("user_id"), "user_id", "left_semi") if users is not None else ev
    # One shuffle of the narrow events by user: every later step (user-day tiles, the windows
    # of a user's cutoffs, purchase gaps, distinct values) groups by the user and a finer key,
    # so Spark plans them without another exchange, and partial aggregates reduce fully.
    ev = ev.repartition("user_id")
    first_t = ev.groupBy("user_id").agg(F.min("t").alias("first_t"))
    known = (dictionary.join(first_t, "user_id", "left")
             .withColumn("joined_us", F.coalesce(F.col("joined_us"), F.col("first_t"))).drop("first_t"))
    rows = known.crossJoin(F.broadcast(_cutoffs_frame(spark, program))).where(F.col("joined_us") < F.col("cut_us"))
    rows = rows.join(_windows(program, _tiles(program, ev, names), names), ["user_id", "cut_day"], "left")
    for column in program.distinct_columns:
        rows = rows.join(_distinct(program, ev, column), ["user_id", "cut_day"], "left")
    if any(isinstance(e, FirstAmount) for _, e in program.columns):
        rows = rows.join(_first_purchase(ev), "user_id", "left")
    if _needs_btyd(program):
        rows = rows.join(_btyd(program, ev), ["user_id", "cut_day"], "left")
    as_of = list(dict.fromkeys(e.column for _, e in program.columns if isinstance(e, UserAttrAsOf)))
    if as_of and history is None:
        raise SparkEngineError(f"features {as_of} read the attributes' history, and none was given: configure "
                               "users.history in the dataset and run `siyu validate`")
    for column in as_of:
        rows = rows.join(_as_of(history, column, _cutoffs_frame(spark, program)), ["user_id", "cut_day"], "left")
    # A user with no user-day before a cutoff has empty windows and no distinct values.
    fill = {names.window[w]: 0.0 for w in program.windows}
    fill |= {_distinct_name(e): 0.0 for _, e in program.columns if isinstance(e, DistinctIn)}
    rows = rows.withColumns({c: F.coalesce(F.col(c), F.lit(v)) for c, v in fill.items()})
    rfm = list(dict.fromkeys(e.spec for _, e in program.columns if isinstance(e, RfmScore)))
    rows = _with_rfm(rows, rfm, names)
    out = [F.col("user_id"), F.col("cutoff")]
    categorical = set(program.categorical)
    for name, e in program.columns:
        if isinstance(e, RfmScore):
            prefix = _rfm_prefix(e.spec, rfm)
            if e.which == "rfm_segment":
                col = _segment(*(F.col(f"{prefix}_{j}") for j in range(3)))
            else:
                col = F.col(f"{prefix}_{_SCORES.index(e.which)}")
        else:
            col = _value(e, names)
        out.append(col.cast("string" if name in categorical else "double").alias(name))
    return rows.select(*out)


def spark_features(specs: FeatureSet, events: DataFrame, users: DataFrame | None,
                   cutoffs: Sequence[date | datetime | str], *, history: DataFrame | None = None) -> pd.DataFrame:
    """`feature_frame` collected like `siyu.features.build_features`: sorted by cutoff then
    user, categoricals as pandas `category`, numbers as float64 (for data that fits in memory)."""
    table = feature_frame(specs, events, users, cutoffs, history=history).toArrow()
    df = table.to_pandas().sort_values(["cutoff", "user_id"], kind="stable").reset_index(drop=True)
    return to_feature_frame(df, specs)


__all__ = ["SparkEngineError", "feature_frame", "spark_features"]
