"""Turn what users pass (numpy, pandas, polars, lists) into checked float64 arrays.

Every check here raises a ValueError/TypeError whose message says what to do, so that
bad input never surfaces as a traceback from deep inside NumPy or scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _from_dataframe(X: Any, keep_float32: bool = False) -> np.ndarray:
    """pandas / polars frames: refuse non-numeric columns by name."""
    columns = list(X.columns)
    if hasattr(X, "select_dtypes"):  # pandas
        bad = [c for c in columns if X[c].dtype.kind not in "biuf"]
        if bad:
            raise TypeError(
                f"Column(s) {bad} are not numeric. Drop them or encode them as numbers "
                "before passing the table to DRAMA."
            )
        single = keep_float32 and all(X[c].dtype == np.float32 for c in columns)
        return X.to_numpy(dtype=np.float32 if single else np.float64)
    bad = [c for c, dt in zip(columns, X.dtypes, strict=True) if not dt.is_numeric()]  # polars
    if bad:
        raise TypeError(
            f"Column(s) {bad} are not numeric. Drop them or encode them as numbers "
            "before passing the table to DRAMA."
        )
    values = X.to_numpy()
    return values if keep_float32 and values.dtype == np.float32 else values.astype(np.float64)


def check_array(X: Any, *, name: str = "X", min_objects: int = 1,
                allow_missing: bool = False, keep_float32: bool = False) -> np.ndarray:
    """Return ``X`` as a float64 array of shape (n, ...) with n >= ``min_objects``.

    Tables are (n, d); sequences (n, T) or (n, T, C); images (n, H, W) or (n, H, W, C).
    NaN and infinities are refused unless ``allow_missing`` (see :mod:`drama.missing`).
    ``keep_float32``: float32 data stay float32 (every float32 is exact in float64, so a
    caller that converts later, as a model's scaling does, saves a copy of the data).
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; pass a dense array ({name}.toarray()).")
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        arr = _from_dataframe(X, keep_float32)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} could not be read as an array: "
                            f"{mixed_shapes(X) or exc}") from None
        if not (keep_float32 and arr.dtype == np.float32):
            arr = _as_float(arr, name)
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must be 2-D (objects x features) or higher; got shape {arr.shape}. Reshape "
            "your data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single "
            "object."
        )
    if arr.shape[0] == 0 or arr[0].size == 0:
        raise ValueError(
            f"{name} is empty: {arr.shape[0]} object(s), {arr[0].size if len(arr) else 0} "
            f"feature(s) (shape={arr.shape}) while a minimum of 1 is required; pass at least "
            "one object and one feature."
        )
    if arr.shape[0] < min_objects:
        raise ValueError(
            f"{name} has {arr.shape[0]} object(s) (n_samples={arr.shape[0]}); DRAMA needs at "
            f"least {min_objects} to learn what normal looks like."
        )
    if not allow_missing and not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains NaN or infinite values (first at {first_missing(X, arr)}). "
            "Impute or drop them before fitting or scoring."
        )
    # One memory layout, so numpy, pandas and polars input round identically.
    return np.ascontiguousarray(arr)


def first_missing(X: Any, arr: np.ndarray) -> str:
    """Where the first NaN or infinity of ``arr`` (``X`` as an array) is: by column name and
    row label for a table, by position otherwise."""
    row, column = np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0]
    if hasattr(X, "columns"):
        label = X.index[row] if hasattr(X, "index") else row
        return f"column {str(list(X.columns)[column])!r}, row {label!r}"
    return f"object {row}, feature {column}"


def _as_float(arr: np.ndarray, name: str) -> np.ndarray:
    """Numbers as float64; an object array only if every element is a real number."""
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; DRAMA "
                         "needs real numbers (split real and imaginary parts into features).")
    if arr.dtype.kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    elif arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    raise TypeError(f"{name} must hold numbers; it has dtype {arr.dtype}. Convert strings or "
                    "objects to numeric columns first.")


def mixed_shapes(X: Any) -> str | None:
    """Say which objects differ in shape (images of two sizes, curves of two lengths), or
    None when that is not what went wrong."""
    try:
        shapes = [np.shape(obj) for obj in X]
    except Exception:  # noqa: BLE001 - only a better message is at stake
        return None
    first = shapes[0] if shapes else None
    other = next((i for i, shape in enumerate(shapes) if shape != first), None)
    if other is None:
        return None
    return (f"its objects have different shapes, e.g. {first} (object 0) and {shapes[other]} "
            f"(object {other}). Every object must have one shape: crop or resize images, "
            "resample curves to one length (drama.datasets.lightcurves does this for "
            "light curves).")


def check_option(value: str, allowed: list[str] | tuple[str, ...], what: str) -> str:
    """Validate a name against the allowed choices with a helpful message."""
    if value not in allowed:
        raise ValueError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.")
    return value


def check_random_state(value: Any) -> None:
    """``random_state`` must be None or a non-negative integer (numpy's seeds); anything
    else would fail later inside numpy with a message that does not name the option."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"random_state must be a non-negative integer or None; got {value!r}.")


def check_integer(value: Any, what: str, minimum: int = 1) -> None:
    """An integer (not a bool) of at least ``minimum``, with a message naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}; got {value!r}.")


def check_positive(value: Any, what: str, *, allow_zero: bool = False) -> None:
    """A finite real number > 0 (or >= 0 with ``allow_zero``), with a message naming it."""
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
          and np.isfinite(value) and (value >= 0 if allow_zero else value > 0))
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{what} must be a finite number {bound}; got {value!r}.")


def feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame, as text; None for arrays."""
    if not hasattr(X, "columns"):
        return None
    return np.asarray([str(c) for c in X.columns], dtype=object)


def check_feature_names(X: Any, fitted: Any) -> None:
    """Refuse a DataFrame whose columns differ from the training columns (names fitted on an
    array, or an array given now, are not checked: there is nothing to compare)."""
    given = feature_names(X)
    if fitted is None or given is None:
        return
    given_list, fitted_list = [str(c) for c in given], [str(c) for c in fitted]
    if given_list != fitted_list:
        raise ValueError(_feature_mismatch(given_list, fitted_list))


def _feature_mismatch(given: list[str], fitted: list[str]) -> str:
    """Say how new columns differ from the training columns: counts, then what is missing,
    what is extra, or (same names) that the order differs."""
    given_set, fitted_set = set(given), set(fitted)
    missing = [c for c in fitted if c not in given_set]
    extra = [c for c in given if c not in fitted_set]
    parts = [f"The data has {len(given)} features, but this model was fitted on {len(fitted)}."]
    if missing:
        parts.append(f"Missing: {missing[:8]}{' ...' if len(missing) > 8 else ''}.")
    if extra:
        parts.append(f"Not seen in fitting: {extra[:8]}{' ...' if len(extra) > 8 else ''}.")
    if not missing and not extra:
        parts.append("The names are the same but in another order.")
    parts.append("Give the training columns in the training order (in Python: "
                 "X[model.feature_names_in_]).")
    return " ".join(parts)
