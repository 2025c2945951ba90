"""CLI commands of the operations view: analyze, segment."""

from __future__ import annotations

from pathlib import Path

import typer

from siyu.cli._config import config_or_exit, parse_as_of

_CONFIG = typer.Option(Path("configs/siyu.yaml"), "--config", help="project YAML")



def analyze_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="analysis date: events before it count "
                                     "(default: the day after the newest event)"),
) -> None:
    """Retention cohorts, DAU / MAU, lifecycle flows, funnels, commerce and LTV by channel, as of a date."""
    from siyu.cli._console import cli_console
    from siyu.jobs.analyze import run_analysis

    cfg = config_or_exit(config)
    console = cli_console()
    try:
        with console.status("analyzing: acquisition, activity, retention, flows, funnels, commerce, LTV ..."):
            result = run_analysis(cfg, parse_as_of(as_of))
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
    money = (f", GMV {s['currency']}{c['gmv']:,.0f}, AOV {s['currency']}{c['aov'] or 0:,.1f}"
             if "gmv" in c else "")
    console.print(f"  last 30 days: {c.get('orders', 0):,} orders from {c.get('buyers', 0):,} buyers{money}")
    rep = s.get("repurchase", {})
    if rep.get("rate") is not None:
        console.print(f"  repurchase within {rep['days']} d of a first purchase: {_pct(rep['rate'])} "
                      f"of {rep['buyers']:,} buyers")
    if "ltv" in s:
        console.print("  realized LTV: " + " · ".join(f"{k} {s['currency']}{v or 0:,.1f}" for k, v in s["ltv"].items()))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("analyze")(analyze_cmd)
    app.command("segment")(segment_cmd)


def segment_cmd(
    config: Path = _CONFIG,
    as_of: str | None = typer.Option(None, "--as-of", help="features as of this date (default: the day after "
                                     "the newest event)"),
) -> None:
    """Fit K-Means behavioural segments, name them (zh / en), keep the names of the last fit, register the model."""
    from rich.table import Table

    from siyu.cli._console import cli_console
    from siyu.features.specs import SpecError
    from siyu.jobs.segment import fit_segments

    cfg = config_or_exit(config)
    console = cli_console()
    try:
        with console.status("segmenting: features, K-Means over K, names, MLflow ..."):
            result = fit_segments(cfg, parse_as_of(as_of))
    except (ValueError, FileNotFoundError, SpecError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    tried = ", ".join(f"{k}: {s:.3f}" for k, s in result.silhouettes.items())
    console.print(f"K = {result.k} (highest silhouette on a sample; tried {tried})")
    table = Table(title=f"segments as of {result.as_of}")
    for col in ("segment", "名称", "name", "users", "share"):
        table.add_column(col, justify="right" if col in ("users", "share") else "left")
    for row in result.profile.itertuples():
        table.add_row(row.segment, row.name_zh, row.name_en, f"{row.users:,}", f"{row.share:.1%}")
    console.print(table)
    if result.previous_version is not None:
        kept = "-" if result.agreement_with_previous is None else f"{result.agreement_with_previous:.1%}"
        console.print(f"names carried over from version {result.previous_version}; {kept} of users keep their segment")
    console.print(f"registered {result.model_name} version {result.model_version} (champion), run {result.run_id}; "
                  f"profile -> {result.folder / 'segments.csv'} ({result.seconds:.1f}s: "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()) + ")")
