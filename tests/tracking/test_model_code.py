"""The siyu code a registered model carries: the modules its pickle names and what they import. Every
kind of model loads and predicts from that code alone, in a process where siyu is not installed."""

import json
import pickle
import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

import siyu
from siyu.config import TaskConfig
from siyu.models import make_model, models_for_task
from siyu.models.synthetic import toy_trainset
from siyu.tracking.model_code import copy_modules, modules_named, modules_needed
from siyu.tracking.model_file import ModelFile
from siyu.tracking.pyfunc import SiyuPyfuncModel

PACKAGE = Path(siyu.__file__).parent
ID = ["user_id", "cutoff", "split", "label"]

_LOAD_WITHOUT_SIYU = """
import importlib.util, json, pickle, sys
import pandas as pd
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/src")]
assert importlib.util.find_spec("siyu") is None, "siyu is still importable"
sys.path.insert(0, sys.argv[1])  # the copied code only
out = {}
for name in sys.argv[3:]:
    model = pickle.loads(open(f"{sys.argv[2]}/{name}.pkl", "rb").read())
    X = pd.read_parquet(f"{sys.argv[2]}/{name}.parquet")
    out[name] = model.estimator.predict_score(X).tolist()
print(json.dumps(out))
"""


def _uplift_data(n: int, seed: int):
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    t = rng.choice(["control", "msg"], size=n)
    y = (rng.random(n) < 0.2 + 0.1 * (t == "msg") * (X["a"] > 0)).astype(float)
    return X, y, t


@pytest.mark.slow
def test_every_kind_of_model_loads_from_the_code_it_carries(tmp_path):
    fitted = {}
    for task_name, label in (("churn", "no_activity"), ("ltv", "net_spend")):
        task = TaskConfig(name=task_name, horizon_days=30 if task_name == "churn" else 90, label=label)
        frame = toy_trainset(task_name, n_users=200, n_cutoffs=4, rng=np.random.default_rng(0))
        X, y = frame.drop(columns=ID), frame["label"].to_numpy(float)
        train, valid = (frame["split"] == "train").to_numpy(), (frame["split"] == "valid").to_numpy()
        for name in models_for_task(task):
            model = make_model(name, task, n_jobs=1).fit(X[train], y[train], X_valid=X[valid], y_valid=y[valid])
            fitted[f"{task_name}-{name}"] = (model, X[~train & ~valid])
    uplift = TaskConfig(name="uplift_purchase", horizon_days=7, label="any_purchase", treatments=("msg",))
    X, y, t = _uplift_data(3000, 0)
    fitted["uplift-xlearner"] = (make_model("xlearner", uplift, n_jobs=1).fit(X, y, treatment=t), X.head(50))

    roots = set(modules_named(cloudpickle.dumps(SiyuPyfuncModel(None, [], {}))))
    for key, (model, X_test) in fitted.items():
        data = cloudpickle.dumps(ModelFile(model, list(X_test.columns)))
        (tmp_path / f"{key}.pkl").write_bytes(data)
        X_test.to_parquet(tmp_path / f"{key}.parquet")
        roots |= modules_named(data)
    needed = modules_needed(roots, PACKAGE)
    assert {"siyu.models.boosting", "siyu.uplift.models", "siyu.tracking.pyfunc"} <= needed
    code = copy_modules(PACKAGE, needed, tmp_path / "code")
    copied = [p for p in code.rglob("*.py")]
    assert len(copied) == len(needed) < len(list(PACKAGE.rglob("*.py"))) / 2, "a model carries the modules it needs"

    out = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_SIYU, str(code.parent), str(tmp_path), *fitted],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    for key, (model, X_test) in fitted.items():
        np.testing.assert_allclose(scores[key], model.predict_score(X_test), rtol=1e-9, err_msg=key)


def test_a_pickle_names_its_modules_from_the_memo_too():
    """Protocol 4+ writes a module's name once and fetches it from the memo for its next class."""
    from siyu.models import LightGBMClassifier, XGBoostClassifier

    data = pickle.dumps([LightGBMClassifier(), XGBoostClassifier(), ModelFile(None, [])], protocol=5)
    assert {"siyu.models.boosting", "siyu.tracking.model_file"} <= modules_named(data)
    assert modules_named(pickle.dumps(LightGBMClassifier(), protocol=2)) >= {"siyu.models.boosting"}
