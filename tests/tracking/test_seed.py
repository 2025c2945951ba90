"""A new SQLite tracking store is a copy of a migrated empty one (`siyu.tracking.seed`): MLflow
opens it without running its migrations, adds its own Default experiment, and logs and registers
into it as into a store it created; anything else is left to MLflow."""

import sqlite3

import mlflow
import mlflow.store.db.utils as db_utils
import pytest
from mlflow.tracking import MlflowClient

from siyu.config import TrackingConfig
from siyu.tracking import seed
from siyu.tracking.seed import seed_sqlite_store, sqlite_path
from siyu.tracking.store import connect


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIYU_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _rows(db, sql):
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_a_new_store_is_a_migrated_copy_mlflow_uses_as_its_own(tmp_path, cache, monkeypatch):
    assert seed_sqlite_store(f"sqlite:///{tmp_path}/first.db")
    template = next(cache.glob("mlflow-*-empty.db"))
    assert mlflow.__version__ in template.name
    assert _rows(template, "SELECT count(*) FROM experiments") == [(0,)]  # the store's own row is MLflow's to add

    def no_migrations(engine):
        raise AssertionError("MLflow ran its migrations on a seeded store")

    monkeypatch.setattr(db_utils, "_initialize_tables", no_migrations)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    cfg = TrackingConfig(uri=f"sqlite:///{tmp_path}/project/mlflow.db", artifact_root=str(tmp_path / "art"),
                         experiment="seeded")
    client, experiment_id = connect(cfg)
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.artifact_location.endswith(f"{tmp_path}/project/mlruns/0")  # where MLflow puts it for this store
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_metric("auc", 0.8)
    client.create_registered_model("siyu-churn")
    client.create_model_version("siyu-churn", f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert MlflowClient(cfg.uri).get_run(run.info.run_id).data.metrics == {"auc": 0.8}
    assert [v.version for v in client.search_model_versions("name = 'siyu-churn'")] == [1]


def test_an_existing_store_is_never_touched(tmp_path, cache):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database, but someone's file")
    assert not seed_sqlite_store(f"sqlite:///{db}")
    assert db.read_bytes() == b"not a database, but someone's file"


@pytest.mark.parametrize("uri", ["postgresql://siyu@db/mlflow", "file:///tmp/mlruns", "sqlite:///:memory:",
                                 "sqlite:///{tmp}/no/such/folder/mlflow.db"])
def test_other_stores_are_left_to_mlflow(tmp_path, cache, uri):
    assert not seed_sqlite_store(uri.format(tmp=tmp_path))
    assert not cache.exists()


def test_a_cache_it_cannot_write_leaves_the_store_to_mlflow(tmp_path, monkeypatch):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    monkeypatch.setenv("SIYU_CACHE_DIR", str(blocked))
    assert not seed_sqlite_store(f"sqlite:///{tmp_path}/mlflow.db")
    assert not (tmp_path / "mlflow.db").exists()
    assert [p.name for p in tmp_path.iterdir()] == [blocked.name]  # no half-copied store left behind


def test_sqlite_path_and_the_cache_folder(tmp_path, monkeypatch):
    assert sqlite_path("sqlite:////abs/mlflow.db") == seed.Path("/abs/mlflow.db")
    assert sqlite_path("sqlite:///rel/mlflow.db?timeout=20") == seed.Path("rel/mlflow.db")
    assert sqlite_path("mysql://x") is None
    monkeypatch.delenv("SIYU_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert seed.cache_dir() == tmp_path / "siyu"
