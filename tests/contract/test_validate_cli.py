"""`siyu validate` through typer's CliRunner: exit codes, the printed report, the files."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from contract_world import GOOD_CSV_LINES, GOOD_EVENTS, csv_config, world_config
from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner(env={"COLUMNS": "200"})


def _write_config(tmp_path: Path, cfg) -> Path:
    path = tmp_path / "siyu.yaml"
    data = {"dataset": cfg.dataset.model_dump(mode="json"), "paths": cfg.paths.model_dump(mode="json"),
            "memory_limit": cfg.memory_limit, "threads": cfg.threads}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_validate_prints_the_report_and_writes_files(tmp_path: Path) -> None:
    events = [*GOOD_EVENTS, ("e9", "u1", "2025-01-11 10:00:00", "teleport", "app", None, None, None, None, None)]
    path = _write_config(tmp_path, world_config(tmp_path, events))
    result = runner.invoke(app, ["validate", "--config", str(path), "--as-of", "2025-03-01"])
    assert result.exit_code == 0, result.output
    assert "passed" in result.output and "6 rows in, 6 clean, 0 rejected" in result.output
    assert "unknown_event_type" in result.output and "'teleport'" in result.output
    report = json.loads((tmp_path / "work" / "reports" / "validation.json").read_text(encoding="utf-8"))
    assert report["status"] == "passed" and report["as_of"] == "2025-03-01 00:00:00"
    assert report["events"]["rows_clean"] == 6 and report["users"]["rows_clean"] == 3
    assert "张三" not in json.dumps(report, ensure_ascii=False)  # PII never in reports
    assert (tmp_path / "work" / "clean" / "users.parquet").exists()


def test_validate_defaults_as_of_to_now(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,u1,2999-01-01 00:00:00,msg_open,group,,,,,"]
    path = _write_config(tmp_path, csv_config(tmp_path, lines, max_reject_rate=1.0))
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "work" / "reports" / "validation.json").read_text(encoding="utf-8"))
    rule = next(r for r in report["events"]["outcomes"] if r["rule"] == "ts_after_as_of")
    assert rule["count"] == 1 and report["as_of"] is not None


def test_validate_exits_1_past_the_reject_threshold(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,u1,2024-13-01,msg_open,group,,,,,"]
    path = _write_config(tmp_path, csv_config(tmp_path, lines))
    result = runner.invoke(app, ["validate", "--config", str(path), "--as-of", "2025-03-01"])
    assert result.exit_code == 1
    assert "validation failed: events reject rate 16.67% is above max_reject_rate 1.00%" in result.output
    assert "'2024-13-01'" in result.output
    assert (tmp_path / "work" / "rejects" / "events.parquet").exists()


def test_validate_missing_column_exits_1_with_the_column(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    ds = cfg.dataset.model_copy(update={"columns": cfg.dataset.columns.model_copy(update={"user_id": "customer"})})
    path = _write_config(tmp_path, cfg.model_copy(update={"dataset": ds}))
    result = runner.invoke(app, ["validate", "--config", str(path), "--as-of", "2025-03-01"])
    assert result.exit_code == 1
    assert "user_id: required column 'customer' not in the source" in result.output


def test_validate_bad_as_of_and_bad_config_exit_2(tmp_path: Path) -> None:
    path = _write_config(tmp_path, world_config(tmp_path, GOOD_EVENTS))
    result = runner.invoke(app, ["validate", "--config", str(path), "--as-of", "next tuesday"])
    assert result.exit_code == 2 and "--as-of: expected an ISO date" in result.output
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output
