"""Tables (Markdown) and figures (matplotlib) from a benchmark CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MEASURES = ("auc", "mcc", "rws")
FIGURE_DPI = 120  # one resolution for every figure this module saves


def summary(results: pd.DataFrame, measure: str = "auc") -> pd.DataFrame:
    """Mean over draws of ``measure``: one row per data set, one column per detector, plus a
    final ``mean`` row over the data sets every detector finished."""
    wide = results.pivot_table(index="dataset", columns="detector", values=measure,
                               aggfunc="mean")
    order = [d for d in _detector_order(results) if d in wide.columns]
    wide = wide[order]
    complete = wide.dropna()
    wide.loc["mean"] = complete.mean()
    return wide


def spread(results: pd.DataFrame, measure: str = "auc") -> pd.DataFrame:
    """Standard deviation over draws (0 where there is one draw)."""
    return results.pivot_table(index="dataset", columns="detector", values=measure,
                               aggfunc=lambda v: float(np.std(v)))


def average_rank(results: pd.DataFrame, measure: str = "auc") -> pd.Series:
    """Mean rank (1 = best) of each detector over the data sets, on the mean measure."""
    wide = summary(results, measure).drop(index="mean").dropna()
    return wide.rank(axis=1, ascending=False).mean().sort_values()


def _detector_order(results: pd.DataFrame) -> list[str]:
    from drama.benchmark.runner import DETECTORS

    seen = list(dict.fromkeys(results["detector"]))
    return [d for d in DETECTORS if d in seen] + [d for d in seen if d not in DETECTORS]


def markdown_table(frame: pd.DataFrame, fmt: str = "{:.3f}",
                   spread_frame: pd.DataFrame | None = None) -> str:
    """A pandas frame as a Markdown table; the ``mean`` row in bold; ``± spread`` if given."""
    cols = list(frame.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            text = "" if pd.isna(v) else fmt.format(v)
            if spread_frame is not None and name in spread_frame.index and not pd.isna(v):
                sd = spread_frame.loc[name, c] if c in spread_frame.columns else np.nan
                if not pd.isna(sd) and sd > 0:
                    text += " ± " + fmt.format(sd)
            cells.append(f"**{text}**" if name == "mean" and text else text)
        label = f"**{name}**" if name == "mean" else str(name)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table6(results: pd.DataFrame, detectors: tuple[str, ...] = ("DRAMA", "LOF-5", "LOF-10",
                                                                  "LOF-35", "IForest")) -> str:
    """The talk's Table 6 layout: per data set the chosen DRAMA configuration and AUC / MCC /
    RWS x100 (mean ± sd over draws) of DRAMA, LOF (the talk's 5, 10 and 35 neighbours; the
    default 20 when none of those was run) and IsolationForest."""
    run = set(results["detector"])
    present = [d for d in detectors if d in run]
    if "LOF-20" in run and not any(d.startswith("LOF-") for d in present):
        present.insert(1 if "DRAMA" in present else 0, "LOF-20")
    head = "| dataset | DRAMA config | " + " | ".join(
        f"{d} {m.upper()}" for m in MEASURES for d in present) + " |"
    lines = [head, "|---" * (2 + len(present) * len(MEASURES)) + "|"]
    dr = results[results["detector"] == "DRAMA"]
    for ds in sorted(results["dataset"].unique()):
        cfg = dr[dr["dataset"] == ds]["config"]
        config = cfg.mode().iloc[0] if len(cfg) else ""
        cells = []
        for m in MEASURES:
            for d in present:
                v = results[(results["dataset"] == ds) & (results["detector"] == d)][m] * 100
                v = v.dropna()  # undefined (e.g. AUC once every anomaly is labelled): blank
                cells.append("" if v.empty else f"{v.mean():.0f} ± {v.std(ddof=0):.0f}"
                             if len(v) > 1 else f"{v.mean():.0f}")
        lines.append(f"| {ds} | {config} | " + " | ".join(cells) + " |")
    cells = []
    for m in MEASURES:
        means = summary(results, m).loc["mean"]
        cells += [f"**{means[d] * 100:.1f}**" if d in means and pd.notna(means[d]) else ""
                  for d in present]
    lines.append("| **mean** | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(results: pd.DataFrame, out_dir: str | Path, title: str = "") -> Path:
    """Markdown tables of every measure, the Table 6 layout and the figures into ``out_dir``;
    returns the Markdown file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title or 'DRAMA benchmark'}", ""]
    for k, part in results.groupby("k"):
        label = f" (k = {k})" if k else ""
        for m in MEASURES:
            parts += [f"## {m.upper()}{label}", "",
                      markdown_table(summary(part, m), spread_frame=spread(part, m)), ""]
        if "found" in part and part["found"].notna().any():
            parts += [f"## Anomalies found within the budget{label}", "",
                      markdown_table(summary(part, "found"), fmt="{:.1f}",
                                     spread_frame=spread(part, "found")), ""]
        ranks = average_rank(part, "auc")
        parts += [f"## Average rank by AUC{label}", "",
                  "| detector | average rank |", "|---|---|"]
        parts += [f"| {d} | {r:.2f} |" for d, r in ranks.items()] + [""]
        parts += [f"## Table 6 layout{label}", "", table6(part), ""]
    md = out / "report.md"
    md.write_text("\n".join(parts))
    plot_figures(results, out)
    return md


