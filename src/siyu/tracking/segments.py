"""Log a segmentation as one MLflow run and register it like the task models.

The model is a pyfunc (`predict` gives the cluster index; the estimator inside maps it to the
segment key) under `<prefix>-<registry_name>`, with the artifacts `load_champion` reads: the
feature specs it clusters on (`trainset/manifest.json`) and a reference profile. A segmentation
has no held-out metric for a gate to judge, so the new version takes both `challenger` and
`champion`: its names are carried over from the champion it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from siyu.config import TrackingConfig
from siyu.tracking.model_file import ModelFile
from siyu.tracking.pyfunc import SiyuPyfuncModel
from siyu.tracking.runs import LoggedVersion, _log_frame, log_siyu_model
from siyu.tracking.store import CHALLENGER, CHAMPION, connect, registered_name


@dataclass(frozen=True)
class SegmentRunRecord:
    """What a segmentation run logs (all computed by the caller)."""

    name: str  # registry name suffix: `<prefix>-<name>`
    estimator: object
    X_example: pd.DataFrame
    params: Mapping[str, object]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    manifest: Mapping[str, object]  # carries `feature_specs`, as a training set manifest does
    profile: pd.DataFrame  # one row per segment: key, names, size, centroid
    silhouettes: pd.DataFrame


def log_segment_run(record: SegmentRunRecord, cfg: TrackingConfig) -> LoggedVersion:
    """Log `record` as one run, register the model, point `challenger` and `champion` at it."""
    client, experiment_id = connect(cfg)
    name = registered_name(record.name, cfg)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{record.name}-kmeans") as run:
        mlflow.set_tags({"task": record.name, "model": "kmeans", **record.tags})
        mlflow.log_params({k: str(v)[:500] for k, v in record.params.items()})
        mlflow.log_metrics({k: float(v) for k, v in record.metrics.items()})
        mlflow.log_dict(dict(record.manifest), "trainset/manifest.json")
        mlflow.log_dict({}, "reference_profile.json")
        _log_frame(record.profile, "segments/profile.parquet")
        _log_frame(record.silhouettes, "segments/silhouettes.parquet")
        mlflow.log_text(record.profile.to_csv(index=False), "segments/profile.csv")
        model = ModelFile(record.estimator, list(record.X_example.columns), {})
        example = record.X_example.astype("float64")
        scores = SiyuPyfuncModel(model.estimator, model.feature_names, {}).predict(None, example)
        version = str(log_siyu_model(model, signature=infer_signature(example, scores), input_example=example,
                                     registered_name=name, tags={"task": record.name, "model": "kmeans"})
                      .registered_model_version)
    for key, value in (("model", "kmeans"), ("task", record.name)):
        client.set_model_version_tag(name, version, key, value)
    for alias in (CHALLENGER, CHAMPION):
        client.set_registered_model_alias(name, alias, version)
    return LoggedVersion(run_id=run.info.run_id, model_name=name, version=version, dataset_digest="")
