"""CLI command: `siyu target`, the budgeted contact plan with a randomized holdout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siyu.cli._config import config_or_exit, parse_as_of

_CONFIG = typer.Option(Path("configs/siyu.yaml"), "--config", help="project YAML")


def _plan_table(summary: Any, currency: str) -> Any:
    from rich.table import Table

    table = Table(title=f"contact plan at as-of {summary.as_of} (run {summary.run_id})")
    for name in ("treatment", "chosen", "holdout", "contacted", f"expected gain ({currency})", f"cost ({currency})"):
        table.add_column(name, justify="left" if name == "treatment" else "right")
    for treatment, row in summary.totals.get("by_treatment", {}).items():
        table.add_row(treatment, f"{row['chosen']:,}", f"{row['holdout']:,}", f"{row['contacted']:,}",
                      f"{row['expected_gain']:,.2f}", f"{row['cost']:,.2f}")
    totals = summary.totals
    if totals:
        table.add_row("all", f"{totals['chosen']:,}", f"{totals['holdout']:,}", f"{totals['contacted']:,}",
                      f"{totals['expected_gain']:,.2f}", f"{totals['cost']:,.2f}")
    return table


def target_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="planning date (default: the day after the newest event)"),
    budget: float | None = typer.Option(None, "--budget", help="total contact cost allowed (default: targeting.budget)"),
    force: bool = typer.Option(False, "--force", help="publish even if guards fail (recorded in scoring_runs)"),
) -> None:
    """Plan whom to contact with what (uplift x value - cost, under the budget) and publish the plan tags."""
    from siyu.cli._console import cli_console
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.targeting import TargetingError, check_targeting, target
    from siyu.scoring import GuardFailed

    cfg = config_or_exit(config)
    try:
        check_targeting(cfg)  # config problems first, before any model or data is read
    except TargetingError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    console = cli_console()
    try:
        with console.status("planning: features, uplift champion, values, plan, holdout, publish ..."):
            summary = target(cfg, parse_as_of(as_of), budget, force)
    except GuardFailed as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(3) from exc
    except (TagStoreError, ValueError, LookupError, FileNotFoundError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    for guard in summary.guards:
        if guard.status in ("warn", "fail"):
            typer.secho(f"guard {guard.describe()}", fg=typer.colors.YELLOW)
    console.print(_plan_table(summary, cfg.dataset.currency))
    totals = summary.totals
    budget_text = "no budget limit" if totals.get("budget") is None else (
        f"budget {totals['budget']:,.2f}, {totals['budget_used_share']:.1%} planned" if totals.get("budget")
        else "budget 0")
    console.print(f"run {summary.run_id}: {summary.status}; {totals.get('users', 0):,} eligible users, "
                  f"{budget_text}{' (FORCED)' if summary.forced else ''} -> {summary.store_url}")
    if totals.get("upper_bound") is not None:
        console.print(f"expected gain {totals['expected_gain']:,.2f}; no plan within these costs and budget can "
                      f"expect more than {totals['upper_bound']:,.2f} (Lagrangian bound, capacities relaxed)")
    if summary.plan_path is not None:
        console.print(f"plan: {summary.plan_path}")
    if summary.message:
        console.print(summary.message)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("target")(target_cmd)
