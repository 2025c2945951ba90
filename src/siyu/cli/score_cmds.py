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


def score_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="scoring date (default: the day after the newest event)"),
    force: bool = typer.Option(False, "--force", help="publish even if guards fail (recorded in scoring_runs)"),
    engine: str | None = typer.Option(None, "--engine", help="embedded | spark: where features are computed and "
                                      "the champions applied (spark_udf); default: the config's `engine`"),
) -> None:
    """Score every user with the champions and publish their tags (one atomic run)."""
    from rich.console import Console

    from siyu.cli.feature_cmds import engine_errors, with_engine
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.scoring import score
    from siyu.scoring import GuardFailed

    cfg = with_engine(config_or_exit(config), engine)
    console = Console()
    try:
        with console.status(f"scoring on the {cfg.engine} engine: features, champions, tags, guards, publish ..."):
            summary = score(cfg, parse_as_of(as_of), force)
    except GuardFailed as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(3) from exc
    except (TagStoreError, ValueError, LookupError, FileNotFoundError, *engine_errors()) as exc:
        # locked store, bad input, no champion in the registry, no validated events, no Spark
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    for line in _guard_lines(summary.guards):
        typer.secho(f"guard {line}", fg=typer.colors.YELLOW)
    console.print(_distribution_table(summary.counts, f"tags at as-of {summary.as_of} (run {summary.run_id})"))
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in summary.timings.items())
    console.print(f"run {summary.run_id}: {summary.status}; {summary.n_users:,} users, {summary.n_rows:,} tag rows"
                  f"{' (FORCED)' if summary.forced else ''} -> {summary.store_url}")
    if summary.message:
        console.print(summary.message)
    console.print(f"timings: {timing}")


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
    from rich.console import Console

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
        Console().print(_distribution_table(run.counts or {}, f"current tags: run {run.run_id} (as-of {run.as_of})"))


@tags_app.command("runs")
def runs_cmd(config: Path = _CONFIG) -> None:
    """List the runs (kind score or plan, status, as-of, forced, message)."""
    from rich.console import Console
    from rich.table import Table

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
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("score")(score_cmd)
    app.add_typer(tags_app, name="tags")
