"""Uplift estimators: the effect of each treatment versus control on a task's label.

One contract (scikit-learn style, like `siyu.models`):
`fit(X, y, *, treatment, propensity=None, X_valid=None, y_valid=None, treatment_valid=None,
propensity_valid=None) -> self`, where `treatment` holds "control" or a treatment name per row;
`treatments_` (sorted) and `predict_uplift(X) -> (n, T)`: each treatment's effect versus control
on the label's scale (probability points for a binary label, money for net spend);
`predict_score(X)`: the largest column, so the registry, the pyfunc wrapper and generic code
keep working.

- `tlearner`: LightGBM outcome models of control and of the treated rows; effect = mu_t(x) -
  mu_control(x).
- `xlearner`: those outcome models impute each row's effect (a treated row: y - mu_control(x);
  a control row: mu_t(x) - y; each model never saw the rows it imputes), two LightGBM
  regressions learn them, combined with the treatment's assignment share e:
  tau(x) = e * tau_control(x) + (1 - e) * tau_treated(x) (Künzel et al. 2019). Each of the two
  is the mean of `effect_seeds` (3) boosters differing by seed only: one booster's ranking moved
  with its seed more than anything else measured (see `XLearner._effect_models`).
  Both pool the treated arms by default (`pooled=True`): one treated model with the treatment as
  a categorical feature (`uplift_arm`), so a small coupon arm borrows the message arm's rows
  where the two move the same users (on the demo world their true effects correlate at 0.99;
  pooling lifted the X-learner's true-effect Qini from 0.32 to 0.38 and the T-learner's from
  0.20 to 0.30).
- `drlearner` (Kennedy 2020): outcome models cross-fitted in 2 folds by user (`groups`), so no
  row's pseudo-outcome comes from a model that saw it; the doubly robust pseudo-outcome
  phi_t = mu_t(x) - mu_c(x) + [T=t] (y - mu_t(x)) / e - [T=control] (y - mu_c(x)) / e with the
  known propensity e of the row's arm; one LightGBM regression of phi on x.
- baselines, each with the average effect (difference in means) as its level, so their
  effects are right on average and only their ranking differs: `random` (random order),
  `risk` ("target by risk": users least likely to reach the outcome without regard to
  treatment, the churn-risk habit), `response` ("target by predicted response without a
  control": an outcome model fitted on the treated rows only).
- `sklift` (optional extra `uplift`, scikit-uplift): its class-transformation regression with
  the known propensity, one per treatment on its arm and control.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from siyu.models._base import NotFittedError, check_features, check_target
from siyu.models.boosting import (
    LightGBMClassifier,
    LightGBMRegressor,
    ObjectiveRegressor,
    fits_alike,
    refits_alike,
)
from siyu.models.threads import member_threads, side_by_side

CONTROL = "control"


class UpliftEstimator(BaseEstimator):
    """Base of the uplift models: input checks, `treatments_`, `predict_score` = best column.

    Subclasses implement `_fit(X, y, t, p, X_valid, y_valid, t_valid, p_valid)` (t: the
    treatment array; p: propensities or None) and `_uplift(X) -> (n, T)`."""

    def fit(self, X: pd.DataFrame, y: object, *, treatment: object, propensity: object = None,
            X_valid: pd.DataFrame | None = None, y_valid: object = None, treatment_valid: object = None,
            propensity_valid: object = None, groups: object = None, groups_valid: object = None) -> UpliftEstimator:
        """Fit on (X, y, treatment); early stopping reads the valid rows when given. `groups` (and
        `groups_valid`): the unit each row belongs to (a user); models that cross-fit keep a
        group's rows in one fold, the others ignore them."""
        name = type(self).__name__
        X = check_features(X, where=f"{name}.fit")
        y_arr = check_target(y, len(X), binary=False, where=f"{name}.fit")
        t_arr = _treatments(treatment, len(X), where=f"{name}.fit")
        arms = sorted(str(a) for a in set(t_arr) - {CONTROL})
        if CONTROL not in set(t_arr) or not arms:
            raise ValueError(f"{name}.fit: need control rows and treated rows; got arms {sorted(set(t_arr))}")
        p_arr = None if propensity is None else _propensities(propensity, len(X), where=f"{name}.fit")
        if X_valid is not None:
            X_valid = check_features(X_valid, where=f"{name}.fit (valid)")[list(X.columns)]
            y_valid = check_target(y_valid, len(X_valid), binary=False, where=f"{name}.fit (valid)")
            treatment_valid = _treatments(treatment_valid, len(X_valid), where=f"{name}.fit (valid)")
            propensity_valid = (None if propensity_valid is None
                                else _propensities(propensity_valid, len(X_valid), where=f"{name}.fit (valid)"))
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        self.categories_ = {c: list(X[c].cat.categories) for c in X.columns
                            if isinstance(X[c].dtype, pd.CategoricalDtype)}
        self.treatments_ = tuple(arms)
        self.ate_ = {t: float(y_arr[t_arr == t].mean() - y_arr[t_arr == CONTROL].mean()) for t in arms}
        # What only some models read (cross-fitting folds, the refit's propensities), for this fit only.
        self._fit_extras = {"propensity": p_arr, "propensity_valid": propensity_valid,
                            "groups": _groups(groups, len(X), where=f"{name}.fit"),
                            "groups_valid": None if X_valid is None else _groups(groups_valid, len(X_valid),
                                                                                 where=f"{name}.fit (valid)")}
        try:
            self._fit(X, y_arr, t_arr, p_arr, X_valid, y_valid, treatment_valid, propensity_valid)
            self.valid_uplift_ = None
            if X_valid is not None and getattr(self, "refit", False):
                # Out-of-sample valid effects are kept before the refit sees the valid rows: they are
                # what valid metrics and the choice of challenger read.
                self.valid_uplift_ = np.asarray(self._uplift(X_valid), dtype="float64").reshape(len(X_valid), -1)
                self._refit_all(pd.concat([X, X_valid]), np.concatenate([y_arr, y_valid]),
                                np.concatenate([t_arr, treatment_valid]))
        finally:
            del self._fit_extras
        return self

    def predict_uplift(self, X: pd.DataFrame) -> np.ndarray:
        """(n, len(treatments_)): each treatment's effect vs control on the label's scale."""
        X = self._checked_input(X, "predict_uplift")
        return np.asarray(self._uplift(X), dtype="float64").reshape(len(X), len(self.treatments_))

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        """The largest effect over the treatments, one per row (what generic code ranks by)."""
        return self.predict_uplift(X).max(axis=1)

    def _checked_input(self, X: pd.DataFrame, method: str) -> pd.DataFrame:
        name = type(self).__name__
        if not hasattr(self, "treatments_"):
            raise NotFittedError(f"{name}.{method}: this model is not fitted yet; call fit(X, y, treatment=...) first")
        X = check_features(X, where=f"{name}.{method}")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"{name}.{method}: X lacks {len(missing)} feature column(s) seen in fit, e.g. {missing[:5]}")
        return X[list(self.feature_names_in_)]

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        """Refit every booster on train + valid for its early-stopped rounds (models with `refit`)."""


