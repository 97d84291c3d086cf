"""Run DRAMA and its peers on data sets under a named protocol; resumable CSV of results.

Protocols (docs/algorithm.md#protocols):

- ``unsupervised``: fit on all objects, score all objects, no labels (one draw).
- ``semi``: in each draw, "seen" = a random half of the inliers (labelled 0) plus k
  labelled outliers (1); "unseen" = every other object (disjoint). DRAMA is fitted ONCE on
  all objects without labels (transductive: the unseen objects are in the fitted X, their
  labels are not), then ``DramaSearch.select`` chooses with each draw's labels; every
  detector is judged on the unseen objects only. Peers use no labels.
- ``novelty``: fit on a random half of the inliers, score the other half plus all outliers.
- ``active``: a simulated scientist answers DRAMA's active-learning queries from the ground
  truth (budget min(200, 2 x anomalies)); ``found`` counts the true anomalies among them.
  AADForest and PineForest (coniferest) learn from the same oracle, refitted after every
  batch of 5 answers; the other detectors are static rankings inspected from the top with
  the same budget. AUC, MCC and RWS of DRAMA-active judge its final ranking on the objects
  the oracle never saw (the active peers report ``found`` only).

Every finished (dataset, protocol, k, detector, draw) row is appended to the CSV at once,
and rows already in it are skipped, so a long run resumes where it stopped.
"""

from __future__ import annotations

import csv as stdlib_csv
import io
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

from drama.benchmark.active_peers import ACTIVE_PEERS, coniferest_curve
from drama.benchmark.peers import PEERS, finite_scores
from drama.metrics import auc_score, mcc_score, rws_score
from drama.search import DramaSearch, config_name

PROTOCOLS = ("unsupervised", "semi", "novelty", "active")
DRAMA = "DRAMA"
DRAMA_FIXED = "DRAMA-fixed"  # the engine default none|l2|2 from the same trees
FIXED_CONFIG = config_name("none", "l2", 2, "input")
DETECTORS = (DRAMA, DRAMA_FIXED, *PEERS)  # every protocol; the active peers come on top
ACTIVE_BATCH = 5  # oracle answers between refits, for DRAMA-active and the active peers
KEY = ["dataset", "protocol", "k", "detector", "draw", "seed"]
COLUMNS = [*KEY, "auc", "mcc", "rws", "fit_time", "score_time", "config", "selection",
           "n", "d", "n_anomalies", "found", "budget"]


@dataclass
class Task:
    """One data set to benchmark: a name and a loader returning (X, y)."""

    name: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


