"""Log one training run: config, manifest, dataset, params, metrics, plots, reference profile,
and the model as a pyfunc registered under `<prefix>-<task>` with the alias `challenger`."""

from __future__ import annotations

import atexit
import functools
import importlib.metadata as md
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import Model, ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import AnyType, ColSpec, Schema

import siyu
from siyu.config import TrackingConfig
from siyu.tracking.model_code import copy_modules, modules_named, modules_needed
from siyu.tracking.model_file import ARTIFACT_KEY, FILE_NAME, ModelFile, write_model_file
from siyu.tracking.pyfunc import SiyuPyfuncModel
from siyu.tracking.store import (
    CHALLENGER,
    TEST_BY_CUTOFF_ARTIFACT,
    TEST_SCORES_ARTIFACT,
    connect,
    registered_name,
)
from siyu.trainsets.store import frame_digest

# What a registered model needs to load and predict without siyu installed: siyu's own code
# travels inside the model (`code_paths`), these are what that code imports.
_REQUIREMENTS = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "xgboost-cpu", "mlflow", "pyarrow",
                 "pydantic", "scikit-uplift")  # the last only where installed (the `uplift` extra's model)
_SIYU_CODE = str(Path(siyu.__file__).resolve().parent)
# Two MLflow hints that do not apply to siyu, silenced by their text: a local path matches two
# equivalent local source kinds, and siyu's features are float64 already. Filters set once, not
# `catch_warnings` blocks: those swap the process-wide filters, and models are logged from a thread.
warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways",
                        category=UserWarning)
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)


@dataclass(frozen=True)
class RunRecord:
    """What a training run needs logged (everything already computed by the caller)."""

    task: str
    model: str
    estimator: object
    X_example: pd.DataFrame
    metrics: Mapping[str, float]
    params: Mapping[str, object]
    tags: Mapping[str, str]
    resolved_config: Mapping[str, object]
    manifest: Mapping[str, object]
    reference_profile: Mapping[str, object]
    train_frame: pd.DataFrame | None = None
    figures: Mapping[str, str] = field(default_factory=dict)  # name -> SVG text (`siyu.evaluation.plots`)
    run_name: str | None = None
    dataset_source: str = "trainset.parquet"  # where the training frame was read from
    dataset_digest: str = ""  # `frame_digest(train_frame)` when the caller has it (once per task, not per model)
    # Held-out evaluation: the test rows' scores (user_id, cutoff, label, score), read back by
    # the paired gate and the leak alarm, and the metrics of each test cutoff.
    test_scores: pd.DataFrame | None = None
    test_by_cutoff: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedVersion:
    """A logged run and the registered model version it produced."""

    run_id: str
    model_name: str
    version: str
    dataset_digest: str


def _log_frame(frame: pd.DataFrame, artifact_path: str) -> None:
    """Log a frame as a Parquet artifact at `artifact_path` (folder/name.parquet)."""
    folder, name = artifact_path.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=folder)


def _log_svgs(svgs: Mapping[str, str], folder: str) -> None:
    """Log SVG documents as `<folder>/<name>.svg`, all in one artifact call."""
    if not svgs:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in svgs.items():
            (Path(tmp) / f"{name}.svg").write_text(text, encoding="utf-8")
        mlflow.log_artifacts(tmp, artifact_path=folder)