def _treatments(values: object, n: int, *, where: str) -> np.ndarray:
    if values is None:
        raise ValueError(f"{where}: `treatment` is required: 'control' or a treatment name per row")
    arr = np.asarray(values, dtype=object).astype(str)
    if arr.shape != (n,):
        raise ValueError(f"{where}: treatment has shape {arr.shape}, expected ({n},) to match X")
    return arr


def _groups(values: object, n: int, *, where: str) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=object).astype(str)
    if arr.shape != (n,):
        raise ValueError(f"{where}: groups has shape {arr.shape}, expected ({n},) to match X")
    return arr


def _propensities(values: object, n: int, *, where: str) -> np.ndarray:
    arr = np.asarray(values, dtype="float64")
    if arr.shape != (n,) or not np.isfinite(arr).all() or (arr <= 0).any() or (arr >= 1).any():
        raise ValueError(f"{where}: propensity must be ({n},) values strictly between 0 and 1")
    return arr


# --------------------------------------------------------------------------- base learners
class _L2Regressor(ObjectiveRegressor):
    """LightGBM least-squares regression (identity link, negative targets kept): the X-learner's
    effect models and outcome models of amounts that may be negative."""

    _objective = "regression"
    _metric = "l2"

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.margin(X)


def _outcome_model(binary: bool, params: dict) -> LightGBMClassifier | LightGBMRegressor:
    """An outcome model on one arm: a probability (uncalibrated: calibration maps would add their
    steps to the difference of two models) or expected net spend (Tweedie)."""
    if binary:
        return LightGBMClassifier(calibration="none", **params)
    return LightGBMRegressor(**params)


