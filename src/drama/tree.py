"""The binary divisive tree that learns what "normal" looks like (docs/algorithm.md#tree).

Each split fits a reducer on the node's objects, clusters their latent codes in two and
keeps, for each child, the latent mean and its decoded prototype (plus the statistics the
weighted and Mahalanobis metrics need). Level L's leaves are the nodes created at depth L
plus shallower nodes that could not be split further. One fitted tree scores every level,
every metric and all three spaces.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from drama._validation import check_integer
from drama.clustering import assign, check_clustering, split_centres
from drama.distances import (
    LeafStats,
    paired_distances,
    prototype_distances,
    spread,
    whitening,
)
from drama.persistence import group
from drama.reducers import as_reducer, get_reducer_spec
from drama.scaling import column_size, is_spread
from drama.seeding import draw_seed

SPACES = ("input", "latent", "residual")
# The residual space reconstructs objects in row blocks of at most this many values (8 MiB
# of float64 per reducer), so its memory does not grow with the number of objects.
RESIDUAL_BLOCK_VALUES = 1 << 20
# A d x d covariance is estimated well from a few thousand objects; more only costs time.
COVARIANCE_SAMPLES = 4000


def _spread_floor(std: np.ndarray, varies: np.ndarray) -> np.ndarray:
    """Per-dimension floor of the leaf spreads: a tenth of the training spread, and for a
    dimension that does not vary the typical one (a tenth of the mean varying spread)."""
    typical = 0.1 * float(std[varies].mean()) if varies.any() else 1.0
    return np.where(varies, 0.1 * std, typical)


@dataclass
class Node:
    """One group of training objects. ``encoder`` indexes the reducer whose latent space
    holds ``latent_mean`` (the parent's; the root's own for the root)."""

    path: str
    depth: int
    size: int
    encoder: int
    latent_mean: np.ndarray
    prototype: np.ndarray  # flattened, input space
    in_mean: np.ndarray
    in_sigma: np.ndarray
    lat_sigma: np.ndarray
    lat_whiten: np.ndarray | None = None
    in_whiten: np.ndarray | None = None
    children: list[int] = field(default_factory=list)


NODE_ARRAYS = ("latent_mean", "prototype", "in_mean", "in_sigma", "lat_sigma", "lat_whiten",
               "in_whiten")


def _node_from_state(i: int, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Node:
    """Node ``i`` from its saved description and arrays (the whitenings only where kept)."""
    missing = [k for k in NODE_ARRAYS if k not in arrays and not k.endswith("_whiten")]
    if missing:
        raise ValueError(f"node {i} has no {missing[0]} array")
    return Node(**info, latent_mean=arrays["latent_mean"], prototype=arrays["prototype"],
                in_mean=arrays["in_mean"], in_sigma=arrays["in_sigma"],
                lat_sigma=arrays["lat_sigma"], lat_whiten=arrays.get("lat_whiten"),
                in_whiten=arrays.get("in_whiten"))


def _stack_kept(values: list[np.ndarray | None], name: str) -> np.ndarray:
    """Every node's ``name`` stacked: a tree that keeps covariances holds it on every node
    (``_check_structure`` makes sure of that for a loaded one)."""
    kept = [v for v in values if v is not None]
    if len(kept) != len(values):
        raise RuntimeError(f"a node of this tree lost its {name}, which the tree keeps")
    return np.stack(kept)


def _overflow(path: str) -> ValueError:
    return ValueError(
        f"The spreads or covariances of node {path or 'root'!r} overflow float64: the (scaled) "
        "values are too large. Use scaling='minmax' or 'standard', or rescale the data."
    )


def takes_device(reducer: str) -> bool:
    """Whether the named reducer's saved networks can be placed on a device when loaded."""
    from_state = get_reducer_spec(reducer).cls.from_state
    return "device" in inspect.signature(from_state).parameters


