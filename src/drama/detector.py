"""The detector API that :class:`drama.Drama` and :class:`drama.DramaSearch` share.

A detector implements only ``_fit`` (learn, and set ``decision_scores_`` for the training
objects) and ``_decision_function`` (raw scores of new objects, higher = more anomalous).
Everything a user builds on those is written once here: the handling of missing values
(the ``missing`` parameter, :mod:`drama.missing`), the contamination threshold and 0/1
labels (PyOD's convention: 1 = anomaly), probabilities, ``fit_predict``, feature-name
checks, the fitted check, the all-or-nothing fit, the refusal to score after a parameter
that the fitted state depends on has changed, and saving as data.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from drama._numeric import TINY
from drama._validation import check_array, check_feature_names, feature_names
from drama.dask_support import fit_sample, is_dask, score_map
from drama.missing import apply_missing, check_missing, training_medians

__all__ = ["AnomalyDetector"]


def _equal(a: Any, b: Any) -> bool | None:
    """Whether two parameter values are equal: True, False, or None when it cannot be told
    (objects without a usable equality). Containers and arrays compare element by element,
    objects with scikit-learn parameters by type and parameters, random states by state."""
    if a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        return _all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return _all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return bool(np.array_equal(a, b))
        except (TypeError, ValueError):
            return None
    if isinstance(a, np.random.RandomState) and isinstance(b, np.random.RandomState):
        return _equal(a.get_state(legacy=False), b.get_state(legacy=False))
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        if type(a) is not type(b):
            return False
        try:
            return _equal(a.get_params(deep=False), b.get_params(deep=False))
        except Exception:
            return None
    if type(a).__eq__ is object.__eq__:
        return None  # equality by identity says nothing about a copy
    try:
        result = a == b
    except Exception:
        return None
    return bool(result) if isinstance(result, (bool, np.bool_)) else None


def _all(answers: Any) -> bool | None:
    """False if any answer is False, else None if any is None, else True."""
    answers = list(answers)
    if any(a is False for a in answers):
        return False
    return None if any(a is None for a in answers) else True


def _snapshot(value: Any) -> tuple[Any, Any]:
    """(the value, a deep copy of it or None): the copy shows edits made in place later."""
    try:
        return value, copy.deepcopy(value)
    except Exception:
        return value, None


def _changed(snapshot: tuple[Any, Any], value: Any) -> bool:
    """Whether ``value`` differs from the snapshotted one: another object that is not
    equal, or the same object edited in place. What cannot be compared counts as changed
    only when it is another object."""
    original, frozen = snapshot
    if value is original:
        return frozen is not None and _equal(value, frozen) is False
    return _equal(value, original) is not True


def _at_fit(snapshot: tuple[Any, Any]) -> Any:
    """The value as it was at fit: its deep copy, when one could be made."""
    original, frozen = snapshot
    return original if frozen is None else frozen


def check_contamination(value: Any) -> None:
    """``contamination`` is None (scores only) or a share in (0, 0.5)."""
    if value is not None and not (isinstance(value, Real) and not isinstance(value, bool)
                                  and 0 < float(value) < 0.5):
        raise ValueError(f"contamination must be in (0, 0.5) or None; got {value!r}.")


class AnomalyDetector(BaseEstimator):
    """Base of DRAMA's detectors; see the module notes for what a subclass implements."""

    # The attribute that exists only once fitted (or loaded).
    _fitted_attribute: ClassVar[str] = "decision_scores_"
    # Parameters that may change after fit without a refit: they do not shape the fitted
    # state (contamination only moves the threshold; missing only says what to do with
    # the gaps of the data scored next).
    _free_params: ClassVar[frozenset[str]] = frozenset({"contamination", "missing"})
    # The REFIT hint of the not-fitted and changed-parameter messages.
    _refit_hint: ClassVar[str] = "Call fit again"
    # The saved file's format name and the version this release reads and writes.
    FORMAT: ClassVar[str]
    FORMAT_VERSION: ClassVar[int]
    # Saved arrays that may hold NaN (every other floating array must be finite).
    NAN_MEMBERS: ClassVar[tuple[str, ...]] = ()

    decision_scores_: np.ndarray
    missing: str

    # ------------------------------------------------------------------ to implement
    def _fit(self, X: Any, y: Any) -> None:
        """Learn from ``X`` and set every fitted attribute, ``decision_scores_`` included."""
        raise NotImplementedError

    def _decision_function(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores of new objects; never refits. ``X`` is :meth:`decision_function`'s
        checked array: float32 or float64, C-contiguous, finite, its column names (if it
        came as a table) already checked."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        """Fit on ``X``, its missing values handled as ``missing`` says (with ``"drop"``,
        ``decision_scores_`` and ``labels_`` cover the rows kept: ``kept_rows_``). All or
        nothing: a fit that fails leaves the detector as it was (fitted or not), never
        half-updated. A Dask array or DataFrame is fitted on a sample of its rows
        (:mod:`drama.dask_support`), the draw kept in ``sample_draw_``."""
        if is_dask(X):
            return fit_sample(self, X, y)
        before = dict(self.__dict__)
        try:
            check_missing(self.missing)
            arr = check_array(X, allow_missing=True)
            # kept whatever ``missing`` is now: a model may be asked to impute later
            medians = training_medians(arr)
            X, kept = apply_missing(X, arr, self.missing, medians, at_fit=True)
            if kept is not None and y is not None and len(y) == len(kept):
                y = np.asarray(y)[kept]
            self._fit(X, y)
            self.fill_values_ = medians
            self.kept_rows_ = np.ones(len(arr), dtype=bool) if kept is None else kept
            self.__dict__.pop("sample_draw_", None)  # fitted on all of X
            self._remember_params()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then return the training objects' labels: 1 anomaly, 0 normal, and -1 for
        a row left out by ``missing="drop"``."""
        labels = self.fit(X, y).labels_
        if labels is None:
            raise ValueError(self._no_threshold("fit_predict"))
        out = np.full(len(self.kept_rows_), -1, dtype=labels.dtype)
        out[self.kept_rows_] = labels
        return out

    # ------------------------------------------------------------------ missing values
    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores of new objects (higher = more anomalous); never refits. Missing
        values are handled as ``missing`` says: refused, filled with the training medians,
        or (``"drop"``) left unscored, as NaN. A Dask array or DataFrame gets a lazy Dask
        array of scores, computed partition by partition (:func:`drama.dask_support.score_map`)."""
        if is_dask(X):
            return score_map(self, X)
        self._check_fitted()
        check_missing(self.missing)
        self._check_feature_names(X)
        # converted and scanned once: float32 stays float32 (exact in float64; the model's
        # scaling converts), and _decision_function receives this checked array
        arr = check_array(X, allow_missing=True, keep_float32=True)
        handled, kept = apply_missing(X, arr, self.missing, self.__dict__.get("fill_values_"),
                                      at_fit=False)
        if handled is not X:  # imputed or dropped: another, finite table
            arr = check_array(handled, keep_float32=True)
        if kept is None:
            return self._decision_function(arr)
        scores = np.full(len(kept), np.nan)
        if kept.any():
            scores[kept] = self._decision_function(arr)
        return scores

    def _missing_state(self) -> dict[str, np.ndarray]:
        """The training medians (absent only in a model loaded from an older file), saved so
        that a loaded model imputes as the fitted one."""
        medians = self.__dict__.get("fill_values_")
        return {} if medians is None else {"missing/medians": np.asarray(medians, np.float64)}

    def _restore_missing(self, arrays: Mapping[str, np.ndarray], n_features: int) -> None:
        """Read back :meth:`_missing_state` (absent from files of older releases)."""
        medians = arrays.get("missing/medians")
        if medians is None:
            return
        if medians.shape != (n_features,):
            raise ValueError(f"{medians.shape} training medians for {n_features} features")
        self.fill_values_ = medians

    def _check_fitted(self) -> None:
        if self._fitted_attribute not in vars(self):
            # NotFittedError is both a ValueError and an AttributeError, so hasattr() on a
            # fitted-only attribute of an unfitted detector answers False instead of raising.
            name = type(self).__name__
            raise NotFittedError(f"This {name} is not fitted yet. Call fit(X) first, or "
                                 f"{name}.load(path).")

    # ------------------------------------------------------------------ feature names
    def _set_feature_names(self, X: Any) -> None:
        """Keep a DataFrame's columns (and forget those of an earlier fit on one)."""
        names = feature_names(X)
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names

    def _check_feature_names(self, X: Any) -> None:
        check_feature_names(X, getattr(self, "feature_names_in_", None))

    def _feature_names_state(self) -> list[str] | None:
        """The training columns for a saved file (None: fitted on an array)."""
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(c) for c in names]

    def _restore_feature_names(self, names: list[str] | None) -> None:
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)

    def _check_object_shape(self, arr: np.ndarray, shape: tuple[int, ...]) -> None:
        """New objects must have the training objects' shape."""
        if arr.shape[1:] != tuple(shape):
            raise ValueError(
                f"X has {int(np.prod(arr.shape[1:]))} features, but {type(self).__name__} is "
                f"expecting {int(np.prod(shape))} features as input (objects of shape "
                f"{arr.shape[1:]}, fitted on {tuple(shape)}). Pass data with the same columns "
                "in the same order."
            )

    # ------------------------------------------------------------------ parameters at fit
    def _state_params(self) -> dict[str, Any]:
        """The parameters the fitted state depends on."""
        return {k: v for k, v in self.get_params(deep=False).items()
                if k not in self._free_params}

    def _remember_params(self) -> None:
        """Snapshot the state parameters at fit (or load), with deep copies, so that a
        change made in place later (to a dict option, or to an object's own parameters)
        still shows."""
        self._fitted_params = {k: _snapshot(v) for k, v in self._state_params().items()}

    def _changed_params(self, names: Any = None) -> list[str]:
        """The state parameters (of ``names``, default all) set to other values since fit."""
        fitted = self.__dict__.get("_fitted_params")
        if fitted is None:
            return []
        return [f"{k} ({_at_fit(fitted[k])!r} -> {v!r})" if k in fitted else k
                for k, v in self._state_params().items()
                if (names is None or k in names) and (k not in fitted or _changed(fitted[k], v))]

    def _check_unchanged(self) -> None:
        """Refuse to score with parameters set after the fit: the fitted state, the
        training scores and the threshold were made with the old ones, so the answer
        would silently mix them."""
        changed = self._changed_params()
        if changed:
            raise ValueError(f"These parameters changed after fit: {', '.join(changed)}. "
                             f"{self._refit_hint}; contamination may change freely.")

    # ------------------------------------------------------------------ thresholds
    def _check_contamination(self) -> None:
        check_contamination(self.contamination)

    def _no_threshold(self, what: str) -> str:
        return (f"{what} needs a threshold: set contamination (e.g. det.set_params("
                "contamination=0.05)); no refit is needed.")

    @property
    def threshold_(self) -> float | None:
        """Score above which an object is labelled anomalous, from ``contamination``;
        recomputed on access, so changing contamination re-thresholds without refitting."""
        self._check_fitted()
        self._check_contamination()
        if self.contamination is None:
            return None
        return float(np.quantile(self.decision_scores_, 1.0 - self.contamination))

    @property
    def labels_(self) -> np.ndarray | None:
        """0 (normal) / 1 (anomaly) of the training objects; None without contamination."""
        threshold = self.threshold_
        if threshold is None:
            return None
        return (self.decision_scores_ > threshold).astype(int)

    def predict(self, X: Any) -> np.ndarray:
        """0 (normal) / 1 (anomaly) by the contamination threshold; -1 for a row that
        ``missing="drop"`` leaves unscored."""
        threshold = self.threshold_
        if threshold is None:
            raise ValueError(self._no_threshold("predict"))
        scores = self.decision_function(X)
        return np.where(np.isnan(scores), -1, scores > threshold).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) probabilities [normal, anomaly]: the score min-max scaled by the range of
        the training scores, clipped to [0, 1]."""
        scores = self.decision_function(X)
        low, high = self.decision_scores_.min(), self.decision_scores_.max()
        anomalous = np.clip((scores - low) / max(high - low, TINY), 0.0, 1.0)
        return np.column_stack([1.0 - anomalous, anomalous])

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted detector as (JSON-able description, named arrays)."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: Mapping[str, np.ndarray],
                   device: str | None = None) -> AnomalyDetector:
        """Rebuild a detector from :meth:`to_state`'s output."""
        raise NotImplementedError

    @classmethod
    def element_budget(cls, meta: dict[str, Any]) -> int:
        """The most values one saved array may hold, from the saved description."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> None:
        """Save as data only (JSON description + arrays, no pickle), atomically; see
        :mod:`drama.persistence`."""
        from drama.persistence import write_detector

        self._check_fitted()
        self._check_unchanged()  # the file must describe the state it holds
        write_detector(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> Any:
        """Load a detector saved with :meth:`save`; nothing in the file is executed.

        ``device`` places a neural model's networks (e.g. ``"cpu"`` for a model trained
        with ``device="cuda"``, on a machine without a GPU); None keeps the saved one."""
        from drama.persistence import read_detector

        return read_detector(path, (cls,), device=device)
