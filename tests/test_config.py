"""The engine choice and the `spark:` section of the project config."""

import pytest
from pydantic import ValidationError

from siyu.config import DatasetConfig, EventRoles, SiyuConfig, SourceConfig, SparkConfig


def _config(**extra) -> SiyuConfig:
    return SiyuConfig(dataset=DatasetConfig(name="d", events=SourceConfig(path="events"), roles=EventRoles()), **extra)


def test_the_embedded_engine_and_local_spark_are_the_defaults():
    cfg = _config()
    assert cfg.engine == "embedded"
    assert cfg.spark == SparkConfig(master="local[2]", settings={})


def test_spark_settings_are_spark_properties_as_strings():
    spark = SparkConfig(master="yarn", settings={"spark.executor.memory": "8g", "spark.sql.adaptive.enabled": True,
                                                 "spark.sql.shuffle.partitions": 400})
    assert spark.settings == {"spark.executor.memory": "8g", "spark.sql.adaptive.enabled": "true",
                              "spark.sql.shuffle.partitions": "400"}


def test_a_setting_that_is_not_a_spark_property_is_named():
    with pytest.raises(ValidationError, match=r"starting with 'spark\.', got \['executor_memory'\]"):
        SparkConfig(settings={"executor_memory": "8g"})


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValidationError, match="embedded"):
        _config(engine="flink")
