"""The ten distances between objects and leaf prototypes (docs/algorithm.md#distances).

Every function takes a block of objects ``U`` (b, d) and all prototypes ``P`` (k, d) at
once and returns (b, k). ``prototype_distances`` walks the objects in row chunks so
memory stays bounded whatever n is. Nothing here modifies its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.covariance import ledoit_wolf

from drama._numeric import TINY

METRICS = (
    "l1", "l2", "l4", "wl2", "wl4", "braycurtis", "chebyshev", "canberra", "correlation",
    "mahalanobis",
)
# Two centred 2-vectors are (a, -a) and (b, -b): their correlation is always +1 or -1, so
# correlation distances in fewer than 3 dimensions are only 0 or 2 and rank nothing.
CORRELATION_MIN_DIMS = 3


def ranks_in(metric: str, dims: int) -> bool:
    """Whether ``metric`` can rank objects in a space of ``dims`` dimensions."""
    return metric != "correlation" or dims >= CORRELATION_MIN_DIMS


_CHUNK_ELEMENTS = 1 << 22  # ~32 MiB of float64 per (b, k, d) temporary


@dataclass
class LeafStats:
    """What the weighted and Mahalanobis metrics need about each leaf (stacked over k)."""

    sigma: np.ndarray  # (k, d) per-feature spread, floored
    mean: np.ndarray  # (k, d) member mean
    whiten: np.ndarray | None  # (k, d, d): ||(x - mean) @ whiten|| is the Mahalanobis distance


def spread(members: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Per-feature standard deviation, never below ``floor`` (so 1/sigma stays finite)."""
    return np.maximum(members.std(axis=0), floor)


def whitening(members: np.ndarray, eig_floor: float) -> np.ndarray:
    """A matrix W with ||(x - m) W|| = sqrt((x-m)^T S^-1 (x-m)), S the Ledoit-Wolf shrunk
    covariance of ``members`` with eigenvalues floored (tiny or one-object leaves stay finite)."""
    d = members.shape[1]
    cov = ledoit_wolf(members)[0] if len(members) > 1 else np.zeros((d, d))
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, max(eig_floor, 1e-6 * float(values.max(initial=0.0))))
    return vectors / np.sqrt(values)


def _pairwise(U: np.ndarray, P: np.ndarray, metric: str, stats: LeafStats | None) -> np.ndarray:
    if metric == "correlation":
        uc = U - U.mean(axis=1, keepdims=True)
        pc = P - P.mean(axis=1, keepdims=True)
        un, pn = np.linalg.norm(uc, axis=1), np.linalg.norm(pc, axis=1)
        corr = (uc @ pc.T) / np.maximum(np.outer(un, pn), TINY)
        # A constant vector has no correlation with anything: distance 1, or 0 to another constant.
        # Constant means max == min; a centred norm of ~1e-17 from rounding does not count.
        u0 = (U.max(axis=1) == U.min(axis=1))[:, None]
        p0 = (P.max(axis=1) == P.min(axis=1))[None, :]
        dist = np.where(u0 | p0, np.where(u0 & p0, 0.0, 1.0), 1.0 - corr)
        return np.clip(dist, 0.0, 2.0)
    if metric == "mahalanobis":
        return np.stack(
            [np.linalg.norm((U - m) @ w, axis=1)
             for m, w in zip(stats.mean, stats.whiten, strict=True)],
            axis=1,
        )
    diff = U[:, None, :] - P[None, :, :]
    if metric in ("wl2", "wl4"):
        diff = diff / stats.sigma[None, :, :]
    adiff = np.abs(diff)
    if metric == "l1":
        return adiff.sum(axis=2)
    if metric in ("l2", "wl2"):
        return np.sqrt(np.einsum("bkd,bkd->bk", diff, diff))
    if metric in ("l4", "wl4"):
        return np.sqrt(np.sqrt((np.square(np.square(adiff))).sum(axis=2)))
    if metric == "chebyshev":
        return adiff.max(axis=2)
    if metric == "braycurtis":
        total = np.abs(U[:, None, :] + P[None, :, :]).sum(axis=2)
        return adiff.sum(axis=2) / np.maximum(total, 1e-12)
    if metric == "canberra":
        denom = np.abs(U)[:, None, :] + np.abs(P)[None, :, :]
        return np.where(denom > 0, adiff / np.where(denom > 0, denom, 1.0), 0.0).sum(axis=2)
    raise AssertionError(metric)  # prototype_distances validated the name


def prototype_distances(
    U: np.ndarray, P: np.ndarray, metric: str, stats: LeafStats | None = None
) -> np.ndarray:
    """Distances (n, k) from every object in ``U`` to every prototype in ``P``, in chunks."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")
    if metric == "mahalanobis" and (stats is None or stats.whiten is None):
        raise ValueError(
            "The Mahalanobis metric needs leaf covariances, which this model did not keep. "
            "Refit with metric='mahalanobis' or keep_covariance=True."
        )
    n, d = U.shape
    k = len(P)
    rows = max(1, _CHUNK_ELEMENTS // max(k * d, 1))
    out = np.empty((n, k))
    for start in range(0, n, rows):
        out[start : start + rows] = _pairwise(U[start : start + rows], P, metric, stats)
    return out
