"""`siyu`: the command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from siyu.cli import (
    data_cmds,
    explain_cmds,
    feature_cmds,
    model_cmds,
    ops_cmds,
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

for _module in (synth_cmds, data_cmds, feature_cmds, model_cmds, score_cmds, explain_cmds, ops_cmds):
    _module.register(app)


if __name__ == "__main__":
    app()
