"""The ten distances between objects and leaf prototypes (docs/algorithm.md#distances).

Every function takes a block of objects ``U`` (b, d) and all prototypes ``P`` (k, d) at
once and returns (b, k), through SciPy's ``cdist`` or matrix products rather than (b, k, d)
temporaries (docs/engine.md, "Distances", times each against ``cdist``).
``prototype_distances`` walks the objects in row chunks so memory stays bounded whatever n
is. ``paired_distances`` measures each object against its own reconstruction instead (the
residual space, docs/algorithm.md#residual). Nothing here modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dgemm
from scipy.spatial.distance import cdist
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


# Squared Euclidean distances below this share of the squared norms are recomputed from the
# differences (see _exact_squares): about 1e-16 / 1e-4 = 1e-12 relative error elsewhere.
_EXACT_BELOW = 1e-4
_OVERFLOW_RISK = 1e300  # squared norms below this cannot overflow in the expansion
# Metrics SciPy computes exactly as defined here (canberra too counts 0/0 as 0).
_SCIPY_NAMES = {"l1": "cityblock", "chebyshev": "chebyshev", "canberra": "canberra"}
# Rows per chunk: a chunk's (b, d) buffers and (b, k) results hold at most this many
# elements (2 MiB of float64), few enough to stay in the cache and enough rows that the
# per-chunk calls cost little (benchmarks/distances.py).
_CHUNK_ELEMENTS = 1 << 18


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


def _row_squares(A: np.ndarray) -> np.ndarray:
    """Each row's dot product with itself (``vecdot`` runs faster than ``einsum`` or stacked
    (1, d) @ (d, 1) products)."""
    return np.vecdot(A, A)


def _pair_differences(
    U: np.ndarray, P: np.ndarray, sigma: np.ndarray | None, rows: np.ndarray, cols: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, cols, (u - p) / sigma) of the given pairs, in batches: every pair may need
    recomputing, so the (pairs, d) differences are bounded like a chunk."""
    step = max(1, _CHUNK_ELEMENTS // U.shape[1])
    for start in range(0, len(rows), step):
        r, c = rows[start : start + step], cols[start : start + step]
        diff = U[r] - P[c]
        if sigma is not None:
            diff /= sigma[c]
        yield r, c, diff


def _scaled_fourth_norms(diff: np.ndarray) -> np.ndarray:
    """(sum d^4)^(1/4) of each row of ``diff``, the row divided by its largest |d| first so
    that no fourth power overflows (a row of zeros stays 0). Scales ``diff`` in place."""
    scale = np.abs(diff).max(axis=1)
    diff /= np.where(scale > 0, scale, 1.0)[:, None]
    return scale * np.sqrt(np.sqrt(_row_squares(np.square(diff))))


def _exact_squares(
    D2: np.ndarray, scale: np.ndarray, U: np.ndarray, P: np.ndarray, sigma: np.ndarray | None
) -> np.ndarray:
    """Square roots of squared distances expanded as ||u||^2 - 2 u.p + ||p||^2. That sum
    carries rounding errors of order eps * ``scale`` (the squared norms): an object equal to a
    prototype would get 1e-8 instead of 0, and an offset of 1e6 would swamp small differences.
    So wherever the result is below ``_EXACT_BELOW * scale`` (negative results included) it
    is recomputed from the differences; elsewhere its relative error stays below ~1e-12.
    Squared norms near 1e308 may overflow to inf or NaN: then those pairs are recomputed too."""
    largest = scale.max(initial=0.0)
    # One reduction clears a block with no pair near zero (inf and NaN never pass it).
    if largest < _OVERFLOW_RISK and D2.min(initial=np.inf) >= _EXACT_BELOW * largest:
        return np.sqrt(D2, out=D2)
    flagged = D2 < _EXACT_BELOW * scale
    if not largest < _OVERFLOW_RISK:
        flagged |= ~np.isfinite(D2)
    if flagged.any():
        for r, c, diff in _pair_differences(U, P, sigma, *np.nonzero(flagged)):
            D2[r, c] = _row_squares(diff)
    return np.sqrt(D2, out=D2)


@np.errstate(over="ignore", invalid="ignore")  # inf and NaN are recomputed
def _euclidean(U: np.ndarray, P: np.ndarray, out: np.ndarray) -> np.ndarray:
    """||u - p|| by the expansion, written into ``out`` (a C-contiguous (b, k) block).

    ``out`` first receives ||u||^2 + ||p||^2 as the product of (b, 2) and (2, k) factors,
    then one BLAS ``dgemm`` adds -2 u.p in place (its beta = 1): no pass of NumPy over the
    (b, k) result besides the check and the square root (benchmarks/distances.py)."""
    U = np.asarray(U, dtype=float)  # float32 objects too are measured in float64
    u2 = _row_squares(U)
    p2 = _row_squares(P)
    ones_and_u2 = np.ones((len(U), 2))
    ones_and_u2[:, 1] = u2
    p2_and_ones = np.ones((2, len(P)))
    p2_and_ones[0] = p2
    np.matmul(ones_and_u2, p2_and_ones, out=out)
    # dgemm computes in Fortran order: out.T is the (k, b) Fortran view of the same memory.
    written = dgemm(-2.0, P.T, U.T, 1.0, out.T, trans_a=1,
                    overwrite_c=1)
    if not np.shares_memory(written, out):
        out[:] = written.T
    # The largest prototype norm gives one threshold per object and flags a superset of pairs.
    return _exact_squares(out, u2[:, None] + p2.max(initial=0.0), U, P, None)


@np.errstate(over="ignore", invalid="ignore")  # inf and NaN are recomputed
def _weighted_euclidean(U: np.ndarray, P: np.ndarray, sigma: np.ndarray,
                        out: np.ndarray) -> np.ndarray:
    """||(u - p_j) / sigma_j|| by the same expansion, each leaf j with its own weights,
    written into ``out``."""
    weights = sigma**-2.0
    u2 = np.square(U) @ weights.T
    D2 = np.matmul(U, (-2.0 * P * weights).T, out=out)
    D2 += u2
    p2 = np.einsum("kd,kd->k", np.square(P), weights)
    D2 += p2
    return _exact_squares(D2, u2 + p2, U, P, sigma)


@np.errstate(over="ignore")  # overflowing pairs are recomputed
def _fourth_power(U: np.ndarray, P: np.ndarray, sigma: np.ndarray | None) -> np.ndarray:
    """(sum |u - p|^4)^(1/4), one prototype at a time in a reused buffer (SciPy's minkowski
    with p=4 calls pow() on every element and is several times slower); wl4 divides the
    differences by the leaf's ``sigma``. A fourth power overflows from about 1e77 on (a
    tiny floored spread): those pairs are recomputed scaled by their largest term."""
    out = np.empty((len(U), len(P)))
    diff = np.empty_like(U)
    for j, p in enumerate(P):
        np.subtract(U, p, out=diff)
        if sigma is not None:
            diff /= sigma[j]
        np.square(diff, out=diff)
        out[:, j] = _row_squares(diff)
    np.sqrt(np.sqrt(out, out=out), out=out)
    for r, c, big in _pair_differences(U, P, sigma, *np.nonzero(~np.isfinite(out))):
        out[r, c] = _scaled_fourth_norms(big)
    return out


def _braycurtis(U: np.ndarray, P: np.ndarray) -> np.ndarray:
    """sum |u - p| / sum |u + p| as two cityblock distances (faster than SciPy's braycurtis),
    the denominator kept above 1e-12 so that two zero vectors are at distance 0."""
    total = np.maximum(cdist(U, -P, "cityblock"), 1e-12)
    return np.divide(cdist(U, P, "cityblock"), total, out=total)


def _constant_rows(A: np.ndarray, mean: np.ndarray, centred_norm: np.ndarray) -> np.ndarray:
    """Rows whose values are all equal. Only a row whose centred norm is rounding next to its
    mean can be one, and only those rows are compared exactly (max == min)."""
    constant = centred_norm <= 1e-8 * np.sqrt(A.shape[1]) * np.abs(mean)
    if constant.any():
        rows = A[constant]
        constant[constant] = rows.max(axis=1) == rows.min(axis=1)
    return constant


def _correlation(U: np.ndarray, P: np.ndarray) -> np.ndarray:
    """1 - the Pearson correlation. The prototypes are centred, so (u - mean(u)) . pc = u . pc
    and U is read twice (row squares, one product) instead of centred in a copy; a row whose
    centred norm ||u||^2 - d mean(u)^2 lost its digits to a large offset is centred exactly."""
    u_mean, p_mean = U.mean(axis=1), P.mean(axis=1)
    pc = P - p_mean[:, None]
    pn = np.sqrt(_row_squares(pc))
    u2 = _row_squares(U)
    un2 = u2 - U.shape[1] * np.square(u_mean)
    corr = U @ pc.T
    shaky = un2 < _EXACT_BELOW * u2
    if shaky.any():
        uc = U[shaky] - u_mean[shaky, None]
        un2[shaky] = _row_squares(uc)
        corr[shaky] = uc @ pc.T
    un = np.sqrt(un2)
    corr /= np.maximum(np.outer(un, pn), TINY)
    dist = np.subtract(1.0, corr, out=corr)
    # A constant vector has no correlation with anything: distance 1, or 0 to another constant.
    # Constant means max == min; a centred norm of ~1e-17 from rounding does not count.
    u0 = _constant_rows(U, u_mean, un)
    p0 = _constant_rows(P, p_mean, pn)
    if u0.any() or p0.any():
        dist[u0] = 1.0
        dist[:, p0] = 1.0
        dist[np.ix_(u0, p0)] = 0.0
    return np.clip(dist, 0.0, 2.0, out=dist)


def _mahalanobis(U: np.ndarray, means: np.ndarray, whitens: np.ndarray) -> np.ndarray:
    out = np.empty((len(U), len(means)))
    for j, (mean, whiten) in enumerate(zip(means, whitens, strict=True)):
        white = (U - mean) @ whiten
        out[:, j] = _row_squares(white)
    return np.sqrt(out, out=out)


def _required_stats(stats: LeafStats | None, metric: str) -> LeafStats:
    """The leaves' statistics, which the weighted and Mahalanobis metrics cannot do without."""
    if stats is None:
        raise ValueError(f"The {metric!r} metric needs the leaves' statistics (stats=LeafStats).")
    return stats


def _pairwise(U: np.ndarray, P: np.ndarray, metric: str, stats: LeafStats | None,
              out: np.ndarray) -> None:
    """Write the (b, k) distances of the block ``U`` into ``out`` (cdist writes there itself)."""
    if metric in _SCIPY_NAMES:
        cdist(U, P, _SCIPY_NAMES[metric], out=out)
    elif metric == "l2":
        _euclidean(U, P, out)
    elif metric == "wl2":
        _weighted_euclidean(U, P, _required_stats(stats, metric).sigma, out)
    elif metric in ("l4", "wl4"):
        sigma = _required_stats(stats, metric).sigma if metric == "wl4" else None
        out[:] = _fourth_power(U, P, sigma)
    elif metric == "braycurtis":
        out[:] = _braycurtis(U, P)
    elif metric == "correlation":
        out[:] = _correlation(U, P)
    elif metric == "mahalanobis":
        leaves = _required_stats(stats, metric)
        if leaves.whiten is None:
            raise AssertionError(metric)  # prototype_distances checked that covariances are kept
        out[:] = _mahalanobis(U, leaves.mean, leaves.whiten)
    else:
        raise AssertionError(metric)  # prototype_distances validated the name


def _check_metric(metric: str, whiten: np.ndarray | None) -> None:
    """Refuse an unknown metric, and Mahalanobis without the leaves' whitening."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")
    if metric == "mahalanobis" and whiten is None:
        raise ValueError(
            "The Mahalanobis metric needs leaf covariances, which this model did not keep. "
            "Refit with metric='mahalanobis' or keep_covariance=True."
        )


def prototype_distances(
    U: np.ndarray, P: np.ndarray, metric: str, stats: LeafStats | None = None
) -> np.ndarray:
    """Distances (n, k) from every object in ``U`` to every prototype in ``P``, in chunks."""
    _check_metric(metric, None if stats is None else stats.whiten)
    n, d = U.shape
    k = len(P)
    rows = max(1, _CHUNK_ELEMENTS // max(k, d, 1))
    out = np.empty((n, k))
    for start in range(0, n, rows):
        _pairwise(U[start : start + rows], P, metric, stats, out[start : start + rows])
    return out


def _paired_block(U: np.ndarray, R: np.ndarray, metric: str, sigma: np.ndarray | None,
                  whiten: np.ndarray | None) -> np.ndarray:
    """Distances (b,) from each row of ``U`` to the same row of ``R``, by the rules the
    prototype distances above follow (0/0 terms of Canberra count 0, Bray-Curtis keeps its
    denominator above 1e-12, a constant vector correlates with nothing)."""
    diff = U - R
    if sigma is not None and metric in ("wl2", "wl4"):
        diff /= sigma
    if metric == "mahalanobis" and whiten is not None:
        diff = diff @ whiten
    if metric in ("l2", "wl2", "mahalanobis"):
        return np.sqrt(_row_squares(diff))
    if metric in ("l4", "wl4"):
        return _scaled_fourth_norms(diff)
    if metric == "l1":
        return np.abs(diff).sum(axis=1)
    if metric == "chebyshev":
        return np.abs(diff).max(axis=1)
    if metric == "canberra":
        total = np.abs(U) + np.abs(R)
        terms = np.divide(np.abs(diff), total, out=np.zeros_like(total), where=total > 0)
        return terms.sum(axis=1)
    if metric == "braycurtis":
        return np.abs(diff).sum(axis=1) / np.maximum(np.abs(U + R).sum(axis=1), 1e-12)
    if metric == "correlation":
        u_mean, r_mean = U.mean(axis=1), R.mean(axis=1)
        uc, rc = U - u_mean[:, None], R - r_mean[:, None]
        un, rn = np.sqrt(_row_squares(uc)), np.sqrt(_row_squares(rc))
        dist = 1.0 - (uc[:, None, :] @ rc[:, :, None]).reshape(len(U)) / np.maximum(un * rn, TINY)
        u0, r0 = _constant_rows(U, u_mean, un), _constant_rows(R, r_mean, rn)
        dist[u0 | r0] = 1.0
        dist[u0 & r0] = 0.0
        return np.clip(dist, 0.0, 2.0, out=dist)
    raise AssertionError(metric)  # paired_distances validated the name


def paired_distances(U: np.ndarray, R: np.ndarray, metric: str, sigma: np.ndarray | None = None,
                     whiten: np.ndarray | None = None) -> np.ndarray:
    """Distances (n,) from each object in ``U`` to the same row of ``R`` (its own
    reconstruction, in the residual space), in row chunks. ``sigma`` (d,) weighs wl2 / wl4
    and ``whiten`` (d, d) is the Mahalanobis whitening, both of the leaf that reconstructed
    the objects."""
    _check_metric(metric, whiten)
    if U.shape != R.shape:
        raise ValueError(f"objects {U.shape} and reconstructions {R.shape} differ in shape")
    if metric in ("wl2", "wl4") and sigma is None:
        raise ValueError(f"The {metric!r} metric needs the leaf's spread (sigma).")
    n, d = U.shape
    rows = max(1, _CHUNK_ELEMENTS // max(d, 1))
    out = np.empty(n)
    for start in range(0, n, rows):
        block = slice(start, start + rows)
        out[block] = _paired_block(U[block], R[block], metric, sigma, whiten)
    return out
