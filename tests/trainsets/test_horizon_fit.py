"""Horizon-honest training sets: a horizon that leaves fewer training cutoffs than asked for is
named in one line with the history and the fixes; one that leaves none (where a shorter one
would) is refused; the fix it offers is the longest horizon that does fit."""

from __future__ import annotations

import json
from datetime import date

import pytest

from siyu.config import TaskConfig, TrainsetConfig
from siyu.jobs.trainsets import build_trainset
from siyu.trainsets import HorizonTooLong, check_horizon, horizon_fit

START, END = date(2024, 1, 1), date(2024, 10, 1)  # nine months of orders
WEEKLY = TrainsetConfig(step_days=7, n_train_cutoffs=8, n_valid_cutoffs=2, n_test_cutoffs=3)


def _task(days: int, label: str = "any_purchase") -> TaskConfig:
    return TaskConfig(name="purchase_intent" if label == "any_purchase" else "ltv", horizon_days=days, label=label)


def test_a_horizon_that_leaves_the_cutoffs_asked_for_says_nothing():
    fit = horizon_fit(_task(28), START, END, WEEKLY)
    assert fit.train_cutoffs == 8 and not fit.short and check_horizon(fit) is None


def test_a_long_horizon_is_named_with_the_history_the_cutoffs_and_the_fix():
    fit = horizon_fit(_task(63), START, END, WEEKLY)
    assert 0 < fit.train_cutoffs < 8
    message = check_horizon(fit)
    assert "\n" not in message
    assert message.startswith(f"purchase_intent: the 63-day horizon leaves {fit.train_cutoffs} of the 8 training "
                              "cutoffs asked for (history 274 days, 2024-01-01..2024-10-01")
    fix = fit.longest_fitting_days
    assert f"set tasks[purchase_intent].horizon_days to {fix} or less (8 training cutoffs fit)" in message
    assert f"(1 - (1 - p)^(63/{fix})" in message and "label: net_spend" in message
    # accepting fewer is the task's own setting: the global one would shrink every other task too
    assert f"tasks[purchase_intent].n_train_cutoffs: {fit.train_cutoffs}" in message
    # the fix is the longest horizon that works: it leaves the 8 cutoffs, one day more does not
    assert not horizon_fit(_task(fix), START, END, WEEKLY).short
    assert horizon_fit(_task(fix + 1), START, END, WEEKLY).short


def test_an_amount_task_is_told_to_read_the_shorter_window_as_a_rate():
    message = horizon_fit(_task(90, "net_spend"), START, END, WEEKLY).message()
    assert "set tasks[ltv].horizon_days to" in message and "read its amount as a rate, × 90/" in message
    assert "net_spend)" not in message  # already an amount: no count / rate target to switch to


@pytest.mark.parametrize("days", [120, 273, 400])
def test_a_horizon_that_leaves_no_training_cutoff_is_refused(days):
    longer = r" \(longer than the 274-day history itself\)" if days >= 274 else ""
    with pytest.raises(HorizonTooLong, match=rf"the {days}-day horizon{longer} leaves 0 of the 8 training cutoffs .*"
                                             r"horizon_days to \d+ or less"):
        check_horizon(horizon_fit(_task(days), START, END, WEEKLY))


def test_when_no_horizon_would_fit_the_split_speaks_for_itself():
    crowded = WEEKLY.model_copy(update={"n_valid_cutoffs": 40})  # the split, not the horizon, is too big
    fit = horizon_fit(_task(28), START, END, crowded)
    assert fit.train_cutoffs == 0 and fit.longest_fitting_days is None and check_horizon(fit) is None


def test_a_task_that_accepts_fewer_training_cutoffs_is_not_warned_and_the_others_keep_theirs():
    few = horizon_fit(_task(63), START, END, WEEKLY).train_cutoffs
    task = _task(63).model_copy(update={"n_train_cutoffs": few})
    assert check_horizon(horizon_fit(task, START, END, WEEKLY)) is None
    assert WEEKLY.for_task(task).n_train_cutoffs == few and WEEKLY.for_task(_task(28)) is WEEKLY


def test_the_trainset_build_warns_in_its_manifest_and_refuses_a_horizon_too_long(project):
    # the tiny project: 2024-03-08 .. 2025-06-30 on 14-day steps, 1 valid and 1 test cutoff
    greedy = project.model_copy(update={"trainset": project.trainset.model_copy(update={"n_train_cutoffs": 40})})
    summary = build_trainset(greedy, "churn")
    manifest = json.loads((summary.path / "manifest.json").read_text(encoding="utf-8"))
    have = len(summary.cutoffs["train"])
    assert 0 < have < 40 and summary.warnings == tuple(manifest["warnings"]) and len(manifest["warnings"]) == 1
    assert manifest["warnings"][0].startswith(f"churn: the 30-day horizon leaves {have} of the 40 training cutoffs "
                                              "asked for (history 480 days, 2024-03-08..2025-07-01")
    accepted = greedy.model_copy(update={"tasks": (TaskConfig(name="churn", horizon_days=30, n_train_cutoffs=2),)})
    took = build_trainset(accepted, "churn")
    assert took.warnings == () and took.cutoffs["train"] == summary.cutoffs["train"][-2:]
    fine = build_trainset(project, "churn")
    assert fine.warnings == () and json.loads((fine.path / "manifest.json").read_text())["warnings"] == []
    too_long = project.model_copy(update={"tasks": (TaskConfig(name="churn", horizon_days=300),)})
    with pytest.raises(HorizonTooLong, match=r"churn: the 300-day horizon leaves 0 of the 3 training cutoffs .*"
                                             r"set tasks\[churn\]\.horizon_days to \d+ or less"):
        build_trainset(too_long, "churn")
