"""K-Means behavioural segments on standardized point-in-time features (scikit-learn contract).

Features pass a signed log (spend and counts are heavy tailed), missing values are filled (a
missing recency, "never", with the largest seen; anything else with the median), then they are
standardized. K is the one in [k_min, k_max] with the highest silhouette on a random sample of
users. Given the previous model, new centroids are matched to its centroids (Hungarian
assignment on their distance in the new standardized space), and matched segments keep their
key and names: names stay put when the model is refitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from siyu.segments.naming import NamingRule, SegmentName, name_segments

_RECENCY_PARTS = ("recency", "purchase_recency")
# Below this many rows K-Means runs on one thread: its OpenMP threads wait for each other at every
# Lloyd step, and on the demo's 3,000-row samples the 24 runs took 3-5 s on two busy cores
# against 0.3-0.4 s on one. The labels are the same; centres may differ in the last bits of a sum.
_ONE_THREAD_ROWS = 100_000


def _threads_for(n_rows: int):  # noqa: ANN202 - a threadpoolctl context
    return threadpool_limits(1) if n_rows < _ONE_THREAD_ROWS else threadpool_limits(None)


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


class SegmentModel:
    """K-Means segments with stable names. `fit(X, previous=None) -> self`; `predict(X)` -> keys."""

    def __init__(self, parts: Mapping[str, str] | None = None, k_min: int = 8, k_max: int = 12,
                 silhouette_sample: int = 3000, n_init: int = 4, random_state: int = 0,
                 naming: NamingRule | None = None) -> None:
        self.parts = parts
        self.k_min = k_min
        self.k_max = k_max
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.random_state = random_state
        self.naming = naming

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y: object = None, *, previous: SegmentModel | None = None) -> SegmentModel:
        """Pick K, cluster, name the segments (carrying over the names of `previous`)."""
        self.feature_names_ = list(X.columns)
        if len(X) < self.k_max + 1:
            raise ValueError(f"segments: {len(X)} users cannot make up to {self.k_max} segments; lower "
                             "segments.k_max or wait for more users")
        recency_cols = {c for p, c in (self.parts or {}).items() if p in _RECENCY_PARTS}
        logged = pd.DataFrame(_signed_log(X.to_numpy(dtype="float64")), columns=self.feature_names_, index=X.index)
        self.fill_ = {c: float(logged[c].max() if c in recency_cols else logged[c].median()) for c in self.feature_names_}
        self.fill_ = {c: (0.0 if np.isnan(v) else v) for c, v in self.fill_.items()}
        filled = logged.fillna(self.fill_).to_numpy()
        self.scaler_ = StandardScaler().fit(filled)
        Z = self.scaler_.transform(filled)
        # K is chosen on a random sample (K-Means and silhouette there), then only the chosen K is
        # fitted on everyone: the same choice as on all users, at a fraction of the time.
        rng = np.random.default_rng(self.random_state)
        sample = Z[rng.choice(len(Z), size=min(self.silhouette_sample, len(Z)), replace=False)]
        self.silhouettes_ = {}
        with _threads_for(len(sample)):
            for k in range(self.k_min, self.k_max + 1):
                km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(sample)
                self.silhouettes_[k] = float(silhouette_score(sample, km.labels_))
        self.k_ = max(self.silhouettes_, key=lambda k: (self.silhouettes_[k], -k))
        with _threads_for(len(Z)):
            self.kmeans_ = KMeans(n_clusters=self.k_, n_init=self.n_init, random_state=self.random_state).fit(Z)
        labels = self.kmeans_.labels_
        self.centers_log_ = self.scaler_.inverse_transform(self.kmeans_.cluster_centers_)  # comparable across fits
        self.centroids_ = X.assign(_c=labels).groupby("_c").median().reindex(range(self.k_))
        self.sizes_ = np.bincount(labels, minlength=self.k_)
        carried = self._carry_names(previous) if previous is not None else {}
        self.names_ = name_segments(self.centroids_, X, self.parts or {}, self.naming or NamingRule(), carried)
        self.keys_ = [self.names_[c].key for c in range(self.k_)]
        return self

    def _carry_names(self, previous: SegmentModel) -> dict[int, SegmentName]:
        """New cluster -> the name of the previous cluster it is matched to."""
        if list(previous.feature_names_) != self.feature_names_:
            return {}  # another feature list: a new segmentation, named afresh
        new = self.kmeans_.cluster_centers_
        old = self.scaler_.transform(previous.centers_log_)
        cost = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        return {int(r): previous.names_[int(c)] for r, c in zip(rows, cols, strict=True)}

    # ------------------------------------------------------------------ predict
    def _standardized(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ValueError(f"segments: input lacks feature column(s) {missing}")
        logged = pd.DataFrame(_signed_log(X[self.feature_names_].to_numpy(dtype="float64")),
                              columns=self.feature_names_, index=X.index)
        return self.scaler_.transform(logged.fillna(self.fill_).to_numpy())

    def predict_cluster(self, X: pd.DataFrame) -> np.ndarray:
        """The nearest centroid's index, per row."""
        with _threads_for(len(X)):
            return self.kmeans_.predict(self._standardized(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The segment key of each row (object array)."""
        return np.asarray(self.keys_, dtype=object)[self.predict_cluster(X)]

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        """The cluster index as a float: what the MLflow pyfunc wrapper returns (keys: `keys_`)."""
        return self.predict_cluster(X).astype("float64")

    def profile(self) -> pd.DataFrame:
        """One row per segment: `segment, name_zh, name_en, users, share`, then the centroid (median member)."""
        frame = self.centroids_.copy()
        frame.insert(0, "share", self.sizes_ / self.sizes_.sum())
        frame.insert(0, "users", self.sizes_)
        frame.insert(0, "name_en", [self.names_[c].en for c in range(self.k_)])
        frame.insert(0, "name_zh", [self.names_[c].zh for c in range(self.k_)])
        frame.insert(0, "segment", self.keys_)
        return frame.sort_values("users", ascending=False).reset_index(drop=True)


def silhouette_table(model: SegmentModel) -> pd.DataFrame:
    """`k, silhouette, chosen` for every K tried."""
    return pd.DataFrame([{"k": k, "silhouette": s, "chosen": k == model.k_} for k, s in model.silhouettes_.items()])


def agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of rows given the same segment key by two labelings."""
    return float(np.mean(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))
