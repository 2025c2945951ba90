"""Every feature column has a catalogue entry with zh / en text, unit and params; the hash is stable."""

from __future__ import annotations

from pathlib import Path

from tests.features.conftest import default_specs

from siyu.features import (
    FeatureSet,
    Window,
    feature_catalog,
    feature_spec_hash,
)

ROOT = Path(__file__).resolve().parents[2]


def _default() -> FeatureSet:
    return default_specs()


def test_catalog_covers_every_column_with_both_languages():
    specs = _default()
    catalog = feature_catalog(specs)
    assert [f.name for f in catalog] == list(specs.columns)
    for info in catalog:
        assert info.desc_zh and info.desc_en and info.desc_zh != info.desc_en, info.name
        assert info.unit in {"days", "count", "amount", "ratio", "share", "category"}
        assert (info.dtype == "categorical") == (info.unit == "category"), info.name
    cats = {f.name for f in catalog if f.dtype == "categorical"}
    assert {"lifecycle_stage", "rfm_segment", "source_channel", "member_level"} <= cats


def test_catalog_params_and_glossary_terms():
    info = {f.name: f for f in feature_catalog(_default())}
    assert info["wecom_contact_count_30d"].params == {"days": 30, "agg": "count", "role": "contact", "channel": "wecom"}
    assert "企业微信" in info["wecom_contact_count_30d"].desc_zh
    assert "客单价" in info["aov_90d"].desc_zh and "average order value" in info["aov_90d"].desc_en


def test_spec_hash_is_stable_and_sensitive():
    assert feature_spec_hash(_default()) == feature_spec_hash(_default())
    assert feature_spec_hash(FeatureSet((Window(7),))) != feature_spec_hash(FeatureSet((Window(8),)))
    assert len(feature_spec_hash(_default())) == 16
