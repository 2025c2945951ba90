"""siyu.explain: SHAP values, reason codes in Chinese and English, the HTML report and model card.

- `shap_contributions` / `iter_contributions`: exact TreeSHAP from the boosters' native code;
  `global_importance`, `segment_drivers` summarise them.
- `top_reasons(estimator, X, catalog, lang=, k=)`: per user, the top drivers pushing the score
  up, as sentences (used by batch scoring for `<task>_reason_1..k`).
- `build_report` -> `render_html` / `render_model_card`: the operators' report.
"""

from siyu.explain.contributions import (
    Contributions,
    global_importance,
    iter_contributions,
    segment_drivers,
    shap_contributions,
    to_explanation,
)
from siyu.explain.reasons import (
    REASON_TEMPLATES,
    ReasonTemplate,
    format_value,
    reasons_from_contributions,
    top_reasons,
)
from siyu.explain.report import (
    HeldOut,
    ModelInfo,
    Report,
    ReportInputs,
    build_report,
    render_html,
    render_model_card,
)

__all__ = [
    "REASON_TEMPLATES",
    "Contributions",
    "HeldOut",
    "ModelInfo",
    "ReasonTemplate",
    "Report",
    "ReportInputs",
    "build_report",
    "format_value",
    "global_importance",
    "iter_contributions",
    "reasons_from_contributions",
    "render_html",
    "render_model_card",
    "segment_drivers",
    "shap_contributions",
    "to_explanation",
    "top_reasons",
]
