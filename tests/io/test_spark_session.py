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


@pytest.mark.spark
def test_running_stages_tell_their_tasks_done_as_they_go(spark):
    import time

    from siyu.io.spark import told_tasks

    told: list[tuple[int, int]] = []
    with told_tasks(spark, lambda done, total: told.append((done, total)), every=0.05):
        # 16 tasks of 0.1 s each on two cores: about 0.8 s, seen many times
        spark.sparkContext.parallelize(range(16), 16).map(lambda x: (time.sleep(0.1), x)[1]).sum()
    assert told, "nothing was told while the stage ran"
    assert all(0 <= done <= total == 16 for done, total in told)
    assert [d for d, _ in told] == sorted({d for d, _ in told})  # rising, each count once
    with told_tasks(spark, None):  # no callback: no watcher, the body just runs
        assert spark.range(3).count() == 3
