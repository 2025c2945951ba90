"""Uplift tasks as data: `treatments` (or `each`), a default `uplift_purchase`, the reasons a
dataset cannot feed one, and no band or reason list may score one."""

import pytest
from pydantic import ValidationError

from siyu.config import DEFAULT_TASKS, DatasetConfig, SiyuConfig, TaskConfig
from siyu.contract.profile import DataProfile
from siyu.labels import task_lacks, task_treatments

DATASET = DatasetConfig(name="toy", events={"path": "x"}, roles={"purchase": ["purchase"]})


def _profile(**contacts: int) -> DataProfile:
    types = {"purchase": {"role": "purchase", "rows": 500}} | {t: {"role": "contact", "rows": n}
                                                                 for t, n in contacts.items()}
    return DataProfile(events=1000, users=100, roles={"purchase": 500, "contact": sum(contacts.values())},
                       event_types=types)


def test_treatments_make_an_uplift_task_and_each_is_the_data_contact_types():
    task = TaskConfig(name="uplift_purchase", horizon_days=7, label="any_purchase", treatments="each")
    assert task.uplift and task.headline_metric == "qini" and task.kind == "binary"
    assert task_treatments(task, _profile(sms=200, coupon=300)) == ("coupon", "sms")
    assert not DEFAULT_TASKS[0].uplift
    names = [t.name for t in SiyuConfig(dataset=DATASET).tasks]
    assert names == ["churn", "purchase_intent", "ltv", "uplift_purchase"]


def test_a_dataset_that_cannot_feed_an_uplift_task_says_why_in_one_line():
    task = TaskConfig(name="uplift_purchase", horizon_days=7, label="any_purchase", treatments="each")
    assert "no contact events" in task_lacks(task, _profile())
    assert task_lacks(task, _profile(sms=500)) is None
    assert "too few contacts" in task_lacks(task, _profile(sms=50), min_treated_rows=100)
    named = TaskConfig(name="u", horizon_days=7, label="any_purchase", treatments=["coupon"])
    assert "not contact event types" in task_lacks(named, _profile(sms=500))


def test_bad_uplift_tasks_and_bands_on_them_are_refused():
    with pytest.raises(ValidationError, match="any_activity"):
        TaskConfig(name="u", horizon_days=30, label="no_activity", treatments="each")
    with pytest.raises(ValidationError, match="not both"):
        TaskConfig(name="u", horizon_days=7, label="any_purchase", treatments=["each", "sms"])
    with pytest.raises(ValidationError, match="not 'control'"):
        TaskConfig(name="u", horizon_days=7, label="any_purchase", treatments=["control"])
    with pytest.raises(ValidationError, match="uplift.n_train_campaigns"):
        TaskConfig(name="u", horizon_days=7, label="any_purchase", treatments="each", n_train_cutoffs=4)
    band = {"tag": "uplift_band", "task": "uplift_purchase", "labels": ["hi", "lo"], "edges": [0.5]}
    with pytest.raises(ValidationError, match="uplift task has no score"):
        SiyuConfig(dataset=DATASET, scoring={"bands": [band]})
