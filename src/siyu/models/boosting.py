"""LightGBM and XGBoost estimators: binary classifiers (churn, purchase intent) and Tweedie /
two-part regressors (LTV). Native categoricals, early stopping on the validation cutoffs.

Each exposes, for SHAP: `tree_model_` (the fitted Booster), `model_input(X)` (exactly the
frame the booster sees) and `margin(X)` (raw margin before the link and calibration).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

from siyu.models._base import SiyuEstimator
from siyu.models.btyd_features import fit_btyd_features
from siyu.models.rounds import RoundFn, booster_rounds

Imbalance = Literal["balanced", "sqrt", "none"]


def _pos_weight(y: np.ndarray, imbalance: Imbalance) -> float:
    pos = float((y > 0.5).sum())
    neg = float(len(y) - pos)
    ratio = neg / max(pos, 1.0)
    if imbalance == "balanced":
        return ratio
    if imbalance == "sqrt":
        return float(np.sqrt(ratio))
    if imbalance == "none":
        return 1.0
    raise ValueError(f"imbalance must be 'balanced', 'sqrt' or 'none', got {imbalance!r}")


def _threads(n_jobs: int, n_rows: int) -> int:
    """Threads worth using: one per 50k rows up to `n_jobs` (small data pays only thread overhead,
    and on a busy machine OpenMP threads on tiny data are many times slower than one thread)."""
    return max(1, min(n_jobs, n_rows // 50_000))


def _leaf_rows(min_child_samples: int, n_rows: int) -> int:
    """`min_child_samples`, capped at 0.5 % of the rows (at least 20) so a small training set can
    still split; on the demo's 100k+ rows the cap is above the defaults and changes nothing."""
    return min(min_child_samples, max(20, n_rows // 200))


def _lightgbm_rounds(at_round: RoundFn | None) -> list:
    """The LightGBM callback that tells `at_round` each finished round ([] when nobody counts)."""
    if at_round is None:
        return []
    return [lambda env: at_round(env.iteration - env.begin_iteration + 1)]


class _XGBoostRounds(xgb.callback.TrainingCallback):
    """The XGBoost callback that tells a `RoundFn` each finished round; never stops training."""

    def __init__(self, at_round: RoundFn) -> None:
        super().__init__()
        self._at_round = at_round

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        self._at_round(epoch + 1)
        return False


def _xgboost_rounds(at_round: RoundFn | None) -> list:
    return [] if at_round is None else [_XGBoostRounds(at_round)]


def _as_categories(values: pd.Series, categories: list) -> pd.Categorical:
    """`values` coded with the fit-time `categories`; unseen levels become missing."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # the usual case: recode without going through objects
        if list(values.cat.categories) == list(categories):
            return values.array
        return values.cat.set_categories(categories).array
    as_object = values.astype(object)
    return pd.Categorical(as_object.where(as_object.isin(categories)), categories=categories)


class _TreeMixin:
    """Categorical alignment shared by the tree models: codes must match those seen in fit."""

    _own_btyd = True  # False where the parts fit their own BTYD columns (TwoPartLTV)

    def _learn_schema(self, X: pd.DataFrame) -> None:
        bad = [c for c in X.columns if not (isinstance(X[c].dtype, pd.CategoricalDtype)
                                            or pd.api.types.is_numeric_dtype(X[c]))]
        if bad:
            raise TypeError(
                f"{type(self).__name__}.fit: columns {bad[:5]} are neither numeric nor pandas 'category'; "
                "cast text columns to 'category' (as siyu.trainsets.load_trainset does)"
            )
        self.categories_ = {c: list(X[c].cat.categories) for c in X.columns
                            if isinstance(X[c].dtype, pd.CategoricalDtype)}
        # BTYD outputs from the training rows' summaries only (the valid rows of a refit never move them).
        horizon = getattr(self, "btyd_horizon_days", None) if self._own_btyd else None
        self.btyd_ = None if horizon is None else fit_btyd_features(X, horizon, spend=not self.binary)
        self.derived_sources_ = ({} if self.btyd_ is None
                                 else dict.fromkeys(self.btyd_.columns, self.btyd_.sources))

    def model_input(self, X: pd.DataFrame) -> pd.DataFrame:
        """The frame the booster sees: fit-time column order, float numerics, fit-time categories,
        then the BTYD columns when fitted (`derived_sources_` names what each is computed from)."""
        X = self._checked_input(X, "model_input")
        cols, changed = {}, False
        for c in X.columns:
            column = X[c]
            if c in self.categories_:
                cols[c] = _as_categories(column, self.categories_[c])
                changed = changed or cols[c] is not column.array
            else:
                cols[c] = column if column.dtype == np.float64 else column.astype("float64")
                changed = changed or cols[c] is not column
        # A frame already in shape is passed on as it is: rebuilding it copies every column (0.4 s per
        # 165k x 150 frame, paid by every fit, refit and prediction).
        frame = pd.DataFrame(cols, index=X.index) if changed else X
        if getattr(self, "btyd_", None) is not None:
            frame = pd.concat([frame, self.btyd_.transform(X)], axis=1)
        return frame


# --------------------------------------------------------------------------- heads
class _BinaryHead:
    """A probability head, one implementation for both libraries: optional class weighting,
    early stopping on valid, a refit for the early-stopped rounds, the logistic link."""

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self._learn_schema(X)
        params = {**self._params(len(y)), "scale_pos_weight": _pos_weight(y, self.imbalance)}
        self.tree_model_ = self._train(params, X, y, X_valid, y_valid, callbacks)
        self.best_iteration_ = self._rounds(self.tree_model_)

    def _refit(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self._refit_booster(X, y)

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.margin(X)))


class _TweedieHead:
    """A zero-inflated spend head (Tweedie, log link), one implementation for both libraries:
    negative labels (net refunds) are clipped to 0 for fitting."""

    binary = False

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self._learn_schema(X)
        params = {**self._params(len(y)), **self._tweedie_params()}
        yv = None if y_valid is None else np.clip(y_valid, 0, None)
        self.tree_model_ = self._train(params, X, np.clip(y, 0, None), X_valid, yv, callbacks)
        self.best_iteration_ = self._rounds(self.tree_model_)

    def _refit(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self._refit_booster(X, np.clip(y, 0, None))

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return np.exp(self.margin(X))


# --------------------------------------------------------------------------- LightGBM
class _LightGBMBase(_TreeMixin, SiyuEstimator):
    _objective: str = "binary"
    _metric: str = "auc"

    def _params(self, n_rows: int) -> dict:
        threads = _threads(self.n_jobs, n_rows)
        # Histograms built column by column on one thread, row by row on several (either way
        # LightGBM's own timing test is skipped): on the demo's uplift rows at one thread, column-wise
        # fitted the same booster in 7.5 s against 9.4 s.
        layout = "force_col_wise" if threads == 1 else "force_row_wise"
        params = {
            "objective": self._objective, "metric": self._metric, "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_child_samples": _leaf_rows(self.min_child_samples, n_rows),
            "subsample": self.subsample, "subsample_freq": 1 if self.subsample < 1 else 0,
            "colsample_bytree": self.colsample_bytree, "reg_lambda": self.reg_lambda,
            "num_threads": threads, "seed": self.random_state, "deterministic": True,
            layout: True, "verbosity": -1, "max_bin": self.max_bin,
            # bin edges from a 50k-row sample (LightGBM's default reads 200k): the quantiles barely
            # move, and finding them was half of building each training set
            "bin_construct_sample_cnt": 50_000,
        }
        if getattr(self, "bin_seed_", None) is not None:  # binned with others (`fits_alike`)
            params["data_random_seed"] = self.bin_seed_
        return params

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_bins", None)  # the binned training set is for the refit only, never saved
        state.pop("_given_bins", None)
        return state

    def _train(self, params, X, y, X_valid, y_valid, callbacks, *, weight=None) -> lgb.Booster:
        given = self.__dict__.pop("_given_bins", None)  # `fits_alike`: binned once for boosters alike
        if given is not None:
            train, valid = given
        else:
            train = lgb.Dataset(self.model_input(X), label=y, weight=weight, free_raw_data=True)
            valid = None if X_valid is None else lgb.Dataset(self.model_input(X_valid), label=y_valid, reference=train)
        self._bins = train
        cbs = list(callbacks)
        valid_sets, rounds = [], self.n_estimators
        if valid is not None:
            valid_sets = [valid]
            cbs.append(lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False))
        self.params_ = params
        with _setup_in_turn(given is not None) as turn, booster_rounds(rounds) as at_round:
            booster = lgb.train(params, train, num_boost_round=rounds, valid_sets=valid_sets,
                                valid_names=["valid"] if valid_sets else None,
                                callbacks=cbs + turn + _lightgbm_rounds(at_round))
        if X_valid is not None and booster.best_iteration > 0:
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
        return booster

    @staticmethod
    def _rounds(booster: lgb.Booster) -> int:
        return booster.current_iteration()

    def _refit_booster(self, X: pd.DataFrame, y: np.ndarray) -> None:
        """Retrain on (X, y) for the early-stopped number of rounds, with the same parameters and
        the first fit's bin edges (finding them again on nearly the same rows cost a third of the refit)."""
        bins = self.__dict__.pop("_bins", None)
        train = self.__dict__.pop("_given_bins", None)  # `refits_alike`
        given = train is not None
        if train is None:
            train = lgb.Dataset(self.model_input(X), label=y, free_raw_data=True, reference=bins)
        rounds = max(1, self.best_iteration_)
        with _setup_in_turn(given) as turn, booster_rounds(rounds, refit=True) as at_round:
            self.tree_model_ = lgb.train(self.params_, train, num_boost_round=rounds,
                                         callbacks=[*turn, *_lightgbm_rounds(at_round)])

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw margin (log-odds for classifiers, log expected spend for Tweedie)."""
        return np.asarray(self.tree_model_.predict(self.model_input(X), raw_score=True), dtype=float)

    def _tweedie_params(self) -> dict:
        return {"tweedie_variance_power": self.tweedie_variance_power}


# lgb.train writes to its Datasets before the first round (their parameters, the valid set's
# reference and feature names, through LightGBM's C API), and Booster() reads them. Boosters
# fitted side by side on shared Datasets (`fits_alike`) take turns there: one read names the other
# was writing ("Do not support special JSON characters in feature name", the demo's X-learner,
# now and then). The rounds only read the Datasets, and run side by side.
_SHARED_SETUP = threading.Lock()


@contextmanager
def _setup_in_turn(shared: bool) -> Iterator[list[Callable]]:
    """The callbacks for lgb.train on `shared` Datasets: the setup runs under `_SHARED_SETUP`,
    let go as the first round begins (or when lgb.train fails before it)."""
    if not shared:
        yield []
        return
    _SHARED_SETUP.acquire()
    held = [True]

    def first_round(env: object = None) -> None:
        if held[0]:
            held[0] = False
            _SHARED_SETUP.release()

    first_round.before_iteration = True  # type: ignore[attr-defined]
    try:
        yield [first_round]
    finally:
        first_round()


def _check_alike(members: list[_LightGBMBase]) -> None:
    """ValueError unless `members` are of one class with the same parameters but `random_state`."""
    shared = [{k: v for k, v in m.get_params().items() if k != "random_state"} for m in members]
    if any(type(m) is not type(members[0]) or p != shared[0] for m, p in zip(members, shared, strict=True)):
        raise ValueError("fits_alike: the boosters must be of one class with the same parameters but their seed")


def fits_alike(members: list[_LightGBMBase], X: pd.DataFrame, y: np.ndarray, X_valid: pd.DataFrame | None,
               y_valid: np.ndarray | None) -> list[Callable[[], _LightGBMBase]]:
    """Bin (X, y) and the valid rows ONCE for LightGBM models alike but for their seed (the members
    of an averaged set, e.g. the X-learner's effect boosters) and return the calls that fit each
    member on them, for `siyu.models.threads.side_by_side`. Building a Dataset (a numpy copy, bin
    edges, binning) was a quarter of such a member's fit. Boosters fitted on a shared Dataset,
    side by side or not, equal those fitted on their own Datasets given the one `data_random_seed`
    they now all carry (tests/models/test_boosting.py)."""
    _check_alike(members)
    for m in members:
        # one `data_random_seed` for all (LightGBM derives it from each booster's seed otherwise, and
        # refuses to train on a Dataset binned with another one): the first member's seed
        m.bin_seed_ = members[0].random_state
    first = members[0]
    params = first._params(len(y))
    # the first member's schema, learned here from X as its own fit will learn it, shapes what LightGBM sees
    first.feature_names_in_ = np.asarray(X.columns, dtype=object)
    first._learn_schema(X)
    train = lgb.Dataset(first.model_input(X), label=y, free_raw_data=True, params=params).construct()
    valid = None
    if X_valid is not None:
        valid = lgb.Dataset(first.model_input(X_valid), label=y_valid, reference=train, params=params).construct()
    for m in members:
        m._given_bins = (train, valid)
    return [functools.partial(m.fit, X, y, X_valid=X_valid, y_valid=y_valid) for m in members]


def refits_alike(members: list[_LightGBMBase], X: pd.DataFrame, y: np.ndarray) -> list[Callable[[], None]]:
    """The `_refit` calls of `fits_alike`'s members on (X, y), binned once with their first fit's bin
    edges (members that did not early-stop have nothing to refit and are left out)."""
    members = [m for m in members if getattr(m, "best_iteration_", None)]
    if not members:
        return []
    first = members[0]
    train = lgb.Dataset(first.model_input(X), label=y, free_raw_data=True, reference=first.__dict__.get("_bins"),
                        params=first.params_).construct()
    for m in members:
        m._given_bins = train
    return [functools.partial(m._refit, X, y) for m in members]


class LightGBMClassifier(_BinaryHead, _LightGBMBase):
    """LightGBM binary classifier: early stopping on valid AUC, refit on train + valid, calibration.

    Defaults are regularized (small trees with large leaves, half the columns per tree, 50
    rounds of early-stopping patience at learning rate 0.05): the signal is smooth and additive in a few
    recency / frequency features, the windows are strongly correlated, and the later test
    cutoff rewards stability over fit. No class weighting by default: it distorts the
    probabilities and did not help the ranking (calibration is a separate step)."""

    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 500, subsample: float = 0.8, colsample_bytree: float = 0.5,
                 reg_lambda: float = 5.0, max_bin: int = 127, early_stopping_rounds: int = 50,
                 imbalance: Imbalance = "none", calibration: str = "isotonic", refit: bool = True,
                 n_jobs: int = 2, random_state: int = 0, btyd_horizon_days: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping_rounds = early_stopping_rounds
        self.imbalance = imbalance
        self.calibration = calibration
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.btyd_horizon_days = btyd_horizon_days



class LightGBMRegressor(_TweedieHead, _LightGBMBase):
    """LightGBM Tweedie regressor for zero-inflated net spend (negative labels clipped to 0)."""

    _objective = "tweedie"
    _metric = "tweedie"

    def __init__(self, *, n_estimators: int = 400, learning_rate: float = 0.08, num_leaves: int = 31,
                 min_child_samples: int = 100, subsample: float = 0.8, colsample_bytree: float = 0.5,
                 reg_lambda: float = 1.0, max_bin: int = 127, early_stopping_rounds: int = 30,
                 tweedie_variance_power: float = 1.5, refit: bool = True, n_jobs: int = 2,
                 random_state: int = 0, btyd_horizon_days: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping_rounds = early_stopping_rounds
        self.tweedie_variance_power = tweedie_variance_power
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.btyd_horizon_days = btyd_horizon_days



# --------------------------------------------------------------------------- XGBoost
class _XGBoostBase(_TreeMixin, SiyuEstimator):
    _objective: str = "binary:logistic"
    _metric: str = "auc"

    def _params(self, n_rows: int) -> dict:
        return {
            "objective": self._objective, "eval_metric": self._metric, "eta": self.learning_rate,
            "max_depth": self.max_depth, "min_child_weight": self.min_child_weight,
            "subsample": self.subsample, "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda, "tree_method": "hist", "max_bin": self.max_bin,
            "nthread": _threads(self.n_jobs, n_rows), "seed": self.random_state, "max_cat_to_onehot": 1,
        }

    def _dmatrix(self, X: pd.DataFrame, y=None) -> xgb.DMatrix:
        return xgb.DMatrix(self.model_input(X), label=y, enable_categorical=True, nthread=self.n_jobs)

    def _train(self, params, X, y, X_valid, y_valid, callbacks) -> xgb.Booster:
        dtrain = self._dmatrix(X, y)
        evals, stopping = [], None
        if X_valid is not None:
            evals, stopping = [(self._dmatrix(X_valid, y_valid), "valid")], self.early_stopping_rounds
        self.params_ = params
        with booster_rounds(self.n_estimators) as at_round:
            booster = xgb.train(params, dtrain, num_boost_round=self.n_estimators, evals=evals,
                                early_stopping_rounds=stopping, verbose_eval=False,
                                callbacks=[*callbacks, *_xgboost_rounds(at_round)] or None)
        if stopping is not None:
            booster = booster[: booster.best_iteration + 1]
        return booster

    @staticmethod
    def _rounds(booster: xgb.Booster) -> int:
        return booster.num_boosted_rounds()

    def _tweedie_params(self) -> dict:
        power = self.tweedie_variance_power
        return {"tweedie_variance_power": power, "eval_metric": f"tweedie-nloglik@{power}"}

    def _refit_booster(self, X: pd.DataFrame, y: np.ndarray) -> None:
        """Retrain on (X, y) for the early-stopped number of rounds, with the same parameters."""
        rounds = max(1, self.best_iteration_)
        with booster_rounds(rounds, refit=True) as at_round:
            self.tree_model_ = xgb.train(self.params_, self._dmatrix(X, y), num_boost_round=rounds,
                                         callbacks=_xgboost_rounds(at_round) or None)

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw margin (log-odds for classifiers, log expected spend for Tweedie)."""
        return np.asarray(self.tree_model_.predict(self._dmatrix(X), output_margin=True), dtype=float)


class XGBoostClassifier(_BinaryHead, _XGBoostBase):
    """XGBoost binary classifier: early stopping on valid AUC, refit on train + valid, calibration.

    Regularized like `LightGBMClassifier`: shallow trees (depth 4, at most 16 leaves), leaves
    holding a hessian of 20 (about 400 rows at a 5 % rate), no class weights."""

    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.05, max_depth: int = 4,
                 min_child_weight: float = 20.0, subsample: float = 0.8, colsample_bytree: float = 0.5,
                 reg_lambda: float = 5.0, max_bin: int = 128, early_stopping_rounds: int = 50,
                 imbalance: Imbalance = "none", calibration: str = "isotonic", refit: bool = True,
                 n_jobs: int = 2, random_state: int = 0, btyd_horizon_days: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping_rounds = early_stopping_rounds
        self.imbalance = imbalance
        self.calibration = calibration
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.btyd_horizon_days = btyd_horizon_days



class XGBoostRegressor(_TweedieHead, _XGBoostBase):
    """XGBoost Tweedie regressor for zero-inflated net spend (negative labels clipped to 0)."""

    _objective = "reg:tweedie"
    _metric = "tweedie-nloglik@1.5"

    def __init__(self, *, n_estimators: int = 400, learning_rate: float = 0.08, max_depth: int = 6,
                 min_child_weight: float = 10.0, subsample: float = 0.8, colsample_bytree: float = 0.5,
                 reg_lambda: float = 1.0, max_bin: int = 128, early_stopping_rounds: int = 30,
                 tweedie_variance_power: float = 1.5, refit: bool = True, n_jobs: int = 2,
                 random_state: int = 0, btyd_horizon_days: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping_rounds = early_stopping_rounds
        self.tweedie_variance_power = tweedie_variance_power
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.btyd_horizon_days = btyd_horizon_days



# --------------------------------------------------------------------------- two-part LTV
class TwoPartLTV(_TreeMixin, SiyuEstimator):
    """LTV as P(buy) × E[spend | buy], both LightGBM: a classifier and a Gamma regressor.

    `tree_model_` / `margin` are those of the purchase-probability part (SHAP explains who buys).
    """

    binary = False
    _own_btyd = False

    def __init__(self, *, n_estimators: int = 400, learning_rate: float = 0.08, num_leaves: int = 31,
                 min_child_samples: int = 50, early_stopping_rounds: int = 30, refit: bool = True,
                 n_jobs: int = 2, random_state: int = 0, btyd_horizon_days: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.btyd_horizon_days = btyd_horizon_days

    def _part_params(self) -> dict:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                "early_stopping_rounds": self.early_stopping_rounds, "n_jobs": self.n_jobs,
                "random_state": self.random_state, "refit": False,  # parts refit through `_refit`
                "btyd_horizon_days": self.btyd_horizon_days}

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self._learn_schema(X)
        buys, buys_valid = (y > 0).astype(float), None if y_valid is None else (y_valid > 0).astype(float)
        if len(np.unique(buys)) < 2:
            raise ValueError("TwoPartLTV.fit: need both buyers (label > 0) and non-buyers in y")
        self.buy_model_ = LightGBMClassifier(**self._part_params(), imbalance="none", calibration="none")
        self.buy_model_.fit(X, buys, X_valid=X_valid, y_valid=buys_valid, callbacks=callbacks)
        spend_model = _GammaSpend(**self._part_params())
        pos, pos_valid = y > 0, None if y_valid is None else y_valid > 0
        has_valid = pos_valid is not None and pos_valid.sum() > 0
        spend_model.fit(X[pos], y[pos], X_valid=X_valid[pos_valid] if has_valid else None,
                        y_valid=y_valid[pos_valid] if has_valid else None)
        self.spend_model_ = spend_model
        self.tree_model_ = self.buy_model_.tree_model_
        self.derived_sources_ = self.buy_model_.derived_sources_

    def _refit(self, X: pd.DataFrame, y: np.ndarray) -> None:
        buys = y > 0
        self.buy_model_._refit(X, buys.astype(float))
        self.spend_model_._refit(X[buys], y[buys])
        self.tree_model_ = self.buy_model_.tree_model_

    def model_input(self, X: pd.DataFrame) -> pd.DataFrame:
        """What `tree_model_` (the purchase part) sees, its BTYD columns included."""
        return self.buy_model_.model_input(self._checked_input(X, "model_input"))

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of buying in the horizon (the purchase-probability part)."""
        return self.buy_model_.margin(self._checked_input(X, "margin"))

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.buy_model_.predict_score(X) * self.spend_model_.predict_score(X)


class ObjectiveRegressor(LightGBMRegressor):
    """A LightGBM regressor on a subclass's own `_objective` / `_metric`, targets as given (no
    Tweedie clipping of negatives): the base of the spend and effect models inside other models."""

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self._learn_schema(X)
        self.tree_model_ = self._train(self._params(len(y)), X, y, X_valid, y_valid, callbacks)
        self.best_iteration_ = self._rounds(self.tree_model_)

    def _refit(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self._refit_booster(X, y)


class _GammaSpend(ObjectiveRegressor):
    """E[spend | buy]: LightGBM with a Gamma objective on buyers only."""

    _objective = "gamma"
    _metric = "gamma"
