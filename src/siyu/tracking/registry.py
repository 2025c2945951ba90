"""The model registry: versions, aliases, the champion loader and promotion records.

Reads go to `siyu.tracking.local_store` when the store is a local SQLite file with local
artifacts (no MLflow import), else through MLflow; writes always go through MLflow.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siyu.config import TrackingConfig, mask_url
from siyu.features import FeatureSet, parse_feature_specs
from siyu.tracking.local_store import LocalStore, StoredRun, StoredVersion, local_path, open_local
from siyu.tracking.model_file import ModelFile, model_file_in, read_model_file
from siyu.tracking.store import (
    CHALLENGER,
    CHAMPION,
    TEST_BY_CUTOFF_ARTIFACT,
    TEST_SCORES_ARTIFACT,
    connect,
    registered_name,
)

if TYPE_CHECKING:
    import mlflow


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


def _local(cfg: TrackingConfig) -> LocalStore | None:
    return open_local(str(cfg.uri))


def _stored_info(version: StoredVersion, run: StoredRun | None, aliases: dict[str, str]) -> VersionInfo:
    tags = dict(run.tags) if run is not None else {}
    return VersionInfo(model_name=version.name, version=version.version, run_id=version.run_id,
                       model=tags.get("model", ""), tags=tags, metrics=dict(run.metrics) if run is not None else {},
                       aliases=tuple(a for a, v in aliases.items() if v == version.version))


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
    name = registered_name(task, cfg)
    if (store := _local(cfg)) is not None:
        found = store.version(name, alias=alias)
        return None if found is None else _stored_info(found, store.runs([found.run_id]).get(found.run_id),
                                                       store.aliases(name))
    from mlflow.exceptions import MlflowException

    client, _ = connect(cfg)
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return _info(client, name, mv)


def list_versions(task: str, cfg: TrackingConfig) -> list[VersionInfo]:
    """Every registered version of `task`, newest first."""
    name = registered_name(task, cfg)
    if (store := _local(cfg)) is not None:
        stored = store.versions(name)
        runs, aliases = store.runs([v.run_id for v in stored]), store.aliases(name)
        return [_stored_info(v, runs.get(v.run_id), aliases) for v in stored]
    client, _ = connect(cfg)
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


def _unreadable(uri: str, detail: str) -> NoModelError:
    return NoModelError(
        f"{uri}: the registry lists this version but its model files cannot be read ({detail}); "
        "restore the artifact folder (tracking.artifact_root), or train and promote a new version")


def _warn_on_other_versions(uri: str, model_folder: Path) -> None:
    """One warning naming each package the model pinned at another version than installed
    (what MLflow's environment scan says, without reading every installed distribution)."""
    requirements = model_folder / "requirements.txt"
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


def _load_pyfunc(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """`mlflow.pyfunc.load_model` without MLflow's environment scan, which reads every installed
    distribution's metadata (about 1 s per command that loads a model)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        model = mlflow.pyfunc.load_model(str(local), suppress_warnings=True)
    except (MlflowException, OSError) as exc:  # MLflow alone says "No such artifact: ''"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _unreadable(uri, detail) from exc
    _warn_on_other_versions(uri, local)
    return model


def _model(version: StoredVersion, cfg: TrackingConfig) -> ModelFile:
    """The estimator of a registered version with its columns: read from the model file in place
    when the store and the model's folder are local and the version has one (every version logged
    since the file existed), else through MLflow's pyfunc loader."""
    uri = f"models:/{version.name}/{version.version}"
    # Only the local store fills `storage_location` (a version read through MLflow has it empty).
    folder = local_path(version.storage_location) if version.storage_location else None
    if folder is not None:
        if not folder.is_dir():
            raise _unreadable(uri, f"{folder} does not exist")
        if model_file_in(folder).is_file():
            _warn_on_other_versions(uri, folder)
            return read_model_file(model_file_in(folder))
    connect(cfg)  # `models:/` resolves in the registry MLflow is pointed at
    wrapper = _load_pyfunc(uri).unwrap_python_model()
    return ModelFile(wrapper.estimator, list(wrapper.feature_names), dict(wrapper.categories))


def _find_version(name: str, cfg: TrackingConfig, *, version: str | None = None,
                  alias: str | None = None) -> tuple[StoredVersion, StoredRun | None] | None:
    """A version by number or alias and its run (None if the run is gone), from the local store
    or through MLflow; None when the registry has no such version."""
    if (store := _local(cfg)) is not None:
        found = store.version(name, version=version, alias=alias)
        return None if found is None else (found, store.runs([found.run_id]).get(found.run_id))
    from mlflow.exceptions import MlflowException

    client, _ = connect(cfg)
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except MlflowException:
        return None
    run = client.get_run(mv.run_id)
    return (StoredVersion(name=name, version=str(mv.version), run_id=mv.run_id, storage_location=""),
            StoredRun(run_id=mv.run_id, start_time=int(run.info.start_time or 0), status=run.info.status,
                      artifact_uri=run.info.artifact_uri, tags=dict(run.data.tags), metrics=dict(run.data.metrics)))


def load_version_estimator(task: str, version: str, cfg: TrackingConfig) -> object:
    """The unwrapped siyu estimator of a registered version."""
    name = registered_name(task, cfg)
    found = _find_version(name, cfg, version=version)
    stored = found[0] if found is not None else StoredVersion(name=name, version=str(version), run_id="",
                                                              storage_location="")
    return _model(stored, cfg).estimator


def _run_artifact(run_id: str, path: str, cfg: TrackingConfig, artifact_uri: str | None) -> Path:
    """A local file holding a run's artifact `path`. A run whose artifacts live in a local folder
    (the default store) is read in place: MLflow's download asks the store for the run twice and
    copies the file to a temporary folder, 40 times in a leaderboard of four tasks. `artifact_uri`:
    the run's artifact root when the caller has it (a search result), else it is looked up."""
    root = artifact_uri
    if root is None and (store := _local(cfg)) is not None:
        run = store.runs([run_id]).get(run_id)
        if run is None:
            raise FileNotFoundError(f"run {run_id} is not in {mask_url(str(cfg.uri))}")
        root = run.artifact_uri
    if root is None:
        client, _ = connect(cfg)
        root = client.get_run(run_id).info.artifact_uri
    folder = local_path(root)
    if folder is not None:
        local = folder / path
        if not local.is_file():
            raise FileNotFoundError(f"{local}: run {run_id} has no artifact {path}")
        return local
    import mlflow

    connect(cfg)
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path))


