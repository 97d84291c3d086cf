"""The prototype an object was compared with: the normal leaf it is nearest to.

DRAMA scores an object by its distance to the nearest *prototype* (a leaf of a divisive
tree, decoded to input space) at one level, under one metric and in one space. The
session's ranking rests on the configurations of :attr:`DramaSearch.weights_`: one, or a
weighted blend of many (and of whole-set members, which have no prototype). The object
pane shows the prototype of the tree configuration with the largest weight (ties broken as
the search ranks them), and says which one it is and whether the ranking blends others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from drama.search import parse_config
from drama.whole_set import is_whole_set

if TYPE_CHECKING:  # pragma: no cover
    from drama.search import DramaSearch

__all__ = ["Prototype", "leading_configuration", "nearest_prototype"]


@dataclass(frozen=True)
class Prototype:
    """One object's prototype under one configuration, in the input's units and shape."""

    values: np.ndarray
    configuration: str
    leaf: str  # the leaf's path in the tree ("" is the root, "01" its first child's second)
    note: str  # which configuration this is, and why it is the one shown


def leading_configuration(search: DramaSearch) -> tuple[str, str] | None:
    """The tree configuration with the largest weight in the ranking and a sentence that
    says so (and whether the ranking is a blend); None when no tree configuration weighs."""
    res = search.results_
    weighted = res[(res["weight"] > 0)
                   & ~res["config"].map(lambda c: is_whole_set(parse_config(c)))]
    if weighted.empty:
        return None
    row = weighted.sort_values("rank", kind="stable").iloc[0]
    name, weight, count = str(row["config"]), float(row["weight"]), len(search.weights_)
    if count == 1:
        return name, f"the prototype of {name}, the one configuration the ranking rests on"
    note = (f"the prototype of {name}, the tree configuration with the largest weight "
            f"({weight:.3f}) in a ranking that blends {count} configurations")
    heaviest = str(search.weights_.idxmax())
    if search.weights_[heaviest] > weight:
        note += (f"; the whole-set member {heaviest} weighs more "
                 f"({search.weights_[heaviest]:.3f}) but compares with no prototype")
    return name, note


def nearest_prototype(search: DramaSearch, x: np.ndarray) -> Prototype | None:
    """The prototype ``x`` (one object, the input's shape) is nearest to under the leading
    configuration: at its level, under its metric, in its space (the residual space picks
    the leaf in input space, as the residual scores do). None when no tree configuration
    weighs in the ranking."""
    leading = leading_configuration(search)
    if leading is None:
        return None
    name, note = leading
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
    return Prototype(values, name, node.path, note)
