"""Load YAML configuration once, at the CLI, into frozen `SiyuConfig` objects."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError

from siyu.config import DatasetConfig, SiyuConfig
from siyu.features.parse import parse_feature_specs
from siyu.features.specs import FeatureSet, SpecError
from siyu.features.vocabulary import resolve_feature_specs


class ConfigError(Exception):
    """A configuration file that cannot be used, with a message a person can act on."""


def _read_yaml(path: Path, *, what: str = "file", hint: str = "pass --config PATH; defaults live in configs/",
               error: type[Exception] = ConfigError) -> dict[str, Any]:
    if not path.exists():
        raise error(f"{path}: {what} not found ({hint})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _explain(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the configuration:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  - {where}: {err['msg']}{got_text}")
    return "\n".join(lines)


def load_dataset_config(path: str | Path) -> DatasetConfig:
    """Parse a dataset YAML (column mapping, roles, time zone, PII) into a DatasetConfig."""
    path = Path(path)
    try:
        return DatasetConfig.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from exc


def load_feature_specs(path: str | Path) -> FeatureSet:
    """Parse configs/features.yaml (or another specs file, naming every value: no selectors) into a FeatureSet."""
    return parse_feature_specs(_feature_specs_data(Path(path)))


def _feature_specs_data(path: Path) -> dict[str, Any]:
    data = _read_yaml(path, what="feature specs file", hint="feature_specs_path in configs/siyu.yaml", error=SpecError)
    try:
        resolve_feature_specs(data, None)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc
    return data


def load_config(path: str | Path) -> SiyuConfig:
    """Parse the project YAML; `dataset:` may be inline or a path to a dataset YAML; the feature
    specs are read from `feature_specs_path` (when that file exists) unless given inline."""
    path = Path(path)
    data = _read_yaml(path)
    dataset = data.get("dataset")
    if isinstance(dataset, str):
        data = {**data, "dataset": load_dataset_config(dataset).model_dump()}
    specs_path = Path(data.get("feature_specs_path", SiyuConfig.model_fields["feature_specs_path"].default))
    if data.get("feature_specs") is None and specs_path.exists():
        try:
            data = {**data, "feature_specs": _feature_specs_data(specs_path)}
        except SpecError as exc:
            raise ConfigError(str(exc)) from exc
    if data.get("playbook") is None and data.get("playbook_path"):
        playbook = _read_yaml(Path(data["playbook_path"]), what="playbook", hint="playbook_path in the config")
        data = {**data, "playbook": playbook}
    try:
        return SiyuConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from exc


def config_or_exit(path: str | Path) -> SiyuConfig:
    """`project_config`, turning a ConfigError into a clear message and exit code 2."""
    try:
        return project_config(path)
    except ConfigError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def project_config(path: str | Path) -> SiyuConfig:
    """`load_config` as every command reads it: `MLFLOW_TRACKING_URI`, when set, replaces the
    configured tracking URI for all of them (train, score, explain, report alike). Raises ConfigError."""
    cfg = load_config(path)
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"uri": uri})})
    return cfg


def parse_as_of(text: str | None) -> date | None:
    """`--as-of` as a date (None: the command's default), or a usage error naming the format."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {text!r}: expected a date like 2026-03-02") from exc


def tasks_to_run(cfg: SiyuConfig, task: str, console: Any = None) -> list[str]:
    """The tasks a command runs on. `all`: every configured task the data can label (the others
    are named once, with the reason, when a console is given); an unknown name exits 2."""
    names = [t.name for t in cfg.tasks]
    if task == "all":
        from siyu.io.workspace import supported_tasks

        names, skipped = supported_tasks(cfg, names)
        for reason in skipped.values() if console is not None else ():
            console.print(f"[yellow]skipped[/yellow] {reason}")
        return names
    if task not in names:
        typer.secho(f"--task: expected one of {', '.join(names)} or all, got {task!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    return [task]
