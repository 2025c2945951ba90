"""Spark sessions always run in UTC: the engine reads naive local time stamps."""

import pytest

from siyu.io.spark import REQUIRED, spark_session


def test_changing_the_session_time_zone_is_refused_before_any_jvm_starts():
    with pytest.raises(ValueError, match="spark.sql.session.timeZone.*cannot be changed"):
        spark_session("local[1]", {"spark.sql.session.timeZone": "Asia/Shanghai"})
    assert REQUIRED == {"spark.sql.session.timeZone": "UTC"}


@pytest.mark.spark
def test_the_shared_session_runs_in_utc(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.codegen.maxFields") == "1000"
