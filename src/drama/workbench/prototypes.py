"""The prototype an object was compared with: the normal leaf it is nearest to.

DRAMA scores an object by its distance to the nearest *prototype* (a leaf of a divisive
tree, decoded to input space) at one level, under one metric and in one space. The
session's ranking rests on the configurations of :attr:`DramaSearch.weights_`: one, or a
weighted blend of many (and of whole-set members, which have no prototype). The object
pane shows the prototype of the tree configuration with the largest weight (ties broken as
the search ranks them), and says which one it is and whether the ranking blends others;
:func:`blend_prototypes` lists every tree configuration of a blend with its weight and the
object's prototype under it, and any of them can be the one shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from drama.search import parse_config
from drama.whole_set import is_whole_set

if TYPE_CHECKING:  # pragma: no cover
    from drama.search import DramaSearch

__all__ = ["Prototype", "blend_prototypes", "leading_configuration", "nearest_prototype",
           "weighted_trees"]


@dataclass(frozen=True)
class Prototype:
    """One object's prototype under one configuration, in the input's units and shape."""

    values: np.ndarray
    configuration: str
    leaf: str  # the leaf's path in the tree ("" is the root, "01" its first child's second)
    note: str  # which configuration this is, and why it is the one shown


def weighted_trees(search: DramaSearch) -> list[tuple[str, float]]:
    """Every tree configuration that weighs in the ranking, with its weight, in the
    search's rank order (``results_["rank"]``), the leading one first; whole-set members
    compare with no prototype and are left out."""
    res = search.results_
    weighted = res[(res["weight"] > 0)
                   & ~res["config"].map(lambda c: is_whole_set(parse_config(c)))]
    ordered = weighted.sort_values("rank", kind="stable")
    return [(str(c), float(w)) for c, w in zip(ordered["config"], ordered["weight"],
                                                strict=True)]


def leading_configuration(search: DramaSearch) -> tuple[str, str] | None:
    """The tree configuration with the largest weight in the ranking and a sentence that
    says so (and whether the ranking is a blend); None when no tree configuration weighs."""
    trees = weighted_trees(search)
    if not trees:
        return None
    (name, weight), count = trees[0], len(search.weights_)
    if count == 1:
        return name, f"the prototype of {name}, the one configuration the ranking rests on"
    note = (f"the prototype of {name}, the tree configuration with the largest weight "
            f"({weight:.3f}) in a ranking that blends {count} configurations")
    heaviest = str(search.weights_.idxmax())
    if search.weights_[heaviest] > weight:
        note += (f"; the whole-set member {heaviest} weighs more "
                 f"({search.weights_[heaviest]:.3f}) but compares with no prototype")
    return name, note


def _prototype_under(search: DramaSearch, x: np.ndarray, name: str) -> tuple[np.ndarray, str]:
    """The prototype ``x`` is nearest to under configuration ``name`` (at its level, under
    its metric, in its space; the residual space picks the leaf in input space, as the
    residual scores do), in the input's units, and its leaf's path."""
    cfg = parse_config(name)
    detector = search.estimators_[cfg["reducer"]]
    tree = detector.tree_
    scaled = detector.scaler_.transform(np.asarray(x, dtype=np.float64)[None])
    leaves = tree.prototypes(cfg["level"])
    where = "input" if cfg["space"] == "residual" else cfg["space"]
    distances = tree.node_distances(scaled, cfg["metric"], where, leaves)[0]
    node = tree.nodes_[leaves[int(np.argmin(distances))]]
    values = detector.scaler_.inverse_transform(
        node.prototype.reshape(1, *detector.sample_shape_))[0]
    return values, node.path


def nearest_prototype(search: DramaSearch, x: np.ndarray,
                      configuration: str | None = None) -> Prototype | None:
    """The prototype ``x`` (one object, the input's shape) is nearest to under the leading
    configuration, or under ``configuration`` (any tree configuration that weighs in the
    ranking; another is refused). None when no tree configuration weighs."""
    leading = leading_configuration(search)
    if leading is None:
        return None
    name, note = leading
    if configuration is not None and configuration != name:
        weights = dict(weighted_trees(search))
        if configuration not in weights:
            raise ValueError(f"{configuration!r} is not a tree configuration of this ranking; "
                             f"choose one of {', '.join(weights)}.")
        name = configuration
        note = (f"the prototype of {name}, a tree configuration of weight "
                f"{weights[name]:.3f} in a ranking that blends {len(search.weights_)} "
                f"configurations (the leading one is {leading[0]})")
    values, leaf = _prototype_under(search, x, name)
    return Prototype(values, name, leaf, note)


def blend_prototypes(search: DramaSearch, x: np.ndarray) -> list[tuple[Prototype, float]]:
    """The object's prototype under every tree configuration of the ranking, with the
    configuration's weight, the leading one first."""
    out = []
    for name, weight in weighted_trees(search):
        values, leaf = _prototype_under(search, x, name)
        out.append((Prototype(values, name, leaf, f"the prototype of {name} (weight "
                                                  f"{weight:.3f})"), weight))
    return out
