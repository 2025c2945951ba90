"""CLI commands: explain (one user's reasons), report (HTML report + model card)."""

from __future__ import annotations

from typing import Annotated

import typer

from siyu.cli._config import config_or_exit

ConfigOpt = Annotated[str, typer.Option("--config", help="project configuration YAML")]
TaskOpt = Annotated[str, typer.Option("--task", help="churn, purchase_intent or ltv")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh or en (default: scoring.lang in the config)")]


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)


KindOpt = Annotated[str, typer.Option("--kind", help="task (a model's report and card) or operations "
                                                   "(retention, funnels, channels, segments; run `siyu analyze` first)")]


def report(task: TaskOpt = "churn", lang: LangOpt = None, config: ConfigOpt = "configs/siyu.yaml",
           kind: KindOpt = "task") -> None:
    """Write a self-contained HTML report under work/reports/: a task's report and model card, or the operations report."""
    cfg = config_or_exit(config)
    if kind == "operations":
        _operations_report(cfg, lang)
        return
    if kind != "task":
        raise _fail(f"--kind {kind!r}: expected 'task' or 'operations'")
    from siyu.cli._console import cli_console
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.reporting import ReportInputsMissing, write_report_files
    from siyu.tracking import NoModelError

    console = cli_console()
    try:
        with console.status(f"building the {task} report (SHAP, plots)..."):
            files = write_report_files(cfg, task, lang)
    except (ReportInputsMissing, NoModelError, TagStoreError, KeyError, ValueError) as exc:
        raise _fail(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from exc
    # paths with typer.echo: rich would wrap them at the terminal width
    typer.echo(f"{task}: {files.users:,} users as of {files.as_of}, model version {files.model_version}")
    typer.echo(f"report:     {files.html}")
    typer.echo(f"model card: {files.model_card_html} (and {files.model_card.name})")


def _operations_report(cfg, lang: str | None) -> None:  # noqa: ANN001 - a SiyuConfig
    """One file per language: both unless --lang picks one."""
    from siyu.jobs.analyze import write_operations_reports

    langs = (lang,) if lang else ("zh", "en")
    try:
        paths = write_operations_reports(cfg, langs)
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    for path in paths:
        typer.echo(f"operations report: {path}")


def explain(user: Annotated[str, typer.Option("--user", help="the user's id")], task: TaskOpt = "churn",
            lang: LangOpt = None, config: ConfigOpt = "configs/siyu.yaml") -> None:
    """Print why one user got their score: the top reasons, in plain words."""
    cfg = config_or_exit(config)
    from siyu.io.tagstore import TagStoreError
    from siyu.jobs.reporting import ReportInputsMissing, explain_user
    from siyu.tracking import NoModelError

    try:
        why = explain_user(cfg, task, user, lang)
    except (ReportInputsMissing, NoModelError, TagStoreError, LookupError, ValueError) as exc:
        raise _fail(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from exc
    head = f"{user} · {task}"
    if why.band is not None:
        head += f" · {why.band} ({why.score:.3f})"
    typer.echo(head)
    if not why.reasons:
        typer.echo("  (nothing pushes this user's score up)")
    for i, reason in enumerate(why.reasons, start=1):
        typer.echo(f"  {i}. {reason}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the `siyu` app."""
    app.command("report")(report)
    app.command("explain")(explain)