def tie_fair(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and finite scores in one fixed shuffled order. MCC, RWS and the found count
    cut the ranking at a position, and tied scores keep the input order there; ODDS files
    often list the anomalies first, so without the shuffle a detector that ties everything
    (a failed peer) would flag exactly the anomalies."""
    order = np.random.default_rng(0).permutation(len(scores))
    return np.asarray(y)[order], finite_scores(scores)[order]


def measures(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC, MCC (top N_o) and RWS of possibly non-finite scores, ties broken fairly."""
    y_fair, s_fair = tie_fair(y, scores)
    return {"auc": auc_score(y_fair, s_fair), "mcc": mcc_score(y_fair, s_fair),
            "rws": rws_score(y_fair, s_fair)}


def read_results(csv: Path) -> pd.DataFrame:
    """The complete rows of a results CSV. Every row is written as one line ending in a
    newline, so only the last line can be cut short by a crash: a last line without its
    newline is left out (run again, never reported). A header other than ``COLUMNS`` (a
    file from another version, or not a results file) is refused rather than mixed."""
    with open(csv, newline="") as handle:
        text = handle.read()
    if "\n" not in text:  # empty, or a first write cut inside the header
        return pd.DataFrame(columns=COLUMNS)
    lines = text.split("\n")
    lines = lines[:-1]  # "" after the final newline, or the line a crash cut short
    header = next(stdlib_csv.reader(lines[:1]), [])
    if header != COLUMNS:
        raise ValueError(
            f"{csv} does not hold results of this version of drama benchmark (its header is "
            f"{','.join(header) or 'cut short'}; expected {','.join(COLUMNS)}). Write to "
            "another --out folder, or move the file away."
        )
    text_columns = {c: str for c in ("dataset", "protocol", "detector", "config", "selection")}
    return pd.read_csv(io.StringIO("\n".join(lines)), dtype=text_columns)


def done_keys(csv: Path | None) -> set[tuple]:
    """Keys of the rows already in the CSV (resume)."""
    if csv is None or not csv.exists() or csv.stat().st_size == 0:
        return set()
    old = read_results(csv)
    return {(str(r.dataset), str(r.protocol), int(r.k), str(r.detector), int(r.draw),
             int(r.seed)) for r in old[KEY].itertuples()}


def _append(csv: Path | None, row: dict[str, Any]) -> None:
    """Append one row as one line (newlines inside text fields become spaces); a line a
    crash cut short is removed first, so every line before the last is complete."""
    if csv is None:
        return
    csv.parent.mkdir(parents=True, exist_ok=True)
    if csv.exists() and csv.stat().st_size:
        with open(csv, "rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # rare: read the whole file only to cut the line
                handle.seek(0)
                handle.truncate(handle.read().rfind(b"\n") + 1)
    clean = {k: v.replace("\n", " ").replace("\r", " ") if isinstance(v, str) else v
             for k, v in row.items()}
    frame = pd.DataFrame([clean], columns=COLUMNS)
    line = frame.to_csv(index=False, header=not csv.exists() or csv.stat().st_size == 0,
                        lineterminator="\n")
    with open(csv, "a", newline="") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def check_protocol(protocol: str, y: np.ndarray, k: int, name: str) -> None:
    """Refuse a protocol the data set cannot support, with a sentence saying why."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}.")
    n_a, n_n = int(y.sum()), int((y == 0).sum())
    if n_a < 1 or n_n < 2:
        raise ValueError(f"{name}: needs anomalies and normal objects; has {n_a} and {n_n}.")
    if protocol == "semi" and n_a < k + 1:
        raise ValueError(
            f"{name}: the semi protocol with k={k} needs at least {k + 1} anomalies (k seen, "
            f"at least one unseen); it has {n_a}. Lower k or drop this data set."
        )


def default_detectors(protocol: str) -> tuple[str, ...]:
    """Every detector the protocol can run: the active peers learn from labels, so only the
    ``active`` protocol has them."""
    return (*DETECTORS, *ACTIVE_PEERS) if protocol == "active" else DETECTORS


def run_benchmark(
    tasks: Sequence[Task],
    protocol: str = "unsupervised",
    detectors: Sequence[str] | None = None,
    ks: Sequence[int] = (5,),
    draws: int = 10,
    seed: int = 0,
    csv: str | Path | None = None,
    search_params: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    task_done: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Benchmark ``detectors`` on ``tasks``; returns (and appends to ``csv``) one row per
    (dataset, protocol, k, detector, draw). Unsupervised runs have k = 0 and one draw;
    ``detectors`` defaults to :func:`default_detectors` of the protocol. ``progress`` gets
    messages; ``task_done`` the name of each data set when it is finished (or skipped)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}.")
    detectors = (default_detectors(protocol) if detectors is None
                 else list(dict.fromkeys(detectors)))  # a repeated name runs once
    ks = list(dict.fromkeys(int(k) for k in ks))
    tasks = list({task.name: task for task in tasks}.values())
    known = (*DETECTORS, *ACTIVE_PEERS)
    unknown = [d for d in detectors if d not in known]
    if unknown:
        raise ValueError(f"Unknown detector(s) {unknown}; choose from {', '.join(known)}.")
    learners = [d for d in detectors if d in ACTIVE_PEERS]
    if learners and protocol != "active":
        raise ValueError(f"{', '.join(learners)} learn(s) from an oracle's answers; only the "
                         "active protocol runs them.")
    if protocol == "semi" and any(int(k) < 1 for k in ks):
        raise ValueError(f"k must be >= 1 for the semi protocol; got {list(ks)}.")
    if protocol != "unsupervised" and int(draws) < 1:
        raise ValueError(f"draws must be >= 1 for the {protocol} protocol; got {draws!r}.")
    if "random_state" in (search_params or {}):
        raise ValueError("Give the seed as seed=..., not as search_params['random_state']: "
                         "the seed is part of each result's key, so resuming stays right.")
    ignored = sorted(set(search_params or {}) - {"n_jobs"})
    if protocol == "active" and ignored:
        raise ValueError(f"search_params {ignored} do not apply to the active protocol, which "
                         "runs ActiveSession with its own defaults.")
    if DRAMA_FIXED in detectors and protocol != "active":  # active fits the default itself
        reducers, metrics, levels, spaces, _ = DramaSearch(**(search_params or {}))._grid(1)
        if not ("none" in reducers and "l2" in metrics and 2 in levels and "input" in spaces):
            raise ValueError(
                f"DRAMA-fixed reads {FIXED_CONFIG} from DRAMA's trees, but the search "
                "parameters leave it out; include reducer 'none', metric 'l2', level 2 and "
                "space 'input', or drop DRAMA-fixed."
            )
    csv = Path(csv) if csv is not None else None
    done = done_keys(csv)
    rows: list[dict[str, Any]] = []
    params = {"random_state": seed, **(search_params or {})}
    say = progress or (lambda _msg: None)
    for task in tasks:
        _run_task(task, protocol, ks, detectors, draws, seed, done, params, csv, rows, say)
        if task_done is not None:
            task_done(task.name)
    return pd.DataFrame(rows, columns=COLUMNS)


def _run_task(task: Task, protocol: str, ks: list[int], detectors: Sequence[str], draws: int,
              seed: int, done: set[tuple], params: dict[str, Any], csv: Path | None,
              rows: list[dict[str, Any]], say: Callable[[str], None]) -> None:
    """The rows of one data set that are not done yet, appended to ``csv`` and ``rows``."""
    ks_here = [int(k) for k in ks] if protocol == "semi" else [0]
    n_draws = 1 if protocol == "unsupervised" else int(draws)
    todo = [(k, det, d) for k in ks_here for det in detectors for d in range(n_draws)
            if (task.name, protocol, k, det, d, seed) not in done]
    if not todo:
        say(f"{task.name}: done already")
        return
    X, y = task.load()
    y = np.asarray(y, dtype=np.int64)
    bad_k = set()
    for k in ks_here:  # a k the data set cannot support is skipped, the others run
        try:
            check_protocol(protocol, y, k, task.name)
        except ValueError as exc:
            warnings.warn(f"skipped: {exc}", UserWarning, stacklevel=3)
            say(f"[yellow]skipped[/yellow] {exc}")
            bad_k.add(k)
    todo = [t for t in todo if t[0] not in bad_k]
    if not todo:
        return
    say(f"{task.name}: {X.shape[0]} x {int(np.prod(X.shape[1:]))}, {len(todo)} rows to do")
    runner = _PROTOCOL_RUNNERS[protocol]
    for row in runner(task.name, X, y, todo, seed, params, say):
        row.update(dataset=task.name, protocol=protocol, seed=seed, n=len(y),
                   d=int(np.prod(X.shape[1:])), n_anomalies=int(y.sum()))
        _append(csv, row)
        rows.append(row)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _peer_scores(det: str, X_fit: np.ndarray, X_score: np.ndarray, seed: int
                 ) -> tuple[np.ndarray, float]:
    """Peers see min-max-scaled data, fitted on the training part (docs/algorithm.md#protocols)."""
    scaler = MinMaxScaler().fit(X_fit)
    fit = scaler.transform(X_fit)
    score = fit if X_score is X_fit else scaler.transform(X_score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _timed(lambda: PEERS[det](fit, score, seed))


def _unsupervised(name: str, X: np.ndarray, y: np.ndarray, todo: list, seed: int,
                  params: dict, say: Callable[[str], None]):
    dets = {det for _, det, _ in todo}
    if dets & {DRAMA, DRAMA_FIXED}:
        search, t = _timed(lambda: DramaSearch(**params).fit(X))
        if DRAMA in dets:  # wall time of the whole search: trees fitted and every config scored
            yield {"k": 0, "detector": DRAMA, "draw": 0, **measures(y, search.decision_scores_),
                   "fit_time": t, "score_time": 0.0,
                   "config": _config_text(search), "selection": search.selection_}
        if DRAMA_FIXED in dets and FIXED_CONFIG in search.train_scores_:
            row = search.results_.set_index("config").loc[FIXED_CONFIG]
            yield {"k": 0, "detector": DRAMA_FIXED, "draw": 0,
                   **measures(y, search.train_scores_[FIXED_CONFIG].to_numpy()),
                   "fit_time": float(row["fit_time"]), "score_time": float(row["score_time"]),
                   "config": FIXED_CONFIG, "selection": "fixed"}
        say(f"  {name}: DRAMA done in {t:.1f}s")
    for det in sorted(dets - {DRAMA, DRAMA_FIXED}, key=list(PEERS).index):
        scores, t = _peer_scores(det, X, X, seed)
        yield {"k": 0, "detector": det, "draw": 0, **measures(y, scores),
               "fit_time": t, "score_time": 0.0, "config": "", "selection": ""}
        say(f"  {name}: {det} done in {t:.1f}s")


def semi_split(y: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels for one draw (1 / 0 on the seen objects, -1 elsewhere) and the unseen mask."""
    normals, anomalies = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    seen_n = rng.choice(normals, len(normals) // 2, replace=False)
    seen_a = rng.choice(anomalies, k, replace=False)
    labels = np.full(len(y), -1, dtype=np.int64)
    labels[seen_n], labels[seen_a] = 0, 1
    return labels, labels == -1


def _semi(name: str, X: np.ndarray, y: np.ndarray, todo: list, seed: int, params: dict,
          say: Callable[[str], None]):
    dets = {det for _, det, _ in todo}
    search: DramaSearch | None = None
    fit_time: float | None = None
    if dets & {DRAMA, DRAMA_FIXED}:
        search, t = _timed(lambda: DramaSearch(**params).fit(X))
        fit_time = t
        say(f"  {name}: DRAMA trees fitted in {t:.1f}s")
    peer_scores = {}
    for det in sorted(dets - {DRAMA, DRAMA_FIXED}, key=list(PEERS).index):
        peer_scores[det] = _peer_scores(det, X, X, seed)
        say(f"  {name}: {det} done in {peer_scores[det][1]:.1f}s")
    for k, det, draw in todo:
        rng = np.random.default_rng([seed, k, draw])
        labels, unseen = semi_split(y, k, rng)
        yu = y[unseen]
        if det == DRAMA:
            fitted = _fitted_for_drama(search)
            (_, t) = _timed(partial(fitted.select, labels))
            scores, config, selection = fitted.decision_scores_, _config_text(fitted), \
                fitted.selection_
            ft, st = fit_time, t
        elif det == DRAMA_FIXED:
            scores, config, selection = \
                _fitted_for_drama(search).train_scores_[FIXED_CONFIG].to_numpy(), \
                FIXED_CONFIG, "fixed"
            ft, st = fit_time, 0.0
        else:
            scores, ft = peer_scores[det]
            st, config, selection = 0.0, "", ""
        yield {"k": k, "detector": det, "draw": draw, **measures(yu, scores[unseen]),
               "fit_time": ft, "score_time": st, "config": config, "selection": selection}


def _fitted_for_drama(search: DramaSearch | None) -> DramaSearch:
    """The search that DRAMA's rows read (fitted whenever the rows to do hold one)."""
    if search is None:
        raise RuntimeError("a DRAMA row was to be run, but no search was fitted for it")
    return search


def _novelty(name: str, X: np.ndarray, y: np.ndarray, todo: list, seed: int, params: dict,
             say: Callable[[str], None]):
    for draw in sorted({d for _, _, d in todo}):
        rng = np.random.default_rng([seed, draw])
        normals = np.flatnonzero(y == 0)
        train = np.zeros(len(y), dtype=bool)
        train[rng.choice(normals, len(normals) // 2, replace=False)] = True
        X_fit, X_test, y_test = X[train], X[~train], y[~train]
        dets = [det for _, det, d in todo if d == draw]
        search = None
        if {DRAMA, DRAMA_FIXED} & set(dets):
            start = time.perf_counter()
            search = DramaSearch(**params).fit(X_fit)
            search_time = time.perf_counter() - start
        for det in dets:
            start = time.perf_counter()
            if det == DRAMA:
                fitted = _fitted_for_drama(search)
                scores = fitted.decision_function(X_test)
                config, selection, ft = _config_text(fitted), fitted.selection_, search_time
            elif det == DRAMA_FIXED:
                scores = _fitted_for_drama(search).config_scores(
                    X_test, [FIXED_CONFIG])[FIXED_CONFIG].to_numpy()
                config, selection, ft = FIXED_CONFIG, "fixed", search_time
            else:
                scores, ft = _peer_scores(det, X_fit, X_test, seed)
                config = selection = ""
            st = time.perf_counter() - start if det in (DRAMA, DRAMA_FIXED) else 0.0
            yield {"k": 0, "detector": det, "draw": draw, **measures(y_test, scores),
                   "fit_time": ft, "score_time": st, "config": config, "selection": selection}
        say(f"  {name}: novelty draw {draw} done")


def _active(name: str, X: np.ndarray, y: np.ndarray, todo: list, seed: int, params: dict,
            say: Callable[[str], None]):
    from drama.active import default_budget
    from drama.benchmark.active_rows import active_protocol_row
    from drama.estimator import Drama
    from drama.metrics import discovery_curve

    budget = default_budget(y)
    static: dict[str, dict[str, Any]] = {}  # a static ranking is the same in every draw
    for _, det, draw in todo:
        if det == DRAMA:
            row = {**active_protocol_row(X, y, seed + draw, budget=budget, batch=ACTIVE_BATCH),
                   "k": 0}
            say(f"  {name}: DRAMA-active draw {draw} found {row['found']} of {budget}")
        elif det in ACTIVE_PEERS:
            start = time.perf_counter()
            scaled = MinMaxScaler().fit_transform(X.reshape(len(X), -1))
            curve = coniferest_curve(det, scaled, y, budget, seed + draw, ACTIVE_BATCH)
            t = time.perf_counter() - start
            row = {"k": 0, "auc": np.nan, "mcc": np.nan, "rws": np.nan, "fit_time": t,
                   "score_time": 0.0, "config": "",
                   "selection": f"active, {budget} oracle answers, batch {ACTIVE_BATCH}",
                   "found": int(curve[-1]), "budget": budget}
            say(f"  {name}: {det} draw {draw} found {row['found']} of {budget}")
        else:
            if det not in static:
                if det == DRAMA_FIXED:
                    scores, t = _timed(lambda: Drama(random_state=seed).fit(X).decision_scores_)
                    config = FIXED_CONFIG
                else:
                    (scores, t), config = _peer_scores(det, X, X, seed), ""
                static[det] = {"k": 0, **measures(y, scores), "fit_time": t, "score_time": 0.0,
                               "config": config, "selection": "static ranking",
                               "found": int(discovery_curve(*tie_fair(y, scores),
                                                            budget)[-1]),
                               "budget": budget}
            row = dict(static[det])
        row.update(detector=det, draw=draw)
        yield row


_PROTOCOL_RUNNERS = {"unsupervised": _unsupervised, "semi": _semi, "novelty": _novelty,
                     "active": _active}


def _config_text(search: DramaSearch) -> str:
    """The heaviest configuration, and how many share the weight."""
    best = search.best_config_
    name = config_name(best["reducer"], best["metric"], best["level"], best["space"])
    n = len(search.weights_)
    return name if n == 1 else f"{name} (+{n - 1})"