def _read_errors() -> tuple[type[Exception], ...]:
    """What reading an artifact may raise: OSError, and MLflow's error if MLflow is loaded (an
    artifact read through MLflow); a local read never imports it."""
    import sys

    errors: tuple[type[Exception], ...] = (OSError, ValueError)
    if "mlflow.exceptions" in sys.modules:
        errors += (sys.modules["mlflow.exceptions"].MlflowException,)
    return errors


def load_test_scores(run_id: str, cfg: TrackingConfig, *, artifact_uri: str | None = None) -> pd.DataFrame | None:
    """The test rows' scores a training run logged (user_id, cutoff, label, score), or None
    for a run logged before held-out scores were kept. `artifact_uri`: the run's artifact root
    when the caller has it (`training_runs` gives it), saving a look-up."""
    try:
        return pd.read_parquet(_run_artifact(run_id, TEST_SCORES_ARTIFACT, cfg, artifact_uri))
    except _read_errors():
        return None


def load_test_by_cutoff(run_id: str, cfg: TrackingConfig, *,
                        artifact_uri: str | None = None) -> dict[str, dict[str, float]]:
    """{cutoff: metrics} of a training run's test cutoffs ({} for a run logged before them)."""
    try:
        return dict(json.loads(_run_artifact(run_id, TEST_BY_CUTOFF_ARTIFACT, cfg, artifact_uri).read_text("utf-8")))
    except _read_errors():
        return {}


def _run_json(run_id: str, path: str, cfg: TrackingConfig, artifact_uri: str | None = None) -> dict | None:
    """A JSON artifact of a run, or None when the run has none."""
    try:
        return dict(json.loads(_run_artifact(run_id, path, cfg, artifact_uri).read_text("utf-8")))
    except _read_errors():
        return None


def load_champion(task: str, tracking_cfg: TrackingConfig, *, version: str | None = None) -> Champion:
    """Load `models:/<prefix>-<task>@champion` with its reference profile, for scoring; `version`:
    that registered version instead (a report shows the model that published the tags)."""
    name = registered_name(task, tracking_cfg)
    found = _find_version(name, tracking_cfg, version=version, alias=None if version else CHAMPION)
    if found is None:
        wanted = f"version {version}" if version else f"version has the alias '{CHAMPION}'"
        raise NoModelError(
            f"{name}: no {wanted} in {mask_url(str(tracking_cfg.uri))}; "
            f"run `siyu train --task {task}` then `siyu promote --task {task}`")
    stored, run = found
    model = _model(stored, tracking_cfg)
    artifact_uri = run.artifact_uri if run is not None else None
    profile = _run_json(stored.run_id, "reference_profile.json", tracking_cfg, artifact_uri)
    if profile is None:
        raise _unreadable(f"models:/{name}/{stored.version}", f"run {stored.run_id} has no reference_profile.json")
    manifest = _run_json(stored.run_id, "trainset/manifest.json", tracking_cfg, artifact_uri) or {}
    specs = manifest.get("feature_specs")
    return Champion(estimator=model.estimator, feature_names=list(model.feature_names), model_name=name,
                    model_version=stored.version, run_id=stored.run_id, reference_profile=profile,
                    model=run.tags.get("model", "") if run is not None else "",
                    feature_specs=parse_feature_specs(specs) if specs else None)


def load_run_manifest(run_id: str, cfg: TrackingConfig) -> dict | None:
    """The trainset manifest a training run logged (`trainset/manifest.json`), or None."""
    return _run_json(run_id, "trainset/manifest.json", cfg)


__all__ = ["CHALLENGER", "CHAMPION", "Champion", "NoModelError", "VersionInfo", "list_versions",
           "load_champion", "load_run_manifest", "load_test_by_cutoff", "load_test_scores", "load_version_estimator",
           "set_alias", "tag_version", "version_by_alias"]
