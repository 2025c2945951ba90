"""CLI commands: train, tune, compare, promote, backtest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from siyu.cli._config import tasks_to_run

if TYPE_CHECKING:
    from siyu.config import SiyuConfig
    from siyu.jobs.training import TrainResult

ConfigOpt = Annotated[Path, typer.Option("--config", help="project configuration (YAML)")]
TaskOpt = Annotated[str, typer.Option("--task", help="a configured task (churn, purchase_intent, ltv, ...) or all")]
DEFAULT_CONFIG = Path("configs/siyu.yaml")


def _config(path: Path):  # noqa: ANN202 - SiyuConfig, imported lazily
    """Load the config (with `MLFLOW_TRACKING_URI` applied, see `config_or_exit`)."""
    from siyu.cli._config import config_or_exit

    return config_or_exit(path)


def _uplift_not_here(cfg, name: str, asked: str, console, what: str) -> bool:  # noqa: ANN001
    """True (and said) for an uplift task under `--task all` of a command that has no uplift form
    yet; named alone it exits 1 with the same sentence."""
    if not cfg.task(name).uplift:
        return False
    message = f"{name}: {what} of uplift tasks is not supported yet (train compares the uplift models)"
    if asked != "all":
        _fail(ValueError(message))
    console.print(f"[yellow]skipped[/yellow] {message}")
    return True


def _fail(exc: Exception) -> None:
    typer.secho(str(exc), fg=typer.colors.RED, err=True)
    raise typer.Exit(1) from exc


def _with_status(console, label: str, run, errors: tuple[type[Exception], ...]):  # noqa: ANN001, ANN202
    """`run(progress)` under a spinner that shows its progress lines; an expected error exits 1."""
    try:
        with console.status(label) as status:
            return run(lambda msg: status.update(msg))
    except errors as exc:
        _fail(exc)


def train_cmd(
    task: TaskOpt = "all",
    model: Annotated[str, typer.Option(
        "--model", help="lightgbm, xgboost, twopart, rule, logistic, glm, bgnbd or all")] = "all",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Train models on the task's training set; log them to MLflow and register a challenger."""
    from siyu.cli._console import cli_console
    from siyu.jobs.training import TrainsetMissing, train_tasks

    cfg = _config(config)
    console = cli_console()
    failed: list[str] = []
    tasks = tasks_to_run(cfg, task, console)
    _with_status(console, "training", lambda say: [_print_trained(console, cfg, result, failed)
                                                   for result in train_tasks(cfg, tasks, model, progress=say)],
                 (TrainsetMissing, ValueError, LookupError))
    if failed:
        typer.secho(f"{len(failed)} model(s) failed: {', '.join(failed)} (the others are registered; "
                    "the log above says why)", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


def _print_trained(console, cfg: SiyuConfig, result: TrainResult, failed: list[str]) -> None:  # noqa: ANN001
    """A task's lines as soon as its models are logged: each model's version and metrics, the
    challenger, the training set's warnings; failures are added to `failed`."""
    name = result.task
    for r in result.results:
        if r.skipped:
            console.print(f"  {name} {r.model}: skipped ({r.skipped})")
            continue
        if r.failed:
            console.print(f"  [red]{name} {r.model}: failed[/red] ({r.failed})", markup=True)
            failed.append(f"{name} {r.model}")
            continue
        headline = cfg.task(name).headline_metric
        console.print(f"  {name} {r.model}: v{r.version}  valid_{headline}={_cell(r.valid.get(headline))}  "
                      f"test_{headline}={_with_interval(r.metrics, headline)}  fit {r.seconds:.1f}s")
    if result.challenger:
        console.print(f"[bold]{name}[/bold]: challenger is v{result.challenger} (best on validation)")
    for warning in result.warnings:  # trained anyway, but not silently
        console.print(f"  warning: {warning}", markup=False, soft_wrap=True)


def tune_cmd(
    task: TaskOpt = "all",
    model: Annotated[str, typer.Option("--model", help="lightgbm, xgboost or twopart (ltv)")] = "lightgbm",
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="trials (default: config)")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Tune a booster with Optuna (trials nested under a study run) and register the refit."""
    from siyu.cli._console import cli_console
    from siyu.jobs.training import TrainsetMissing, tune

    cfg = _config(config)
    console = cli_console()
    for name in tasks_to_run(cfg, task, console):
        if _uplift_not_here(cfg, name, task, console, "tuning"):
            continue
        result = _with_status(console, f"{name}: tuning {model}",
                              lambda say, name=name: tune(cfg, name, model, n_trials, progress=say),
                              (TrainsetMissing, ValueError, LookupError))
        console.print(f"[bold]{name}[/bold] {model}: best {result.metric}={result.best_value:.4f} after "
                      f"{result.n_trials} trials ({result.n_pruned} pruned); refit registered as v{result.version}")
        console.print(f"  best parameters: {result.best_params}")


def compare_cmd(
    task: TaskOpt = "all",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Leaderboard per task: sorted by validation, test with 95 % intervals, the oracles and the leak alarm."""
    from rich.table import Table

    from siyu.cli._console import cli_console
    from siyu.jobs.training import TrainsetMissing, compare

    cfg = _config(config)
    console = cli_console(min_width=120)
    for name in tasks_to_run(cfg, task, console):
        try:
            board = compare(cfg, name)
        except (TrainsetMissing, ValueError, LookupError) as exc:
            _fail(exc)
        headline = cfg.task(name).headline_metric
        table = Table(title=f"{name} (test cutoffs {board.test_cutoff}; sorted by validation)")
        shown = [c for c in board.table.columns if c in _TERMINAL_COLUMNS]
        for col in shown:
            table.add_column(col, justify="left" if col in ("model", "aliases") else "right")
        table.add_column(f"test_{headline} [95% CI]", justify="right", no_wrap=True)
        for _, row in board.table.iterrows():
            table.add_row(*[_cell(row[c]) for c in shown], _with_interval(row, headline, prefix="test_"))
        console.print(table)
        for _, row in board.table[board.table["leak_alarm"].astype(str) != ""].iterrows():
            console.print(f"[bold red]  {row['model']}: {row['leak_alarm']}[/bold red]")
        console.print(f"  written: {board.csv_path}, {board.html_path}")


# The terminal shows the headline columns; the CSV / HTML files carry them all.
_TERMINAL_COLUMNS = ("model", "version", "aliases", "valid_auc", "valid_gini", "test_pr_auc", "test_ece",
                     "test_lift_at_10", "test_spearman", "test_total_spend_error", "observable_ratio",
                     # uplift tasks (their headline, test_qini, is the last column with its interval)
                     "valid_qini", "test_auuc", "test_uplift_at_10", "test_true_qini", "oracle_ratio")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.4f}"
    return str(value)