def _rows(mask: np.ndarray, X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    return X[mask], y[mask]


def _usable(X_valid: pd.DataFrame | None, y_valid: np.ndarray | None) -> tuple:
    """(X_valid, y_valid) when there are enough valid rows to stop early on, else (None, None)."""
    usable = X_valid is not None and len(X_valid) >= 20 and (len(np.unique(y_valid)) > 1)
    return (X_valid, y_valid) if usable else (None, None)


def _fit_on(model, X, y, X_valid, y_valid):  # noqa: ANN001, ANN202 - a siyu estimator
    """Fit with early stopping on the valid rows when there are enough of them."""
    X_valid, y_valid = _usable(X_valid, y_valid)
    return model.fit(X, y, X_valid=X_valid, y_valid=y_valid)


ARM_COLUMN = "uplift_arm"  # the treatment as a feature of the pooled treated models


# Rounds without a better validation score before a booster stops. The outcome models peak early
# (about 55 rounds at learning rate 0.05 on the demo's 83k rows, the effect models 30-110), so the
# boosters' default patience of 30-50 rounds doubled every fit for nothing.
PATIENCE = 20


def _outcome_params(est: object) -> dict:
    """An uplift estimator's LightGBM hyperparameters for its outcome models, which are refit by
    `_refit_all` (after the valid effects are kept), never by their own `fit`."""
    return {"n_estimators": est.n_estimators, "learning_rate": est.learning_rate, "num_leaves": est.num_leaves,
            "min_child_samples": est.min_child_samples, "n_jobs": est.n_jobs, "random_state": est.random_state,
            "early_stopping_rounds": PATIENCE, "refit": False}


class _ArmModels:
    """Mixin: the outcome models of the arms. Separate (`pooled=False`): one per arm. Pooled: one
    for control and ONE for every treated row with the treatment as a categorical feature
    (`uplift_arm`), so treatments that move the same users share their rows (in the generated
    world a message's and a coupon's effects correlate at 0.99) while the trees can still split
    on the treatment where their effects differ."""

    # Its boosters fit side by side within `n_jobs` (`side_by_side`): a caller fitting several models
    # at once gives it all the threads rather than one, or it would fit its boosters one by one.
    fits_side_by_side = True

    def _base_params(self) -> dict:
        return _outcome_params(self)

    def _with_arm(self, X: pd.DataFrame, arms: object) -> pd.DataFrame:
        values = np.broadcast_to(np.asarray(arms, dtype=object), (len(X),))
        return X.assign(**{ARM_COLUMN: pd.Categorical(values, categories=list(self.treatments_))})

    def _arm_data(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
        """{model key: (rows, outcomes)}: control, and each treatment or (pooled) all treated rows."""
        out = {CONTROL: _rows(t == CONTROL, X, y)}
        if self.pooled:
            treated = t != CONTROL
            out["treated"] = (self._with_arm(X[treated], t[treated]), y[treated])
        else:
            out |= {arm: _rows(t == arm, X, y) for arm in self.treatments_}
        return out

    def _fit_arms(self, X, y, t, X_valid, y_valid, t_valid) -> None:  # noqa: ANN001
        binary = bool(set(np.unique(y)) <= {0.0, 1.0})
        self.binary_ = binary
        valid = {} if X_valid is None else self._arm_data(X_valid, y_valid, t_valid)
        arms = self._arm_data(X, y, t)
        for key, (_, ya) in arms.items():
            if binary and len(np.unique(ya)) < 2:
                raise ValueError(f"{type(self).__name__}.fit: the {key} rows hold one outcome only; nothing to learn")
        n_jobs = self._base_params()["n_jobs"]
        params = self._base_params() | {"n_jobs": member_threads(n_jobs, len(arms))}
        fitted = side_by_side([functools.partial(_fit_on, _outcome_model(binary, params), Xa, ya, *valid.get(key, (None, None)))
                               for key, (Xa, ya) in arms.items()], n_jobs)
        self.arm_models_ = dict(zip(arms, fitted, strict=True))

    def _refit_arms(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        side_by_side([functools.partial(self.arm_models_[key]._refit, Xa, ya)
                      for key, (Xa, ya) in self._arm_data(X, y, t).items()
                      if getattr(self.arm_models_[key], "best_iteration_", None)], self._base_params()["n_jobs"])

    def _mu(self, X: pd.DataFrame, arm: str) -> np.ndarray:
        """The expected outcome of the rows `X` under `arm`."""
        if arm == CONTROL or not self.pooled:
            return np.asarray(self.arm_models_[arm].predict_score(X), dtype="float64")
        return np.asarray(self.arm_models_["treated"].predict_score(self._with_arm(X, arm)), dtype="float64")


class TLearner(_ArmModels, UpliftEstimator):
    """T-learner on LightGBM: an outcome model per arm (treated arms pooled by default, see
    `_ArmModels`), effect = mu_t(x) - mu_control(x)."""

    def __init__(self, *, n_estimators: int = 600, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 200, pooled: bool = True, refit: bool = True, n_jobs: int = 2,
                 random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.pooled = pooled
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        self._fit_arms(X, y, t, X_valid, y_valid, t_valid)

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        self._refit_arms(X, y, t)

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        control = self._mu(X, CONTROL)
        return np.column_stack([self._mu(X, arm) - control for arm in self.treatments_])


class XLearner(_ArmModels, UpliftEstimator):
    """X-learner on LightGBM (Künzel et al. 2019): the arm models impute each row's effect (a
    treated row: y - mu_control(x); a control row: mu_t(x) - y, once per treatment), two
    least-squares boosters learn them (pooled over the treatments with the treatment as a
    feature, by default), combined with the treatment's assignment share e (from the training
    set's propensities when given, else its share of the rows):
    tau_t(x) = e * tau_from_control(x, t) + (1 - e) * tau_from_treated(x, t). Each effect model
    is the mean of `effect_seeds` boosters alike but for their seed (`_effect_models` says why)."""

    def __init__(self, *, n_estimators: int = 600, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 200, effect_leaves: int = 7, effect_seeds: int = 3, pooled: bool = True,
                 refit: bool = True, n_jobs: int = 2, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.effect_leaves = effect_leaves
        self.effect_seeds = effect_seeds
        self.pooled = pooled
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _effect_models(self) -> list[_L2Regressor]:
        """`effect_seeds` effect boosters, alike but for their seed (row and column subsampling),
        whose predictions are averaged. With one booster the ranking moved with the seed: on the
        demo world (5,000 users) seeds 0-10 gave valid Qini 0.067 +- 0.031 and test Qini 0.174 +-
        0.028 (0.12-0.20, 49-85 % of the observable oracle's 0.240), the noise of boosters fitted
        to imputed effects that are mostly outcome noise. The mean of 3 (seeds 0-4, against one
        booster on the same seeds): valid Qini 0.094 +- 0.022 (0.050 +- 0.016), test Qini 0.203 +-
        0.015 (0.169 +- 0.033), 85 % of the oracle's (70 %). It costs the effect boosters twice
        more: fit 46 s against 26 s (the outcome models are shared). Bagging whole X-learners was
        no better for 3x the time, and members on 60 % of the users were worse (test 0.161)."""
        if self.effect_seeds < 1:
            raise ValueError(f"XLearner: effect_seeds must be at least 1, got {self.effect_seeds}")
        threads = member_threads(self.n_jobs, 2 * self.effect_seeds)  # both sides' members side by side
        return [_L2Regressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                             num_leaves=self.effect_leaves, min_child_samples=self.min_child_samples,
                             early_stopping_rounds=PATIENCE, n_jobs=threads, random_state=seed, refit=False)
                for seed in _member_seeds(self.random_state, self.effect_seeds)]

    def _imputed(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> dict[tuple[str, str], tuple]:
        """{(model key, side): (rows, imputed effects)}. A treated row's effect uses the control
        model and a control row's the treated one: neither model saw the rows it imputes."""
        ctrl = t == CONTROL
        out = {}
        keys = ("all",) if self.pooled else self.treatments_
        for key in keys:
            arms = self.treatments_ if self.pooled else (key,)
            mine = np.isin(t, arms)
            rows_t = self._with_arm(X[mine], t[mine]) if self.pooled else X[mine]
            out[(key, "treated")] = (rows_t, y[mine] - self._mu(X[mine], CONTROL))
            parts = [(self._with_arm(X[ctrl], arm) if self.pooled else X[ctrl], self._mu(X[ctrl], arm) - y[ctrl])
                     for arm in arms]
            out[(key, "control")] = (pd.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        return out

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        self._fit_arms(X, y, t, X_valid, y_valid, t_valid)
        self.share_ = {}
        for arm in self.treatments_:
            mine, ctrl = t == arm, t == CONTROL
            if p is not None:
                self.share_[arm] = float(np.mean(p[mine]) / (np.mean(p[mine]) + np.mean(p[ctrl])))
            else:
                self.share_[arm] = float(mine.sum() / (mine.sum() + ctrl.sum()))
        valid = {} if X_valid is None else self._imputed(X_valid, y_valid, t_valid)
        sides = self._imputed(X, y, t)
        members = {side_key: self._effect_models() for side_key in sides}
        # each side's members binned once, then all of both sides' members fitted side by side
        side_by_side([fit for side_key, (Xs, ds) in sides.items()
                      for fit in fits_alike(members[side_key], Xs, ds, *_usable(*valid.get(side_key, (None, None))))],
                     self.n_jobs)
        self.effect_models_ = {side_key: tuple(models) for side_key, models in members.items()}

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        self._refit_arms(X, y, t)
        side_by_side([refit for side_key, (Xs, ds) in self._imputed(X, y, t).items()
                      for refit in refits_alike(list(self.effect_models_[side_key]), Xs, ds)], self.n_jobs)

    def _effect(self, side_key: tuple[str, str], rows: pd.DataFrame) -> np.ndarray:
        """The mean prediction of one side's effect boosters."""
        return np.mean([m.predict_score(rows) for m in self.effect_models_[side_key]], axis=0)

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for arm in self.treatments_:
            key, rows = ("all", self._with_arm(X, arm)) if self.pooled else (arm, X)
            e = self.share_[arm]
            cols.append(e * self._effect((key, "control"), rows) + (1 - e) * self._effect((key, "treated"), rows))
        return np.column_stack(cols)


def _member_seeds(random_state: int, n: int) -> list[int]:
    """`n` distinct seeds of an averaged set of boosters: the first is `random_state` (one member
    is the single booster), the others drawn from it, so two random states share no member."""
    drawn = np.random.default_rng([random_state, n]).integers(1, 2**31 - 1, size=n - 1) if n > 1 else []
    return [random_state, *(int(s) for s in drawn)]


class _FoldArms(_ArmModels):
    """The outcome models of one cross-fitting fold of a DR-learner, fitted on the other folds' rows."""

    def __init__(self, params: dict, treatments: tuple[str, ...], pooled: bool) -> None:
        self.params, self.treatments_, self.pooled = params, treatments, pooled

    def _base_params(self) -> dict:
        return self.params


def _folds(groups: np.ndarray | None, n: int, n_folds: int, random_state: int) -> np.ndarray:
    """Each row's cross-fitting fold: by group through a hash (so a user's train and valid rows
    share one and the refit on both keeps them apart), or at random without groups."""
    if groups is None:
        return np.random.default_rng(random_state).integers(0, n_folds, n)
    hashed = pd.util.hash_array(groups.astype(object), hash_key=f"siyu-dr-{random_state:08d}"[:16])
    return (hashed % np.uint64(n_folds)).astype(np.int64)


class DRLearner(_ArmModels, UpliftEstimator):
    """DR-learner on LightGBM (Kennedy 2020): cross-fitted outcome models (`n_folds` folds by
    `groups`, the user, so no row's pseudo-outcome comes from a model that saw it; treated arms
    pooled by default, see `_ArmModels`) give each row a doubly robust pseudo-outcome per treatment
    phi_t = mu_t(x) - mu_c(x) + [T=t] (y - mu_t(x)) / e - [T=control] (y - mu_c(x)) / e, with e the
    row's known propensity of the arm it got (else that arm's share of the rows), and one
    least-squares booster learns E[phi_t | x] (pooled over the treatments with the treatment as a
    feature, by default), early-stopped on the valid rows' pseudo-outcomes."""

    def __init__(self, *, n_estimators: int = 600, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 200, effect_leaves: int = 7, effect_min_child_samples: int = 400,
                 n_folds: int = 2, pooled: bool = True, refit: bool = True, n_jobs: int = 2,
                 random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.effect_leaves = effect_leaves
        self.effect_min_child_samples = effect_min_child_samples
        self.n_folds = n_folds
        self.pooled = pooled
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _effect_model(self) -> _L2Regressor:
        return _L2Regressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                            num_leaves=self.effect_leaves, min_child_samples=self.effect_min_child_samples,
                            early_stopping_rounds=PATIENCE, n_jobs=self.n_jobs, random_state=self.random_state,
                            refit=False)

    def _assigned(self, t: np.ndarray, p: np.ndarray | None) -> np.ndarray:
        """Each row's probability of the arm it got: the known propensity, else the arm's share."""
        if p is not None:
            return p
        return np.vectorize(self.shares_.get, otypes=[float])(t)

    def _mu(self, X: pd.DataFrame, arm: str, folds: np.ndarray | None = None) -> np.ndarray:
        """mu_arm of the rows `X`: row i by the fold models that never saw fold folds[i]; rows outside
        the cross-fit (folds None) by the mean of the fold models."""
        if folds is None:
            return np.mean([m._mu(X, arm) for m in self.fold_models_], axis=0)
        out = np.empty(len(X))
        for k, model in enumerate(self.fold_models_):
            mine = folds == k
            if mine.any():
                out[mine] = model._mu(X[mine], arm)
        return out

    def _pseudo(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray, p: np.ndarray | None,
                folds: np.ndarray | None) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
        """{effect model key: (rows, pseudo-outcomes)}: every row once per treatment."""
        e, ctrl = self._assigned(t, p), t == CONTROL
        mu_c = self._mu(X, CONTROL, folds)
        residual_c = np.where(ctrl, (y - mu_c) / e, 0.0)
        parts = {}
        for arm in self.treatments_:
            mu_t = self._mu(X, arm, folds)
            phi = mu_t - mu_c + np.where(t == arm, (y - mu_t) / e, 0.0) - residual_c
            parts[arm] = (self._with_arm(X, arm) if self.pooled else X, phi)
        if not self.pooled:
            return parts
        return {"all": (pd.concat([rows for rows, _ in parts.values()]),
                        np.concatenate([phi for _, phi in parts.values()]))}

    def _cross_fit(self, X, y, t, X_valid, y_valid, t_valid, folds) -> None:  # noqa: ANN001
        if self.n_folds < 2:
            raise ValueError(f"DRLearner: n_folds must be at least 2 to cross-fit, got {self.n_folds}")
        self.fold_models_ = []
        for k in range(self.n_folds):
            others = folds != k
            model = _FoldArms(_outcome_params(self), self.treatments_, self.pooled)
            model._fit_arms(X[others], y[others], t[others], X_valid, y_valid, t_valid)
            self.fold_models_.append(model)

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        self.shares_ = {arm: float(np.mean(t == arm)) for arm in (CONTROL, *self.treatments_)}
        extras = self._fit_extras
        folds = _folds(extras["groups"], len(X), self.n_folds, self.random_state)
        self._cross_fit(X, y, t, X_valid, y_valid, t_valid, folds)
        valid = {} if X_valid is None else self._pseudo(X_valid, y_valid, t_valid, p_valid, None)
        self.effect_models_ = {}
        for key, (rows, phi) in self._pseudo(X, y, t, p, folds).items():
            Xv, pv = valid.get(key, (None, None))
            self.effect_models_[key] = _fit_on(self._effect_model(), rows, phi, Xv, pv)

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        extras = self._fit_extras
        p_parts = (extras["propensity"], extras["propensity_valid"])
        p = None if any(v is None for v in p_parts) else np.concatenate(p_parts)
        g_parts = (extras["groups"], extras["groups_valid"])
        groups = None if any(v is None for v in g_parts) else np.concatenate(g_parts)
        folds = _folds(groups, len(X), self.n_folds, self.random_state)
        for k, model in enumerate(self.fold_models_):
            others = folds != k
            model._refit_arms(X[others], y[others], t[others])
        for key, (rows, phi) in self._pseudo(X, y, t, p, folds).items():
            if getattr(self.effect_models_[key], "best_iteration_", None):
                self.effect_models_[key]._refit(rows, phi)

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        if self.pooled:
            return np.column_stack([self.effect_models_["all"].predict_score(self._with_arm(X, arm))
                                    for arm in self.treatments_])
        return np.column_stack([self.effect_models_[arm].predict_score(X) for arm in self.treatments_])


# --------------------------------------------------------------------------- baselines
class _ScoreBaseline(UpliftEstimator):
    """A ranking dressed as an effect: each treatment's average effect times the row's score over
    its mean on the fit rows, so the effects average to the difference in means and the order is
    the score's."""

    def _scale(self, arm: str, score: np.ndarray) -> np.ndarray:
        mean = self.score_mean_[arm]
        return self.ate_[arm] * (score / mean if mean > 0 else np.ones_like(score))


class RandomUplift(_ScoreBaseline):
    """Random targeting: the average effect with a random order (seeded by `random_state` and the
    rows' count, so the same frame gets the same order)."""

    def __init__(self, *, random_state: int = 0) -> None:
        self.random_state = random_state

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        self.score_mean_ = dict.fromkeys(self.treatments_, 0.5)

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        rng = np.random.default_rng([self.random_state, len(X)])
        return np.column_stack([self._scale(arm, rng.random(len(X))) for arm in self.treatments_])


class _OutcomeBaseline(_ScoreBaseline):
    """A baseline ranked by LightGBM outcome models (the same hyperparameters as the learners')."""

    def __init__(self, *, n_estimators: int = 600, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 200, refit: bool = True, n_jobs: int = 2, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state


class RiskTargeting(_OutcomeBaseline):
    """"Target by risk": one outcome model on every row, treatment ignored; users least likely to
    reach the outcome (to buy, to stay active) rank first, as a churn-risk list does."""

    def _risk(self, X: pd.DataFrame) -> np.ndarray:
        mu = np.asarray(self.outcome_model_.predict_score(X), dtype="float64")
        return 1.0 - mu if self.binary_ else float(self.top_) - mu  # shortfall from the best outcome

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        self.binary_ = bool(set(np.unique(y)) <= {0.0, 1.0})
        self.outcome_model_ = _fit_on(_outcome_model(self.binary_, _outcome_params(self)), X, y, X_valid, y_valid)
        self.top_ = float(np.quantile(y, 0.99)) if not self.binary_ else 1.0
        risk = self._risk(X)
        self.score_mean_ = dict.fromkeys(self.treatments_, float(np.clip(risk, 0, None).mean()))

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        if getattr(self.outcome_model_, "best_iteration_", None):
            self.outcome_model_._refit(X, y)

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        risk = np.clip(self._risk(X), 0, None)
        return np.column_stack([self._scale(arm, risk) for arm in self.treatments_])


class ResponseTargeting(_OutcomeBaseline):
    """"Target by predicted response without a control": per treatment, an outcome model on its
    treated rows only; users most likely to respond when contacted rank first (sure things
    included: without a control nothing tells them apart from persuadables)."""

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        binary = bool(set(np.unique(y)) <= {0.0, 1.0})
        self.response_models_, self.score_mean_ = {}, {}
        for arm in self.treatments_:
            Xa, ya = _rows(t == arm, X, y)
            Xv, yv = (None, None) if X_valid is None else _rows(t_valid == arm, X_valid, y_valid)
            model = _fit_on(_outcome_model(binary, _outcome_params(self)), Xa, ya, Xv, yv)
            self.response_models_[arm] = model
            self.score_mean_[arm] = float(np.clip(model.predict_score(Xa), 0, None).mean())

    def _refit_all(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        for arm, model in self.response_models_.items():
            if getattr(model, "best_iteration_", None):
                model._refit(X[t == arm], y[t == arm])

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([self._scale(arm, np.clip(self.response_models_[arm].predict_score(X), 0, None))
                                for arm in self.treatments_])


class SkliftClassTransformation(UpliftEstimator):
    """scikit-uplift's `ClassTransformationReg` (transformed outcome with the known propensity,
    Athey & Imbens 2015) on a LightGBM regressor, one per treatment on its arm and control.
    Needs the `uplift` extra (`pip install 'siyu[uplift]'`)."""

    def __init__(self, *, n_estimators: int = 300, learning_rate: float = 0.05, num_leaves: int = 7,
                 min_child_samples: int = 400, n_jobs: int = 2, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, X, y, t, p, X_valid, y_valid, t_valid, p_valid) -> None:
        from lightgbm import LGBMRegressor
        from sklift.models import ClassTransformationReg

        self.models_ = {}
        for arm in self.treatments_:
            rows = (t == arm) | (t == CONTROL)
            share = float(np.mean(t[rows] == arm))
            regressor = LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                      num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                      n_jobs=self.n_jobs, random_state=self.random_state, verbosity=-1)
            model = ClassTransformationReg(estimator=regressor, propensity_val=share)
            self.models_[arm] = model.fit(X[rows], y[rows], (t[rows] == arm).astype(int))

    def _uplift(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.asarray(self.models_[arm].predict(X), dtype="float64") for arm in self.treatments_])


UPLIFT_MODELS: dict[str, type[UpliftEstimator]] = {
    "tlearner": TLearner, "xlearner": XLearner, "drlearner": DRLearner, "random": RandomUplift, "risk": RiskTargeting,
    "response": ResponseTargeting, "sklift": SkliftClassTransformation,
}
OPTIONAL_UPLIFT_MODELS: dict[str, str] = {"sklift": "sklift"}  # model -> module its extra brings


def uplift_models_available(wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The uplift model names in training order whose optional dependencies are installed."""
    import importlib.util

    names = tuple(n for n in UPLIFT_MODELS
                  if n not in OPTIONAL_UPLIFT_MODELS or importlib.util.find_spec(OPTIONAL_UPLIFT_MODELS[n]) is not None)
    return names if wanted is None else tuple(n for n in names if n in wanted)


def make_uplift_model(name: str, *, random_state: int = 0, n_jobs: int = 2) -> UpliftEstimator:
    """A fresh uplift estimator `name` with siyu's defaults (ValueError naming the choices)."""
    if name not in UPLIFT_MODELS:
        raise ValueError(f"uplift model {name!r}: choose one of {list(UPLIFT_MODELS)}")
    if name in OPTIONAL_UPLIFT_MODELS and name not in uplift_models_available():
        raise ValueError(f"uplift model {name!r} needs scikit-uplift: pip install 'siyu[uplift]'")
    cls = UPLIFT_MODELS[name]
    return cls(random_state=random_state) if cls is RandomUplift else cls(random_state=random_state, n_jobs=n_jobs)


__all__ = ["CONTROL", "DRLearner", "OPTIONAL_UPLIFT_MODELS", "RandomUplift", "ResponseTargeting", "RiskTargeting",
           "SkliftClassTransformation", "TLearner", "UPLIFT_MODELS", "UpliftEstimator", "XLearner",
           "make_uplift_model", "uplift_models_available"]
