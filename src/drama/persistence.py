"""Saving and loading fitted models as data, never code.

A model file is one ``.npz`` archive: a JSON document (``__meta__``) with the parameters,
the tree's structure and each reducer's configuration, plus plain numeric arrays. It is
read with ``allow_pickle=False``, so loading a file cannot execute anything from it.
Writes go to a temporary file first and are renamed into place, so a crash never leaves
half a model behind.
"""

from __future__ import annotations

import inspect
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from drama._io import atomic_path
from drama.reducers import get_reducer_spec
from drama.reducers.base import DeviceError
from drama.scaling import Scaler
from drama.tree import Node, SplitTree

FORMAT = "drama-model"
FORMAT_VERSION = 1
_NODE_ARRAYS = ("latent_mean", "prototype", "in_mean", "in_sigma", "lat_sigma", "lat_whiten",
                "in_whiten")
_TREE_PARAMS = ("latent_dim", "n_levels", "clustering", "min_node_size", "max_cluster_samples",
                "max_fit_samples", "keep_covariance", "min_leaf_share", "random_state")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be saved in a data-only model file.")


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` (a fitted Drama) to ``path``."""
    model._check_fitted()
    model._check_unchanged()  # the file must describe the tree it holds
    if not isinstance(model.reducer, str):
        raise TypeError(
            "Only models with a named reducer can be saved in the data-only format; a custom "
            f"reducer object ({type(model.reducer).__name__}) would need pickle. Save its "
            "parameters yourself and refit."
        )
    tree: SplitTree = model.tree_
    arrays: dict[str, np.ndarray] = {"decision_scores": model.decision_scores_}
    scaler_config, scaler_arrays = model.scaler_.to_state()
    arrays.update({f"scaler/{k}": v for k, v in scaler_arrays.items()})
    reducers = []
    for i, reducer in enumerate(tree.reducers_):
        if not hasattr(reducer, "to_state"):
            raise TypeError(f"The {model.reducer!r} reducer cannot be saved as data.")
        config, reducer_arrays = reducer.to_state()
        reducers.append(config)
        arrays.update({f"reducer{i}/{k}": np.asarray(v) for k, v in reducer_arrays.items()})
    nodes = []
    for i, node in enumerate(tree.nodes_):
        nodes.append({"path": node.path, "depth": node.depth, "size": node.size,
                      "encoder": node.encoder, "children": node.children})
        for name in _NODE_ARRAYS:
            value = getattr(node, name)
            if value is not None:
                arrays[f"node{i}/{name}"] = value
    params = model.get_params()
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "params": params,
        "n_features_in": model.n_features_in_, "sample_shape": list(model.sample_shape_),
        "feature_names": None if not hasattr(model, "feature_names_in_")
        else [str(c) for c in model.feature_names_in_],
        "scaler": scaler_config, "reducers": reducers, "nodes": nodes, "levels": tree.levels_,
        "tree": {k: getattr(tree, k) for k in _TREE_PARAMS},
    }
    arrays["__meta__"] = np.array(json.dumps(meta, default=_json_default))
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable DRAMA model file (not an .npz archive).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable DRAMA model file ({exc}).") from None
    if "__meta__" not in arrays:
        raise ValueError(f"{path} is an .npz archive but not a DRAMA model: it holds "
                         f"{sorted(arrays)[:5]} and no model description.")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except ValueError as exc:
        raise ValueError(f"{path} has an unreadable model description ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a DRAMA model file.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in model format version {meta.get('format_version')}, but this "
            f"DRAMA reads version {FORMAT_VERSION}. Refit the model with this version, or load "
            "it with the DRAMA release that saved it."
        )
    return meta, arrays


def load_model(path: str | os.PathLike, device: str | None = None) -> Any:
    """Read a model written by :func:`save_model`; a file whose parts do not fit together
    (edited, or written by something else) raises a ValueError that says so. ``device``
    overrides where a neural model runs."""
    meta, arrays = _read(Path(path))
    try:
        model = _build_model(meta, arrays, device)
        _check_consistent(model, meta)
    except DeviceError as exc:
        raise DeviceError(f"{path} holds a model for a device that is not here: {exc} To run "
                          "it on this machine, load it with device='cpu'.") from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{path} is not a consistent DRAMA model file: {reason}") from None
    return model


def _check_consistent(model: Any, meta: dict) -> None:
    """The saved parameters are valid and describe the saved tree and scores."""
    model._check_params()
    tree, params = model.tree_, meta["params"]
    for key in _TREE_PARAMS:
        if key in params and key != "keep_covariance" and getattr(tree, key) != params[key]:
            raise ValueError(f"the parameters say {key}={params[key]!r}, the tree "
                             f"{getattr(tree, key)!r}")
    size = int(np.prod(model.sample_shape_))
    for node in tree.nodes_:
        if node.prototype is None or node.prototype.size != size:
            raise ValueError(f"node {node.path!r} has no prototype of {size} values")
    scores = np.asarray(model.decision_scores_)
    if scores.ndim != 1 or len(scores) != tree.nodes_[0].size:
        raise ValueError(f"{scores.shape} training scores for a root of {tree.nodes_[0].size} "
                         "objects")
    if model.metric == "mahalanobis" and not tree.keep_covariance:
        raise ValueError("metric 'mahalanobis' without the leaf covariances")


def _build_model(meta: dict, arrays: dict[str, np.ndarray], device: str | None = None) -> Any:
    from drama.estimator import Drama

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    params = meta["params"]
    spec = get_reducer_spec(params["reducer"])
    placed = device is not None and "device" in inspect.signature(spec.cls.from_state).parameters
    if placed:  # the parameters say where the model runs now, so a refit runs there too
        params["reducer_options"] = {**(params["reducer_options"] or {}), "device": device}
    model = Drama(**params)
    tree = SplitTree(params["reducer"], reducer_options=params["reducer_options"],
                     **meta["tree"])
    tree.sample_shape_ = tuple(meta["sample_shape"])
    tree.reducers_ = [spec.cls.from_state(config, group(f"reducer{i}/"),
                                          **({"device": device} if placed else {}))
                      for i, config in enumerate(meta["reducers"])]
    tree.nodes_ = []
    for i, info in enumerate(meta["nodes"]):
        fields = group(f"node{i}/")
        tree.nodes_.append(Node(**info, **{k: fields.get(k) for k in _NODE_ARRAYS}))
    tree.levels_ = meta["levels"]
    model.tree_ = tree
    model.scaler_ = Scaler.from_state(meta["scaler"], group("scaler/"))
    model.sample_shape_ = tuple(meta["sample_shape"])
    model.n_features_in_ = meta["n_features_in"]
    if meta["feature_names"] is not None:
        model.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
    model.decision_scores_ = arrays["decision_scores"]
    model._remember_params()
    return model
