"""CLI commands: generate."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer


def _parse_start(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"expected a date like 2025-01-06 (YYYY-MM-DD), got {value!r}") from exc


def generate(
    users: Annotated[int, typer.Option("--users", min=1, help="number of users in the world")] = 20_000,
    days: Annotated[int, typer.Option("--days", min=1, help="number of days the world runs")] = 420,
    seed: Annotated[int, typer.Option("--seed", help="random seed: the same seed gives the same files")] = 7,
    out: Annotated[Path | None, typer.Option(
        "--out", help="folder to write the world into [default: paths.world of --config]")] = None,
    start: Annotated[str, typer.Option("--start", help="first day of the world (YYYY-MM-DD, local time)")] = "2025-01-06",
    truth: Annotated[bool, typer.Option("--truth/--no-truth", help="also write the ground truth")] = True,
    config: Annotated[Path, typer.Option("--config", help="project config (read only without --out)")] = Path(
        "configs/siyu.yaml"),
) -> None:
    """Generate a synthetic owned-audience world: events, users (fake PII), ground truth."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from siyu.cli._console import cli_console
    from siyu.jobs.generate import generate_world

    first_day = _parse_start(start)
    if out is None:
        from siyu.cli._config import config_or_exit

        out = Path(config_or_exit(config).paths.world)
    console = cli_console()
    began = time.perf_counter()
    with Progress(TextColumn("[bold]generate[/] users"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("chunks", total=None)

        def on_chunk(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = generate_world(users, days, seed, out, first_day, with_truth=truth, on_chunk=on_chunk)
    seconds = time.perf_counter() - began
    console.print(
        f"world [bold]{summary.out}[/]: {summary.users:,} users, {summary.days} days "
        f"({summary.start} .. {summary.end}, end exclusive), {summary.n_events:,} events in "
        f"{summary.n_event_parts} part(s), {seconds:.1f} s ({summary.n_events / max(seconds, 1e-9):,.0f} events/s)"
    )
    counts = ", ".join(f"{k} {v:,}" for k, v in summary.event_counts.items())
    console.print(f"  events by type: {counts}")
    if summary.n_truth_rows is not None:
        console.print(f"  truth: {summary.n_truth_rows:,} rows over {summary.n_cutoffs} Monday cutoffs")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("generate")(generate)
