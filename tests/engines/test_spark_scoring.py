"""One scoring run on each engine gives the same tags: a champion trained and promoted on a small
generated world scores at the same as-of embedded (features by DuckDB, the model on the driver)
and on Spark (features by Spark, the model loaded from the registry by `mlflow.pyfunc.spark_udf`),
publishing into DuckDB and PostgreSQL tag stores; users, scores, bands, rule and reason tags and
guard verdicts agree."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.config import (
    PathsConfig,
    ScoringConfig,
    SparkConfig,
    TrackingConfig,
    TrainingConfig,
    TrainsetConfig,
)
from siyu.io.tagstore import open_tag_store
from siyu.jobs.scoring import score
from siyu.jobs.training import promote, train
from siyu.jobs.trainsets import build_trainsets

pytestmark = pytest.mark.spark

TASK = "churn"  # the default task with a population rule (active within the look-back)


@pytest.fixture(scope="module")
def trained(clean_world, spark, tmp_path_factory):
    """The engines' world in a work folder of its own, with a promoted LightGBM champion."""
    root = tmp_path_factory.mktemp("spark_scoring")
    work = root / "work"
    for sub in ("clean", "reports"):  # the validated data and its profile (the specs resolve against it)
        shutil.copytree(clean_world.paths.work_dir / sub, work / sub)
    session = {k: v for k, v in spark.sparkContext.getConf().getAll() if k.startswith("spark.sql.shuffle")}
    cfg = clean_world.model_copy(update={
        "paths": PathsConfig(world=clean_world.paths.world, work=str(work)),
        "tasks": (clean_world.task(TASK),),
        "trainset": TrainsetConfig(step_days=7, n_train_cutoffs=6, n_valid_cutoffs=2, n_test_cutoffs=2),
        "training": TrainingConfig(plots=False, n_jobs=1, n_bootstrap=50),
        "tracking": TrackingConfig(uri=f"sqlite:///{root}/mlflow.db", artifact_root=str(root / "artifacts")),
        "scoring": ScoringConfig(bands=tuple(b for b in ScoringConfig().bands if b.task == TASK),
                                 reason_tasks=(TASK,), lang="en"),
        "spark": SparkConfig(master="local[2]", settings=session),
    })
    build_trainsets(cfg, [TASK])
    train(cfg, TASK, "lightgbm")
    promote(cfg, TASK)
    return cfg


def _published(url: str) -> tuple[pd.DataFrame, object]:
    """The current tags of a store (sorted) and the run they come from."""
    store = open_tag_store(url)
    try:
        tags, run = store.read_current_view(), store.current_run()
    finally:
        store.close()
    return tags.sort_values(["user_id", "tag"], kind="stable").reset_index(drop=True), run


def test_spark_scoring_publishes_the_embedded_tags(trained, postgres_url, tmp_path, monkeypatch):
    embedded_url = f"duckdb:///{tmp_path / 'tags.duckdb'}"
    summary = score(trained.model_copy(update={
        "scoring": trained.scoring.model_copy(update={"tag_store_url": embedded_url})}))
    assert summary.status == "published" and "spark_predict" not in summary.timings

    # The same project through the CLI, `--engine spark`, publishing into PostgreSQL.
    config = trained.model_dump(mode="json", exclude_defaults=True)
    config["scoring"]["tag_store_url"] = postgres_url
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["score", "--engine", "spark", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "spark_predict" in result.output

    ours, on_spark = _published(postgres_url)
    theirs, embedded = _published(embedded_url)
    assert on_spark.as_of == embedded.as_of == summary.as_of
    assert on_spark.model_versions == embedded.model_versions
    assert on_spark.counts == embedded.counts
    assert on_spark.guards == embedded.guards
    assert len(ours) == len(theirs) > 0
    for column in ("user_id", "tag", "value", "model", "model_version"):
        assert ours[column].tolist() == theirs[column].tolist(), column
    band = trained.scoring.bands[0].tag
    scored = theirs["tag"].eq(band) & theirs["score"].notna()
    assert scored.sum() > 100  # the population scored, not a handful
    assert ours["score"].isna().tolist() == theirs["score"].isna().tolist()
    np.testing.assert_allclose(ours.loc[scored, "score"].to_numpy(float), theirs.loc[scored, "score"].to_numpy(float),
                               rtol=1e-9, atol=0)
    assert theirs["tag"].str.startswith(f"{TASK}_reason_").any()  # reasons follow the same bands
