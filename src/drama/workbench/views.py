"""The JSON the workbench sends: the candidate list, one object's detail, the exports.

Pure functions of an open session and its annotations; the run (:mod:`.runs`) calls them
one at a time. Label states come from the store on every call, so a client sees every
label given so far, in this tab, another tab or the terminal's session before it.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .context import context_view
from .lightcurves import Observations, light_curve
from .prototypes import Prototype, blend_prototypes, nearest_prototype
from .why import why_proposed

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession

    from .annotations import Annotations

__all__ = ["SORTS", "candidates", "detail", "export_table", "results"]

SORTS = ("score", "next", "random")
HISTOGRAM_BINS = 40
UNLABELLED, SKIPPED, LABELLED = 0, 1, 2
_TOP_DEVIATIONS = 8
_SHOWN_CARRIED = 20  # carried columns listed per object (a wide catalogue carries many)
# Column names (any case) that hold sky coordinates in degrees.
_RA_NAMES = ("ra", "raj2000", "ra_deg", "ra_j2000")
_DEC_NAMES = ("dec", "decj2000", "dej2000", "dec_deg", "dec_j2000")


def _number(value: Any) -> float | None:
    """A float for JSON; NaN (no probability before a label) becomes null."""
    value = float(value)
    return value if math.isfinite(value) else None


class _Labels:
    """Every object's label state now: the store's latest answers, ratings and skips."""

    def __init__(self, session: ActiveSession, annotations: Annotations,
                 index: dict[str, int]) -> None:
        self.current = session.store.current()
        self.ratings = annotations.ratings(v[2] for v in self.current.values())
        self.skipped = annotations.skipped() - set(self.current)
        self.state = np.full(len(index), UNLABELLED, dtype=np.int8)
        self.state[[index[o] for o in self.skipped if o in index]] = SKIPPED
        self.state[[index[o] for o in self.current if o in index]] = LABELLED

    def of(self, oid: str) -> dict[str, Any]:
        label, cls, seq = self.current.get(oid, (None, None, None))
        return {"label": label, "cls": cls,
                "rating": None if seq is None else self.ratings.get(seq),
                "skipped": oid in self.skipped}


def _order(session: ActiveSession, labels: _Labels, index: dict[str, int], sort: str,
           wanted: int, seed: int) -> np.ndarray:
    by_score = np.argsort(-session.scores_, kind="stable")
    if sort == "score":
        return by_score
    if sort == "random":
        return np.random.default_rng(seed).permutation(len(by_score))
    if sort != "next":
        raise ValueError(f"Unknown sort {sort!r}; choose one of {', '.join(SORTS)}.")
    # What the session would ask next, from the last refit: objects labelled or skipped
    # since are passed over, so ask for that many more.
    extra = int((labels.state != UNLABELLED).sum())
    asked = [index[c.id] for c in session.next(wanted + extra)]
    asked = [i for i in asked if labels.state[i] == UNLABELLED]
    seen = np.zeros(len(by_score), dtype=bool)
    seen[asked] = True
    return np.concatenate([np.asarray(asked, dtype=np.int64), by_score[~seen[by_score]]])


def _matches(session: ActiveSession, carried: pd.DataFrame | None, query: str) -> np.ndarray:
    """A mask over the objects: those whose id, or a value of a carried text column (a
    name, a designation, a class), holds ``query`` (any case, taken literally)."""
    needle = query.casefold()
    texts = [pd.Series(session.ids, dtype="string")]
    if carried is not None:
        texts += [carried[c].astype("string") for c in carried.columns
                  if pd.api.types.is_string_dtype(carried[c])]
    hits = np.zeros(len(session.ids), dtype=bool)
    for text in texts:
        hits |= text.str.casefold().str.contains(needle, regex=False).fillna(False).to_numpy(
            dtype=bool)
    return hits


def candidates(session: ActiveSession, annotations: Annotations, index: dict[str, int], *,
               sort: str = "score", unlabelled_first: bool = True, query: str = "",
               limit: int = 50, offset: int = 0, seed: int = 0,
               keep: np.ndarray | None = None,
               carried: pd.DataFrame | None = None) -> dict[str, Any]:
    """One page of the ranked list: id, rank (1 = highest score), scores, label state;
    ``keep`` (a mask over the objects, e.g. a lasso on the map) leaves out the others,
    ``query`` those whose id and carried text (see :func:`_matches`) do not hold it."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be at least 1 and offset at least 0.")
    labels = _Labels(session, annotations, index)
    order = _order(session, labels, index, sort, offset + limit, seed)
    if keep is not None:
        order = order[keep[order]]
    if query:
        order = order[_matches(session, carried, query)[order]]
    if unlabelled_first:
        order = order[np.argsort(labels.state[order], kind="stable")]
    rank = np.empty(len(session.ids), dtype=np.int64)
    rank[np.argsort(-session.scores_, kind="stable")] = np.arange(1, len(rank) + 1)
    rows = []
    for i in order[offset:offset + limit]:
        oid = session.ids[i]
        rows.append({"id": oid, "rank": int(rank[i]), "score": _number(session.scores_[i]),
                     "anomaly": _number(session.anomaly_[i]),
                     "p_interesting": _number(session.p_interesting_[i]),
                     "predicted_class": session.classes_[i], **labels.of(oid)})
    return {"total": len(order), "objects": len(session.ids),
            "labelled": len(labels.current), "offset": offset, "items": rows}


