"""siyu.features: declarative point-in-time feature specs, compiled into one DuckDB event scan
and a program over user-day running sums, evaluated by compiled (numba) passes."""

from siyu.features.build import build_features, feature_batches, to_feature_frame, write_features
from siyu.features.catalog import (
    FeatureInfo,
    categorical_columns,
    feature_catalog,
    feature_spec_hash,
)
from siyu.features.compiler import (
    LIFECYCLE_STAGES,
    RFM_SEGMENTS,
    compile_features,
    normalize_cutoffs,
    relation_sql,
)
from siyu.features.parse import feature_specs_data, parse_feature_specs
from siyu.features.specs import (
    AOV,
    RFM,
    ActiveDays,
    Attribute,
    CampaignResponse,
    CouponRate,
    Distinct,
    FeatureSet,
    FeatureSpec,
    FirstPurchase,
    InterPurchase,
    Lifecycle,
    Recency,
    RefundShare,
    Share,
    SpecError,
    Tenure,
    Trend,
    Window,
)

__all__ = [
    "AOV", "RFM", "ActiveDays", "Attribute", "CampaignResponse", "CouponRate", "Distinct",
    "FeatureInfo", "FeatureSet", "FeatureSpec", "FirstPurchase", "InterPurchase", "LIFECYCLE_STAGES",
    "Lifecycle", "RFM_SEGMENTS", "Recency", "RefundShare", "Share", "SpecError", "Tenure", "Trend",
    "Window", "build_features", "categorical_columns", "compile_features", "feature_batches",
    "feature_catalog", "feature_spec_hash", "normalize_cutoffs", "feature_specs_data", "parse_feature_specs",
    "relation_sql", "to_feature_frame", "write_features",
]
