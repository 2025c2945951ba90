"""`siyu generate` through typer's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner()


def test_generate_writes_a_world_and_prints_a_summary(tmp_path):
    out = tmp_path / "world"
    result = runner.invoke(app, ["generate", "--users", "200", "--days", "45", "--seed", "3", "--out", str(out),
                                 "--start", "2025-03-03"])
    assert result.exit_code == 0, result.output
    world = json.loads((out / "world.json").read_text(encoding="utf-8"))
    assert world["start"] == "2025-03-03" and world["users"] == 200
    assert f"{world['events']:,} events" in result.output
    assert "truth:" in result.output
    assert len(pd.read_parquet(out / "truth" / "truth.parquet")) == world["truth_rows"]


def test_generate_without_truth(tmp_path):
    result = runner.invoke(app, ["generate", "--users", "50", "--days", "20", "--out", str(tmp_path), "--no-truth"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "truth" / "truth.parquet").exists()
    assert json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))["truth_rows"] is None


def test_generate_out_defaults_to_the_configured_world(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "siyu.yaml").write_text(
        "dataset:\n  name: t\n  events: {path: x}\n  roles: {purchase: [purchase]}\npaths:\n  world: here/world\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["generate", "--users", "20", "--days", "10"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "here" / "world" / "world.json").exists()


def test_bad_start_date_is_explained(tmp_path):
    result = runner.invoke(app, ["generate", "--users", "10", "--days", "5", "--out", str(tmp_path), "--start", "2025-13-01"])
    assert result.exit_code == 2
    assert "expected a date like 2025-01-06" in result.output


def test_users_must_be_positive(tmp_path):
    result = runner.invoke(app, ["generate", "--users", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--users" in result.output
