"""Champion scores on Spark: each champion's UDF applied to the features at as-of.

The features are the Spark engine's own output (`feature_frame` or its Parquet folder); every
non-text column goes in as a double, as `siyu.features.to_feature_frame` hands them to the
embedded scorer, so both engines feed a model the same values. Every user is scored by every
model: which of them a task keeps (its population) is decided on the driver, by the same rule
as the embedded run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from siyu.engines.spark.features import SparkEngineError


def _model_input(features: DataFrame, names: Sequence[str]) -> Any:
    types = dict(features.dtypes)
    missing = [n for n in names if n not in types]
    if missing:
        raise SparkEngineError(f"features: the model needs {len(missing)} column(s) they lack, e.g. {missing[:5]}")
    cols = [F.col(n) if isinstance(features.schema[n].dataType, T.StringType) else F.col(n).cast("double").alias(n)
            for n in names]
    return F.struct(*cols)


def score_frame(features: DataFrame, models: Mapping[str, tuple[Any, Sequence[str]]]) -> DataFrame:
    """`user_id` and one double column per task (its name) from `models`: task -> (the UDF of
    `siyu.tracking.version_spark_udf`, the model's feature names)."""
    return features.select(F.col("user_id").cast("string").alias("user_id"),
                           *[udf(_model_input(features, names)).alias(task) for task, (udf, names) in models.items()])


def spark_scores(features: DataFrame, models: Mapping[str, tuple[Any, Sequence[str]]],
                 user_ids: Sequence[str] | np.ndarray) -> dict[str, np.ndarray]:
    """`score_frame` collected to the driver in the order of `user_ids` (task -> float64 scores,
    one per user). Raises SparkEngineError when the two disagree on who the users are."""
    scored = score_frame(features, models).toArrow().to_pandas()
    if scored["user_id"].duplicated().any():
        raise SparkEngineError("features: user_id must be unique at one as-of")
    wanted = pd.Index(np.asarray(user_ids, dtype=object).astype(str))
    scored = scored.set_index(scored["user_id"].astype(str))
    if len(scored) != len(wanted) or not wanted.isin(scored.index).all():
        raise SparkEngineError(f"Spark scored {len(scored):,} users, the run has {len(wanted):,} "
                               "(the features at as-of changed between the two reads?)")
    aligned = scored.reindex(wanted)
    return {task: aligned[task].to_numpy(dtype="float64") for task in models}


__all__ = ["score_frame", "spark_scores"]