@functools.cache
def _code_folder(modules: frozenset[str]) -> Path:
    """A copy of the siyu modules `modules` (without bytecode or compiled-kernel caches) to ship with
    a model; made once per process for each set (MLflow copies it into each model), removed when the
    process ends."""
    folder = Path(tempfile.mkdtemp(prefix="siyu-code-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return copy_modules(Path(_SIYU_CODE), set(modules), folder)


def _siyu_code(*pickles: bytes) -> Path:
    """The part of siyu the pickled objects need to load: the modules they name and what those import."""
    roots = set().union(*(modules_named(data) for data in pickles))
    return _code_folder(frozenset(modules_needed(roots, Path(_SIYU_CODE))))


@functools.cache
def _requirements() -> tuple[str, ...]:
    reqs = []
    for dist in _REQUIREMENTS:
        try:
            reqs.append(f"{dist}=={md.version(dist)}")
        except md.PackageNotFoundError:
            continue
    return tuple(reqs)


def _signature_example(X: pd.DataFrame) -> pd.DataFrame:
    """Input example with categories as text (MLflow schemas have no category type)."""
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return X.assign(**{c: X[c].astype(object).where(X[c].notna(), None).astype("string") for c in cats})


def _signature(example: pd.DataFrame, categorical: list[str], scores: np.ndarray) -> ModelSignature:
    """Inferred signature, with categorical columns typed Any: MLflow has no category type and
    would refuse a pandas 'category' column declared as string; the wrapper recodes them."""
    inferred = infer_signature(example, scores)
    cols = [ColSpec(AnyType(), c.name, required=False) if c.name in categorical else c
            for c in inferred.inputs.inputs]
    return ModelSignature(inputs=Schema(cols), outputs=inferred.outputs)


def log_siyu_model(model: ModelFile, *, signature: ModelSignature, input_example: pd.DataFrame,
                   registered_name: str, tags: Mapping[str, str]) -> ModelInfo:
    """Log `model` in the active run as a pyfunc registered under `registered_name`. The pickled
    wrapper is thin: the estimator is the model file beside it, which siyu's readers load
    without MLflow."""
    with tempfile.TemporaryDirectory() as tmp:
        import cloudpickle

        path = write_model_file(model, Path(tmp) / FILE_NAME)
        wrapper = SiyuPyfuncModel(None, model.feature_names, model.categories)
        # `mlflow.pyfunc.log_model` is `Model.log` with the pyfunc flavor; called here directly, so
        # MLflow's serving check of the input example can be left out (below).
        info = Model.log(
            artifact_path=None, name="model", flavor=_PyfuncFlavor, flavor_name="pyfunc.CustomPythonModel",
            python_model=wrapper, validate_serving_input=False,
            artifacts={ARTIFACT_KEY: str(path)}, signature=signature, input_example=input_example,
            registered_model_name=registered_name, pip_requirements=list(_requirements()),
            code_paths=[str(_siyu_code(path.read_bytes(), cloudpickle.dumps(wrapper)))], tags=dict(tags))
    return info


class _PyfuncFlavor:
    """`mlflow.pyfunc` as the flavor `Model.log` saves with, taking the `validate_serving_input`
    switch `Model.log` reads (pyfunc's own `save_model` refuses it; the flavor name the logged
    model records is the one `mlflow.pyfunc.log_model` gives it).

    MLflow's check loads every logged model back and predicts on its example (with the import
    scan cached too, logging a LightGBM model went from 1.0 to 0.3 CPU s), and each load put the
    model's code folder in front of `sys.path` for the rest of the process. Its failure is only a
    warning anyway. The caller has predicted on the same example before logging, and
    tests/tracking/test_model_code.py loads every kind of model where siyu is not installed."""

    @staticmethod
    def save_model(*, validate_serving_input: bool = True, **kwargs: object) -> None:  # noqa: ARG004 - read by Model.log
        mlflow.pyfunc.save_model(**kwargs)


def _log_dataset(frame: pd.DataFrame | None, name: str, source: str, digest: str = "") -> str:
    """Log the training frame as an MLflow dataset (metadata only) and return its digest
    (`digest`, when given, is the frame's: hashing every row again is skipped).

    `mlflow.data.from_pandas` infers the schema value by value (over a minute for 200k rows x
    160 columns), so the schema comes from a sample and the digest from every row.
    """
    if frame is None:
        return ""
    digest = digest or frame_digest(frame)
    schema = infer_signature(_signature_example(frame.head(200))).inputs
    resolved = resolve_dataset_source(source)
    dataset = MetaDataset(resolved, name=name, digest=digest, schema=schema)
    mlflow.log_input(dataset, context="training", tags={"rows": str(len(frame))})
    return digest


def log_training_run(record: RunRecord, cfg: TrackingConfig, *, nested: bool = False) -> LoggedVersion:
    """Log `record` as one MLflow run and register the model; the new version becomes challenger."""
    client, experiment_id = connect(cfg)
    name = registered_name(record.task, cfg)
    with mlflow.start_run(experiment_id=experiment_id, run_name=record.run_name or f"{record.task}-{record.model}",
                          nested=nested) as run:
        digest = _log_dataset(record.train_frame, f"{record.task}-trainset", record.dataset_source,
                              record.dataset_digest)
        mlflow.set_tags({"task": record.task, "model": record.model, "dataset_digest": digest, **record.tags})
        mlflow.log_params({k: str(v)[:500] for k, v in record.params.items()})
        mlflow.log_dict(dict(record.resolved_config), "config/resolved_config.json")
        mlflow.log_dict(dict(record.manifest), "trainset/manifest.json")
        mlflow.log_dict(dict(record.reference_profile), "reference_profile.json")
        if record.test_scores is not None:
            _log_frame(record.test_scores, TEST_SCORES_ARTIFACT)
        mlflow.log_dict({k: dict(v) for k, v in record.test_by_cutoff.items()}, TEST_BY_CUTOFF_ARTIFACT)
        _log_svgs(record.figures, "plots")
        example = _signature_example(record.X_example)
        categories = getattr(record.estimator, "categories_", None) or {
            c: list(record.X_example[c].cat.categories) for c in record.X_example.columns
            if isinstance(record.X_example[c].dtype, pd.CategoricalDtype)}
        model = ModelFile(record.estimator, list(record.X_example.columns), categories)
        scores = SiyuPyfuncModel(model.estimator, model.feature_names, model.categories).predict(None, example)
        info = log_siyu_model(model, signature=_signature(example, list(categories), scores), input_example=example,
                              registered_name=name, tags={"task": record.task, "model": record.model})
        version = str(info.registered_model_version)
        # After the model, linked to it in the same write: logged before it, MLflow 3 reads every
        # metric's history back to link it (0.7 s of a 2 s log, 20 times in `make demo`'s train).
        mlflow.log_metrics({k: float(v) for k, v in record.metrics.items() if np.isfinite(v)},
                           model_id=info.model_id)
    client.set_model_version_tag(name, version, "model", record.model)
    client.set_model_version_tag(name, version, "task", record.task)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return LoggedVersion(run_id=run.info.run_id, model_name=name, version=version, dataset_digest=digest)
