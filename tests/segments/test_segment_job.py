"""`siyu segment` end to end with a real MLflow store: two fits a week apart are tracked and
registered, the second keeps the first's names, and the champion loads back for scoring."""

import pytest
import yaml
from segment_world import AS_OF, LATER
from typer.testing import CliRunner

from siyu.cli._config import load_config
from siyu.cli.main import app
from siyu.jobs.segment import fit_segments
from siyu.tracking import list_versions, load_champion


@pytest.mark.slow
def test_two_fits_are_registered_and_keep_their_names(project, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = yaml.safe_load(project.read_text(encoding="utf-8"))
    config["segments"].update(k_min=5, k_max=5)
    config["tracking"]["uri"] = f"sqlite:///{tmp_path}/mlflow.db"
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    cfg = load_config(path)
    first = fit_segments(cfg, AS_OF)
    assert first.previous_version is None and first.k == 5
    out = CliRunner().invoke(app, ["segment", "--config", str(path), "--as-of", LATER.isoformat()])
    assert out.exit_code == 0, out.output
    assert f"names carried over from version {first.model_version}" in out.output
    versions = list_versions("segments", cfg.tracking)
    assert [v.version for v in versions] == ["2", "1"] and "champion" in versions[0].aliases
    assert versions[0].metrics["k"] == 5 and versions[0].metrics["agreement_with_previous"] > 0.8
    champion = load_champion("segments", cfg.tracking)
    assert set(champion.estimator.keys_) == set(first.profile["segment"])
    assert champion.feature_specs is not None and list(champion.feature_specs.columns) == champion.feature_names
    profile = (cfg.paths.reports_dir / "operations" / "segments.csv").read_bytes()
    assert profile.startswith(b"\xef\xbb\xbf")
    text = profile.decode("utf-8-sig")
    assert text.startswith('"segment","name_zh","name_en"') and all(n in text for n in first.profile["name_zh"])
