"""The operations and segments sections refuse what cannot work, naming the setting to fix."""

import pytest
from pydantic import ValidationError

from siyu.config import CostTableConfig, FunnelConfig, OperationsConfig, SegmentsConfig
from siyu.jobs.analyze import run_analysis


def test_a_funnel_needs_two_steps():
    with pytest.raises(ValidationError, match="at least 2 items"):
        FunnelConfig(name="one", steps=("purchase",))


def test_funnel_names_are_unique():
    f = FunnelConfig(name="buy", steps=("add_cart", "purchase"))
    with pytest.raises(ValidationError, match=r"operations.funnels: each name once, got \['buy', 'buy'\]"):
        OperationsConfig(funnels=(f, f))


def test_retention_days_are_positive_and_sorted():
    assert OperationsConfig(retention_days=(30, 1, 7, 7)).retention_days == (1, 7, 30)
    with pytest.raises(ValidationError, match=r"positive day counts, got \[0, 7\]"):
        OperationsConfig(retention_days=(0, 7))


def test_the_k_range_must_be_a_range():
    with pytest.raises(ValidationError, match=r"k_min \(12\) must not exceed k_max \(8\)"):
        SegmentsConfig(k_min=12, k_max=8)


def test_a_missing_cost_table_is_named(world, tmp_path):
    cfg = world.cfg.model_copy(update={"operations": world.cfg.operations.model_copy(
        update={"cost_table": CostTableConfig(path=str(tmp_path / "nope.csv"))})})
    with pytest.raises(FileNotFoundError, match="nope.csv: cost table not found"):
        run_analysis(cfg)
