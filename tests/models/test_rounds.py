"""Boosting rounds counted while boosters fit (`siyu.models.rounds`): every booster of a model
reports, its members fitted side by side in other threads too, and counting changes no output."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from siyu.models import (
    LightGBMClassifier,
    LightGBMRegressor,
    TwoPartLTV,
    XGBoostClassifier,
    XGBoostRegressor,
)
from siyu.models.rounds import RoundCounter, booster_rounds, counting_rounds
from siyu.uplift.models import TLearner

MODELS = {
    "lightgbm": (LightGBMClassifier, "churn"),
    "xgboost": (XGBoostClassifier, "churn"),
    "lightgbm_ltv": (LightGBMRegressor, "ltv"),
    "xgboost_ltv": (XGBoostRegressor, "ltv"),
    "twopart": (TwoPartLTV, "ltv"),
}


class _Seen(RoundCounter):
    """A counter that also keeps every round each booster reported, and from which thread."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: dict[int, list[int]] = {}
        self.threads: set[str] = set()

    def tick(self, booster, round_: int) -> None:  # noqa: ANN001
        self.rounds.setdefault(id(booster), []).append(round_)
        self.threads.add(threading.current_thread().name)
        super().tick(booster, round_)


def _fit(cls, data, **params):  # noqa: ANN001, ANN202
    (X, y), (Xv, yv) = data["train"], data["valid"]
    return cls(n_estimators=60, n_jobs=1, **params).fit(X, y, X_valid=Xv, y_valid=yv)


@pytest.mark.parametrize("name", list(MODELS))
def test_counting_rounds_changes_no_prediction_and_sees_every_round(name, toy_data):
    cls, task = MODELS[name]
    X_test = toy_data[task]["test"][0]
    plain = _fit(cls, toy_data[task]).predict_score(X_test)
    seen = _Seen()
    with counting_rounds(seen):
        counted = _fit(cls, toy_data[task])
    np.testing.assert_array_equal(counted.predict_score(X_test), plain)  # bit for bit
    boosters = 4 if name == "twopart" else 2  # fit + refit (of each part)
    assert seen.boosters == boosters and len(seen.rounds) == boosters
    for rounds in seen.rounds.values():
        assert rounds == list(range(1, len(rounds) + 1))  # one tick per round, in order
    refit = counted.buy_model_ if name == "twopart" else counted
    assert max(len(r) for r in seen.rounds.values()) <= 60
    assert refit.best_iteration_ in [len(r) for r in seen.rounds.values()]  # the refit runs exactly those
    assert seen.text() == ""  # nothing training any more


def test_without_a_counter_no_callback_is_added():
    with booster_rounds(10) as at_round:
        assert at_round is None


def test_members_fitted_side_by_side_report_from_their_threads(toy_data):
    (X, y), (Xv, yv) = toy_data["churn"]["train"], toy_data["churn"]["valid"]
    rng = np.random.default_rng(0)
    t, tv = rng.choice(["control", "message"], len(X)), rng.choice(["control", "message"], len(Xv))
    seen = _Seen()
    with counting_rounds(seen):
        TLearner(n_estimators=40, min_child_samples=20, n_jobs=2).fit(X, y, treatment=t, X_valid=Xv, y_valid=yv,
                                                                      treatment_valid=tv)
    assert seen.boosters == 4  # control and treated outcome models, fitted then refitted
    assert all(name.startswith("siyu-member") for name in seen.threads)


def test_the_text_says_each_running_booster_and_the_refit_total():
    counter = RoundCounter()
    assert counter.text() == ""
    first = counter.start(1000)
    assert counter.text() == "starting"
    counter.tick(first, 140)
    assert counter.text() == "round 140"
    first.done = True
    refit = counter.start(90, refit=True)
    assert counter.text() == "refit starting"
    counter.tick(refit, 30)
    assert counter.text() == "refit round 30 of 90"
    refit.done = True
    two = RoundCounter()
    a, b = two.start(400), two.start(400)
    two.tick(a, 50)
    two.tick(b, 12)
    assert two.text() == "booster 1 round 50, booster 2 round 12"
    a.done = True
    two.forget_done()
    assert two.boosters == 1 and two.text() == "round 12"  # the next fit's boosters are numbered afresh


def test_the_display_is_told_at_most_once_per_interval():
    calls = []
    counter = RoundCounter(lambda: calls.append(1), every_s=3600)
    booster = counter.start(1000)
    for r in range(1, 1001):
        counter.tick(booster, r)
    assert len(calls) == 1 and booster.round == 1000
