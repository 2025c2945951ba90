"""CLI command of the experiment readouts: experiment (a campaign or a contact plan, after its horizon)."""

from __future__ import annotations

from pathlib import Path

import typer

from siyu.cli._config import config_or_exit

_CONFIG = typer.Option(Path("configs/siyu.yaml"), "--config", help="project YAML")
_SHARES = typer.Option(None, "--expected-share", help="designed share for the SRM check: TREATMENT=SHARE "
                       "(repeat; campaign) or SHARE (a plan's holdout)")

_WORDS = {
    "zh": {"srm": "样本比例检验（SRM）", "passed": "通过", "failed": "未通过：分组比例与设计不符，本报告不可信",
           "skipped": "未做", "vs": "对比", "control": "对照组", "holdout": "留出组", "contacted": "触达组", "metric": "指标", "n": "人数 实验/对照", "means": "对照 → 实验",
           "lift": "绝对提升 [95% 区间]", "relative": "相对提升", "cuped": "CUPED 提升（方差降低）",
           "calibration": "实测增量收入 vs 计划预测", "compliance": "执行率",
           "uplift_cal": "预测提升 vs 实测提升",
           "retention": "留存", "purchase_rate": "购买率", "spend_per_user": "人均净消费"},
    "en": {"srm": "sample ratio mismatch (SRM) check", "passed": "passed",
           "failed": "FAILED: the arms are not split as designed; this readout cannot be trusted",
           "skipped": "skipped", "vs": "vs", "control": "control", "holdout": "holdout", "contacted": "contacted", "metric": "metric", "n": "users t / c", "means": "control → treated",
           "lift": "absolute lift [95% CI]", "relative": "relative", "cuped": "CUPED lift (var. cut)",
           "calibration": "measured incremental revenue vs the plan's prediction", "compliance": "compliance",
           "uplift_cal": "predicted uplift vs measured lift",
           "retention": "retention", "purchase_rate": "purchase rate", "spend_per_user": "net spend / user"},
}


