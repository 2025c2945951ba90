"""`siyu score --json` and `--quiet` for the scheduled job, through typer's CliRunner on the tiny
scoring world of `scoring_fixtures` (a real DuckDB tag store, tiny real champions): stdout carries one
JSON object (or one line) and nothing else, on success and on failure, with the usual exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from scoring_fixtures import make_features, score_cli_project
from typer.testing import CliRunner

import siyu.jobs.scoring as scoring_job
from siyu.cli.main import app
from siyu.cli.score_cmds import _RECORD_KEYS, _summary_record
from siyu.io.tagstore import open_tag_store


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A config whose tag store lives in tmp_path, the job wired to tiny champions, and rich told
    it writes to a colour terminal: nothing of a spinner or a table may reach stdout anyway."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    return score_cli_project(tmp_path, monkeypatch)


def _score(path: Path, *flags: str):  # noqa: ANN202 - a click Result
    return CliRunner().invoke(app, ["score", "--config", str(path), *flags])


def _one_object(stdout: str) -> dict:
    """stdout must be exactly one JSON object on one line."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    record = json.loads(lines[0])
    assert list(record) == list(_RECORD_KEYS)
    return record


def test_json_prints_one_object_for_published_then_unchanged(project):
    path, _, _ = project
    first = _score(path, "--as-of", "2026-03-02", "--json")
    assert first.exit_code == 0, first.output
    record = _one_object(first.stdout)
    assert record["ok"] is True and record["exit_code"] == 0 and record["status"] == "published"
    assert record["as_of"] == "2026-03-02" and record["users"] == 150 and record["tag_rows"] > 150
    assert record["forced"] is False and record["error"] is None
    assert record["store_url"].startswith("duckdb:///") and record["store_url"].endswith("tags.duckdb")
    assert sum(record["counts"]["churn_risk"].values()) == 150
    assert record["model_versions"]["churn"]["version"] == "1"
    assert {g["guard"] for g in record["guards"]} >= {"min_users"}
    assert record["timings"]["features"] >= 0 and "write" in record["timings"]
    store = open_tag_store(yaml.safe_load(path.read_text())["scoring"]["tag_store_url"])
    assert store.current_run().run_id == record["run_id"]
    store.close()

    again = _score(path, "--as-of", "2026-03-02", "--json")
    assert again.exit_code == 0, again.output
    unchanged = _one_object(again.stdout)
    assert unchanged["status"] == "unchanged" and unchanged["tag_rows"] == 0
    assert unchanged["previous_run_id"] == record["run_id"] and "already published" in unchanged["message"]


def test_json_on_a_failed_guard_exits_3_with_the_guards_and_the_error(project):
    path, state, rng = project
    state["features"] = make_features(30, rng).drop(columns=["spend_sum_90d"])
    blocked = _score(path, "--as-of", "2026-03-09", "--json")
    assert blocked.exit_code == 3
    record = _one_object(blocked.stdout)
    assert record["ok"] is False and record["exit_code"] == 3 and record["status"] == "blocked"
    assert record["run_id"] and record["run_id"] in record["error"] and "nothing published" in record["error"]
    assert any(g["status"] == "fail" and "spend_sum_90d (missing)" in g["offenders"] for g in record["guards"])
    assert "spend_sum_90d (missing)" in blocked.stderr  # the message a person reads is still on stderr


def test_json_when_the_store_is_locked_or_the_input_is_bad_exits_2(project):
    path, state, rng = project
    url = yaml.safe_load(path.read_text())["scoring"]["tag_store_url"]
    holder = open_tag_store(url)
    holder.acquire_lock("other-run", dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 1, 30))
    try:
        locked = _score(path, "--as-of", "2026-03-02", "--json")
    finally:
        holder.release_lock("other-run")
        holder.close()
    assert locked.exit_code == 2
    record = _one_object(locked.stdout)
    assert record["status"] == "failed" and "locked by scoring run other-run" in record["error"]
    assert record["as_of"] == "2026-03-02" and record["users"] is None

    bad_date = _score(path, "--as-of", "March", "--json")
    assert bad_date.exit_code == 2 and "expected a date like" in _one_object(bad_date.stdout)["error"]
    bad_config = CliRunner().invoke(app, ["score", "--config", str(path.parent / "nope.yaml"), "--json"])
    assert bad_config.exit_code == 2 and "not found" in _one_object(bad_config.stdout)["error"]


def test_json_on_an_unexpected_fault_still_prints_one_object(project, monkeypatch):
    path, _, _ = project

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", "/work/tags.duckdb")

    monkeypatch.setattr(scoring_job, "publish_once", broken)
    result = _score(path, "--as-of", "2026-03-02", "--json")
    assert result.exit_code == 1 and isinstance(result.exception, OSError)  # `siyu` itself prints the fault
    record = _one_object(result.stdout)
    assert record["exit_code"] == 1 and record["error"].startswith("disk full")


def test_quiet_prints_one_line_and_nothing_on_failure(project):
    path, state, rng = project
    quiet = _score(path, "--as-of", "2026-03-02", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    (line,) = quiet.stdout.splitlines()
    assert line.startswith("run ") and ": published; 150 users" in line and "\x1b" not in line
    state["features"] = make_features(30, rng).drop(columns=["spend_sum_90d"])
    blocked = _score(path, "--as-of", "2026-03-09", "-q")
    assert blocked.exit_code == 3 and blocked.stdout == "" and "spend_sum_90d (missing)" in blocked.stderr


def test_the_json_record_masks_the_store_password():
    summary = scoring_job.ScoringRunSummary(
        "r1", dt.date(2026, 3, 2), "published", 2, 4, {"churn_risk": {"high": 1, "low": 1}}, {}, (),
        {"features": 0.25}, False, None, "postgresql+psycopg://siyu:s3cret@db:5432/tags")
    record = _summary_record(summary)
    assert record["store_url"] == "postgresql+psycopg://siyu:***@db:5432/tags"
    assert "s3cret" not in json.dumps(record)
