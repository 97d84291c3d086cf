"""A small, self-contained report of one fitted model: two plots and a Markdown page.

The report is what a user looks at first after ``drama demo`` or a scoring run: how the
scores are distributed and where the threshold cuts, where the objects sit on the root
split's latent map, and (when true labels are known) how well the ranking finds them.
Plots use matplotlib's non-interactive Agg backend so they render on servers and in CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from drama.datasets.readers import as_labels

__all__ = ["agg_pyplot", "plot_latent", "plot_scores", "write_report"]

TOP_N = 10
FIGURE_DPI = 110  # one resolution for both plots of the report


def agg_pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported only when a plot is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _labels(y: Any, n: int) -> np.ndarray | None:
    return None if y is None else as_labels(y, n)


def plot_scores(
    scores: np.ndarray,
    path: str | Path,
    *,
    threshold: float | None = None,
    y: Any = None,
) -> Path:
    """Histogram of the anomaly scores with the threshold; true anomalies drawn apart.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    path : str or Path
        PNG file to write.
    threshold : float, optional
        Score above which objects are labelled anomalous; drawn as a vertical line.
    y : array-like of shape (n,), optional
        True labels (1 = anomaly); when given, normal and anomalous objects get their
        own histograms so the overlap (the detector's mistakes) is visible.

    Returns
    -------
    Path
        The written file.
    """
    plt = agg_pyplot()
    s = np.asarray(scores, dtype=np.float64).ravel()
    labels = _labels(y, len(s))
    bins = np.histogram_bin_edges(s, bins=min(50, max(10, len(s) // 10)))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    try:
        if labels is None:
            ax.hist(s, bins=bins, color="tab:blue", alpha=0.8, label="objects")
        else:
            ax.hist(s[labels == 0], bins=bins, color="tab:blue", alpha=0.6, label="normal (true)")
            ax.hist(s[labels == 1], bins=bins, color="tab:red", alpha=0.7, label="anomaly (true)")
        if threshold is not None:
            flagged = int((s > threshold).sum())
            ax.axvline(
                threshold,
                color="black",
                linestyle="--",
                label=f"threshold {threshold:.3g} ({flagged} flagged)",
            )
        ax.set_xlabel("anomaly score (higher = more anomalous)")
        ax.set_ylabel("number of objects")
        ax.set_title("Score distribution")
        ax.legend(frameon=False)
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, dpi=FIGURE_DPI)
    finally:
        plt.close(fig)
    return out


def _two_dimensions(codes: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """Two coordinates to draw: the codes themselves, or their two main axes if wider."""
    codes = codes.reshape(len(codes), -1)
    if codes.shape[1] == 1:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), ("latent 1", "")
    if codes.shape[1] == 2:
        return codes, ("latent 1", "latent 2")
    from sklearn.decomposition import PCA

    flat = PCA(n_components=2, random_state=0).fit_transform(codes)
    return flat, ("principal axis 1 of the latent codes", "principal axis 2")


def plot_latent(
    codes: np.ndarray,
    scores: np.ndarray,
    path: str | Path,
    *,
    y: Any = None,
) -> Path:
    """Latent map of the root split, coloured by anomaly score, true anomalies circled.

    Parameters
    ----------
    codes : array-like of shape (n, latent_dim)
        Latent codes, e.g. ``Drama.encode(X)``. One dimension is drawn against zero;
        more than two are projected on their two principal axes.
    scores : array-like of shape (n,)
        Anomaly scores used for the colour.
    path : str or Path
        PNG file to write.
    y : array-like of shape (n,), optional
        True labels (1 = anomaly), marked with red rings.

    Returns
    -------
    Path
        The written file.
    """
    plt = agg_pyplot()
    s = np.asarray(scores, dtype=np.float64).ravel()
    xy, (xlabel, ylabel) = _two_dimensions(np.asarray(codes, dtype=np.float64))
    if len(xy) != len(s):
        raise ValueError(f"codes have {len(xy)} rows but scores {len(s)}; pass one per object.")
    labels = _labels(y, len(s))
    order = np.argsort(s, kind="stable")  # draw the most anomalous last, on top
    fig, ax = plt.subplots(figsize=(6.0, 5.0))
    try:
        points = ax.scatter(xy[order, 0], xy[order, 1], c=s[order], cmap="viridis", s=14)
        fig.colorbar(points, ax=ax, label="anomaly score")
        if labels is not None and labels.any():
            hit = labels == 1
            ax.scatter(
                xy[hit, 0],
                xy[hit, 1],
                s=60,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=1.2,
                label="true anomaly",
            )
            ax.legend(frameon=False, loc="best")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("Latent map of the root split")
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, dpi=FIGURE_DPI)
    finally:
        plt.close(fig)
    return out


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(det: Any, X: Any, y: Any = None, out_dir: str | Path = "drama-report") -> Path:
    """Write ``scores.png``, ``latent.png`` and ``report.md`` for a fitted detector.

    Parameters
    ----------
    det : Drama
        A fitted detector: ``decision_function``, ``encode`` and ``threshold_`` are used.
    X : array-like
        Objects to report on (usually the training data).
    y : array-like of shape (n,), optional
        True labels (1 = anomaly); adds AUC / MCC / RWS / AP and marks anomalies in plots.
    out_dir : str or Path
        Folder for the three files; created if missing.

    Returns
    -------
    Path
        The ``report.md`` file, which links the two images by relative path.
    """
    from drama.metrics import evaluate, ranking

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"Report folder {str(out)!r} is a file; pass a folder path.")
    out.mkdir(parents=True, exist_ok=True)

    scores = np.asarray(det.decision_function(X), dtype=np.float64)
    labels = _labels(y, len(scores))
    threshold = getattr(det, "threshold_", None)
    threshold = None if threshold is None else float(threshold)

    plot_scores(scores, out / "scores.png", threshold=threshold, y=labels)
    plot_latent(det.encode(X), scores, out / "latent.png", y=labels)

    lines = ["# DRAMA report", ""]
    n_flagged = None if threshold is None else int((scores > threshold).sum())
    summary = f"{len(scores)} objects scored"
    if n_flagged is not None:
        summary += f"; {n_flagged} above the threshold {threshold:.4g}"
    lines += [summary + ".", ""]

    params = det.get_params() if hasattr(det, "get_params") else {}
    if params:
        shown = {k: v for k, v in params.items() if v is not None}
        lines += [
            "## Model",
            "",
            _markdown_table(
                ["parameter", "value"], [[k, f"`{v!r}`"] for k, v in sorted(shown.items())]
            ),
            "",
        ]

    if labels is not None:
        metrics = evaluate(labels, scores)
        lines += [
            "## Evaluation",
            "",
            "MCC uses the oracle threshold (top N_o scores, N_o the number of true anomalies); "
            "RWS weighs the top of the ranking most.",
            "",
            _markdown_table(
                ["AUC", "MCC", "RWS", "AP"],
                [[f"{metrics[k]:.3f}" for k in ("auc", "mcc", "rws", "ap")]],
            ),
            "",
        ]

    top = ranking(scores)[:TOP_N]
    header = ["rank", "index", "score"] + (["true label"] if labels is not None else [])
    rows = []
    for r, i in enumerate(top, start=1):
        row = [str(r), str(int(i)), f"{scores[i]:.4g}"]
        if labels is not None:
            row.append(str(int(labels[i])))
        rows.append(row)
    lines += [f"## Top {len(top)} anomalies", "", _markdown_table(header, rows), ""]

    lines += [
        "## Plots",
        "",
        "![Score distribution](scores.png)",
        "",
        "![Latent map of the root split](latent.png)",
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