def experiment_cmd(
    campaign: str | None = typer.Option(None, "--campaign", help="a campaign id (see --list), or `latest`: the "
                                        "newest campaign with every metric readable"),
    plan: str | None = typer.Option(None, "--plan", help="a contact plan's run id (work/reports/plans/<run_id>.parquet), "
                                    "or `latest`: the newest plan with a readable window"),
    list_: bool = typer.Option(False, "--list", help="list the campaigns and when each is readable"),
    active_within_days: int | None = typer.Option(None, "--active-within-days", min=1,
                                                  help="campaign population: only users active in the N days "
                                                       "before the cutoff (default: every user joined before it)"),
    expected_share: list[str] | None = _SHARES,
    horizon_days: int | None = typer.Option(None, "--horizon-days", min=1,
                                            help="one horizon for every metric (default: experiments.horizons)"),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: scoring.lang in the config)"),
    config: Path = _CONFIG,
) -> None:
    """Read out a campaign or a contact plan after its horizon: SRM check, lift with intervals, CUPED, by group."""
    from siyu.cli._console import cli_console
    from siyu.jobs.experiment import (
        ExperimentNotFound,
        HorizonNotPassed,
        list_campaigns,
        parse_shares,
        read_campaign,
        read_plan,
    )

    cfg = config_or_exit(config)
    console = cli_console()
    if sum(bool(x) for x in (campaign, plan, list_)) != 1:
        typer.secho("experiment: give exactly one of --campaign C, --plan RUN_ID or --list", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2)
    lang = lang or cfg.scoring.lang
    if lang not in _WORDS:
        raise typer.BadParameter(f"--lang {lang!r}: expected zh or en")
    try:
        if list_:
            _print_campaigns(console, list_campaigns(cfg))
            return
        shares = parse_shares(expected_share or [])
        if campaign is not None:
            if isinstance(shares, float):
                raise ValueError("--expected-share: a campaign takes TREATMENT=SHARE pairs")
            with console.status(f"reading out campaign {campaign} ..."):
                result = read_campaign(cfg, campaign, active_within_days=active_within_days,
                                       expected_shares=shares, horizon_days=horizon_days)
        else:
            if isinstance(shares, dict):
                raise ValueError("--expected-share: a plan takes one SHARE (its holdout share)")
            with console.status(f"reading out plan {plan} ..."):
                result = read_plan(cfg, plan, expected_holdout=shares, horizon_days=horizon_days)
    except HorizonNotPassed as exc:
        typer.secho(str(exc), fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(3) from exc
    except (ValueError, FileNotFoundError, ExperimentNotFound) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    print_readout(console, result.readout.to_dict(), lang)
    console.print(f"-> {result.json_path} , {result.csv_path} ({result.seconds:.1f}s)")


def _print_campaigns(console, frame) -> None:  # noqa: ANN001 - a rich Console, a DataFrame
    from rich.table import Table

    table = Table(title=f"{len(frame)} campaigns")
    for col in ("campaign_id", "cutoff", "users", "treatments", "readable_from"):
        table.add_column(col)
    for row in frame.itertuples():
        table.add_row(str(row.campaign_id), str(row.cutoff)[:10], f"{row.users:,}", ", ".join(row.treatments),
                      str(row.readable_from)[:10])
    console.print(table)


def _num(value: float, binary: bool, signed: bool = False) -> str:
    """Rates in percent (differences in percentage points), money with two decimals."""
    if binary:
        return f"{value * 100:+.1f}pp" if signed else f"{value:.1%}"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _lift_text(lift: dict, binary: bool) -> str:
    low, high = lift["absolute_low"], lift["absolute_high"]
    scale = 100 if binary else 1
    return f"{_num(lift['absolute'], binary, True)} [{low * scale:+,.1f}, {high * scale:+,.1f}]"


def print_readout(console, doc: dict, lang: str) -> None:  # noqa: ANN001 - a rich Console
    """The readout as the terminal shows it: SRM first, then one table per treatment."""
    from rich.table import Table

    from siyu.experiments.outcomes import METRIC_BY_NAME

    w = _WORDS[lang]
    arms = " · ".join(f"{w.get(a, a)} {n:,}" for a, n in doc["arms"].items())
    from siyu.experiments.report import last_data_day

    console.print(f"[bold]{doc['kind']} {doc['source']}[/bold]: cutoff {doc['cutoff']}, data through "
                  f"{last_data_day(doc['data_end'])}; "
                  f"{arms}")
    srm = doc["srm"]
    if srm is None:
        console.print(f"{w['srm']}: [yellow]{w['skipped']}[/yellow] ({doc['srm_skipped']})")
    elif srm["passed"]:
        console.print(f"{w['srm']}: [green]{w['passed']}[/green] (chi2 {srm['chi2']:.2f}, p = {srm['p_value']:.3g})")
    else:
        shares = ", ".join(f"{a} {o:.1%}/{e:.1%}" for a, o, e in
                           zip(srm["arms"], srm["observed_shares"], srm["expected_shares"], strict=True))
        console.print(f"[bold red]{w['srm']}: {w['failed']}[/bold red] (chi2 {srm['chi2']:.1f}, "
                      f"p = {srm['p_value']:.2g}; observed/expected {shares})")
    if not doc["trustworthy"] and srm is None:
        console.print(f"[bold red]{doc['srm_skipped']}[/bold red]")
    for treatment in dict.fromkeys(m["treatment"] for m in doc["metrics"]):
        table = Table(title=f"{treatment} {w['vs']} {w['holdout' if doc['kind'] == 'plan' else 'control']}")
        for key in ("metric", "n", "means", "lift", "relative", "cuped"):
            table.add_column(w[key], justify="left" if key == "metric" else "right")
        for m in (m for m in doc["metrics"] if m["treatment"] == treatment):
            binary = METRIC_BY_NAME[m["metric"]].binary
            name = f"{w[m['metric']]} {m['horizon_days']}d"
            lift, cup = m["lift"], m["cuped"]
            if lift is None:
                table.add_row(name, "-", "-", "-", "-", "-")
                continue
            rel = "-" if lift["relative"] is None else f"{lift['relative']:+.0%}"
            table.add_row(
                name, f"{lift['n_treatment']:,}/{lift['n_control']:,}",
                f"{_num(lift['mean_control'], binary)} → {_num(lift['mean_treatment'], binary)}",
                _lift_text(lift, binary), rel,
                "-" if cup is None else f"{_lift_text(cup['lift'], binary)} ({cup['variance_reduction']:.0%})")
        console.print(table)
    for c in doc["calibration"]:
        ratio = "-" if c["ratio"] is None else f"{c['ratio']:.2f}x"
        console.print(f"{w['calibration']} ({c['treatment']}, {c['horizon_days']}d): {c['measured']:,.0f} "
                      f"[{c['measured_low']:,.0f}, {c['measured_high']:,.0f}] vs {c['predicted_value']:,.0f} ({ratio})")
    for c in doc.get("uplift_calibration") or []:
        binary = METRIC_BY_NAME[c["metric"]].binary
        console.print(f"{w['uplift_cal']} ({c['treatment']}, {w[c['metric']]}): {_num(c['predicted'], binary, True)} vs "
                      f"{_lift_text({'absolute': c['measured'], 'absolute_low': c['measured_low'], 'absolute_high': c['measured_high']}, binary)}")
    if doc["compliance"] is not None and doc["compliance"]["treated_contacted_share"] is not None:
        comp = doc["compliance"]
        console.print(f"{w['compliance']}: {comp['treated_contacted_share']:.1%} treated contacted, "
                      f"{comp['holdout_contacted_share'] or 0:.1%} of the holdout contacted")
    for why in doc["groups_skipped"].values():
        console.print(f"[yellow]note:[/yellow] segment lift skipped: {why}")
    for note in doc["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("experiment")(experiment_cmd)
