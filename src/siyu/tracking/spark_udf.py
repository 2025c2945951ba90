"""A registered model as a Spark column function (`mlflow.pyfunc.spark_udf`), for batch scoring
on the Spark engine. The model is the one in the registry, so Spark scores exactly the version
the embedded engine would load."""

from __future__ import annotations

from typing import Any

import mlflow

from siyu.config import TrackingConfig
from siyu.tracking.store import connect


def version_spark_udf(spark: Any, model_name: str, version: str, cfg: TrackingConfig) -> Any:
    """`models:/<model_name>/<version>` as a Spark UDF returning its score (double): call it on
    `struct(<feature columns>)` (the model picks its columns by name). The driver downloads the
    model once and Spark ships it to the executors; they run it in their own Python
    (`env_manager="local"`), which needs the model's requirements (siyu's code travels in it)."""
    connect(cfg)
    return mlflow.pyfunc.spark_udf(spark, f"models:/{model_name}/{version}", result_type="double",
                                   env_manager="local")


__all__ = ["version_spark_udf"]
