"""End to end on a tiny clean dataset: training sets, manifests, load_trainset, features at as-of."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from siyu.cli._config import load_feature_specs
from siyu.features.specs import SpecError
from siyu.jobs.trainsets import build_features_at, build_trainset, load_features
from siyu.trainsets import load_trainset, on_grid


@pytest.mark.parametrize("task", ["churn", "purchase_intent", "ltv"])
def test_build_trainset_writes_parquet_and_manifest(project, task):
    summary = build_trainset(project, task)
    df, manifest = load_trainset(summary.path)
    horizon = project.task(task).horizon_days
    assert manifest["task"] == task and manifest["horizon_days"] == horizon
    assert set(manifest) >= {"feature_spec_hash", "data_digest", "data_end", "cutoffs", "splits", "features", "categorical"}
    cuts = {k: [date.fromisoformat(c) for c in v] for k, v in manifest["cutoffs"].items()}
    assert max(cuts["train"]) < min(cuts["valid"]) <= max(cuts["valid"]) < min(cuts["test"])
    assert all(on_grid(c, 14) and c.weekday() == 0 for v in cuts.values() for c in v)
    data_end = date.fromisoformat(manifest["data_end"])
    assert all((pd.Timestamp(c) + pd.Timedelta(days=horizon)).date() <= data_end for c in cuts["test"])
    assert list(df.columns[:4]) == ["user_id", "cutoff", "split", "label"]
    for split, stats in manifest["splits"].items():
        part = df[df["split"] == split]
        assert stats["rows"] == len(part) > 0
        key = "label_mean" if task == "ltv" else "label_rate"
        assert stats[key] == pytest.approx(part["label"].mean())
    assert isinstance(df["lifecycle_stage"].dtype, pd.CategoricalDtype)
    assert manifest["categorical"] == ["lifecycle_stage", "rfm_segment", "source_channel", "member_level"]
    assert summary.splits == manifest["splits"]


def test_rebuild_is_identical_and_digest_is_stable(project):
    first = build_trainset(project, "purchase_intent")
    df1, m1 = load_trainset(first.path)
    df2, m2 = load_trainset(build_trainset(project, "purchase_intent").path)
    pd.testing.assert_frame_equal(df1, df2)
    assert m1 == m2 and m1["data_digest"].startswith("n=2422;")


def test_features_at_as_of(project):
    path = build_features_at(project, date(2025, 6, 2))
    assert path.name == "features_2025-06-02.parquet"
    df = load_features(path, load_feature_specs(project.feature_specs_path))
    assert (df["cutoff"] == pd.Timestamp("2025-06-02")).all() and df["user_id"].is_unique
    assert isinstance(df["rfm_segment"].dtype, pd.CategoricalDtype) and df["days_since_last_event"].dtype == "float64"


def test_missing_inputs_and_bad_specs_are_clear(project, tmp_path):
    (tmp_path / "bad.yaml").write_text("features:\n  - {family: window, days: 0}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="bad.yaml: .*days must be a positive integer"):
        load_feature_specs(tmp_path / "bad.yaml")
    with pytest.raises(SpecError, match="feature specs file not found"):
        load_feature_specs(tmp_path / "none.yaml")
    empty = project.model_copy(update={"paths": project.paths.model_copy(update={"work": str(tmp_path / "nowhere")})})
    with pytest.raises(FileNotFoundError, match="run `siyu validate"):
        build_trainset(empty, "churn")
    with pytest.raises(FileNotFoundError, match="missing"):
        load_trainset(tmp_path / "nowhere")


def test_all_tasks_in_one_feature_pass_equal_the_per_task_builds(project, tmp_path):
    from siyu.jobs.trainsets import build_trainsets

    alone = {}
    for task in ("churn", "purchase_intent", "ltv"):
        alone[task] = load_trainset(build_trainset(project, task).path)
    together = build_trainsets(project, ["churn", "purchase_intent", "ltv"])
    assert [s.task for s in together] == ["churn", "purchase_intent", "ltv"]
    # The grids differ (horizons 30 / 7 / 90 d), so the shared pass covers more cutoffs than any task.
    union = {c for s in together for v in s.cutoffs.values() for c in v}
    assert all(len(union) > sum(map(len, s.cutoffs.values())) for s in together)
    for summary in together:
        df, manifest = load_trainset(summary.path)
        df1, m1 = alone[summary.task]
        pd.testing.assert_frame_equal(df, df1, check_exact=False, rtol=1e-12)
        assert manifest == m1


def test_current_rows_are_the_population_at_the_newest_cutoff(project):
    import pandas as pd

    from siyu.io.workspace import current_cutoff

    path = build_trainset(project, "purchase_intent").path
    frame, manifest = load_trainset(path)
    now = pd.read_parquet(path / "current.parquet")
    assert now["cutoff"].nunique() == 1
    cut = now["cutoff"].iloc[0]
    assert cut >= frame["cutoff"].max() and cut.date() == current_cutoff(project, pd.Timestamp("2025-07-01").date())
    assert list(now.columns) == [c for c in frame.columns if c not in ("split", "label")]
    assert now["user_id"].is_unique and len(now) > 0
