"""A training set keeps what varies and refuses a label a model cannot learn, saying why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.config import TaskConfig
from siyu.features import FeatureSet, Recency, Window
from siyu.features.specs import RFM
from siyu.trainsets import LabelError, check_label, prune_specs, screen_columns


def _frame(label=(0, 1, 0, 1, 0, 1)) -> pd.DataFrame:
    return pd.DataFrame({
        "split": ["train", "train", "valid", "valid", "test", "test"],
        "label": list(label),
        "varies": [1.0, 2.0, 3.0, 3.0, 3.0, 3.0],
        "zero": [0.0, 0.0, 5.0, 1.0, 0.0, 0.0],  # constant in train only: still dropped
        "empty": [np.nan] * 6,
        "sparse": [np.nan, 4.0, 1.0, 2.0, np.nan, np.nan],
        "stage": pd.Categorical(["active", "active", "new", "active", "new", "new"]),
    })


def test_empty_and_constant_training_columns_are_dropped_with_the_value():
    kept, dropped = screen_columns(_frame(), ("varies", "zero", "empty", "sparse", "stage"))
    assert kept == ["varies"]
    assert {d.name: d.reason for d in dropped} == {
        "zero": "constant in the training rows (always 0)",
        "empty": "empty in the training rows",
        "sparse": "constant in the training rows (always 4 where defined)",
        "stage": "constant in the training rows (always active)",
    }


def test_prune_keeps_specs_with_a_column_left():
    specs = FeatureSet((Recency(role="purchase"), Window(7, role="purchase"), RFM()))
    assert prune_specs(specs, ["purchase_count_7d", "rfm_segment"]) == FeatureSet(specs.specs[1:])


@pytest.mark.parametrize(("task", "label", "match"), [
    (TaskConfig(name="purchase_intent", horizon_days=7), (0, 1, 0, 0, 0, 1),
     r"task purchase_intent: the label is 0 for every one of the 2 rows of the valid split.*roles\.purchase"),
    (TaskConfig(name="churn", horizon_days=30), (1, 1, 0, 1, 0, 1),
     r"task churn: the label is 1 for every one of the 2 rows of the train split.*interaction event types"),
    (TaskConfig(name="churn_7d", horizon_days=7, label="no_activity", population={"active_within_days": 30}),
     (0, 1, 0, 1, 0, 0), r"test split.*active again within 7 days"),
    (TaskConfig(name="ltv", horizon_days=90), (0, 0, 3, 0, 1, 2), r"task ltv: the label is 0 for every row of the train split.*columns\.amount"),
])
def test_a_label_without_signal_stops_naming_task_split_and_cause(task, label, match):
    with pytest.raises(LabelError, match=match):
        check_label(_frame(label), task)


def test_an_empty_split_names_the_population():
    frame = _frame()[lambda d: d["split"] != "test"]
    with pytest.raises(LabelError, match=r"test split has no rows: the population \(users active within 30 days\)"):
        check_label(frame, TaskConfig(name="churn", horizon_days=30))
    check_label(_frame(), TaskConfig(name="churn", horizon_days=30))
