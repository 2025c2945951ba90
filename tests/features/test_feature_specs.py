"""Specs are frozen data; the YAML mapping expands list parameters; bad specs say what to fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.features.conftest import default_specs

from siyu.features import FeatureSet, Recency, SpecError, Window, parse_feature_specs
from siyu.features.specs import Distinct, Lifecycle, Share

ROOT = Path(__file__).resolve().parents[2]


def test_names_carry_domain_unit_and_window():
    assert Window(30, role="purchase").name == "purchase_count_30d"
    assert Window(90, agg="sum", role="spend").name == "spend_amount_sum_90d"
    assert Window(30, role="contact", channel="wecom").name == "wecom_contact_count_30d"
    assert Recency(role="interaction").name == "days_since_last_interaction"
    assert Recency().name == "days_since_last_event"
    assert Distinct(90, "category").name == "distinct_categories_90d"
    assert Window(7, name="my_name").name == "my_name"


def test_specs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Window(7).days = 8  # type: ignore[misc]


def test_list_parameters_expand_into_their_product():
    fs = parse_feature_specs({"features": [
        {"family": "window", "role": ["purchase", "refund"], "agg": "count", "days": [7, 30]},
        {"family": "tenure"},
    ]})
    assert fs.columns == ("purchase_count_7d", "purchase_count_30d", "refund_count_7d", "refund_count_30d", "tenure_days")


def test_default_config_is_a_few_hundred_features_at_most():
    fs = default_specs()
    assert 100 <= len(fs.columns) <= 300
    families = {type(s).__name__ for s in fs}
    assert len(families) == 17  # every family is in the default set


@pytest.mark.parametrize(("entry", "match"), [
    ({"family": "nope"}, "unknown family 'nope'"),
    ({"family": "window", "days": 7, "colour": "red"}, r"no parameter\(s\) \['colour'\]"),
    ({"family": "window", "days": 7, "role": "buyer"}, "role: expected one of"),
    ({"family": "window", "days": -3}, "days must be a positive integer"),
    ({"family": "window", "days": 7, "agg": "mean"}, "agg must be 'count' or 'sum'"),
    ({"family": "window", "days": [7, 30], "name": "x"}, "explicit 'name' cannot go with list"),
    ({"family": "share", "days": 30, "kind": "daypart", "value": "noon"}, "value one of"),
    ({"family": "lifecycle", "active_days": 100, "churned_days": 90}, "active_days <= churned_days"),
    ({"family": "distinct", "days": 30, "column": "item"}, "channel/category/session"),
    ({"days": 7}, "'family' key"),
    ({"family": "inter_purchase", "stat": "median"}, "'mean' or 'std'"),
    ({"family": "campaign_response", "days": 30, "stat": "sum"}, "'count' or 'rate'"),
    ({"family": "attribute", "column": "a b"}, "plain column name"),
    ({"family": "window"}, "missing 1 required"),
])
def test_bad_entries_name_the_problem(entry, match):
    with pytest.raises(SpecError, match=match):
        parse_feature_specs({"features": [entry]})


def test_empty_config_and_duplicate_names_are_errors():
    with pytest.raises(SpecError, match="non-empty list under 'features:'"):
        parse_feature_specs({"features": []})
    with pytest.raises(SpecError, match="used twice"):
        FeatureSet((Window(7), Window(7)))
    with pytest.raises(SpecError, match="reserved"):
        FeatureSet((Window(7, name="label"),))
    assert Lifecycle().name == "lifecycle_stage" and Share(30).name == "activity_share_evening_30d"


def test_resolved_specs_round_trip_as_data_and_unions_refuse_two_definitions():
    from siyu.features import feature_specs_data

    specs = default_specs()
    data = feature_specs_data(specs)
    assert parse_feature_specs(data) == specs and len(data["features"]) == len(specs)
    a = FeatureSet((Recency(role="purchase"), Window(days=30, role="purchase")))
    b = FeatureSet((Window(days=30, role="purchase"), Window(days=7, role="purchase")))
    assert FeatureSet.union([a, b]).columns == ("days_since_last_purchase", "purchase_count_30d", "purchase_count_7d")
    clash = FeatureSet((Window(days=7, role="interaction", name="purchase_count_30d"),))
    with pytest.raises(SpecError, match="'purchase_count_30d' has two definitions"):
        FeatureSet.union([a, clash])
