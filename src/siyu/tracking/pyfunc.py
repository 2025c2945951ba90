"""The MLflow pyfunc wrapper: `mlflow.pyfunc.load_model(uri).predict(features_df)` -> scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from siyu.tracking.model_file import ARTIFACT_KEY, read_model_file


class SiyuPyfuncModel(PythonModel):
    """Wraps a fitted siyu estimator; `predict` returns `predict_score` on the feature columns.

    A registered model pickles this wrapper without its estimator (None): the estimator is the
    model's artifact `siyu_model` (`siyu.tracking.model_file`), read in `load_context`. A model
    logged before that carries its estimator here and has no such artifact.
    """

    def __init__(self, estimator: object | None, feature_names: list[str], categories: dict[str, list[str]]) -> None:
        self.estimator = estimator
        self.feature_names = list(feature_names)
        self.categories = {k: list(v) for k, v in categories.items()}

    def load_context(self, context: object) -> None:
        """Read the estimator from the model file, when the model has one."""
        path = (getattr(context, "artifacts", None) or {}).get(ARTIFACT_KEY)
        if path:
            model = read_model_file(Path(path))
            self.estimator, self.feature_names = model.estimator, list(model.feature_names)
            self.categories = {k: list(v) for k, v in model.categories.items()}

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in frame.columns]
        if missing:
            raise ValueError(f"siyu model: input lacks {len(missing)} feature column(s), e.g. {missing[:5]}")
        cols = {}
        for c in self.feature_names:
            if c in self.categories:  # the signature carries text; the estimator wants categories
                values = frame[c].astype(object)
                cols[c] = pd.Categorical(values.where(values.isin(self.categories[c])), categories=self.categories[c])
            else:
                cols[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        return pd.DataFrame(cols, index=frame.index)

    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
        """Scores (probability or expected net spend), one per input row."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return np.asarray(self.estimator.predict_score(self._features(frame)), dtype=float)
