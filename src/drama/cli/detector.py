"""Which detector ``drama score`` and ``drama fit`` run, and what they say about it.

By default the command line runs the label-free :class:`drama.DramaSearch` (the
meta-algorithm); ``--reducer``, ``--metric``, ``--levels`` and ``--space`` narrow its pool,
and when each names exactly one value (``--space`` may be left out: the input space) the
result is that single :class:`drama.Drama` configuration. ``--labels FILE`` switches the
search to its few-label choice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drama._io import atomic_path
from drama.cli.common import err_console
from drama.exceptions import UserError

# The command line's own defaults; every other option falls back to the detector's default
# (left out of the call), so the two can never disagree.
CLI_DEFAULTS: dict[str, Any] = {"contamination": 0.05, "random_state": 0}
# How many of the weighted configurations the run lists.
SHOWN_CONFIGURATIONS = 8


def is_single(reducers: list[str] | None, metrics: list[str] | None,
              levels: list[int] | None) -> bool:
    """Whether the options name one configuration (one reducer, one metric, one level)."""
    return all(v is not None and len(v) == 1 for v in (reducers, metrics, levels))


def build_detector(reducers: list[str] | None, metrics: list[str] | None,
                   levels: list[int] | None, tree_options: dict[str, Any],
                   common: dict[str, Any], device: str | None,
                   spaces: list[str] | None = None) -> Any:
    """The detector the options ask for, not yet fitted. ``tree_options`` are Drama
    parameters for every tree (latent_dim, scaling); ``common`` contamination and seed;
    ``spaces`` where distances are measured (None: the input space)."""
    from drama import Drama, DramaSearch
    from drama.reducers.neural import NEURAL_NAMES
    from drama.search import DEFAULT_LEVELS, DEFAULT_METRICS, DEFAULT_REDUCERS

    common = {**CLI_DEFAULTS, **{k: v for k, v in common.items() if v is not None}}
    names = list(reducers or DEFAULT_REDUCERS)
    neural = [r for r in names if r in NEURAL_NAMES]
    if device is not None and not neural:
        raise UserError(device_refused(names[0]))
    # the neural reducers show their training bars (and run where --device says)
    options = {"progress": True, **({} if device is None else {"device": device})}
    spaces = list(spaces or ["input"])
    if len(set(spaces)) != len(spaces):
        raise UserError(f"--space names a space twice: {spaces}.")
    if metrics is not None and levels is not None and is_single(reducers, metrics, levels) \
            and len(spaces) == 1:
        return Drama(reducer=names[0], metric=metrics[0], n_levels=levels[0], space=spaces[0],
                     **tree_options, reducer_options=options if neural else None, **common)
    if len(set(names)) != len(names):
        raise UserError(f"--reducer names a reducer twice: {names}.")
    drama_params = dict(tree_options)
    if neural:
        drama_params["reducer_options"] = {r: options for r in neural}
    return DramaSearch(reducers=names, metrics=list(metrics) if metrics else DEFAULT_METRICS,
                       levels=sorted(set(levels)) if levels else DEFAULT_LEVELS, spaces=spaces,
                       drama_params=drama_params or None, **common)


def device_refused(reducer: str) -> str:
    return (f"--device applies to the neural reducers (ae, vae, cae1d, ...); the {reducer!r} "
            "reducer always runs on the CPU, so leave --device out.")


def fit_detector(det: Any, features: Any, labels: np.ndarray | None) -> Any:
    """Fit with a spinner, or, with a neural reducer, with its per-node training bars (two
    live displays cannot share the terminal)."""
    from drama import DramaSearch
    from drama.reducers.neural import NEURAL_NAMES

    if isinstance(det, DramaSearch):
        det.check_grid(int(np.prod(np.shape(features)[1:])))
        reducers = list(det.reducers)
        what = (f"Searching DRAMA configurations ({', '.join(reducers)}; "
                f"{'all metrics' if det.metrics == 'all' else ', '.join(det.metrics)}; "
                f"levels {', '.join(map(str, det.levels))}) ...")
    else:
        reducers = [det.reducer]
        what = f"Fitting DRAMA ({det.reducer}, {det.metric}) ..."
    if any(r in NEURAL_NAMES for r in reducers):
        return det.fit(features, labels)
    with err_console().status(escape(what)):
        return det.fit(features, labels)


def read_labels(path: Path, ids: np.ndarray | None, id_name: str | None, n: int) -> np.ndarray:
    """Labels per object (1 anomaly, 0 normal, -1 unknown) from a CSV of object id and label.

    The file has a header; its columns are the id column's name (or, without ids in the
    input, ``row``: the 0-based row number) and ``label``, or just two columns in that
    order. Ids are compared as text, so 19-digit ids never lose digits."""
    import pandas as pd

    if not path.is_file():
        raise UserError(f"--labels {str(path)!r} is not a file; give a CSV of id and label.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"--labels {path.name} is not a readable CSV: {exc}") from None
    key = id_name if ids is not None else "row"
    if {key, "label"} <= set(table.columns):
        table = table[[key, "label"]]
    elif len(table.columns) != 2:
        raise UserError(f"--labels {path.name} needs the columns {key!r} and 'label' (or just "
                        f"two columns: id, label); it has {list(table.columns)[:6]}.")
    given_ids = table.iloc[:, 0].str.strip().to_numpy()
    raw = table.iloc[:, 1].str.strip()
    bad = sorted(set(raw) - {"0", "1"})
    if bad:
        raise UserError(f"--labels {path.name}: labels must be 1 (anomaly) or 0 (normal); "
                        f"found {bad[:5]}.")
    known = [str(i) for i in (np.arange(n) if ids is None else ids)]
    position = {name: i for i, name in enumerate(known)}
    if len(position) != len(known):
        raise UserError("--labels needs unique object ids, and the id column repeats some.")
    missing = [i for i in given_ids if i not in position]
    if missing:
        raise UserError(f"--labels {path.name} names {len(missing)} object(s) that are not in "
                        f"the input (by {key!r}), e.g. {missing[:3]}.")
    labels = np.full(n, -1, dtype=np.int64)
    for name, value in zip(given_ids, raw.astype(int), strict=True):
        i = position[name]
        if labels[i] not in (-1, value):
            raise UserError(f"--labels {path.name} gives object {name!r} both labels.")
        labels[i] = value
    if not (labels == 1).any():
        raise UserError(f"--labels {path.name} marks no anomaly (1); the few-label choice "
                        "needs at least one. Leave --labels out for the label-free search.")
    return labels


def describe(det: Any) -> dict[str, Any]:
    """What carries the ranking, for the terminal and the sidecar file."""
    from drama import DramaSearch

    if not isinstance(det, DramaSearch):
        name = f"{det.reducer}|{det.metric}|{det._scored_level()}|{det.space}"
        return {"detector": "Drama", "selection": f"single configuration {name}",
                "configurations": [{"config": name, "weight": 1.0}]}
    res = det.results_.loc[det.results_["weight"] > 0].sort_values(
        ["weight", "agreement"], ascending=False)
    columns = [c for c in ("stability", "agreement", "label_auc") if res[c].notna().any()]
    rows = [{"config": r["config"], "weight": float(r["weight"]),
             **{c: float(r[c]) for c in columns}} for _, r in res.iterrows()]
    return {"detector": "DramaSearch", "selection": det.selection_, "configurations": rows}


def print_selection(about: dict[str, Any], console: Console) -> None:
    """The selection in words, and the configurations with the largest weights."""
    console.print(f"Selection: {escape(about['selection'])}.")
    rows = about["configurations"]
    if about["detector"] == "Drama":
        return
    table = Table(title=f"Configurations carrying the ranking ({len(rows)})")
    extra = [c for c in ("stability", "agreement", "label_auc") if c in rows[0]]
    for column in ("configuration", "weight", *extra):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for row in rows[:SHOWN_CONFIGURATIONS]:
        table.add_row(escape(row["config"]), f"{row['weight']:.3f}",
                      *(f"{row[c]:.3f}" for c in extra))
    if len(rows) > SHOWN_CONFIGURATIONS:
        table.caption = f"... and {len(rows) - SHOWN_CONFIGURATIONS} more (see the sidecar)"
    console.print(table)


def sidecar_path(output: Path) -> Path:
    """Where the run's description goes: beside the output, named after it."""
    return output.with_name(output.name + ".json")


def is_run_record(path: Path) -> bool:
    """Whether ``path`` holds a record that :func:`write_sidecar` wrote."""
    try:
        return "drama_version" in json.loads(path.read_text())
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        return False


def write_sidecar(output: Path, about: dict[str, Any], det: Any, **run: Any) -> Path:
    """Record which detector, configurations and options made ``output`` (atomically)."""
    import drama

    params = {k: v for k, v in det.get_params(deep=False).items()
              if isinstance(v, (str, int, float, bool, list, tuple, dict, type(None)))}
    record = {"drama_version": drama.__version__, **run, **about, "params": params,
              "threshold": det.threshold_}
    path = sidecar_path(output)
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path