def plot_figures(results: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Per-data-set AUC bars, average ranks, and AUC against k when several k were run."""
    from drama.run_report import agg_pyplot

    plt = agg_pyplot()

    out = Path(out_dir)
    paths = []
    part = results[results["k"] == results["k"].min()]
    wide = summary(part, "auc").drop(index="mean")
    fig, ax = plt.subplots(figsize=(max(8, 0.6 * len(wide)), 4.5))
    width = 0.8 / max(1, wide.shape[1])
    x = np.arange(len(wide))
    for i, det in enumerate(wide.columns):
        ax.bar(x + i * width, wide[det].to_numpy(), width, label=det)
    ax.set_xticks(x + 0.4 - width / 2, wide.index, rotation=60, ha="right")
    ax.set_ylabel("AUC")
    ax.set_ylim(0, 1.02)
    # Above the axes: inside, the legend hid the bars of the first data sets.
    ax.legend(ncol=min(10, wide.shape[1]), fontsize=7, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    paths.append(out / "auc_per_dataset.png")
    fig.savefig(paths[-1], dpi=FIGURE_DPI)
    plt.close(fig)

    ranks = average_rank(part, "auc")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh(ranks.index[::-1], ranks.to_numpy()[::-1])
    ax.set_xlabel("average rank by AUC (1 = best)")
    fig.tight_layout()
    paths.append(out / "average_rank.png")
    fig.savefig(paths[-1], dpi=FIGURE_DPI)
    plt.close(fig)

    if results["k"].nunique() > 1:
        # per k, as the tables: the mean over the data sets every detector finished
        curve = pd.DataFrame({k: summary(part_k, "auc").loc["mean"]
                              for k, part_k in results.groupby("k")}).T
        fig, ax = plt.subplots(figsize=(7, 4))
        for det in curve.columns:
            ax.plot(curve.index, curve[det], marker="o", label=det)
        ax.set_xlabel("k labelled anomalies")
        ax.set_ylabel("mean AUC on unseen")
        # Beside the axes: inside, it hid the end of the highest curve.
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.tight_layout()
        paths.append(out / "auc_vs_k.png")
        fig.savefig(paths[-1], dpi=FIGURE_DPI)
        plt.close(fig)
    return paths


def plot_synthetic(results: pd.DataFrame, out_dir: str | Path) -> Path:
    """The paper's synthetic figure: AUC per shape, one panel per (experiment, n_f), one
    row per k when the semi protocol ran several (never averaged over k). Each detector
    keeps its colour in every panel, so one legend serves them all."""
    from drama.run_report import agg_pyplot

    plt = agg_pyplot()

    parts = results["dataset"].str.extract(r"(?P<kind>\w+)-s(?P<shape>\d+)-f(?P<nf>\d+)")
    frame = pd.concat([results, parts], axis=1)
    panels = sorted(frame.groupby(["kind", "nf"]).groups)
    semi = frame[frame["protocol"] == "semi"] if "protocol" in frame else frame.iloc[:0]
    ks = sorted(semi["k"].unique())  # other protocols write k = 0: no labels, one row
    rows = ks or [None]
    colours = {det: f"C{i % 10}" for i, det in enumerate(sorted(frame["detector"].unique()))}
    fig, axes = plt.subplots(len(rows), len(panels), figsize=(4.5 * len(panels), 3.5 * len(rows)),
                             squeeze=False)
    for row, k in zip(axes, rows, strict=True):
        for ax, (kind, nf) in zip(row, panels, strict=True):
            sub = frame[(frame["kind"] == kind) & (frame["nf"] == nf)]
            if k is not None:
                sub = sub[sub["k"] == k]
            wide = sub.pivot_table(index=sub["shape"].astype(int), columns="detector",
                                   values="auc", aggfunc="mean")
            for det in wide.columns:
                ax.plot(wide.index, wide[det], marker="o", label=det, color=colours[det])
            ax.set_title(f"{kind} anomaly, n_f = {nf}" + ("" if k is None else f", k = {k:g}"))
            ax.set_xlabel("shape")
            ax.set_xticks(sorted(wide.index))
            ax.set_ylim(0, 1.02)
        row[0].set_ylabel("AUC")
    handles = [plt.Line2D([], [], color=c, marker="o", label=d) for d, c in colours.items()]
    axes[0][-1].legend(handles=handles, fontsize=7)
    fig.tight_layout()
    path = Path(out_dir) / "synthetic.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path
