"""The model registry: versions, aliases, the champion loader and promotion records."""

from __future__ import annotations

import importlib.metadata as md
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from siyu.config import TrackingConfig, mask_url
from siyu.features import FeatureSet, parse_feature_specs
from siyu.tracking.store import (
    CHALLENGER,
    CHAMPION,
    TEST_BY_CUTOFF_ARTIFACT,
    TEST_SCORES_ARTIFACT,
    connect,
    registered_name,
)


class NoModelError(LookupError):
    """The registry has no version under the requested alias."""


@dataclass(frozen=True)
class VersionInfo:
    """A registered version with its run's tags and metrics."""

    model_name: str
    version: str
    run_id: str
    model: str
    tags: dict[str, str]
    metrics: dict[str, float]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Champion:
    """The champion of a task, loaded for scoring."""

    estimator: object
    feature_names: list[str]
    model_name: str
    model_version: str
    run_id: str
    reference_profile: dict
    model: str
    # The resolved feature specs the model was trained on (from its run's trainset manifest):
    # scoring, reports and explain rebuild exactly these. None for a model logged before they travelled.
    feature_specs: FeatureSet | None = None

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        """Scores of the champion (probability or expected net spend), one per row."""
        return np.asarray(self.estimator.predict_score(X[self.feature_names]), dtype=float)


def _info(client, model_name: str, mv, aliases: dict[str, str] | None = None, run=None) -> VersionInfo:  # noqa: ANN001
    run = run if run is not None else client.get_run(mv.run_id)
    # search results do not carry aliases; the registered model's alias map does
    held = tuple(a for a, v in (aliases or {}).items() if str(v) == str(mv.version)) if aliases is not None \
        else tuple(getattr(mv, "aliases", ()) or ())
    return VersionInfo(model_name=model_name, version=str(mv.version), run_id=mv.run_id,
                       model=run.data.tags.get("model", ""), tags=dict(run.data.tags),
                       metrics=dict(run.data.metrics), aliases=held)


def version_by_alias(task: str, alias: str, cfg: TrackingConfig) -> VersionInfo | None:
    """The version holding `alias` for `task`, or None when no version holds it."""
    client, _ = connect(cfg)
    name = registered_name(task, cfg)
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return _info(client, name, mv)


def list_versions(task: str, cfg: TrackingConfig) -> list[VersionInfo]:
    """Every registered version of `task`, newest first."""
    client, _ = connect(cfg)
    name = registered_name(task, cfg)
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        return []
    aliases = dict(client.get_registered_model(name).aliases or {})
    runs = _runs_by_id(client, {mv.run_id for mv in versions})
    return sorted((_info(client, name, mv, aliases, runs.get(mv.run_id)) for mv in versions),
                  key=lambda v: -int(v.version))


def _runs_by_id(client, run_ids: set[str]) -> dict:  # noqa: ANN001 - an MlflowClient
    """{run id: Run} in one search per 100 ids instead of a `get_run` each (a leaderboard of four
    tasks listed 100 versions: 100 round trips to the store). A run the search misses is left
    out; `_info` then asks for it alone."""
    from mlflow.entities import ViewType

    ids = sorted(i for i in run_ids if i and all(c.isalnum() for c in i))
    if not ids:
        return {}
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    found = {}
    for start in range(0, len(ids), 100):
        chunk = ", ".join(f"'{i}'" for i in ids[start:start + 100])
        for run in client.search_runs(experiments, f"attributes.run_id IN ({chunk})", run_view_type=ViewType.ALL,
                                      max_results=1000):
            found[run.info.run_id] = run
    return found


def set_alias(task: str, alias: str, version: str, cfg: TrackingConfig) -> None:
    """Point `alias` of `<prefix>-<task>` at `version`."""
    client, _ = connect(cfg)
    client.set_registered_model_alias(registered_name(task, cfg), alias, version)


def tag_version(task: str, version: str, tags: dict[str, str], cfg: TrackingConfig) -> None:
    """Set tags on a registered model version (promotion decisions, reasons)."""
    client, _ = connect(cfg)
    for key, value in tags.items():
        client.set_model_version_tag(registered_name(task, cfg), version, key, str(value))


log = logging.getLogger(__name__)


def _load_pyfunc(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """`mlflow.pyfunc.load_model` without MLflow's environment scan, which reads every installed
    distribution's metadata (about 1 s per command that loads a model); the same warning comes
    from comparing the model's pinned requirements with what is installed, by name."""
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        model = mlflow.pyfunc.load_model(str(local), suppress_warnings=True)
    except (MlflowException, OSError) as exc:  # MLflow alone says "No such artifact: ''"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NoModelError(
            f"{uri}: the registry lists this version but its model files cannot be read ({detail}); "
            "restore the artifact folder (tracking.artifact_root), or train and promote a new version") from exc
    requirements = local / "requirements.txt"
    pinned = [line.strip().split("==", 1) for line in requirements.read_text(encoding="utf-8").splitlines()
              if "==" in line] if requirements.exists() else []
    differ = []
    for name, wanted in pinned:
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            installed = "not installed"
        if installed != wanted:
            differ.append(f"{name} {installed} (model: {wanted})")
    if differ:
        log.warning("%s was logged with other package versions than installed: %s", uri, "; ".join(differ))
    return model


