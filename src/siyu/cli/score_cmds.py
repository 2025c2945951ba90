"""CLI commands: score, tags export, tags rollback, tags show, tags runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli._config import config_or_exit, parse_as_of
from siyu.config import mask_url

tags_app = typer.Typer(help="The tag store: export for the SCRM, roll back a run, show current tags.",
                       no_args_is_help=True)

_CONFIG = typer.Option(Path("configs/siyu.yaml"), "--config", help="project YAML")



def _distribution_table(counts: dict[str, dict[str, int]], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for name, justify in (("tag", "left"), ("value", "left"), ("users", "right"), ("share", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for tag, values in counts.items():
        total = sum(values.values()) or 1
        for i, (value, n) in enumerate(values.items()):
            table.add_row(tag if i == 0 else "", value, f"{n:,}", f"{n / total:.1%}")
    return table


def _guard_lines(guards: Any) -> list[str]:
    return [g.describe() for g in guards if g.status in ("warn", "fail")]


_JSON_HELP = ("print exactly one JSON object on stdout and nothing else, also when the run fails (then "
              "`ok` is false, `error` says why and the exit code is the usual one); messages go to stderr. "
              "Implies --quiet")
_QUIET_HELP = ("no spinner and no table: one summary line on stdout; guard warnings and errors on stderr "
               "(a failed run prints nothing on stdout)")


class _Stopped(Exception):
    """A scoring run that published nothing, with the exit code `siyu score` uses for it
    (2: bad input, locked store, no champion, no events; 3: a guard failed) and what is known of it."""

    def __init__(self, code: int, message: str, *, status: str = "failed", run_id: str | None = None,
                 guards: tuple = ()) -> None:
        super().__init__(message)
        self.code, self.status, self.run_id, self.guards = code, status, run_id, tuple(guards)


def _config_for(config: Path, engine: str | None, as_of: str | None) -> tuple[Any, Any]:
    """The project config with `--engine` applied, and the as-of date; a _Stopped (exit 2) otherwise."""
    from siyu.cli._config import ConfigError, project_config
    from siyu.cli.feature_cmds import ENGINES

    try:
        cfg = project_config(config)
    except ConfigError as exc:
        raise _Stopped(2, str(exc)) from exc
    if engine is not None and engine not in ENGINES:
        raise _Stopped(2, f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    try:
        day = parse_as_of(as_of)
    except typer.BadParameter as exc:
        raise _Stopped(2, exc.message) from exc
    return (cfg if engine is None else cfg.model_copy(update={"engine": engine})), day


def _run_job(cfg: Any, day: Any, force: bool, progress: Any = None) -> Any:
    """`siyu.jobs.scoring.score` (telling `progress` each step), its expected failures turned into a _Stopped."""
    from siyu.cli.feature_cmds import engine_errors
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import score
    from siyu.scoring import GuardFailed

    try:
        return score(cfg, day, force, progress=progress)
    except GuardFailed as exc:
        raise _Stopped(3, str(exc), status="blocked", run_id=exc.run_id or None, guards=exc.results) from exc
    except (TagStoreError, ValueError, LookupError, FileNotFoundError, *engine_errors()) as exc:
        # locked store, bad input, no champion in the registry, no validated events, no Spark
        raise _Stopped(2, mask_url(str(exc))) from exc


def score_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="scoring date (default: the day after the newest event)"),
    force: bool = typer.Option(False, "--force", help="publish even if guards fail (recorded in scoring_runs)"),
    engine: str | None = typer.Option(None, "--engine", help="embedded | spark: where features are computed and "
                                      "the champions applied (spark_udf); default: the config's `engine`"),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_QUIET_HELP),
) -> None:
    """Score every user with the champions and publish their tags (one atomic run).

    Exit codes: 0 published or unchanged; 2 bad input, locked store, no champion; 3 a guard failed
    (nothing published; --force publishes anyway); 1 an unexpected fault (disk, database, MLflow)."""
    if as_json or quiet:
        _score_for_a_scheduler(config, as_of, force, engine, as_json=as_json)
        return
    from siyu.cli._console import cli_console

    console = cli_console()
    try:
        cfg, day = _config_for(config, engine, as_of)
        with console.status(f"scoring on the {cfg.engine} engine") as status:
            summary = _run_job(cfg, day, force, status.update)
    except _Stopped as stop:
        typer.secho(str(stop), fg=typer.colors.RED, err=True)
        raise typer.Exit(stop.code) from None
    for line in _guard_lines(summary.guards):
        typer.secho(f"guard {line}", fg=typer.colors.YELLOW)
    console.print(_distribution_table(summary.counts, f"tags at as-of {summary.as_of} (run {summary.run_id})"))
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in summary.timings.items())
    console.print(_summary_line(summary), markup=False)
    if summary.message:
        console.print(summary.message, markup=False)
    console.print(f"timings: {timing}")


def _summary_line(summary: Any) -> str:
    return (f"run {summary.run_id}: {summary.status}; {summary.n_users:,} users, {summary.n_rows:,} tag rows"
            f"{' (FORCED)' if summary.forced else ''} -> {mask_url(summary.store_url)}")


def _score_for_a_scheduler(config: Path, as_of: str | None, force: bool, engine: str | None, *,
                           as_json: bool) -> None:
    """`--json` / `--quiet`: no spinner, no table; stdout gets the JSON object or the one summary
    line and nothing else (whatever the job prints goes to stderr), messages go to stderr."""
    import contextlib
    import sys

    day = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cfg, day = _config_for(config, engine, as_of)
            summary = _run_job(cfg, day, force)
    except _Stopped as stop:
        typer.secho(str(stop), fg=typer.colors.RED, err=True)
        if as_json:
            typer.echo(_json_text(_stopped_record(stop, day)))
        raise typer.Exit(stop.code) from None
    except Exception as exc:  # the edge: `siyu` prints the fault on stderr and exits 1; the JSON says so too
        if as_json:
            from siyu.cli.faults import describe_fault

            typer.echo(_json_text(_stopped_record(_Stopped(1, describe_fault(exc)), day)))
        raise
    for line in _guard_lines(summary.guards):
        typer.secho(f"guard {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(_json_text(_summary_record(summary)) if as_json else _quiet_line(summary))


def _quiet_line(summary: Any) -> str:
    same = f" (same inputs as run {summary.previous_run_id})" if summary.status == "unchanged" else ""
    total = sum(summary.timings.values())
    return f"{_summary_line(summary)}{same} in {total:.1f}s"


# The keys of `siyu score --json`, in order; a failed run has them all too (null when unknown).
_RECORD_KEYS = ("ok", "exit_code", "status", "run_id", "as_of", "users", "tag_rows", "forced", "previous_run_id",
                "store_url", "counts", "model_versions", "guards", "timings", "mlflow_run_id", "message", "error")


def _summary_record(summary: Any) -> dict[str, Any]:
    """A finished run (published or unchanged) as the JSON object of `--json`."""
    from siyu.scoring.guards import guard_dicts

    return {"ok": True, "exit_code": 0, "status": summary.status, "run_id": summary.run_id,
            "as_of": summary.as_of.isoformat(), "users": summary.n_users, "tag_rows": summary.n_rows,
            "forced": summary.forced, "previous_run_id": summary.previous_run_id,
            "store_url": mask_url(summary.store_url), "counts": summary.counts,
            "model_versions": summary.model_versions, "guards": guard_dicts(summary.guards),
            "timings": {k: round(v, 3) for k, v in summary.timings.items()},
            "mlflow_run_id": summary.mlflow_run_id, "message": summary.message, "error": None}


def _stopped_record(stop: _Stopped, as_of: Any) -> dict[str, Any]:
    """A run that published nothing as the JSON object of `--json`: `ok` false, `error` says why."""
    from siyu.scoring.guards import guard_dicts

    record = dict.fromkeys(_RECORD_KEYS)
    return {**record, "ok": False, "exit_code": stop.code, "status": stop.status, "run_id": stop.run_id,
            "as_of": as_of.isoformat() if as_of is not None else None, "guards": guard_dicts(stop.guards),
            "error": mask_url(str(stop))}


def _json_text(record: dict[str, Any]) -> str:
    """One line of strict JSON (no NaN: a guard without a value reads null)."""
    import json
    import math

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(plain(record), ensure_ascii=False, allow_nan=False, default=str)


@tags_app.command("export")
def export_cmd(
    config: Path = _CONFIG,
    fmt: str = typer.Option("csv", "--format", help="csv or parquet"),
    changes_only: bool = typer.Option(False, "--changes-only", help="only who moved since the previous run"),
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default: under work/exports/)")] = None,
    kind: str = typer.Option("score", "--kind", help="score: the scoring run's tags; plan: the contact plan "
                             "(next_action, expected_gain, holdout) from `siyu target`"),
) -> None:
    """Export the current tags for the SCRM: one row per user, a column per tag, no PII."""
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import export_tags

    cfg = config_or_exit(config)
    if kind not in ("score", "plan"):
        typer.secho(f"--kind: expected score or plan, got {kind!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        if kind == "plan":
            from siyu.jobs.targeting import export_plan

            path = export_plan(cfg, fmt, out=out)
        else:
            path = export_tags(cfg, fmt, changes_only, out=out)
    except (TagStoreError, ValueError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {path}")


@tags_app.command("rollback")
def rollback_cmd(config: Path = _CONFIG,
                 run: str = typer.Option(..., "--run", help="the run to roll back (the current one)")) -> None:
    """Roll back the current run of its kind (score or plan): the tags before it become current again."""
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import rollback

    cfg = config_or_exit(config)
    try:
        now_current = rollback(cfg, run)
    except TagStoreError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    after = f"run {now_current.run_id} (as-of {now_current.as_of})" if now_current else "no run (store empty)"
    typer.echo(f"rolled back {run}; current tags now come from {after}")


@tags_app.command("show")
def show_cmd(config: Path = _CONFIG) -> None:
    """Print the distribution of the current tags (the scoring run's, then the contact plan's)."""
    from siyu.cli._console import cli_console
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import open_reader

    cfg = config_or_exit(config)
    try:
        store = open_reader(cfg)  # reads never wait for a run that is publishing, and never write
        try:
            current, plan = store.current_run(), store.current_run("plan")
        finally:
            store.close()
    except TagStoreError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if current is None and plan is None:
        typer.echo(f"no published scoring run yet in {mask_url(cfg.scoring.tag_store_url)}; run `siyu score`")
        raise typer.Exit(1)
    for run in (r for r in (current, plan) if r is not None):  # the scores, then the contact plan beside them
        cli_console().print(_distribution_table(run.counts or {}, f"current tags: run {run.run_id} (as-of {run.as_of})"))


@tags_app.command("runs")
def runs_cmd(config: Path = _CONFIG) -> None:
    """List the runs (kind score or plan, status, as-of, forced, message)."""
    from rich.table import Table

    from siyu.cli._console import cli_console
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import open_reader

    cfg = config_or_exit(config)
    try:
        store = open_reader(cfg)
        try:
            runs = store.runs()
        finally:
            store.close()
    except TagStoreError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    table = Table(title=f"scoring runs in {mask_url(cfg.scoring.tag_store_url)}")
    for col in ("run_id", "kind", "as_of", "status", "started_at (UTC)", "rows", "forced"):
        table.add_column(col, no_wrap=True)
    table.add_column("message")
    for r in runs:
        table.add_row(r.run_id, r.kind, str(r.as_of), r.status, f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                      f"{r.n_rows or 0:,}", "yes" if r.forced else "", (r.message or "")[:80])
    cli_console().print(table)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("score")(score_cmd)
    app.add_typer(tags_app, name="tags")
