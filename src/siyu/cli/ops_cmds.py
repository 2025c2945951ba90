"""CLI commands of the operations view: analyze."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from siyu.cli._config import config_or_exit

_CONFIG = typer.Option(Path("configs/siyu.yaml"), "--config", help="project YAML")


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {text!r}: expected a date like 2026-03-02") from exc


def analyze_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="analysis date: events before it count "
                                     "(default: the day after the newest event)"),
) -> None:
    """Retention cohorts, DAU / MAU, lifecycle flows, funnels, commerce and LTV by channel, as of a date."""
    from rich.console import Console

    from siyu.jobs.analyze import run_analysis

    cfg = config_or_exit(config)
    console = Console()
    try:
        with console.status("analyzing: acquisition, activity, retention, flows, funnels, commerce, LTV ..."):
            result = run_analysis(cfg, _parse_date(as_of))
    except (ValueError, FileNotFoundError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    _print_summary(console, result.summary)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
    console.print(f"{len(result.tables)} tables -> {result.folder} ({result.seconds:.1f}s)")


def _print_summary(console, s: dict) -> None:  # noqa: ANN001 - a rich Console
    console.print(f"[bold]operations as of {s['as_of']}[/bold]: {s['users']:,} users, {s['events']:,} events "
                  f"since {s['first_day']}; {s['new_users_30d']:,} new in the last 30 days")
    if "activity" in s:
        a = s["activity"]
        console.print(f"  DAU {a['dau']:,} · WAU {a['wau']:,} · MAU {a['mau']:,} · stickiness "
                      f"{_pct(a['stickiness_30d_mean'])} (30-day mean)")
    for basis, rates in s.get("retention", {}).items():
        console.print(f"  retention on {basis} ({s['retention_mode']}): "
                      + " · ".join(f"{k.upper()} {_pct(v)}" for k, v in rates.items()))
    for name, f in s.get("funnels", {}).items():
        console.print(f"  funnel {name}: {f['entered']:,} entered, {f['completed']:,} completed ({_pct(f['conversion'])})")
    c = s.get("commerce_30d", {})
    money = (f", GMV {c['gmv']:,.0f} {s['currency']}, AOV {c['aov'] or 0:,.1f} {s['currency']}"
             if "gmv" in c else "")
    console.print(f"  last 30 days: {c.get('orders', 0):,} orders from {c.get('buyers', 0):,} buyers{money}")
    rep = s.get("repurchase", {})
    if rep.get("rate") is not None:
        console.print(f"  repurchase within {rep['days']} d of a first purchase: {_pct(rep['rate'])} "
                      f"of {rep['buyers']:,} buyers")
    if "ltv" in s:
        console.print("  realized LTV: " + " · ".join(f"{k} {v or 0:,.1f} {s['currency']}" for k, v in s["ltv"].items()))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("analyze")(analyze_cmd)
