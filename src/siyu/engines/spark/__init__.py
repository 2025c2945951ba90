"""The Spark engine: the same `FeatureProgram` and task definitions as the embedded engine,
as Spark DataFrame operations (install the `spark` extra; needs Java 17+).

Nothing here creates a session or reads a config: callers pass a `SparkSession`
(`siyu.io.spark.spark_session`) and DataFrames or paths."""

from siyu.engines.spark.features import feature_frame, spark_features
from siyu.engines.spark.labels import label_frame, spark_labels
from siyu.engines.spark.scoring import score_frame, spark_scores

__all__ = ["feature_frame", "label_frame", "score_frame", "spark_features", "spark_labels", "spark_scores"]
