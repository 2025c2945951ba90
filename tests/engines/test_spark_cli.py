"""`siyu trainset --engine spark` and `siyu features --engine spark` write what the embedded
engine writes: the same training-set file and manifest, the same feature rows at an as-of date."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.trainsets import load_trainset

pytestmark = pytest.mark.spark

SPECS = """
features:
  - {family: recency, role: [any, activity, purchase]}
  - {family: window, agg: count, role: [activity, purchase], days: [7, 30]}
  - {family: window, agg: sum, role: spend, days: 90}
  - {family: distinct, column: channel, days: 30}
  - {family: inter_purchase, stat: [mean, std]}
  - {family: lifecycle}
  - {family: rfm}
  - {family: attribute, column: [source_channel, member_level]}
"""


@pytest.fixture(scope="module")
def config(spark, clean_world, tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_cli")
    (root / "features.yaml").write_text(SPECS, encoding="utf-8")
    data = clean_world.model_dump(mode="json", exclude={"feature_specs"})
    data |= {"feature_specs_path": str(root / "features.yaml"),
             "tasks": [{"name": "churn", "horizon_days": 30}, {"name": "purchase_intent", "horizon_days": 7},
                       {"name": "ltv", "horizon_days": 30}],  # a 30-day LTV fits the 300-day world's grid
             "trainset": {"step_days": 28, "n_train_cutoffs": 3, "n_valid_cutoffs": 1, "n_test_cutoffs": 1},
             # the test session's Spark (getOrCreate hands it over); a setting shows the section is read
             "spark": {"master": "local[2]", "settings": {"spark.sql.shuffle.partitions": "2"}}}
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _trainsets(clean_world, engine: str, config) -> dict[str, tuple[pd.DataFrame, dict]]:
    out = _run("trainset", "--task", "all", "--engine", engine, "--config", str(config))
    assert f"{engine} engine" in out or "churn" in out
    return {t: load_trainset(clean_world.paths.trainsets_dir / t) for t in ("churn", "purchase_intent", "ltv")}


def _same(a, b, path: str = "manifest") -> None:
    """Equal manifests, floats to 1e-9 relative (a label mean is a float sum in another order)."""
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


def test_trainsets_match_the_embedded_engine(clean_world, config):
    embedded = _trainsets(clean_world, "embedded", config)
    spark = _trainsets(clean_world, "spark", config)
    for task in ("churn", "purchase_intent", "ltv"):
        (a, ma), (b, mb) = embedded[task], spark[task]
        _same(ma, mb)
        assert len(a) > 0 and set(a["split"].astype(str)) == {"train", "valid", "test"}
        pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-9, atol=1e-9 if task == "ltv" else 0)


def test_features_at_an_as_of_match_the_embedded_engine(clean_world, config):
    from siyu.io.workspace import load_features

    cfg = clean_world.model_copy(update={"feature_specs": yaml.safe_load(SPECS)})
    specs = cfg.features
    path = clean_world.paths.work_dir / "features" / "features_2025-09-01.parquet"
    _run("features", "--as-of", "2025-09-01", "--engine", "embedded", "--config", str(config))
    embedded = load_features(path, specs)
    _run("features", "--as-of", "2025-09-01", "--engine", "spark", "--config", str(config))
    assert path.is_dir()  # Spark writes part files under the same name, each sorted by cutoff, user
    spark = load_features(path, specs)

    def ordered(df: pd.DataFrame) -> pd.DataFrame:
        return df.sort_values(["cutoff", "user_id"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(spark), ordered(embedded), check_exact=False, rtol=1e-9, atol=0)
    assert len(embedded) > 100


def test_an_unknown_engine_is_refused_with_the_choices(config):
    result = CliRunner().invoke(app, ["features", "--engine", "flink", "--config", str(config)])
    assert result.exit_code == 2 and "embedded, spark" in result.output
