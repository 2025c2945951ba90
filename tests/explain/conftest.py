"""Tiny real boosters on hand-made frames, wrapped like siyu's tree estimators (INTERFACES §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

STAGES = ["active", "silent", "churned"]


@dataclass(frozen=True)
class Info:
    """A FeatureInfo-like catalogue record (the shape of siyu.features.FeatureInfo)."""

    name: str
    family: str
    dtype: str
    unit: str
    desc_zh: str
    desc_en: str
    params: dict[str, Any] = field(default_factory=dict)


CATALOG = [
    Info("days_since_last_group_msg", "recency", "numeric", "days", "距上次社群发言", "Days since the last group-chat message",
         {"role": "interaction", "event_type": "group_msg", "channel": "group"}),
    Info("group_msg_count_30d", "window", "numeric", "count", "近 30 天社群发言次数", "Group-chat messages, last 30 days",
         {"role": "interaction", "event_type": "group_msg", "window_days": 30}),
    Info("purchase_count_90d", "window", "numeric", "count", "近 90 天消费次数", "Purchases, last 90 days",
         {"role": "purchase", "window_days": 90}),
    Info("spend_sum_90d", "window", "numeric", "amount", "近 90 天消费金额", "Spend, last 90 days",
         {"role": "purchase", "window_days": 90}),
    Info("coupon_redeem_share", "ratio", "numeric", "share", "优惠券核销率", "Coupon redemption rate", {}),
    Info("lifecycle_stage", "rule_tag", "categorical", "category", "生命周期阶段", "Lifecycle stage", {}),
]
FEATURES = [info.name for info in CATALOG]


def make_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Features of `n` hand-made users and a churn-like label driven by them."""
    rng = np.random.default_rng(seed)
    days = rng.exponential(20, n).round()
    days[rng.random(n) < 0.1] = np.nan  # never sent a group message
    X = pd.DataFrame({
        "days_since_last_group_msg": days,
        "group_msg_count_30d": rng.poisson(2, n).astype(float),
        "purchase_count_90d": rng.poisson(1, n).astype(float),
        "spend_sum_90d": rng.gamma(1.0, 300, n).round(2),
        "coupon_redeem_share": rng.random(n),
        "lifecycle_stage": pd.Categorical(rng.choice(STAGES, n, p=[0.6, 0.3, 0.1]), categories=STAGES),
    })
    logit = (0.05 * np.nan_to_num(days, nan=60) - 0.4 * X["group_msg_count_30d"] - 0.3 * X["purchase_count_90d"]
             + 1.5 * (X["lifecycle_stage"] == "churned") - 1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


class TinyTreeModel:
    """Test-only estimator with siyu's tree-model interface, over a real LightGBM / XGBoost booster."""

    def __init__(self, kind: str = "lightgbm", n_trees: int = 15) -> None:
        self.kind = kind
        self.n_trees = n_trees

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> TinyTreeModel:
        if self.kind == "lightgbm":
            import lightgbm as lgb

            params = {"objective": "binary", "num_leaves": 8, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
            self.tree_model_ = lgb.train(params, lgb.Dataset(X, y), self.n_trees)
        else:
            import xgboost as xgb

            params = {"objective": "binary:logistic", "max_depth": 3, "tree_method": "hist", "nthread": 1}
            self.tree_model_ = xgb.train(params, xgb.DMatrix(X, y, enable_categorical=True), self.n_trees)
        self.feature_names_ = list(X.columns)
        return self

    def model_input(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[self.feature_names_]

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        if self.kind == "lightgbm":
            return self.tree_model_.predict(self.model_input(X), raw_score=True)
        import xgboost as xgb

        return self.tree_model_.predict(xgb.DMatrix(self.model_input(X), enable_categorical=True), output_margin=True)

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(-self.margin(X)))


@pytest.fixture(scope="session")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    return make_frame(400)


@pytest.fixture(scope="session", params=["lightgbm", "xgboost"])
def model(request, frame) -> TinyTreeModel:
    X, y = frame
    return TinyTreeModel(request.param).fit(X, y)


@pytest.fixture(scope="session")
def lgb_model(frame) -> TinyTreeModel:
    X, y = frame
    return TinyTreeModel("lightgbm").fit(X, y)


@pytest.fixture(scope="session")
def catalog() -> list[Info]:
    return list(CATALOG)


@pytest.fixture(scope="session")
def info_cls() -> type[Info]:
    return Info


@pytest.fixture(scope="session")
def tiny_model_cls() -> type[TinyTreeModel]:
    return TinyTreeModel
