"""The model file inside every registered siyu model: the fitted estimator with the feature
columns and categories it expects, in one pickle that loads without MLflow.

MLflow's pyfunc keeps a thin wrapper (`siyu.tracking.pyfunc`) that reads this file when MLflow
loads the model; siyu's own readers (score, explain, reports) read it directly, which spares
them MLflow's import (`siyu.tracking.local_store`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

ARTIFACT_KEY = "siyu_model"  # the pyfunc artifact's name: MLflow copies it to artifacts/<file name>
FILE_NAME = "siyu_model.pkl"
FOLDER = "artifacts"  # where MLflow puts a pyfunc's artifacts inside the model's folder


@dataclass(frozen=True)
class ModelFile:
    """A fitted estimator and the columns it was fitted on."""

    estimator: object
    feature_names: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)


def write_model_file(model: ModelFile, path: Path) -> Path:
    """Pickle `model` to `path` with cloudpickle (as MLflow pickles a pyfunc: estimators holding
    a function defined in a notebook still save); plain `pickle` reads it back."""
    import cloudpickle

    path.write_bytes(cloudpickle.dumps(model))
    return path


def read_model_file(path: Path) -> ModelFile:
    """The ModelFile at `path`."""
    model = pickle.loads(path.read_bytes())  # noqa: S301 - our own model file, from the registry we write
    if not isinstance(model, ModelFile):
        raise TypeError(f"{path}: expected a siyu model file, found {type(model).__name__}")
    return model


def model_file_in(model_folder: Path) -> Path:
    """Where a registered model's folder keeps its model file."""
    return model_folder / FOLDER / FILE_NAME


__all__ = ["ARTIFACT_KEY", "ModelFile", "model_file_in", "read_model_file", "write_model_file"]
