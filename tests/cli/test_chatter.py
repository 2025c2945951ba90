"""Library chatter stays off the terminal: `siyu tune` and `siyu train` run as a person runs them
(a separate process, the real entry point, stderr captured) print siyu's lines and nothing of
Optuna's INFO log, deprecation warnings, MLflow's log lines or tqdm bars; `--debug` lets it through."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from toy_project import write_toy_project

import siyu

CHATTER = [
    re.compile(r"^\[[IWD] \d{4}-\d\d-\d\d", re.M),  # Optuna's log lines ("[I 2026-... ] Trial 0 finished")
    re.compile(r"(Future|Deprecation|PendingDeprecation)Warning"),
    re.compile(r"\b(INFO|WARNING) mlflow"),  # MLflow's log format
    re.compile(r"\d+it/s\]|\|[#█ ]+\|"),  # tqdm bars
    re.compile(r"Successfully registered model|Created version"),  # MLflow registry messages
]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_toy_project(tmp_path_factory.mktemp("chatter"))


def _siyu(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    src = str(Path(siyu.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONWARNINGS"] = "default"  # every warning would show once: only the CLI's own filters hide them
    return subprocess.run([sys.executable, "-m", "siyu.cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def _chatter(text: str) -> list[str]:
    return [m.group(0) for pattern in CHATTER for m in pattern.finditer(text)]


def test_tune_and_train_print_no_library_chatter(project):
    tuned = _siyu("tune", "--task", "churn", "--model", "lightgbm", "--n-trials", "2", "--config", str(project))
    assert tuned.returncode == 0, tuned.stderr
    assert "best valid_auc=" in tuned.stdout
    assert _chatter(tuned.stdout + tuned.stderr) == [], tuned.stderr
    trained = _siyu("train", "--task", "churn", "--model", "xgboost", "--config", str(project))
    assert trained.returncode == 0, trained.stderr
    assert "challenger is v" in trained.stdout
    # a model's line stays one line in a log (stdout is not a terminal here): grep-able by the scheduled job
    assert re.search(r"^  churn xgboost: v\d+  valid_auc=\S+  test_auc=\S+ \[\S+, \S+\]  fit \d+\.\ds$",
                     trained.stdout, re.M), (trained.stdout, {k: os.environ.get(k) for k in ("COLUMNS", "FORCE_COLOR",
                                                                                     "TTY_COMPATIBLE", "TERM")})
    assert _chatter(trained.stdout + trained.stderr) == [], trained.stderr


def test_debug_lets_the_chatter_through(project):
    """The check above can see chatter: with --debug the libraries speak as they would."""
    tuned = _siyu("tune", "--task", "churn", "--model", "lightgbm", "--n-trials", "1", "--config", str(project),
                  "--debug")
    assert tuned.returncode == 0, tuned.stderr
    assert any("Trial 0 finished" in line for line in _chatter(tuned.stderr) + tuned.stderr.splitlines())
    assert "FutureWarning" in tuned.stderr
