"""The Spark engine gives the embedded engine's populations and labels, from the same task
definitions: each label kind and both population rules, with and without a users table.
(`test_spark_cli` also compares whole training sets, labels included, for three tasks.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.config import TaskConfig
from siyu.io.duck import connect
from siyu.labels import HorizonError, build_labels

pytestmark = pytest.mark.spark

CUTOFFS = ["2025-03-03", "2025-06-02", "2025-08-04"]
TASKS = (
    *(TaskConfig(name=n, horizon_days=h) for n, h in (("churn", 30), ("purchase_intent", 7), ("ltv", 90))),
    TaskConfig(name="return_14d", horizon_days=14, label="any_activity"),
)


def assert_same_labels(embedded: pd.DataFrame, spark: pd.DataFrame, binary: bool) -> None:
    assert spark.dtypes.to_dict() == embedded.dtypes.to_dict()
    assert len(spark) == len(embedded) > 0
    pd.testing.assert_series_equal(spark["user_id"], embedded["user_id"])
    pd.testing.assert_series_equal(spark["cutoff"], embedded["cutoff"])
    if binary:
        assert spark["label"].tolist() == embedded["label"].tolist()
        assert 0 < embedded["label"].mean() < 1
    else:
        # Net spend sums floats (in a different order per engine); purchases and refunds that
        # cancel leave a residue near 0, hence the absolute floor.
        np.testing.assert_allclose(spark["label"], embedded["label"], rtol=1e-9, atol=1e-9)
        assert embedded["label"].gt(0).any()


# churn: no activity, active-within population; ltv: net spend over 90 d, every known user (joined_at);
# return_14d without a users table: any activity, users joined at their first event. any_purchase
# (purchase_intent) is compared in test_spark_cli's training sets.
CASES = [(TASKS[0], True), (TASKS[2], True), (TASKS[3], False)]


@pytest.mark.parametrize(("task", "with_users"), CASES,
                         ids=[f"{t.name}-{'users' if u else 'no_users'}" for t, u in CASES])
def test_labels_match_the_embedded_engine(spark, clean_world, task, with_users):
    from siyu.engines.spark import spark_labels
    from siyu.io.spark import read_events, read_users

    paths = clean_world.paths
    users = paths.clean_users if with_users else None
    with connect(memory_limit="512MB", threads=1) as con:
        embedded = build_labels(con, task, paths.clean_events, users, CUTOFFS)
    events = read_events(spark, paths.clean_events)
    got = spark_labels(task, events, read_users(spark, users) if users else None, CUTOFFS)
    assert_same_labels(embedded, got, task.binary)


def test_a_horizon_past_the_data_is_refused_as_on_the_embedded_engine(spark, clean_world):
    from siyu.engines.spark import spark_labels
    from siyu.io.spark import read_events

    events = read_events(spark, clean_world.paths.clean_events)
    with pytest.raises(HorizonError, match="ends after the data"):
        spark_labels(TASKS[2], events, None, ["2025-10-20"])
