"""The Spark engine gives the embedded engine's features: the full default feature set on a
generated world, every column, several cutoffs (counts exactly, floats within 1e-9 relative,
categoricals equal, the same rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.features import FeatureSet, Recency, Window, build_features
from siyu.io.duck import connect
from siyu.io.workspace import feature_set

pytestmark = pytest.mark.spark

CUTOFFS = ["2025-03-03", "2025-05-26", "2025-08-11", "2025-10-27"]


def assert_same_frames(embedded: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same columns, dtypes and rows; integral values equal, other floats within 1e-9 relative."""
    assert list(spark.columns) == list(embedded.columns)
    assert spark.dtypes.to_dict() == embedded.dtypes.to_dict()
    assert len(spark) == len(embedded) > 0
    pd.testing.assert_series_equal(spark["user_id"], embedded["user_id"])
    pd.testing.assert_series_equal(spark["cutoff"], embedded["cutoff"])
    for col in embedded.columns[2:]:
        a, b = embedded[col], spark[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            pd.testing.assert_series_equal(b, a, obj=col)
            continue
        x, y = a.to_numpy(), b.to_numpy()
        assert np.array_equal(np.isnan(x), np.isnan(y)), f"{col}: null in one engine only"
        ok = ~np.isnan(x)
        integral = np.all(x[ok] == np.round(x[ok]))
        if integral:
            assert np.array_equal(x[ok], y[ok]), f"{col}: counts differ"
        else:
            np.testing.assert_allclose(y[ok], x[ok], rtol=1e-9, atol=0, err_msg=col)


@pytest.fixture(scope="module")
def events(spark, clean_world):
    from siyu.io.spark import read_events

    return read_events(spark, clean_world.paths.clean_events)


@pytest.fixture(scope="module")
def users(spark, clean_world):
    from siyu.io.spark import read_users

    return read_users(spark, clean_world.paths.clean_users)


def test_full_default_feature_set_matches_the_embedded_engine(clean_world, events, users):
    from siyu.engines.spark import spark_features

    specs = feature_set(clean_world).specs  # configs/features.yaml resolved against the world's profile
    history = clean_world.paths.clean_history  # the member level, read as of each cutoff
    with connect(memory_limit="1GB", threads=1) as con:
        embedded = build_features(con, specs, clean_world.paths.clean_events, clean_world.paths.clean_users, CUTOFFS,
                                  history=history)
    spark = spark_features(specs, events, users, CUTOFFS, history=events.sparkSession.read.parquet(str(history)))
    assert_same_frames(embedded, spark)
    assert embedded.groupby("cutoff", observed=True)["member_level"].apply(lambda s: (s == "regular").mean()).nunique() > 1
    # The world must exercise what is compared, or equality proves little.
    assert len(embedded.columns) > 120
    assert embedded["purchase_count_365d"].gt(0).mean() > 0.2
    assert set(embedded["lifecycle_stage"].dropna().unique()) >= {"new", "active", "churned"}
    assert embedded["rfm_segment"].nunique() >= 5


def test_without_a_users_table_users_join_at_their_first_event(clean_world, events):
    from siyu.engines.spark import spark_features

    specs = FeatureSet((Recency(role="purchase"), Window(30, role="activity")))
    with connect(memory_limit="512MB", threads=1) as con:
        embedded = build_features(con, specs, clean_world.paths.clean_events, None, CUTOFFS[:2])
    assert_same_frames(embedded, spark_features(specs, events, None, CUTOFFS[:2]))
