"""CLI commands: validate."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from siyu.contract.report import TableReport, ValidationReport


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("validate")(validate)


def validate(
    config: Annotated[Path, typer.Option("--config", "-c", help="project config YAML")] = Path("configs/siyu.yaml"),
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="reject events after this time (ISO, local to the dataset time zone "
        "unless it has an offset); default: now in the dataset time zone")] = None,
) -> None:
    """Validate the dataset: clean events/users, rejects with reasons, and a report."""
    from zoneinfo import ZoneInfo

    from siyu.cli._config import config_or_exit
    from siyu.cli._console import cli_console
    from siyu.contract.errors import ContractError, ValidationFailed
    from siyu.jobs.validate import validate_dataset

    cfg = config_or_exit(config)
    console = cli_console()
    if as_of is None:
        as_of_time = datetime.now(ZoneInfo(cfg.dataset.timezone)).replace(tzinfo=None, microsecond=0)
    else:
        try:
            as_of_time = datetime.fromisoformat(as_of)
        except ValueError as exc:
            typer.secho(f"--as-of: expected an ISO date or time like 2025-06-01 or "
                        f"2025-06-01T08:00, got {as_of!r}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from exc
    try:
        with console.status(f"validating dataset '{cfg.dataset.name}' ...") as status:
            result = validate_dataset(cfg, as_of=as_of_time, on_step=lambda text: status.update(
                f"validating dataset '{cfg.dataset.name}': {text} ..."))
    except ValidationFailed as exc:
        print_report(console, exc.report)
        typer.secho(str(exc).splitlines()[0], fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    except ContractError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    print_report(console, result.report)
    console.print(f"report: {result.report_path}")


def print_report(console: Console, report: ValidationReport) -> None:
    """The validation report as rich tables: per table, rows in / clean / rejected and each rule."""
    style = "green" if report.passed else "red"
    console.print(f"[bold]dataset[/bold] {report.dataset}  as of {report.as_of or '-'} "
                  f"({report.timezone})  [{style}]{report.status}[/{style}]  "
                  f"max reject rate {report.max_reject_rate:.2%}")
    for table in report.tables:
        _print_table(console, table)


def _print_table(console: Console, table: TableReport) -> None:
    from rich.table import Table

    added = f", {table.rows_added:,} derived from events" if table.rows_added else ""
    console.print(
        f"\n[bold]{table.table}[/bold] from {table.source}: {table.rows_in:,} rows in, "
        f"{table.rows_clean:,} clean, {table.rows_rejected:,} rejected ({table.reject_rate:.2%}){added}")
    grid = Table(show_lines=False)
    for name, justify in (("rule", "left"), ("severity", "left"), ("rows", "right"),
                          ("share", "right"), ("examples", "left")):
        grid.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    found = [o for o in table.outcomes if o.count is None or o.count > 0]
    for outcome in table.outcomes:
        hit = outcome in found
        colour = ("red" if outcome.severity == "error" else "yellow") if hit else "dim"
        grid.add_row(
            outcome.rule, f"[{colour}]{outcome.severity}[/{colour}]",
            "-" if outcome.count is None else f"{outcome.count:,}",
            "-" if outcome.share is None else f"{outcome.share:.2%}",
            _examples(outcome.examples, outcome.column))
    if table.outcomes:
        console.print(grid)
    for outcome in found:
        colour = "red" if outcome.severity == "error" else "yellow"
        console.print(f"  [{colour}]{outcome.severity}[/{colour}] {outcome.message}", highlight=False)
    console.print(f"  clean: {table.clean_path or '(not written: validation failed)'}")
    console.print(f"  rejects: {table.rejects_path}")


def _examples(rows: tuple[dict, ...], column: str) -> str:
    """'value' (row N), ... for up to 3 example rows."""
    from siyu.contract.report import example_text

    parts = []
    for row in rows[:3]:
        where = f" (row {row['source_row']})" if row.get("source_row") is not None else ""
        parts.append(example_text(row.get(column)) + where)
    return ", ".join(parts)
