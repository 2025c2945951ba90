"""The house rules that keep stages asking each other instead of guessing (issue: tasks and
feature sets as data): edges stay edges, tasks are data, no job imports another."""

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "siyu"


def _sources(exclude: tuple[str, ...] = ()) -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in SRC.rglob("*.py")
            if not any(part in exclude for part in p.relative_to(SRC).parts)]


def test_yaml_is_read_only_in_the_cli():
    bad = [str(p) for p, text in _sources(("cli",)) if re.search(r"^\s*(import yaml|from yaml)", text, re.M)]
    assert bad == []


def test_mlflow_is_imported_only_in_tracking():
    bad = [str(p) for p, text in _sources(("tracking",)) if re.search(r"^\s*(import mlflow|from mlflow)", text, re.M)]
    assert bad == []


def test_no_job_imports_another_job():
    bad = [str(p) for p, text in _sources() if p.parent.name == "jobs" and "from siyu.jobs" in text]
    assert bad == []


def test_no_stage_compares_task_names():
    names = r"(churn|purchase_intent|ltv)"
    pattern = re.compile(rf"""(==|!=)\s*["']{names}["']|["']{names}["']\s*(==|!=)|in \(["']{names}["']""")
    bad = [str(p) for p, text in _sources() if p.name != "config.py" and pattern.search(text)]
    assert bad == []