def load_version_estimator(task: str, version: str, cfg: TrackingConfig) -> object:
    """The unwrapped siyu estimator of a registered version."""
    connect(cfg)
    return _load_pyfunc(f"models:/{registered_name(task, cfg)}/{version}").unwrap_python_model().estimator


def _run_artifact(run_id: str, path: str, cfg: TrackingConfig, artifact_uri: str | None) -> Path:
    """A local file holding a run's artifact `path`. A run whose artifacts live in a local folder
    (the default store) is read in place: MLflow's download asks the store for the run twice and
    copies the file to a temporary folder, 40 times in a leaderboard of four tasks. `artifact_uri`:
    the run's artifact root when the caller has it (a search result), else it is looked up."""
    client, _ = connect(cfg)
    root = artifact_uri if artifact_uri is not None else client.get_run(run_id).info.artifact_uri
    parsed = urlparse(root)
    if parsed.scheme in ("", "file"):
        local = Path(url2pathname(parsed.path) if parsed.scheme else root) / path
        if not local.is_file():
            raise FileNotFoundError(f"{local}: run {run_id} has no artifact {path}")
        return local
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path))


def load_test_scores(run_id: str, cfg: TrackingConfig, *, artifact_uri: str | None = None) -> pd.DataFrame | None:
    """The test rows' scores a training run logged (user_id, cutoff, label, score), or None
    for a run logged before held-out scores were kept. `artifact_uri`: the run's artifact root
    when the caller has it (`training_runs` gives it), saving a look-up."""
    try:
        return pd.read_parquet(_run_artifact(run_id, TEST_SCORES_ARTIFACT, cfg, artifact_uri))
    except (MlflowException, OSError):
        return None


def load_test_by_cutoff(run_id: str, cfg: TrackingConfig, *,
                        artifact_uri: str | None = None) -> dict[str, dict[str, float]]:
    """{cutoff: metrics} of a training run's test cutoffs ({} for a run logged before them)."""
    try:
        return dict(json.loads(_run_artifact(run_id, TEST_BY_CUTOFF_ARTIFACT, cfg, artifact_uri).read_text("utf-8")))
    except (MlflowException, OSError, ValueError):
        return {}


def load_champion(task: str, tracking_cfg: TrackingConfig, *, version: str | None = None) -> Champion:
    """Load `models:/<prefix>-<task>@champion` with its reference profile, for scoring; `version`:
    that registered version instead (a report shows the model that published the tags)."""
    client, _ = connect(tracking_cfg)
    name = registered_name(task, tracking_cfg)
    try:
        mv = client.get_model_version(name, version) if version else client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        wanted = f"version {version}" if version else f"version has the alias '{CHAMPION}'"
        raise NoModelError(
            f"{name}: no {wanted} in {mask_url(str(tracking_cfg.uri))}; "
            f"run `siyu train --task {task}` then `siyu promote --task {task}`"
        ) from exc
    wrapper = _load_pyfunc(f"models:/{name}/{mv.version}").unwrap_python_model()
    profile = mlflow.artifacts.load_dict(f"runs:/{mv.run_id}/reference_profile.json")
    run = client.get_run(mv.run_id)
    return Champion(estimator=wrapper.estimator, feature_names=list(wrapper.feature_names), model_name=name,
                    model_version=str(mv.version), run_id=mv.run_id, reference_profile=profile,
                    model=run.data.tags.get("model", ""), feature_specs=_trained_specs(mv.run_id))


def load_run_manifest(run_id: str, cfg: TrackingConfig) -> dict | None:
    """The trainset manifest a training run logged (`trainset/manifest.json`), or None."""
    connect(cfg)
    try:
        return dict(mlflow.artifacts.load_dict(f"runs:/{run_id}/trainset/manifest.json"))
    except (MlflowException, OSError):
        return None


def _trained_specs(run_id: str) -> FeatureSet | None:
    """The feature specs in a run's trainset manifest, or None when the run predates them."""
    try:
        manifest = mlflow.artifacts.load_dict(f"runs:/{run_id}/trainset/manifest.json")
    except (MlflowException, OSError):
        return None
    data = manifest.get("feature_specs")
    return parse_feature_specs(data) if data else None


__all__ = ["CHALLENGER", "CHAMPION", "Champion", "NoModelError", "VersionInfo", "list_versions",
           "load_champion", "load_run_manifest", "load_test_by_cutoff", "load_test_scores", "load_version_estimator", "set_alias", "tag_version", "version_by_alias"]
