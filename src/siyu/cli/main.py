"""`siyu`: the command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from siyu.cli import (
    data_cmds,
    experiment_cmds,
    explain_cmds,
    feature_cmds,
    model_cmds,
    ops_cmds,
    plan_cmds,
    score_cmds,
    synth_cmds,
)

app = typer.Typer(
    name="siyu",
    help="siyu (私域): owned-audience user modeling, from interaction histories to user tags.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (synth_cmds, data_cmds, feature_cmds, model_cmds, score_cmds, explain_cmds, ops_cmds,
                plan_cmds, experiment_cmds):
    _module.register(app)

_OPTUNA_COMMANDS = ("tune",)  # the commands that run an Optuna study


@app.callback()
def _edge(ctx: typer.Context) -> None:
    """Before any command: OpenMP threads wait passively, and library chatter is off unless
    `--debug` (see siyu.cli._quiet), and the cycle collector runs less often."""
    import gc
    import os

    # OpenMP threads that spin while waiting make LightGBM, XGBoost and scikit-learn's K-Means many
    # times slower on a busy machine (`siyu segment` under load: 30 s spinning, 25 s passive); passive
    # waiting costs nothing when idle. Read when OpenMP loads: no command has loaded it yet.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Python's cycle collector ran every 700 allocations by default, walking the young objects of
    # pandas, MLflow and the estimators again and again: 2.6 % of `train`'s CPU in its own code
    # (perf). Every 50,000: `train --task all --model all` on the demo took 8-14 CPU s less (two
    # A/B pairs, load 2-2.6); cyclic garbage waits a little longer to be freed.
    gc.set_threshold(50_000, 20, 20)
    if not (ctx.obj or {}).get("debug"):
        from siyu.cli._quiet import quiet_libraries

        quiet_libraries(optuna=ctx.invoked_subcommand in _OPTUNA_COMMANDS)


def main() -> None:
    """The `siyu` entry point: the app, with an unexpected fault told in one or two lines
    (`--debug` anywhere on the command line shows the traceback instead, and the libraries' chatter)."""
    import sys

    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app(obj={"debug": debug})
    except Exception as exc:  # noqa: BLE001 - the edge: every fault gets a readable line
        if debug:
            raise
        from siyu.cli.faults import describe_fault

        typer.secho(describe_fault(exc), fg=typer.colors.RED, err=True)
        typer.secho("(run again with --debug for the traceback)", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
