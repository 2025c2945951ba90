"""Specs written against the data's own vocabulary: selectors resolve from the profile, and a
spec the data cannot feed is left out with the reason, never built as a constant column."""

from __future__ import annotations

import pytest
import yaml
from tests.features.conftest import default_specs, demo_profile

from siyu.config import SiyuConfig
from siyu.contract.profile import DataProfile
from siyu.features import SpecError
from siyu.features.vocabulary import has_selectors, resolve_feature_specs

CLICKSTREAM = DataProfile(
    events=1000, users=50, roles={"interaction": 900, "purchase": 100},
    event_types={"page_view": {"role": "interaction", "rows": 500}, "product_view": {"role": "interaction", "rows": 300},
                 "add_to_cart": {"role": "interaction", "rows": 100}, "payment_done": {"role": "purchase", "rows": 100}},
    channels={"web": {"interaction": 600, "purchase": 60}, "app": {"interaction": 300, "purchase": 40}},
    categories=0, sessions=1000, amounts=0, attributes={"source_channel": 3},
)


def _resolve(entries, profile=CLICKSTREAM):
    return resolve_feature_specs({"features": entries}, profile)


def test_each_and_top_take_the_datas_own_names_most_frequent_first():
    got = _resolve([
        {"family": "window", "event_type": {"each": "interaction"}, "days": 30},
        {"family": "window", "role": "activity", "channel": "each", "days": 7},
        {"family": "recency", "event_type": {"top": 1, "of": "interaction"}},
        {"family": "attribute", "column": "each"},
    ])
    assert got.specs.columns == (
        "page_view_count_30d", "product_view_count_30d", "add_to_cart_count_30d",
        "web_activity_count_7d", "app_activity_count_7d", "days_since_last_page_view", "source_channel")
    assert got.omitted == ()


def test_a_selector_reads_each_role_of_a_role_list():
    got = _resolve([{"family": "recency", "role": ["activity", "contact"], "channel": "each"}])
    assert got.specs.columns == ("days_since_last_web_activity", "days_since_last_app_activity")
    [gone] = got.omitted
    assert "channels of role contact" in gone.reason


def test_specs_the_data_cannot_feed_are_left_out_with_a_reason():
    got = _resolve([
        {"family": "window", "agg": "sum", "role": "purchase", "days": 30},
        {"family": "window", "agg": "count", "role": "purchase", "days": 30},
        {"family": "window", "event_type": "msg_open", "days": 30},
        {"family": "window", "role": "activity", "channel": "store", "days": 30},
        {"family": "aov", "days": 90},
        {"family": "refund_share", "days": 90},
        {"family": "coupon_rate", "days": 30},
        {"family": "campaign_response", "days": 30},
        {"family": "distinct", "column": ["channel", "category", "session"], "days": 30},
        {"family": "attribute", "column": "member_level"},
        {"family": "rfm"},
    ])
    assert got.specs.columns == ("purchase_count_30d", "distinct_channels_30d", "distinct_sessions_30d",
                                 *("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score", "rfm_segment"))
    reasons = {o.name: o.reason for o in got.omitted}
    assert "no amounts" in reasons["purchase_amount_sum_30d"] and "columns.amount" in reasons["aov_90d"]
    assert reasons["msg_open_count_30d"] == "event type 'msg_open' does not occur in the data"
    assert reasons["store_activity_count_30d"] == "the data has no activity events on channel 'store'"
    assert "no refund events" in reasons["refund_share_90d"]
    assert "coupon_claim" in reasons["coupon_redemption_rate_30d"]
    assert "no contact events" in reasons["campaign_responses_7d_after_30d"]
    assert "no categories" in reasons["distinct_categories_30d"]
    assert "member_level" in reasons["member_level"]


def test_the_demo_world_keeps_its_vocabulary():
    specs = default_specs()
    cols = set(specs.columns)
    assert {"msg_open_count_30d", "service_contact_count_90d", "wecom_contact_count_30d",
            "days_since_last_store_contact", "member_level", "age_band", "coupon_redemption_rate_30d"} <= cols
    assert len({type(s).__name__ for s in specs}) == 17


@pytest.mark.parametrize(("selector", "match"), [
    ({"top": 0}, "top must be a positive integer"),
    ({"top": 3, "each": True}, "a selector is"),
    ({"first": 3}, "a selector is"),
    ({"each": "buyers"}, "role: expected one of"),
])
def test_bad_selectors_name_the_entry_and_the_rule(selector, match):
    with pytest.raises(SpecError, match=match):
        _resolve([{"family": "window", "event_type": selector, "days": 30}])


def test_config_checks_selectors_without_data_and_refuses_them_unresolved():
    data = {"features": [{"family": "window", "event_type": {"top": 3}, "days": 30}]}
    assert has_selectors(data)
    dataset = {"name": "shop", "events": {"path": "events.csv"}, "roles": {"purchase": ["buy"]}}
    cfg = SiyuConfig(dataset=dataset, feature_specs=data)
    assert cfg.features_for(CLICKSTREAM).specs.columns == (
        "page_view_count_30d", "product_view_count_30d", "add_to_cart_count_30d")
    with pytest.raises(SpecError, match="vocabulary selectors"):
        cfg.features  # noqa: B018 - the property raises
    with pytest.raises(ValueError, match="top must be"):
        SiyuConfig(dataset=dataset, feature_specs={"features": [{"family": "window", "channel": {"top": -1}, "days": 7}]})


def test_nothing_left_is_an_error_naming_why():
    empty = DataProfile(events=10, users=2, roles={"interaction": 10})
    with pytest.raises(SpecError, match="feeds none of the feature specs: aov_30d: the data has no purchase events"):
        _resolve([{"family": "aov", "days": 30}], empty)


def test_default_config_resolves_for_a_transactions_only_log():
    orders = DataProfile(events=100, users=20, roles={"purchase": 100},
                         event_types={"purchase": {"role": "purchase", "rows": 100}}, amounts=100)
    path = __import__("pathlib").Path(__file__).resolve().parents[2] / "configs" / "features.yaml"
    got = resolve_feature_specs(yaml.safe_load(path.read_text(encoding="utf-8")), orders)
    families = {type(s).__name__ for s in got.specs}
    assert {"Window", "Recency", "RFM", "AOV", "InterPurchase", "Tenure", "Lifecycle"} <= families
    assert not families & {"CampaignResponse", "CouponRate", "Attribute", "Distinct"}
    assert all(o.reason for o in got.omitted)
    assert demo_profile().has_money()


def test_a_changing_attribute_without_history_is_never_a_feature():
    from dataclasses import replace

    profile = replace(CLICKSTREAM, attributes={"source_channel": 3, "member_level": 4}, changing=("member_level",))
    got = _resolve([{"family": "attribute", "column": "each"}], profile)
    assert got.specs.columns == ("source_channel",)
    [gone] = got.omitted
    assert gone.name == "member_level" and "would leak the future" in gone.reason


def test_changing_attributes_must_be_declared_attributes():
    from siyu.config import UsersConfig

    with pytest.raises(ValueError, match=r"users.changing: \['tier'\] are not listed under users.attributes"):
        UsersConfig(source={"path": "u.csv"}, attributes=("region",), changing=("tier",))
