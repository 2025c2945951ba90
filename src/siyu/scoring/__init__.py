"""siyu.scoring: champion scores become user tags (bands, hysteresis, rule tags, guards).

Pure: no file, database or MLflow access here; `siyu.jobs.scoring` does the I/O and
`siyu.io.tagstore` keeps the tags.
"""

from siyu.scoring.bands import assign_bands, band_value, quantile_rank
from siyu.scoring.compute import ChampionLike, ReasonsFn, ScoredUsers, score_users, task_populations
from siyu.scoring.drift import feature_psi, numeric_entry, psi, score_psi, split_profile
from siyu.scoring.guards import (
    GuardFailed,
    GuardReport,
    GuardResult,
    check_changed_share,
    check_feature_drift,
    check_min_users,
    check_schema,
    check_score_shift,
)
from siyu.scoring.tags import (
    LIFECYCLE_STAGES,
    TAG_HISTORY_SCHEMA,
    TagColumn,
    band_tag,
    build_tag_table,
    reason_tags,
    rule_tags,
    segment_tag,
    tag_counts,
)

__all__ = [
    "LIFECYCLE_STAGES", "TAG_HISTORY_SCHEMA", "ChampionLike", "GuardFailed", "GuardReport",
    "GuardResult", "ReasonsFn", "ScoredUsers", "TagColumn", "assign_bands", "band_tag", "band_value",
    "build_tag_table", "check_changed_share", "check_feature_drift", "check_min_users",
    "check_schema", "check_score_shift", "feature_psi", "numeric_entry", "psi", "quantile_rank",
    "reason_tags", "rule_tags", "score_psi", "score_users", "segment_tag", "split_profile", "tag_counts",
    "task_populations",
]
