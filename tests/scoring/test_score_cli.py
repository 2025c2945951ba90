"""`siyu score` and `siyu tags ...` through typer's CliRunner, on a real DuckDB tag store."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from scoring_fixtures import make_features, score_cli_project
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.io.tagstore import open_tag_store


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A config file whose store lives in tmp_path, and the job wired to tiny champions."""
    monkeypatch.setenv("COLUMNS", "250")  # rich tables wide enough to read in the output
    return score_cli_project(tmp_path, monkeypatch)


def test_score_prints_the_tag_distribution_then_export_show_and_rollback(project):
    path, state, rng = project
    runner = CliRunner()
    first = runner.invoke(app, ["score", "--config", str(path), "--as-of", "2026-03-02"], terminal_width=160)
    assert first.exit_code == 0, first.output
    assert "tags at as-of 2026-03-02" in first.output and "churn_risk" in first.output
    assert "published; 150 users" in first.output
    again = runner.invoke(app, ["score", "--config", str(path), "--as-of", "2026-03-02"])
    assert again.exit_code == 0 and "unchanged" in again.output

    default = runner.invoke(app, ["score", "--config", str(path)], terminal_width=160)
    assert default.exit_code == 0, default.output  # the day after the newest event (2026-03-01 18:30) ...
    assert "as-of 2026-03-02 with these champion versions is already published" in default.output  # ... done
    state["features"] = make_features(150, rng, shift=0.5)
    second = runner.invoke(app, ["score", "--config", str(path), "--as-of", "2026-03-09"], terminal_width=160)
    assert second.exit_code == 0 and "published; 150 users" in second.output

    shown = runner.invoke(app, ["tags", "show", "--config", str(path)], terminal_width=160)
    assert shown.exit_code == 0 and "current tags" in shown.output

    exported = runner.invoke(app, ["tags", "export", "--config", str(path), "--format", "parquet"])
    assert exported.exit_code == 0 and exported.output.strip().endswith(".parquet")
    changes = runner.invoke(app, ["tags", "export", "--config", str(path), "--changes-only"])
    assert changes.exit_code == 0, changes.output

    runs = runner.invoke(app, ["tags", "runs", "--config", str(path)], terminal_width=250)
    assert runs.exit_code == 0 and runs.output.count("│ published ") == 2 and "unchanged" in runs.output
    store = open_tag_store(yaml.safe_load(path.read_text())["scoring"]["tag_store_url"])
    run_ids = [r.run_id for r in store.published_runs()]
    store.close()
    back = runner.invoke(app, ["tags", "rollback", "--config", str(path), "--run", run_ids[0]])
    assert back.exit_code == 0 and f"current tags now come from run {run_ids[1]}" in back.output


def test_cli_errors_are_clear(project, tmp_path):
    path, state, rng = project
    runner = CliRunner()
    bad_date = runner.invoke(app, ["score", "--config", str(path), "--as-of", "March"])
    assert bad_date.exit_code != 0 and "expected a date like 2026-03-02" in bad_date.output
    nothing = runner.invoke(app, ["tags", "export", "--config", str(path)])
    assert nothing.exit_code == 2 and "no published scoring run" in nothing.output
    unknown = runner.invoke(app, ["tags", "rollback", "--config", str(path), "--run", "nope"])
    assert unknown.exit_code == 2 and "no scoring run 'nope'" in unknown.output
    state["features"] = make_features(30, rng).drop(columns=["spend_sum_90d"])
    blocked = runner.invoke(app, ["score", "--config", str(path), "--as-of", str(dt.date(2026, 3, 9))])
    assert blocked.exit_code == 3 and "spend_sum_90d (missing)" in blocked.output


def test_score_names_the_engines_when_given_another(project):
    path, _, _ = project
    result = CliRunner().invoke(app, ["score", "--config", str(path), "--engine", "hadoop"])
    assert result.exit_code == 2
    assert "embedded, spark" in result.output and "'hadoop'" in result.output
