"""Rule tags on hand-built users, reason tags, and the long tag table."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from siyu.scoring import (
    TAG_HISTORY_SCHEMA,
    TagColumn,
    build_tag_table,
    reason_tags,
    rule_tags,
    tag_counts,
)


def _users() -> pd.DataFrame:
    stages = ["potential", "new", "active", "silent", "churned"]
    return pd.DataFrame({
        "user_id": ["never_came", "joined_last_week", "buys_weekly", "quiet_2_months", "gone_half_year", "no_rfm"],
        "lifecycle_stage": pd.Categorical(["potential", "new", "active", "silent", "churned", "active"],
                                          categories=stages),
        "rfm_segment": pd.Categorical(["hibernating", "potential", "champions", "at_risk", "hibernating", None]),
    })


def test_rule_tags_copy_each_users_stage_and_segment():
    cols = {c.tag: c for c in rule_tags(_users(), ["lifecycle_stage", "rfm_segment"])}
    assert list(cols["lifecycle_stage"].values) == ["potential", "new", "active", "silent", "churned", "active"]
    assert cols["rfm_segment"].values[2] == "champions"
    assert pd.isna(cols["rfm_segment"].values[5])  # no segment: missing (no tag row), never the string "nan"
    assert cols["lifecycle_stage"].scores is None and cols["lifecycle_stage"].model == "rules"


def test_rule_tag_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match="rule tag 'rfm_segment': no such column"):
        rule_tags(_users().drop(columns=["rfm_segment"]), ["rfm_segment"])


def test_unknown_lifecycle_stage_is_rejected_with_examples():
    users = _users().assign(lifecycle_stage=["active", "zombie", "new", "new", "new", "new"])
    with pytest.raises(ValueError, match=r"lifecycle_stage.*1 value\(s\).*'zombie'"):
        rule_tags(users, ["lifecycle_stage"])


def test_tag_table_has_one_row_per_user_and_tag_with_a_value():
    n = 4
    cols = [
        TagColumn("churn_risk", np.array(["high", "low", "low", "medium"], dtype=object),
                  np.array([0.9, 0.1, 0.05, 0.3]), "siyu-churn", "3"),
        TagColumn("rfm_segment", np.array(["loyal", None, "at_risk", None], dtype=object), None, "rules", ""),
    ]
    table = build_tag_table([f"u{i}" for i in range(n)], cols, run_id="r1", as_of=dt.date(2026, 3, 2),
                            computed_at=dt.datetime(2026, 3, 2, 1, 0))
    assert table.schema == TAG_HISTORY_SCHEMA
    assert table.num_rows == 4 + 2
    frame = table.to_pandas()
    churn = frame[frame["tag"] == "churn_risk"].set_index("user_id")
    assert churn.loc["u0", "value"] == "high" and churn.loc["u0", "score"] == 0.9  # raw score beside the tag
    assert frame.loc[frame["tag"] == "rfm_segment", "score"].isna().all()
    assert set(frame["run_id"]) == {"r1"}


def test_tag_table_rejects_misaligned_columns():
    col = TagColumn("churn_risk", np.array(["high"], dtype=object), np.array([0.9]), "m", "1")
    with pytest.raises(ValueError, match="1 values for 2 users"):
        build_tag_table(["a", "b"], [col], run_id="r", as_of=dt.date(2026, 1, 1), computed_at=dt.datetime(2026, 1, 1))


def test_reason_tags_only_for_the_explained_users():
    reasons = pd.DataFrame({"reason_1": ["未互动 40 天", "spend fell"], "reason_2": ["", "no visit"]})
    cols = reason_tags("churn", reasons, 4, np.array([1, 3]), model="siyu-churn", model_version="2")
    assert [c.tag for c in cols] == ["churn_reason_1", "churn_reason_2"]
    assert list(cols[0].values) == [None, "未互动 40 天", None, "spend fell"]
    assert list(cols[1].values) == [None, None, None, "no visit"]  # empty reason: no tag


def test_tag_counts_per_value():
    cols = [TagColumn("churn_risk", np.array(["high", "low", "low"], dtype=object), None, "m", "1")]
    assert tag_counts(cols) == {"churn_risk": {"high": 1, "low": 2}}
