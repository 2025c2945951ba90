"""K-Means segments: K chosen by the stated criterion, names from centroids by rules, and names
that stay put when the model is refitted (carried over by matching centroids, not recomputed)."""

import numpy as np
import pytest

from siyu.segments import NamingRule, SegmentModel, agreement, segment_features
from siyu.segments.naming import NAMES, rule_key


def _fit(X, parts, previous=None, **kw):
    params = {"k_min": 4, "k_max": 6, "silhouette_sample": 800, "n_init": 2, "random_state": 0, **kw}
    return SegmentModel(parts, **params).fit(X, previous=previous)


def test_k_is_the_one_with_the_highest_silhouette(frames):
    _, parts, X, _ = frames
    model = _fit(X, parts)
    assert set(model.silhouettes_) == {4, 5, 6}
    assert model.silhouettes_[model.k_] == max(model.silhouettes_.values())
    assert len(set(model.keys_)) == model.k_ and model.sizes_.sum() == len(X)
    labels = model.predict(X)
    assert set(labels) <= set(model.keys_)
    profile = model.profile()
    assert list(profile["users"]) == sorted(profile["users"], reverse=True)
    assert profile["name_zh"].map(lambda s: s.split(" ")[0]).isin([zh for zh, _ in NAMES.values()]).all()


def test_a_refit_keeps_the_names(frames):
    """Fit a week later with other thresholds (the rules alone would rename the segments) and
    another seed: each segment keeps the name of the previous segment its centroid matches."""
    _, parts, X, X_later = frames
    first = _fit(X, parts, k_min=5, k_max=5)
    odd = NamingRule(high=0.99, middle=0.98, active_days=1, churned_days=2)
    renamed = _fit(X_later, parts, k_min=5, k_max=5, random_state=3, naming=odd)
    refit = _fit(X_later, parts, previous=first, k_min=5, k_max=5, random_state=3, naming=odd)
    assert set(renamed.keys_) != set(first.keys_)  # the rules alone would rename
    assert set(refit.keys_) == set(first.keys_)
    assert agreement(first.predict(X_later), refit.predict(X_later)) > 0.9
    assert agreement(first.predict(X_later), renamed.predict(X_later)) < 0.5


def test_a_changed_feature_list_is_named_afresh(frames):
    _, parts, X, _ = frames
    first = _fit(X, parts)
    fewer = X.drop(columns=[X.columns[-1]])
    second = _fit(fewer, {p: c for p, c in parts.items() if c in fewer.columns}, previous=first)
    assert second.feature_names_ == list(fewer.columns)


def test_rules_read_recency_value_tenure_and_trend():
    rule = NamingRule()
    assert rule_key({"recency": 120}, {"monetary": 0.9}, rule) == "high_value_lost"
    assert rule_key({"recency": 120}, {"monetary": 0.2}, rule) == "low_value_silent"
    assert rule_key({"recency": 45}, {"monetary": 0.9}, rule) == "high_value_at_risk"
    assert rule_key({"recency": 2, "tenure": 10}, {"monetary": 0.1}, rule) == "new_joiner"
    assert rule_key({"recency": 2, "tenure": 200}, {"monetary": 0.8}, rule) == "high_value_loyal"
    assert rule_key({"recency": 2, "tenure": 200, "trend": 2.0}, {"monetary": 0.5}, rule) == "growing_potential"
    assert rule_key({"recency": 2, "tenure": 200}, {"monetary": 0.1, "engagement": 0.9}, rule) == "engaged_non_buyer"


def test_default_features_are_asked_of_the_feature_set(frames):
    specs, parts, _, _ = frames
    assert set(parts) == {"recency", "purchase_recency", "frequency", "monetary", "engagement", "trend", "tenure"}
    assert set(parts.values()) == set(specs.columns)


def test_unknown_configured_features_are_named(frames):
    specs, _, _, _ = frames
    with pytest.raises(Exception, match="segments.features: \\['no_such_feature'\\] not in the feature set"):
        segment_features(specs, ["no_such_feature", specs.columns[0]])


def test_too_few_users_is_a_clear_error(frames):
    _, parts, X, _ = frames
    with pytest.raises(ValueError, match="cannot make up to 6 segments"):
        _fit(X.head(5), parts)


def test_missing_values_are_filled_never_dropped(frames):
    _, parts, X, _ = frames
    model = _fit(X, parts)
    assert X[parts["purchase_recency"]].isna().any()  # users who never bought
    assert len(model.predict(X)) == len(X) and not np.any(model.predict(X) == None)  # noqa: E711


def test_one_thread_on_small_data_gives_the_segments_of_several(frames, monkeypatch):
    """Small data is clustered on one thread (OpenMP's waits cost 10x on busy cores); the model
    is the one several threads give: the same K, keys and members."""
    from threadpoolctl import threadpool_limits

    from siyu.segments import model as segment_model

    _, parts, X, _ = frames
    one = _fit(X, parts)
    monkeypatch.setattr(segment_model, "_ONE_THREAD_ROWS", 0)
    with threadpool_limits(2):
        several = _fit(X, parts)
        several_labels = several.predict(X)
    assert one.k_ == several.k_ and one.keys_ == several.keys_
    np.testing.assert_array_equal(one.predict(X), several_labels)
    np.testing.assert_allclose(one.kmeans_.cluster_centers_, several.kmeans_.cluster_centers_, rtol=0, atol=1e-12)
