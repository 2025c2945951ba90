"""Every family owns its name, its compilation and its words: the three agree for each one, and
a new family is one module that parse, the catalog and the compiler pick up without naming it."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

import pytest

from siyu.features import (
    FeatureSet,
    compile_features,
    feature_catalog,
    feature_specs_data,
    parse_feature_specs,
)
from siyu.features.family import FAMILIES, Column, Family, SpecError, family
from siyu.features.plan import Ratio, count

SAMPLE = {"days": 14, "column": "source_channel"}


def _instance(cls: type[Family]) -> Family:
    required = {f.name: SAMPLE[f.name] for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    return cls(**required)


@pytest.mark.parametrize("key", sorted(FAMILIES))
def test_family_compiles_and_describes_the_same_columns(key):
    spec = _instance(FAMILIES[key])
    compiled = [name for name, _ in spec.compile()]
    described = spec.describe()
    assert compiled == [c.name for c in described] == list(spec.columns)
    for col in described:
        assert isinstance(col, Column) and col.zh and col.en and col.zh != col.en
        assert (col.dtype == "categorical") == (col.unit == "category")
    assert parse_feature_specs(feature_specs_data(FeatureSet((spec,)))) == FeatureSet((spec,))


def test_the_registry_holds_every_family_of_the_default_config():
    assert {"recency", "window", "active_days", "distinct", "trend", "inter_purchase", "tenure",
            "first_purchase", "aov", "refund_share", "coupon_rate", "campaign_response", "share",
            "lifecycle", "rfm", "attribute", "btyd"} <= set(FAMILIES)


def test_a_family_registered_twice_is_refused():
    with pytest.raises(SpecError, match="defined twice"):
        family("window")(type("Other", (Family,), {}))


def test_a_new_family_is_one_class(tmp_path):
    """Defined here and nowhere else: the config, the catalog and the compiler take it as is."""

    @family("interaction_share_test")
    @dataclass(frozen=True)
    class InteractionShare(Family):
        days: int
        name: str = ""

        def __post_init__(self) -> None:
            if not self.name:
                object.__setattr__(self, "name", f"interaction_share_{self.days}d")

        def compile(self):
            return [(self.name, Ratio(count(self.days, "interaction"), count(self.days, "any")))]

        def describe(self):
            return [Column(self.name, "numeric", "share", f"近{self.days}天互动占比",
                           f"share of interactions among events, last {self.days} days")]

    try:
        specs = parse_feature_specs({"features": [{"family": "interaction_share_test", "days": [7, 30]}]})
        assert specs.columns == ("interaction_share_7d", "interaction_share_30d")
        assert [f.family for f in feature_catalog(specs)] == ["interaction_share_test"] * 2
        program = compile_features(specs, ["2025-03-03"])
        assert {w.days for w in program.windows} == {7, 30}
    finally:
        FAMILIES.pop("interaction_share_test")