@dataclass(frozen=True)
class TreeConfig:
    """How a tree is grown: the options that :class:`drama.Drama` passes on, saved with
    the tree. ``keep_covariance`` keeps each node's whitening (for Mahalanobis)."""

    latent_dim: int = 2
    n_levels: int = 2
    clustering: str = "ward"
    min_node_size: int = 10
    max_cluster_samples: int = 2000
    max_fit_samples: int = 10000
    keep_covariance: bool = False
    min_leaf_share: float = 0.1
    random_state: int | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TreeConfig:
        """The config from a mapping that may hold other keys too (a Drama's parameters)."""
        return cls(**{f.name: params[f.name] for f in fields(cls) if f.name in params})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SplitTree:
    """Fit with :meth:`fit` on scaled data shaped (n, *sample_shape); query distances with
    :meth:`node_distances` and per-level scores with :meth:`level_scores`."""

    def __init__(self, reducer: str | Any = "pca", config: TreeConfig | None = None,
                 reducer_options: dict[str, Any] | None = None):
        config = TreeConfig() if config is None else config
        check_clustering(config.clustering, reducer)
        self.reducer = reducer
        self.config = config
        self.reducer_options = dict(reducer_options or {})

    @property
    def n_levels(self) -> int:
        return self.config.n_levels

    @property
    def keep_covariance(self) -> bool:
        return self.config.keep_covariance

    # ------------------------------------------------------------------ fitting
    def _new_reducer(self, seed: int) -> Any:
        if isinstance(self.reducer, str):
            spec = get_reducer_spec(self.reducer)
            try:
                return spec.factory(self.config.latent_dim, seed, **self.reducer_options)
            except TypeError as exc:
                raise ValueError(
                    f"reducer_options {sorted(self.reducer_options)} do not fit the "
                    f"{self.reducer!r} reducer ({exc}). See its docstring for the options "
                    "it takes; the linear reducers take none."
                ) from None
        if hasattr(self.reducer, "get_params"):
            from sklearn.base import clone

            return as_reducer(clone(self.reducer))
        return as_reducer(copy.deepcopy(self.reducer))

    def _fit_reducer(self, X_node: np.ndarray, parent: Any, path: str) -> tuple[int, np.ndarray]:
        reducer = self._new_reducer(draw_seed(self._rng))
        if parent is not None and hasattr(reducer, "warm_start_from"):
            reducer.warm_start_from(parent)
        fit_rows = self._sample(len(X_node), self.config.max_fit_samples)
        try:
            reducer.fit(X_node if fit_rows is None else X_node[fit_rows])
            Z = np.asarray(reducer.encode(X_node), dtype=np.float64).reshape(len(X_node), -1)
        except ValueError as exc:
            where = path or "root"
            with np.errstate(over="ignore"):
                huge = not np.isfinite(np.square(X_node).sum())
            advice = (" The (scaled) values are too large for float64 arithmetic: use "
                      "scaling='minmax' or 'standard', or rescale the data." if huge else "")
            raise ValueError(f"Fitting the reducer of node {where!r} failed: {exc}"
                             f"{advice}") from exc
        if not np.isfinite(Z).all():
            raise ValueError(
                f"The reducer of node {path or 'root'!r} produced non-finite latent codes; "
                "try another reducer, scaling='minmax', or a lower learning rate for neural ones."
            )
        self.reducers_.append(reducer)
        return len(self.reducers_) - 1, Z

    def _sample(self, n: int, limit: int) -> np.ndarray | None:
        return None if n <= limit else np.sort(self._rng.choice(n, size=limit, replace=False))

    def _make_node(self, path: str, depth: int, members: np.ndarray, Z_members: np.ndarray,
                   encoder: int, lat_floor: np.ndarray) -> int:
        self.nodes_.append(self._node_record(path, depth, members, Z_members, encoder,
                                             lat_floor))
        return len(self.nodes_) - 1

    def _node_record(self, path: str, depth: int, members: np.ndarray, Z_members: np.ndarray,
                     encoder: int, lat_floor: np.ndarray) -> Node:
        flat = self._flat[members]
        latent_mean = Z_members.mean(axis=0)
        decoded = self.reducers_[encoder].decode(latent_mean[None, :])
        prototype = np.asarray(decoded, dtype=np.float64).reshape(-1)
        if prototype.shape[0] != flat.shape[1] or not np.isfinite(prototype).all():
            raise ValueError(
                f"The reducer of node {path or 'root'!r} decoded a prototype of {prototype.size} "
                f"values (finite: {np.isfinite(prototype).all()}); expected {flat.shape[1]} finite "
                "values. Check that decode() returns objects in the input's shape."
            )
        with np.errstate(over="ignore", invalid="ignore"):
            node = Node(
                path=path, depth=depth, size=len(members), encoder=encoder,
                latent_mean=latent_mean, prototype=prototype,
                in_mean=flat.mean(axis=0), in_sigma=spread(flat, self._in_floor),
                lat_sigma=spread(Z_members, lat_floor),
            )
            if self.keep_covariance:
                # Evenly spaced, not drawn: keeping covariances must not change the tree.
                rows = (None if len(members) <= COVARIANCE_SAMPLES else
                        np.linspace(0, len(members) - 1, COVARIANCE_SAMPLES).astype(np.intp))
                try:
                    node.lat_whiten = whitening(Z_members if rows is None else Z_members[rows],
                                                float(np.square(lat_floor).mean()))
                    node.in_whiten = whitening(flat if rows is None else flat[rows],
                                               self._eig_floor)
                except ValueError:  # the covariance overflowed into NaN
                    raise _overflow(path) from None
        if not all(np.isfinite(a).all() for a in (node.in_mean, node.in_sigma, node.lat_sigma,
                                                   node.in_whiten, node.lat_whiten)
                   if a is not None):
            raise _overflow(path)
        return node

    def fit(self, X: np.ndarray) -> SplitTree:
        """Build the tree on scaled data ``X`` shaped (n, *sample_shape)."""
        self._rng = np.random.default_rng(self.config.random_state)
        self.sample_shape_ = X.shape[1:]
        self._flat = X.reshape(len(X), -1)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported per node
            root_std = self._flat.std(axis=0)
        # A feature constant in training gets the typical floor, not ~0: otherwise a rounding
        # difference there would outweigh any real anomaly under wl2 / wl4.
        self._in_floor = _spread_floor(
            root_std, is_spread(root_std, column_size(self._flat)))
        self._eig_floor = max(1e-12, 1e-4 * float(np.square(root_std).mean()))
        self.reducers_: list[Any] = []
        self.nodes_: list[Node] = []
        everyone = np.arange(len(X))
        enc, Z = self._fit_reducer(X, None, "")
        root = self._make_node("", 0, everyone, Z, enc, self._latent_floor(Z))
        pending = {root: (everyone, enc, Z)}  # node -> (members, own reducer, own codes)
        self.levels_ = [[root]]
        for depth in range(1, self.n_levels + 1):
            level: list[int] = []
            for node_id in self.levels_[-1]:
                children = self._split(node_id, depth, pending, X)
                level.extend(children or [node_id])
            self.levels_.append(level)
        del self._flat, self._rng
        return self

    @staticmethod
    def _latent_floor(Z: np.ndarray) -> np.ndarray:
        """As the input floor. PCA's codes are centred, so a latent dimension without
        variance (a rank-deficient PCA, a constant feature under ``none``) is told by its
        spread being rounding next to the largest code of any dimension."""
        std = Z.std(axis=0)
        return _spread_floor(std, is_spread(std, np.abs(Z).max(initial=0.0)))

    def _split(self, node_id: int, depth: int, pending: dict, X: np.ndarray) -> list[int]:
        node = self.nodes_[node_id]
        if node_id not in pending or node.size < max(2, self.config.min_node_size):
            return []
        if pending[node_id][1] is None and \
                node.size < getattr(self.reducers_[node.encoder], "min_fit_objects", 2):
            return []  # too few objects for this reducer to fit a node's own model
        members, enc, Z = pending.pop(node_id)
        if enc is None:  # a child: fit its own reducer, warm-started from the parent's
            enc, Z = self._fit_reducer(X[members], self.reducers_[node.encoder], node.path)
        deep = self.config.clustering == "deep"
        centres = split_centres(Z, "ward" if deep else self.config.clustering,
                                self.config.max_cluster_samples, self._rng)
        if centres is None:
            return []
        if deep:
            Z, centres = self._cluster_jointly(node_id, enc, members, X, Z, centres)
            node = self.nodes_[node_id]
        groups = assign(Z, centres)
        if np.bincount(groups, minlength=2).min() == 0:
            return []
        floor = self._latent_floor(Z)
        children = []
        for g in (0, 1):
            mask = groups == g
            child = self._make_node(node.path + str(g), depth, members[mask], Z[mask], enc, floor)
            if depth < self.n_levels:
                pending[child] = (members[mask], None, None)
            children.append(child)
        node.children = children
        return children

    def _cluster_jointly(self, node_id: int, enc: int, members: np.ndarray, X: np.ndarray,
                         Z: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Deep clustering: train a copy of the node's network ``enc`` together with the
        split started from Ward's ``centres`` and re-encode the node with it. The tuned
        network replaces the node's, unless its learned centres leave a group empty; then
        the node keeps its network and Ward's split. Returns the node's codes and centres."""
        node = self.nodes_[node_id]
        path, X_node = node.path, X[members]
        tuned = copy.deepcopy(self.reducers_[enc])
        try:
            learned = tuned.fit_clusters(X_node, centres)
            Z_tuned = np.asarray(tuned.encode(X_node), dtype=np.float64).reshape(len(X_node), -1)
        except ValueError as exc:
            raise ValueError(f"Deep clustering of node {path or 'root'!r} failed: {exc}"
                             ) from exc
        if np.bincount(assign(Z_tuned, learned), minlength=2).min() == 0:
            return Z, centres
        self.reducers_[enc] = tuned
        if node.encoder == enc:  # the root, whose own record lives in the tuned network
            self.nodes_[node_id] = self._node_record(path, node.depth, members, Z_tuned, enc,
                                                     self._latent_floor(Z_tuned))
        return Z_tuned, learned

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted tree as (JSON-able description, named arrays): its config, each
        reducer's own state and each node's structure and statistics."""
        if not isinstance(self.reducer, str):
            raise TypeError(
                "Only models with a named reducer can be saved in the data-only format; a "
                f"custom reducer object ({type(self.reducer).__name__}) would need pickle. "
                "Save its parameters yourself and refit."
            )
        arrays: dict[str, np.ndarray] = {}
        reducers = []
        for i, reducer in enumerate(self.reducers_):
            if not hasattr(reducer, "to_state"):
                raise TypeError(f"The {self.reducer!r} reducer cannot be saved as data.")
            config, reducer_arrays = reducer.to_state()
            reducers.append(config)
            arrays.update({f"reducer{i}/{k}": np.asarray(v) for k, v in reducer_arrays.items()})
        nodes = []
        for i, node in enumerate(self.nodes_):
            nodes.append({"path": node.path, "depth": node.depth, "size": node.size,
                          "encoder": node.encoder, "children": node.children})
            for name in NODE_ARRAYS:
                value = getattr(node, name)
                if value is not None:
                    arrays[f"node{i}/{name}"] = value
        meta = {"tree": self.config.as_dict(), "reducers": reducers, "nodes": nodes,
                "levels": self.levels_, "sample_shape": list(self.sample_shape_)}
        return meta, arrays

    @classmethod
    def from_state(cls, reducer: str, meta: dict[str, Any], arrays: Mapping[str, np.ndarray],
                   reducer_options: dict[str, Any] | None = None,
                   device: str | None = None) -> SplitTree:
        """Rebuild a tree from :meth:`to_state`'s output; ``device`` places a neural
        reducer's networks (only passed to reducers whose loader takes it)."""
        spec = get_reducer_spec(reducer)
        tree = cls(reducer, TreeConfig(**meta["tree"]), reducer_options)
        tree.sample_shape_ = tuple(meta["sample_shape"])
        placed = {"device": device} if device is not None and takes_device(reducer) else {}
        tree.reducers_ = [spec.cls.from_state(config, group(arrays, f"reducer{i}/"), **placed)
                          for i, config in enumerate(meta["reducers"])]
        tree.nodes_ = []
        for i, info in enumerate(meta["nodes"]):
            tree.nodes_.append(_node_from_state(i, info, group(arrays, f"node{i}/")))
        tree.levels_ = meta["levels"]
        tree._check_structure()
        return tree

    def _check_structure(self) -> None:
        """Every index points where it must and every node's arrays fit the tree and its
        reducers (a saved file may have been edited); a ValueError names what does not."""
        nodes, d = self.nodes_, int(np.prod(self.sample_shape_))
        if not nodes or not self.reducers_:
            raise ValueError("the tree has no nodes or no reducers")
        parent: dict[int, int] = {}
        widths: dict[int, int] = {}
        for i, node in enumerate(nodes):
            where = f"node {i} ({node.path!r})"
            for name in ("depth", "size", "encoder"):
                check_integer(getattr(node, name), f"{where}'s {name}", minimum=0)
            if node.encoder >= len(self.reducers_) or node.size < 1:
                raise ValueError(f"{where} has encoder {node.encoder} of "
                                 f"{len(self.reducers_)} or size {node.size}")
            children = node.children
            if not isinstance(children, list) or len(children) not in (0, 2):
                raise ValueError(f"{where} has children {children!r}")
            for child in children:
                if (isinstance(child, bool) or not isinstance(child, int)
                        or not 0 < child < len(nodes) or child in parent):
                    raise ValueError(f"{where} names child {child!r}")
                parent[child] = i
                if nodes[child].depth != node.depth + 1:
                    raise ValueError(f"{where}'s child {child} is not one level deeper")
            if children and sum(nodes[c].size for c in children) != node.size:
                raise ValueError(f"{where}'s children do not share its {node.size} objects")
            width = widths.setdefault(node.encoder, np.shape(node.latent_mean)[0]
                                      if np.ndim(node.latent_mean) == 1 else -1)
            expected: dict[str, tuple[int, ...]] = {
                "prototype": (d,), "in_mean": (d,), "in_sigma": (d,),
                "latent_mean": (width,), "lat_sigma": (width,)}
            if self.keep_covariance:
                expected.update(in_whiten=(d, d), lat_whiten=(width, width))
            for name, shape in expected.items():
                if np.shape(getattr(node, name)) != shape or getattr(node, name) is None:
                    raise ValueError(f"{where}'s {name} is not of shape {shape}")
            if (node.in_sigma <= 0).any() or (node.lat_sigma <= 0).any():
                raise ValueError(f"{where} has a spread that is not positive")
        if nodes[0].depth != 0 or len(parent) != len(nodes) - 1:
            raise ValueError("the nodes do not form one tree from the root")
        levels = self.levels_
        if (not isinstance(levels, list) or len(levels) != self.n_levels + 1 or levels[0] != [0]
                or any(not isinstance(level, list) or not level
                       or any(isinstance(i, bool) or not isinstance(i, int)
                              or not 0 <= i < len(nodes) for i in level) for level in levels)):
            raise ValueError("the levels do not name the tree's nodes")
        for encoder, width in widths.items():
            self._probe(encoder, width, next(n for n in nodes if n.encoder == encoder), d)

    def _probe(self, encoder: int, width: int, node: Node, d: int) -> None:
        """The reducer maps an object to ``width`` finite codes and codes back to ``d``
        finite values: its saved arrays fit the tree."""
        reducer = self.reducers_[encoder]
        try:
            with np.errstate(all="ignore"):
                codes = np.asarray(reducer.encode(node.prototype.reshape(1,
                                                                         *self.sample_shape_)),
                                   dtype=np.float64)
                decoded = np.asarray(reducer.decode(node.latent_mean[None, :]),
                                     dtype=np.float64)
        except (ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise ValueError(f"reducer {encoder} does not fit the tree's objects: {exc}") from None
        if codes.size != width or decoded.size != d or not (
                np.isfinite(codes).all() and np.isfinite(decoded).all()):
            raise ValueError(f"reducer {encoder} does not map the tree's objects and codes "
                             "to finite values of the saved widths")

    # ------------------------------------------------------------------ scoring
    def _stats(self, ids: list[int], space: str) -> tuple[np.ndarray, LeafStats]:
        nodes = [self.nodes_[i] for i in ids]
        whiten = None
        if space == "latent":
            P = np.stack([n.latent_mean for n in nodes])
            if self.keep_covariance:
                whiten = _stack_kept([n.lat_whiten for n in nodes], "lat_whiten")
            return P, LeafStats(np.stack([n.lat_sigma for n in nodes]), P, whiten)
        if self.keep_covariance:
            whiten = _stack_kept([n.in_whiten for n in nodes], "in_whiten")
        P = np.stack([n.prototype for n in nodes])
        return P, LeafStats(np.stack([n.in_sigma for n in nodes]),
                            np.stack([n.in_mean for n in nodes]), whiten)

    def prototypes(self, level: int) -> list[int]:
        """The leaves of ``level`` that count as normal prototypes: those holding at least
        ``min_leaf_share`` of the training objects. Anomalies are rare, so a small leaf may
        well be a group of anomalies; measuring distances to it would hide them. If no leaf
        is large enough, the largest one serves."""
        leaves = self.levels_[level]
        least = self.config.min_leaf_share * self.nodes_[0].size
        big = [i for i in leaves if self.nodes_[i].size >= least]
        return big or [max(leaves, key=lambda i: self.nodes_[i].size)]

    def scored_nodes(self, levels: list[int]) -> list[int]:
        """The prototype nodes of any of ``levels``, in a stable order."""
        return sorted({i for level in levels for i in self.prototypes(level)})

    def node_distances(self, X: np.ndarray, metric: str, space: str = "input",
                       nodes: list[int] | None = None) -> np.ndarray:
        """Distances (n, len(nodes)) from every object to the listed nodes' prototypes."""
        nodes = list(range(len(self.nodes_))) if nodes is None else nodes
        if space == "input":
            P, stats = self._stats(nodes, "input")
            return prototype_distances(X.reshape(len(X), -1), P, metric, stats)
        out = np.empty((len(X), len(nodes)))
        by_encoder: dict[int, list[int]] = {}
        for col, node_id in enumerate(nodes):
            by_encoder.setdefault(self.nodes_[node_id].encoder, []).append(col)
        for enc, cols in by_encoder.items():
            Z = np.asarray(self.reducers_[enc].encode(X), dtype=np.float64).reshape(len(X), -1)
            P, stats = self._stats([nodes[c] for c in cols], "latent")
            out[:, cols] = prototype_distances(Z, P, metric, stats)
        return out

    def level_scores(self, X: np.ndarray, metrics: list[str], levels: list[int],
                     space: str = "input") -> dict[tuple[int, str], np.ndarray]:
        """``{(level, metric): min distance to that level's leaves}`` for every object; in
        the residual space, the distance to its own reconstruction (:meth:`residual_scores`)."""
        if space == "residual":
            return self.residual_scores(X, metrics, levels)
        nodes = self.scored_nodes(levels)
        column = {node_id: c for c, node_id in enumerate(nodes)}
        out = {}
        for metric in metrics:
            dist = self.node_distances(X, metric, space, nodes)
            for level in levels:
                cols = [column[i] for i in self.prototypes(level)]
                out[(level, metric)] = dist[:, cols].min(axis=1)
        return out

    def _reconstruct(self, X: np.ndarray, encoder: int) -> np.ndarray:
        """``decode(encode(X))`` by reducer ``encoder``, flattened; never non-finite."""
        reducer = self.reducers_[encoder]
        with np.errstate(all="ignore"):
            out = np.asarray(reducer.decode(reducer.encode(X)), dtype=np.float64)
        out = out.reshape(len(X), -1)
        if not np.isfinite(out).all():
            where = next((n.path for n in self.nodes_ if n.encoder == encoder), "")
            raise ValueError(
                f"The reducer of node {where or 'root'!r} reconstructed non-finite values: the "
                "(scaled) data are too large for it. Use scaling='minmax' or rescale the data."
            )
        return out

    def residual_scores(self, X: np.ndarray, metrics: list[str],
                        levels: list[int]) -> dict[tuple[int, str], np.ndarray]:
        """``{(level, metric): distance to the object's own reconstruction}``: the object goes
        to the leaf of its nearest prototype at that level (under that metric, in input
        space) and is reconstructed by that leaf's reducer, the one whose latent space holds
        the leaf (its parent's). Unlike a shared prototype, the reconstruction follows the
        object's own shift and amplitude, and leaves what the reducer cannot express."""
        if self.reducer == "none":
            raise ValueError("The residual space needs a reducer: with reducer='none' every "
                             "object is its own reconstruction. Use space='input' or "
                             "another reducer.")
        nodes = self.scored_nodes(levels)
        column = {node_id: c for c, node_id in enumerate(nodes)}
        out = {(level, metric): np.empty(len(X)) for metric in metrics for level in levels}
        step = max(1, RESIDUAL_BLOCK_VALUES // max(1, int(np.prod(X.shape[1:]))))
        for start in range(0, len(X), step):
            block = X[start : start + step]
            flat = block.reshape(len(block), -1)
            rebuilt: dict[int, np.ndarray] = {}  # reducer index -> the block's reconstruction
            for metric in metrics:
                dist = self.node_distances(block, metric, "input", nodes)
                for level in levels:
                    leaves = np.asarray(self.prototypes(level))
                    nearest = leaves[dist[:, [column[i] for i in leaves]].argmin(axis=1)]
                    scores = out[(level, metric)][start : start + step]
                    for node_id in np.unique(nearest):
                        node, rows = self.nodes_[node_id], nearest == node_id
                        if node.encoder not in rebuilt:
                            rebuilt[node.encoder] = self._reconstruct(block, node.encoder)
                        scores[rows] = paired_distances(flat[rows], rebuilt[node.encoder][rows],
                                                        metric, node.in_sigma, node.in_whiten)
        return out
