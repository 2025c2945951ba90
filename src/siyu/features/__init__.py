"""siyu.features: declarative point-in-time feature specs, compiled into one DuckDB event scan
and a program over user-day running sums, evaluated by compiled (numba) passes.

Exports load lazily: the CLI and the config read specs (`siyu.features.parse`) without pulling
the engine (numba, pyarrow) in, so a command starts in a fraction of a second."""

from siyu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("build_features", "feature_batches", "to_feature_frame", "write_features"), "siyu.features.build"),
    **dict.fromkeys(("FeatureInfo", "categorical_columns", "feature_catalog", "feature_spec_hash"), "siyu.features.catalog"),
    **dict.fromkeys(("LIFECYCLE_STAGES", "RFM_SEGMENTS", "compile_features", "normalize_cutoffs", "relation_sql"), "siyu.features.compiler"),
    **dict.fromkeys(("feature_specs_data", "parse_feature_specs"), "siyu.features.parse"),
    **dict.fromkeys(("AOV", "RFM", "ActiveDays", "Attribute", "CampaignResponse", "CouponRate", "Distinct", "FeatureSet", "FeatureSpec", "FirstPurchase", "InterPurchase", "Lifecycle", "Recency", "RefundShare", "Share", "SpecError", "Tenure", "Trend", "Window"), "siyu.features.specs"),
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
