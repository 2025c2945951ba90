"""In a log (stdout not a terminal), a command's lines stay whole and its tables uncut."""

from __future__ import annotations

import re

from rich.table import Table

from siyu.cli._console import LOG_WIDTH, cli_console


def test_a_log_keeps_long_lines_and_wide_tables_whole(monkeypatch, capsys):
    monkeypatch.delenv("COLUMNS", raising=False)
    console = cli_console()
    assert not console.is_terminal and console.width == LOG_WIDTH
    line = "guard feature_drift[churn]: WARN " + "days_since_last_group_contact=2.959, " * 8
    console.print(line, markup=False)
    table = Table("model", *(f"valid_metric_{i}" for i in range(10)))
    table.add_row("lightgbm", *("0.8368" for _ in range(10)))
    console.print(table)
    out = capsys.readouterr().out.splitlines()
    assert out[0].rstrip() == line.rstrip()  # one line, not wrapped at 80 columns
    assert any("valid_metric_9" in row for row in out)  # no header cut to "valid_me…"
    assert "…" not in "".join(out)


def test_columns_set_by_the_user_win_and_min_width_widens(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert cli_console().width == 100
    assert cli_console(min_width=120).width == 120


def test_lines_stay_whole_in_a_log_even_when_the_environment_forces_a_terminal(monkeypatch, capsys):
    # CI systems set FORCE_COLOR / TTY_COMPATIBLE for colour, and COLUMNS: rich then treats the pipe
    # as an 80-column terminal and breaks every longer line
    for name, value in (("FORCE_COLOR", "1"), ("TTY_COMPATIBLE", "1"), ("COLUMNS", "80")):
        monkeypatch.setenv(name, value)
    line = "  churn xgboost: v2  valid_auc=0.7792  test_auc=0.7867 [0.7275, 0.8456]  fit 0.1s" + " x" * 20
    cli_console().print(line, markup=False)
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # colour stays: FORCE_COLOR asked for it
    assert out.rstrip("\n").splitlines() == [line]
