"""CLI commands: features, trainset."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

_CONFIG = typer.Option("--config", "-c", help="project config YAML")
_ENGINE = typer.Option("--engine", help="embedded (DuckDB + compiled passes) | spark (the config's `spark:` "
                       "master and settings); default: the config's `engine`")
ENGINES = ("embedded", "spark")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("features")(features)
    app.command("trainset")(trainset)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def with_engine(cfg, engine: str | None):  # noqa: ANN001, ANN202 - SiyuConfig in, SiyuConfig out
    """`cfg` with `--engine` applied (exit 2 naming the choices when it is not one of them)."""
    if engine is None:
        return cfg
    if engine not in ENGINES:
        typer.secho(f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    return cfg.model_copy(update={"engine": engine})


def _counted(status, label: str, unit: str):  # noqa: ANN001, ANN202 - a rich Status in, an engine's progress callback out
    """An engine's count on the spinner: "<label>: 1,250,000 of 4,000,000 users" (the embedded
    engine's batches) or "<label>: 12 of 40 Spark tasks" (Spark's running stages)."""
    def told(done: int, total: int) -> None:
        status.update(f"{label}: {done:,} of {total:,} {unit} ...")
    return told


def engine_errors() -> tuple[type[Exception], ...]:
    """What choosing the Spark engine raises when pyspark or Java is missing."""
    from siyu.io.spark import SparkUnavailable

    return (SparkUnavailable,)


def features(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="cutoff date (local midnight, YYYY-MM-DD); default: the day after the last clean event")] = None,
    config: Annotated[Path, _CONFIG] = Path("configs/siyu.yaml"),
    engine: Annotated[str | None, _ENGINE] = None,
) -> None:
    """Compute every feature at one as-of date into work/features/features_<as_of>.parquet."""
    from siyu.cli._config import config_or_exit
    from siyu.cli._console import cli_console
    from siyu.features.specs import SpecError
    from siyu.jobs.trainsets import build_features_at, latest_as_of

    cfg = with_engine(config_or_exit(config), engine)
    console = cli_console()
    try:
        day = date.fromisoformat(as_of) if as_of else latest_as_of(cfg)
    except ValueError as exc:
        _fail(f"--as-of: expected a date like 2025-06-02, got {as_of!r}")
        raise AssertionError from exc  # unreachable: _fail exits
    try:
        label = f"computing features as of {day.isoformat()} on the {cfg.engine} engine"
        with console.status(f"{label} ...") as status:
            out = build_features_at(cfg, day, on_users=_counted(status, label, "users"),
                                    on_tasks=_counted(status, label, "Spark tasks"))
    except (FileNotFoundError, SpecError, *engine_errors()) as exc:
        _fail(str(exc))
    console.print(f"features as of {day.isoformat()}: {out}")


def trainset(
    task: Annotated[str, typer.Option("--task", "-t", help="churn | purchase_intent | ltv | all")] = "all",
    config: Annotated[Path, _CONFIG] = Path("configs/siyu.yaml"),
    engine: Annotated[str | None, _ENGINE] = None,
) -> None:
    """Build training sets: Monday cutoff grid, features joined with labels, split by time."""
    from rich.markup import escape
    from rich.table import Table

    from siyu.cli._config import config_or_exit, tasks_to_run
    from siyu.cli._console import cli_console
    from siyu.features.specs import SpecError
    from siyu.jobs.trainsets import TaskUnsupported, build_trainsets
    from siyu.labels import HorizonError
    from siyu.trainsets import GridError, LabelError

    cfg = with_engine(config_or_exit(config), engine)
    console = cli_console()
    table = Table("task", "split", "cutoffs", "rows", "label rate / mean")
    try:
        if task == "all":  # an uplift task skipped last time is tried again
            from siyu.io.workspace import mark_uplift_skipped

            for t in (t for t in cfg.tasks if t.uplift):
                mark_uplift_skipped(cfg, t.name, None)
        tasks = tasks_to_run(cfg, task, console)  # `all`: the tasks the data can label, the others named
        if not tasks:
            _fail("no configured task can be labelled from this data (see above)")
        uplift = [t for t in tasks if cfg.task(t).uplift]
        tasks = [t for t in tasks if t not in uplift]
        summaries = []
        if tasks:
            label = f"building the {', '.join(tasks)} training set(s) (one feature pass, {cfg.engine} engine)"
            with console.status(f"{label} ...") as status:
                summaries = build_trainsets(cfg, tasks, on_users=_counted(status, f"{label}: features", "users"),
                                            on_tasks=_counted(status, f"{label}: features", "Spark tasks"))
    except (FileNotFoundError, SpecError, HorizonError, GridError, LabelError, TaskUnsupported,
            *engine_errors()) as exc:
        _fail(f"{', '.join(tasks)}: {exc}")
    summaries += _uplift_trainsets(cfg, uplift, console, skip_failures=task == "all")
    for summary in summaries:
        for split, stats in summary.splits.items():
            cuts = summary.cutoffs[split]
            value = stats.get("label_rate", stats.get("label_mean"))
            table.add_row(summary.task, split, f"{cuts[0]}..{cuts[-1]} ({len(cuts)})", f"{stats['rows']:,}", f"{value:.4f}")
        console.print(f"{summary.task}: {summary.path} ({summary.n_features} features, spec {summary.feature_spec_hash})")
        _print_left_out(console, summary)
        for warning in summary.warnings:  # escaped: `tasks[<name>]` is not rich markup
            console.print(f"  [yellow]warning[/yellow] {escape(warning)}", soft_wrap=True)
        _print_uplift(console, summary.path)
    console.print(table)


def _uplift_trainsets(cfg, tasks: list[str], console, *, skip_failures: bool) -> list:  # noqa: ANN001
    """Build uplift training sets one by one (campaign cutoffs, embedded engine). Under `--task all`
    a task the campaigns cannot feed (too few campaigns with both arms, ...) is skipped with the
    reason, recorded so train / compare / promote skip it too; a named task fails."""
    from siyu.features.specs import SpecError
    from siyu.io.workspace import mark_uplift_skipped
    from siyu.jobs.trainsets import TaskUnsupported, build_uplift_trainset
    from siyu.labels import HorizonError
    from siyu.trainsets import GridError, LabelError

    out = []
    for name in tasks:
        try:
            with console.status(f"building the {name} uplift training set (campaign cutoffs, embedded engine) ..."):
                out.append(build_uplift_trainset(cfg, name))
        except (FileNotFoundError, SpecError, HorizonError, GridError, LabelError, TaskUnsupported) as exc:
            if not skip_failures:
                _fail(f"{name}: {exc}")
            reason = f"{name}: no uplift training set: {exc}"
            mark_uplift_skipped(cfg, name, reason)
            console.print(f"[yellow]skipped[/yellow] {reason}")
    return out


def _print_uplift(console, path) -> None:  # noqa: ANN001 - rich Console, Path
    """An uplift training set's campaigns, arms, overlap check and warnings, one line each."""
    import json

    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("kind") != "uplift":
        return
    counts = {k: len(v) for k, v in manifest["campaigns"].items()}
    console.print(f"  treatments {', '.join(manifest['treatments'])}; campaigns train {counts['train']}, valid "
                  f"{counts['valid']}, test {counts['test']} ({len(manifest['skipped_campaigns'])} left out, reasons "
                  "in the manifest); overlap AUC (treated vs control, ~0.5 when randomized): "
                  + ", ".join(f"{t} {a:.3f}" for t, a in manifest["overlap_auc"].items()), markup=False)
    for warning in manifest.get("warnings", []):
        console.print(f"  [yellow]warning[/yellow] {warning}")


def _print_left_out(console, summary) -> None:  # noqa: ANN001 - rich Console, TrainsetSummary
    """What the training set does not hold, one line each (all of it is in its manifest.json)."""
    for title, items in (("left out (the data cannot feed them)", summary.omitted),
                         ("dropped (empty or constant in the training rows)", summary.dropped)):
        if items:
            console.print(f"  {len(items)} feature(s) {title}:")
            for item in items[:12]:
                console.print(f"    {item.name}: {item.reason}", markup=False)
            if len(items) > 12:
                console.print(f"    ... and {len(items) - 12} more in {summary.path}/manifest.json")
