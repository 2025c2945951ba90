import numpy as np
import pandas as pd
import pytest

from siyu.explain.contributions import Contributions, shap_contributions
from siyu.explain.reasons import (
    REASON_TEMPLATES,
    ReasonTemplate,
    format_value,
    reasons_from_contributions,
    sentences,
    top_driver_positions,
    top_reasons,
)

USERS = pd.DataFrame(
    {
        "days_since_last_group_msg": [41.0, np.nan, 3.0],
        "group_msg_count_30d": [0.0, 5.0, 2.0],
        "purchase_count_90d": [3.0, 0.0, 1.0],
        "spend_sum_90d": [1250.0, np.nan, 89.5],
        "coupon_redeem_share": [0.35, 0.0, 1.0],
        "lifecycle_stage": pd.Categorical(["silent", "churned", "active"], categories=["active", "silent", "churned"]),
    },
    index=pd.Index(["U1", "U2", "U3"], name="user_id"),
)
# Hand-set SHAP values: U1 driven by recency, silence in the group and spend; U2 by its stage;
# U3 has nothing pushing its score up.
SHAP = pd.DataFrame(
    {
        "days_since_last_group_msg": [0.9, 0.2, -0.3],
        "group_msg_count_30d": [0.5, -0.1, -0.2],
        "purchase_count_90d": [-0.2, 0.0, -0.1],
        "spend_sum_90d": [0.3, 0.0, -0.1],
        "coupon_redeem_share": [0.0, -0.4, -0.2],
        "lifecycle_stage": [0.1, 1.2, -0.5],
    },
    index=USERS.index,
)


def _reasons(catalog, lang, k=3):
    contrib = Contributions(SHAP, np.zeros(3), USERS)
    return reasons_from_contributions(contrib, USERS, catalog, lang=lang, k=k)


def test_reasons_in_chinese_for_hand_built_users(catalog):
    out = _reasons(catalog, "zh")
    assert list(out.columns) == ["reason_1", "reason_2", "reason_3"]
    assert out.loc["U1"].tolist() == ["距上次社群发言: 41 天", "近 30 天社群发言次数: 0 次 (一次也没有)",
                                      "近 90 天消费金额: ¥1,250"]
    assert out.loc["U2"].tolist() == ["生命周期阶段为「流失用户」", "距上次社群发言: 从未有过", ""]
    assert out.loc["U3"].tolist() == ["", "", ""]


def test_reasons_in_english_for_hand_built_users(catalog):
    out = _reasons(catalog, "en")
    assert out.loc["U1"].tolist() == ["Days since the last group-chat message: 41 days",
                                      "Group-chat messages, last 30 days: none",
                                      "Spend, last 90 days: ¥1,250"]
    assert out.loc["U2"].tolist() == ["Lifecycle stage is churned", "Days since the last group-chat message: never", ""]


def test_values_are_said_in_words_per_unit(catalog, info_cls):
    by = {i.name: i for i in catalog}
    assert sentences(by["coupon_redeem_share"], pd.Series([0.35]), "en")[0] == "Coupon redemption rate: 35%"
    assert sentences(by["spend_sum_90d"], pd.Series([89.5]), "zh")[0] == "近 90 天消费金额: ¥89.50"
    assert sentences(by["purchase_count_90d"], pd.Series([3.0]), "zh")[0] == "近 90 天消费次数: 3 次"
    stage = pd.Series(pd.Categorical(["silent"]))
    assert sentences(by["lifecycle_stage"], stage, "zh")[0] == "生命周期阶段为「沉默用户」"
    member = info_cls("member_level", "attribute", "categorical", "category", "会员等级", "Member level")
    assert sentences(member, pd.Series(["gold"]), "en")[0] == "Member level is gold"


def test_a_family_template_wins_over_the_unit_default(catalog):
    recency = {i.name: i for i in catalog}["days_since_last_group_msg"]
    templates = (ReasonTemplate("days", "已 {value} 天未在{channel}发言", "No {channel} message for {value} days",
                                family="recency"), *REASON_TEMPLATES)
    assert sentences(recency, pd.Series([41.0]), "zh", templates)[0] == "已 41 天未在社群发言"
    assert sentences(recency, pd.Series([41.0]), "en", templates)[0] == "No group chat message for 41 days"
    # missing values still fall through to the 'never' template
    assert sentences(recency, pd.Series([np.nan]), "en", templates)[0].endswith(": never")