def _curve(obj: np.ndarray, median: np.ndarray,
           prototype: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One entry per channel: the object, the median object and (when known) the object's
    prototype over the channel axis."""
    obj, median = obj.reshape(len(obj), -1), median.reshape(len(median), -1)
    proto = None if prototype is None else prototype.reshape(len(obj), -1)
    return [{"channel": c, "object": obj[:, c].tolist(), "median": median[:, c].tolist(),
             **({} if proto is None else {"prototype": proto[:, c].tolist()})}
            for c in range(obj.shape[1])]


def _image(values: np.ndarray) -> list[list[float]]:
    """A 2-D image for a heatmap; colour channels are averaged."""
    return (values.mean(axis=-1) if values.ndim == 3 else values).tolist()


def _sky(session: ActiveSession, i: int, carried: pd.DataFrame | None
         ) -> dict[str, float] | None:
    """The object's position when the table has RA and Dec columns (degrees) in range,
    carried through (as the column roles make them) or, if named as features, among the
    features: the page builds archive links from it; the server fetches nothing."""
    columns = {} if carried is None else {str(c).casefold(): c for c in carried.columns}
    ra_name = next((columns[n] for n in _RA_NAMES if n in columns), None)
    dec_name = next((columns[n] for n in _DEC_NAMES if n in columns), None)
    if carried is not None and ra_name is not None and dec_name is not None:
        values = pd.to_numeric(carried[[ra_name, dec_name]].iloc[i], errors="coerce")
        ra_deg, dec_deg = float(values.iloc[0]), float(values.iloc[1])
    else:
        names = [n.casefold() for n in session.feature_names or []]
        ra = next((names.index(n) for n in _RA_NAMES if n in names), None)
        dec = next((names.index(n) for n in _DEC_NAMES if n in names), None)
        if ra is None or dec is None:
            return None
        row = session.X[i].reshape(-1)
        ra_deg, dec_deg = float(row[ra]), float(row[dec])
    if not (0.0 <= ra_deg <= 360.0 and -90.0 <= dec_deg <= 90.0):
        return None
    return {"ra": ra_deg, "dec": dec_deg}


def detail(session: ActiveSession, annotations: Annotations, index: dict[str, int],
           oid: str, kind: str, median: np.ndarray,
           carried: pd.DataFrame | None = None, *, context: np.ndarray | None = None,
           context_problem: str | None = None, observations: Observations | None = None,
           configuration: str | None = None) -> dict[str, Any]:
    """Everything the object pane shows about one object: its scores and label, why it is
    where it is (:mod:`.why`), the prototype it was compared with (:mod:`.prototypes`:
    the leading configuration's, or ``configuration``'s) and every configuration's of a
    blend, and, by kind, the features that deviate most, its curve (or, from a
    light-curve table, its observations: :mod:`.lightcurves`) or its image (with its
    context: :mod:`.context`)."""
    if oid not in index:
        raise KeyError(f"There is no object with id {oid!r} in this run.")
    i = index[oid]
    labels = _Labels(session, annotations, index)
    rank = int((session.scores_ > session.scores_[i]).sum()
               + (session.scores_[:i] == session.scores_[i]).sum()) + 1
    out: dict[str, Any] = {
        "id": oid, "kind": kind, "rank": rank, "score": _number(session.scores_[i]),
        "anomaly": _number(session.anomaly_[i]),
        "p_interesting": _number(session.p_interesting_[i]),
        "predicted_class": session.classes_[i],
        "class_confidence": _number(session.class_confidence_[i]), **labels.of(oid),
        "why": why_proposed(session, i, rank, labels.current, index),
    }
    proto = nearest_prototype(session.search_, session.X[i], configuration)
    out["prototype"] = None if proto is None else {
        "configuration": proto.configuration, "leaf": proto.leaf, "note": proto.note}
    out["prototypes"] = [_blend_member(session, i, kind, member, weight, proto)
                         for member, weight in blend_prototypes(session.search_, session.X[i])]
    if kind == "table":
        dev = session.deviations(oid, top=_TOP_DEVIATIONS)
        out["deviations"] = [
            {"feature": str(r.feature), "value": _number(r.value), "median": _number(r.median),
             "robust_z": _number(r.robust_z)} for r in dev.itertuples(index=False)]
        if proto is not None:
            out["prototype_deviations"] = _prototype_deviations(session, i, proto.values)
        out["sky"] = _sky(session, i, carried)
        out["carried"] = _carried(carried, i)
    elif kind == "curve":
        out["curve"] = _curve(session.X[i], median,
                              None if proto is None else proto.values)
    else:
        out["image"] = {"object": _image(session.X[i]), "median": _image(median)}
        if proto is not None:
            out["image"]["prototype"] = _image(proto.values)
        if context is not None:
            out["image"]["context"] = context_view(context, i, session.X.shape[1:3])
        out["image"]["context_problem"] = context_problem
    if observations is not None:
        out["light_curve"] = light_curve(session, observations, i,
                                         None if proto is None else proto.values)
    return out


def _blend_member(session: ActiveSession, i: int, kind: str, member: Prototype, weight: float,
                  shown: Prototype | None) -> dict[str, Any]:
    """One configuration of the ranking with the object's prototype under it: its weight,
    the leaf, whether it is the one drawn, and (tables) the feature that deviates most."""
    out: dict[str, Any] = {"configuration": member.configuration, "weight": _number(weight),
                           "leaf": member.leaf,
                           "shown": shown is not None
                           and shown.configuration == member.configuration}
    if kind == "table":
        out["largest_deviation"] = _prototype_deviations(session, i, member.values)[0]
    return out


def _carried(carried: pd.DataFrame | None, i: int) -> list[dict[str, str]]:
    """The object's carried-through columns (names, positions, text classes: what the
    column roles keep out of the features) as text, empty where a cell is missing."""
    if carried is None:
        return []
    row = carried.iloc[i]
    return [{"name": str(c), "value": "" if pd.isna(row[c]) else str(row[c])}
            for c in list(carried.columns)[:_SHOWN_CARRIED]]


def _prototype_deviations(session: ActiveSession, i: int, prototype: np.ndarray
                          ) -> list[dict[str, Any]]:
    """The features that deviate most from the object's prototype, in the robust z units
    of :meth:`ActiveSession.deviations` (the feature's IQR / 1.349)."""
    value = session.X[i].reshape(-1)
    z = (value - prototype.reshape(-1)) / (session.space.spread / 1.349)
    names = session.feature_names or [f"x{j}" for j in range(len(z))]
    return [{"feature": str(names[j]), "value": _number(value[j]),
             "prototype": _number(prototype.reshape(-1)[j]), "robust_z": _number(z[j])}
            for j in np.argsort(-np.abs(z), kind="stable")[:_TOP_DEVIATIONS]]


def results(session: ActiveSession) -> dict[str, Any]:
    """What the session has found and what its ranking rests on: the discovery curve (finds
    after k labels), a histogram of DRAMA's scores (binned here, so the page gets 40 numbers
    whatever the number of objects) and the configurations chosen, with why."""
    scores = np.asarray(session.search_.decision_scores_, dtype=np.float64)
    counts, edges = np.histogram(scores[np.isfinite(scores)], bins=HISTOGRAM_BINS)
    weights = session.search_.weights_
    return {
        "discovery": session.discovery_curve().tolist(),
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "selection": str(session.selection_),
        "configurations": [{"configuration": str(c), "weight": _number(w)}
                           for c, w in weights.sort_values(ascending=False).items()],
    }


def _labels_frame(session: ActiveSession, annotations: Annotations) -> pd.DataFrame:
    """The latest label of every object, as ``drama active --export`` writes it, with the
    rating it was given (if any)."""
    from drama.active.store import latest_by_id

    latest = latest_by_id((oid, seq, label, cls, created)
                          for seq, oid, label, cls, created in session.store.history())
    ratings = annotations.ratings(v[0] for v in latest.values())
    rows = list(latest.items())
    return pd.DataFrame({
        "id": pd.Series([o for o, _ in rows], dtype=object),
        "label": pd.Series([int(v[1] == "interesting") for _, v in rows], dtype="int64"),
        "answer": pd.Series([v[1] for _, v in rows], dtype=object),
        "class": pd.Series([v[2] for _, v in rows], dtype=object),
        "rating": pd.Series([ratings.get(v[0]) for _, v in rows], dtype="Int64"),
        "labelled_at": pd.to_datetime([v[3] for _, v in rows], unit="s", utc=True),
    })


def export_table(session: ActiveSession, annotations: Annotations, what: str,
                 fmt: str) -> bytes:
    """``labels`` (id, label 1/0, answer, class, rating, time) or ``scores`` (the
    ranking with a rank column) as CSV, Parquet or FITS bytes."""
    if what == "labels":
        frame = _labels_frame(session, annotations)
    elif what == "scores":
        frame = session.ranking()
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    else:
        raise ValueError(f"Unknown export {what!r}; choose labels or scores.")
    buffer = io.BytesIO()
    if fmt == "csv":
        buffer.write(frame.to_csv(index=False).encode("utf-8"))
    elif fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    elif fmt == "fits":
        return _fits_bytes(frame)
    else:
        raise ValueError(f"Unknown format {fmt!r}; choose csv, parquet or fits.")
    return buffer.getvalue()


def _fits_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a FITS table, written by DRAMA's own table writer (ids kept exactly,
    missing cells masked); a time column goes as ISO text, which FITS tables can hold."""
    import tempfile
    from pathlib import Path

    from drama.datasets.writers import write_table_file

    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with tempfile.TemporaryDirectory(prefix="drama-export-") as folder:
        path = Path(folder) / "export.fits"
        write_table_file(frame, path, "fits")
        return path.read_bytes()