def _with_interval(values, metric: str, prefix: str = "") -> str:  # noqa: ANN001 - a dict or a row
    """'0.8123 [0.8011, 0.8230]' from `<prefix><metric>` and its `_ci_low` / `_ci_high`."""
    value, low, high = (values.get(f"{prefix}{metric}{end}") for end in ("", "_ci_low", "_ci_high"))
    if low is None or high is None or low != low:
        return _cell(value)
    return f"{_cell(value)} [{low:.4f}, {high:.4f}]"


def promote_cmd(
    task: TaskOpt = "all",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Move `champion` to the challenger only if the paired 95 % interval of (challenger - champion) clears the margin."""
    from datetime import UTC, datetime

    from siyu.jobs.training import promote

    cfg = _config(config)
    for name in tasks_to_run(cfg, task):
        try:
            decision = promote(cfg, name, decided_at=datetime.now(UTC))
        except (LookupError, ValueError) as exc:
            _fail(exc)
        verdict = "promoted" if decision.promoted else "kept champion"
        color = typer.colors.GREEN if decision.promoted else typer.colors.YELLOW
        typer.secho(f"{name}: {verdict}: {decision.reason}", fg=color)


def backtest_cmd(
    task: TaskOpt = "churn",
    model: Annotated[str, typer.Option("--model", help="lightgbm, xgboost, twopart, rule, logistic, glm or bgnbd")]
    = "lightgbm",
    folds: Annotated[int, typer.Option("--folds", min=1, help="walk-forward folds, each one test block earlier")] = 4,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Walk-forward backtest: refit the model once per fold, each purged against its own test cutoffs."""
    from siyu.cli._console import cli_console
    from siyu.jobs.backtest import backtest
    from siyu.trainsets import GridError

    cfg = _config(config)
    console = cli_console(min_width=120)
    for name in tasks_to_run(cfg, task, console):
        if _uplift_not_here(cfg, name, task, console, "a walk-forward backtest"):
            continue
        result = _with_status(console, f"{name}: backtest",
                              lambda say, name=name: backtest(cfg, name, model, folds, progress=say),
                              (GridError, FileNotFoundError, ValueError, LookupError))
        headline = cfg.task(name).headline_metric
        for _, row in result.table.iterrows():
            console.print(f"  fold {row['fold']}: test {row['test_cutoffs']}  {row['test_rows']} rows  "
                          f"test_{headline}={_with_interval(row, headline, prefix='test_')}")
        console.print(f"[bold]{name}[/bold] {model}: written {result.csv_path} (MLflow run {result.run_id})")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("train")(train_cmd)
    app.command("tune")(tune_cmd)
    app.command("compare")(compare_cmd)
    app.command("promote")(promote_cmd)
    app.command("backtest")(backtest_cmd)
