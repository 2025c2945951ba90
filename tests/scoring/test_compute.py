"""Populations: each model scores only the users it was trained on (DESIGN.md tasks)."""

import numpy as np
import pandas as pd
import pytest
from scoring_fixtures import TinyChampion, make_features, train_champions

from siyu.config import DEFAULT_TASKS, ScoringConfig, TaskConfig
from siyu.scoring import score_users, task_populations


def test_churn_population_is_activity_within_the_lookback_and_others_are_everyone():
    features = pd.DataFrame({"user_id": ["a", "b", "c", "d"],
                             "days_since_last_activity": [0.5, 30.0, 30.01, np.nan]})
    masks = task_populations(features, DEFAULT_TASKS, "days_since_last_activity")
    assert masks["churn"].tolist() == [True, True, False, False]
    assert masks["purchase_intent"].all() and masks["ltv"].all()


def test_population_needs_the_activity_recency_feature():
    with pytest.raises(ValueError, match="needs the recency of activity"):
        task_populations(pd.DataFrame({"user_id": ["a"]}),
                         [TaskConfig(name="churn", horizon_days=30, population_lookback_days=30)], None)


def test_users_outside_a_population_get_no_tag_and_bands_use_the_population_only():
    rng = np.random.default_rng(3)
    champions = train_champions(rng)
    features = make_features(400, rng)
    lapsed = np.arange(400) % 4 == 0  # a quarter silent for 40+ days: not in the churn population
    features = features.assign(days_since_last_activity=np.where(lapsed, 45.0, features["days_since_last_activity"]))
    populations = task_populations(features, DEFAULT_TASKS, "days_since_last_activity")
    scored = score_users(features, champions, ScoringConfig(), populations=populations)
    churn = next(c for c in scored.columns if c.tag == "churn_risk")
    assert pd.isna(pd.Series(churn.values)[lapsed]).all()
    assert not pd.isna(pd.Series(churn.values)[~lapsed]).any()
    assert np.isnan(scored.scores["churn"][lapsed]).all()
    expected = champions["churn"].predict_score(features[~lapsed])
    np.testing.assert_allclose(scored.scores["churn"][~lapsed], expected)
    ltv = next(c for c in scored.columns if c.tag == "ltv_tier")
    assert not pd.isna(pd.Series(ltv.values)).any()  # ltv covers every known user


def test_scores_computed_elsewhere_take_the_champions_place_and_keep_the_population():
    """The Spark engine hands in every user's score; the run is the one the champion would give."""
    rng = np.random.default_rng(5)
    champions = train_champions(rng)
    features = make_features(300, rng)
    lapsed = np.arange(300) % 3 == 0
    features = features.assign(days_since_last_activity=np.where(lapsed, 45.0, features["days_since_last_activity"]))
    populations = task_populations(features, DEFAULT_TASKS, "days_since_last_activity")
    own = score_users(features, champions, ScoringConfig(), populations=populations)
    given = {"churn": np.asarray(champions["churn"].predict_score(features), dtype=float)}

    class Unused(TinyChampion):  # the same champion whose predict must not be called
        def predict_score(self, X):
            raise AssertionError("predict called for a task whose scores were given")

    swapped = {**champions, "churn": Unused(**vars(champions["churn"]))}
    other = score_users(features, swapped, ScoringConfig(), populations=populations, scores=given)
    np.testing.assert_array_equal(other.scores["churn"], own.scores["churn"])  # NaN outside the population
    assert np.isnan(other.scores["churn"][lapsed]).all()
    for mine, theirs in zip(other.columns, own.columns, strict=True):
        assert mine.tag == theirs.tag
        assert pd.Series(mine.values).astype(object).tolist() == pd.Series(theirs.values).astype(object).tolist()
    assert [(r.guard, r.status) for r in other.report.results] == [(r.guard, r.status) for r in own.report.results]
