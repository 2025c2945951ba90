"""Task populations and labels on Spark, from the same `TaskConfig` as `siyu.labels.tasks`.

The same steps as the embedded `label_sql`: events of [first cutoff - look-back, last cutoff
+ horizon) become user-day sums (activity, purchases, net spend); each cutoff sums the days
of [C, C + horizon) (each day paired with the few cutoffs whose horizon covers it); the
population is every user known before C (joined_at, else the first event) or, for tasks
with `active_within_days`, those with activity on a day in [C - N, C).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from siyu.config import TaskConfig
from siyu.contract.schema import ACTIVITY_ROLES
from siyu.engines.spark.features import _check_session
from siyu.features.compiler import normalize_cutoffs
from siyu.labels.tasks import HorizonError, check_horizon


def _day(ts: Column) -> Column:
    return F.to_date(ts)


def _cuts(spark, cuts: tuple[date, ...]) -> DataFrame:
    schema = T.StructType([T.StructField("cut_date", T.DateType()), T.StructField("cutoff", T.TimestampNTZType())])
    return spark.createDataFrame([(c, datetime.combine(c, datetime.min.time())) for c in cuts], schema)


def _pair(day: Column, cuts: tuple[date, ...], lo: int, hi: int) -> Column:
    """One row per cutoff C with C + lo <= day < C + hi (days as dates)."""
    arr = F.array(*[F.lit(c) for c in cuts])
    return F.explode(F.filter(arr, lambda c: (day >= F.date_add(c, lo)) & (day < F.date_add(c, hi))))


def _label(task: TaskConfig) -> Column:
    n_act, n_purchase = F.coalesce(F.col("n_act"), F.lit(0)), F.coalesce(F.col("n_purchase"), F.lit(0))
    rules = {
        "no_activity": (n_act == 0).cast("double"),
        "any_activity": (n_act > 0).cast("double"),
        "any_purchase": (n_purchase > 0).cast("double"),
        "net_spend": F.coalesce(F.col("spend"), F.lit(0.0)).cast("double"),
    }
    return rules[task.label]


def label_frame(task: TaskConfig, events: DataFrame, users: DataFrame | None,
                cutoffs: Sequence[date | datetime | str]) -> DataFrame:
    """`user_id, cutoff, label` of one task as a Spark DataFrame (unordered), the rows and
    values of `siyu.labels.tasks.label_sql` (no horizon check: see `spark_labels`)."""
    spark = events.sparkSession
    _check_session(spark)
    cuts = normalize_cutoffs(cutoffs)
    h, look = task.horizon_days, task.population.active_within_days
    lo = cuts[0] - timedelta(days=look or 0)
    hi = cuts[-1] + timedelta(days=h)
    ts = F.col("ts").cast("timestamp_ntz")
    window = events.where((ts >= F.lit(datetime.combine(lo, datetime.min.time())))
                          & (ts < F.lit(datetime.combine(hi, datetime.min.time()))))
    role = F.col("role")
    ud = window.groupBy(F.col("user_id").cast("string").alias("user_id"), _day(ts).alias("day")).agg(
        F.count(F.when(role.isin(list(ACTIVITY_ROLES)), 1)).alias("n_act"),
        F.count(F.when(role == "purchase", 1)).alias("n_purchase"),
        F.sum(F.when(role.isin("purchase", "refund"), F.col("amount").cast("double"))).alias("spend"),
    )
    fut = (ud.withColumn("cut_date", _pair(F.col("day"), cuts, 0, h)).groupBy("user_id", "cut_date")
           .agg(F.sum("n_act").alias("n_act"), F.sum("n_purchase").alias("n_purchase"),
                F.sum("spend").alias("spend")))
    if look is not None:
        pop = (ud.where(F.col("n_act") > 0).withColumn("cut_date", _pair(F.col("day"), cuts, -look, 0))
               .select("user_id", "cut_date").distinct())
    else:
        first = events.groupBy(F.col("user_id").cast("string").alias("user_id")).agg(F.min(ts).alias("first_ts"))
        if users is None:
            known = first.withColumnRenamed("first_ts", "joined_at")
        else:
            known = (users.select(F.col("user_id").cast("string").alias("user_id"),
                                  F.col("joined_at").cast("timestamp_ntz").alias("joined_at"))
                     .join(first, "user_id", "left")
                     .select("user_id", F.coalesce(F.col("joined_at"), F.col("first_ts")).alias("joined_at")))
        pop = (known.crossJoin(F.broadcast(_cuts(spark, cuts)))
               .where(F.col("joined_at") < F.col("cutoff")).select("user_id", "cut_date"))
    out = pop.join(fut, ["user_id", "cut_date"], "left").join(F.broadcast(_cuts(spark, cuts)), "cut_date")
    return out.select("user_id", "cutoff", _label(task).alias("label"))


def spark_labels(task: TaskConfig, events: DataFrame, users: DataFrame | None,
                 cutoffs: Sequence[date | datetime | str], *, data_end: date | None = None) -> pd.DataFrame:
    """`user_id, cutoff, label` like `siyu.labels.build_labels` (sorted; int 0/1 for binary
    tasks). Raises HorizonError when a cutoff's horizon ends after `data_end` (default: the
    day after the last event)."""
    last = None
    if data_end is None:
        latest = events.select(F.max(F.col("ts").cast("timestamp_ntz"))).first()[0]
        if latest is None:
            raise HorizonError("events: no events, so no cutoff has a label window; load data first")
        data_end = latest.date() + timedelta(days=1)
        last = latest.date()
    cuts = check_horizon(cutoffs, task.horizon_days, data_end, last_event=last)
    df = label_frame(task, events, users, cuts).toArrow().to_pandas()
    df = df.sort_values(["cutoff", "user_id"], kind="stable").reset_index(drop=True)
    df = df.assign(user_id=df["user_id"].astype("string"), cutoff=pd.to_datetime(df["cutoff"]))
    if task.binary:
        df = df.assign(label=df["label"].astype("int64"))
    return df


__all__ = ["label_frame", "spark_labels"]