def test_top_reasons_on_a_real_model_never_show_raw_feature_names(model, frame, catalog):
    X, _ = frame
    for lang in ("zh", "en"):
        told = []
        out = top_reasons(model, X, catalog, lang=lang, k=3, batch_rows=150,
                          on_rows=lambda done, total: told.append((done, total)))  # noqa: B023 - used at once
        assert told == [(min(150 * i, len(X)), len(X)) for i in range(1, -(-len(X) // 150) + 1)]
        assert len(told) > 1
        assert out.index.equals(X.index)
        assert out.shape == (len(X), 3)
        text = " ".join(out.to_numpy().ravel())
        assert not any(name in text for name in X.columns)
        assert (out["reason_1"] != "").mean() > 0.5


def test_top_reasons_follow_the_largest_positive_shap_values(lgb_model, frame, catalog):
    X, _ = frame
    contrib = shap_contributions(lgb_model, X)
    out = top_reasons(lgb_model, X, catalog, lang="en", k=2)
    desc = {i.name: i.desc_en for i in catalog}
    for user in X.index[:30]:
        row = contrib.values.loc[user]
        expected = [f for f in row.sort_values(ascending=False).index if row[f] > 0][:2]
        got = [s for s in out.loc[user] if s]
        assert [next(d for d in desc.values() if s.startswith(d)) for s in got] == [desc[f] for f in expected]


def test_more_reasons_than_features_leaves_empty_strings(lgb_model, frame, catalog):
    X, _ = frame
    out = top_reasons(lgb_model, X.head(10), catalog, lang="zh", k=8)
    assert list(out.columns) == [f"reason_{i}" for i in range(1, 9)]
    assert (out[["reason_7", "reason_8"]] == "").all().all()


def test_top_driver_positions_orders_and_masks():
    values = np.array([[0.1, 0.5, -0.2, 0.3], [-1.0, -2.0, -0.1, 0.0]])
    idx, positive = top_driver_positions(values, 3)
    assert idx[0].tolist() == [1, 3, 0]
    assert positive[0].all() and not positive[1].any()


def test_feature_missing_from_catalogue_is_an_error(lgb_model, frame, catalog):
    X, _ = frame
    with pytest.raises(ValueError, match=r"no description for 1 model feature\(s\), e.g. \['spend_sum_90d'\]"):
        top_reasons(lgb_model, X, [i for i in catalog if i.name != "spend_sum_90d"])


def test_unknown_language_is_an_error(lgb_model, frame, catalog):
    X, _ = frame
    with pytest.raises(ValueError, match=r"lang: expected one of \['zh', 'en'\], got 'fr'"):
        top_reasons(lgb_model, X, catalog, lang="fr")


def test_k_must_be_positive(lgb_model, frame, catalog):
    X, _ = frame
    with pytest.raises(ValueError, match="k: expected at least 1"):
        top_reasons(lgb_model, X, catalog, k=0)


def test_template_with_unknown_placeholder_is_an_error():
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \['name'\]"):
        ReasonTemplate("days", "{name}: {value}", "{name}: {value}")


def test_no_fitting_template_is_an_error(catalog):
    spend = {i.name: i for i in catalog}["spend_sum_90d"]
    with pytest.raises(ValueError, match="none fits feature 'spend_sum_90d'"):
        sentences(spend, pd.Series([10.0]), "zh", (ReasonTemplate("days", "{desc}", "{desc}"),))


def test_real_catalogue_families_read_naturally(info_cls):
    rfm = info_cls("rfm_recency_score", "rfm", "numeric", "count", "最近一次消费时间得分(R)", "recency score (R, 1-5)")
    active = info_cls("active_days_30d", "active_days", "numeric", "count", "近30天活跃天数(活跃行为)",
                      "days with activity events in the last 30 days", {"days": 30})
    distinct = info_cls("distinct_channel_30d", "distinct", "numeric", "count", "近30天不同触点渠道数",
                        "distinct channels of activity in the last 30 days", {"days": 30})
    assert sentences(rfm, pd.Series([2.0]), "zh")[0] == "最近一次消费时间得分(R): 2 分 (满分 5)"
    assert sentences(rfm, pd.Series([2.0]), "en")[0] == "Recency score (R, 1-5): 2 of 5"
    assert sentences(active, pd.Series([3.0]), "zh")[0] == "近30天活跃天数(活跃行为): 3 天"
    assert sentences(active, pd.Series([0.0]), "en")[0] == "Days with activity events in the last 30 days: 0"
    assert sentences(distinct, pd.Series([2.0]), "zh")[0] == "近30天不同触点渠道数: 2 个"


def test_amounts_are_shown_in_the_dataset_currency(catalog):
    by = {i.name: i for i in catalog}
    assert sentences(by["spend_sum_90d"], pd.Series([89.5]), "en", currency="$")[0] == "Spend, last 90 days: $89.50"
    assert format_value(by["spend_sum_90d"], 1250.0, "zh", with_unit=True, currency="€") == "€1,250"
    contrib = Contributions(SHAP, np.zeros(3), USERS)
    out = reasons_from_contributions(contrib, USERS, catalog, lang="en", k=3, currency="HKD ")
    assert out.loc["U1", "reason_3"] == "Spend, last 90 days: HKD 1,250"


def test_a_currency_with_braces_is_refused():
    from pydantic import ValidationError

    from siyu.config import DatasetConfig

    base = {"name": "t", "events": {"path": "x.csv"}, "roles": {"purchase": ["purchase"]}}
    assert DatasetConfig.model_validate(base).currency == "¥"
    with pytest.raises(ValidationError, match="currency"):
        DatasetConfig.model_validate({**base, "currency": "{x}"})
