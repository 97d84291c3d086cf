"""One active session per data file, each used by one thread at a time.

A run is an :class:`~drama.active.ActiveSession` on a data file of the workspace with its
store in ``.drama/``: the same file ``drama active DATA --store`` uses, so the terminal and
the browser share their labels, and reopening a run resumes it. The store admits one
session per process, and its SQLite connection belongs to the thread that opened it, so
every call on a run goes through that run's own single worker thread: requests from any
number of tabs are served one after another, each seeing the labels of those before.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from drama._validation import check_integer
from drama.active.store import data_fingerprint, describe_adoption

from . import views
from .annotations import Annotations, label_for_rating
from .context import load_context
from .inputs import read_input
from .lightcurves import Observations
from .map import MapSpace, inside, latent_map, map_view, selection
from .saved_runs import fit_key, load_fit, load_map, save_fit
from .workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    from drama.cli.lightcurves import CurveOptions

__all__ = ["ANSWERS", "OPEN_PHASES", "OpenProgress", "Run", "RunOptions", "RunRegistry"]

ANSWERS = ("interesting", "boring", "skip")
T = TypeVar("T")


def _names(given: Any, what: str, known: tuple[str, ...] | None) -> tuple[str, ...]:
    """A non-empty list of names from a request, each one of ``known`` (when given)."""
    if (isinstance(given, str) or not isinstance(given, list | tuple) or not given
            or not all(isinstance(r, str) and r.strip() for r in given)):
        raise ValueError(f"{what} must be a non-empty list of names; got {given!r}.")
    names = tuple(r.strip() for r in given)
    unknown = [n for n in names if known is not None and n not in known]
    if unknown:
        raise ValueError(f"Unknown {what} {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(known or ())}.")
    return names


def _curve_options(given: Any) -> CurveOptions:
    """The light-curve columns of a long-format table, checked as ``--light-curves`` is."""
    from drama.cli.lightcurves import curve_options

    fields = ("id", "time", "mag", "err", "band", "representation", "min_points")
    if not isinstance(given, dict) or set(given) - set(fields):
        raise ValueError(f"curves must be an object with {', '.join(fields)}; got {given!r}.")
    if not all(v is None or isinstance(v, str) for k, v in given.items() if k != "min_points"):
        raise ValueError(f"curves names columns as text; got {given!r}.")
    points = given.get("min_points")
    if points is not None:
        check_integer(points, "curves.min_points", 2)
    chosen = curve_options(True, given.get("time"), given.get("mag"), given.get("err"),
                           given.get("band"), given.get("representation"), points,
                           given.get("id"))
    assert chosen is not None  # light_curves=True always gives options
    return chosen


@dataclass(frozen=True)
class RunOptions:
    """The session options a run may set. The defaults are the terminal's, the label-free
    search ("automatic"): reducers none and pca, levels 1-3, every metric, the input
    space, seed 0. ``reducers``, ``levels``, ``spaces`` and ``seed`` are ``drama active``'s
    ``--reducer``, ``--levels``, ``--space`` and ``--seed``; ``metrics`` (a list, or
    "all") and ``curves`` (a long-format light-curve table's columns) only the
    workbench's."""

    reducers: tuple[str, ...] = ("none", "pca")
    levels: int = 3
    metrics: str | tuple[str, ...] = "all"
    spaces: tuple[str, ...] = ("input",)
    seed: int = 0
    curves: CurveOptions | None = None

    @classmethod
    def from_request(cls, given: Any) -> RunOptions:
        """Options from a request body; unknown keys and bad values are refused by name."""
        from drama.distances import METRICS
        from drama.reducers import reducer_names
        from drama.tree import SPACES

        if not isinstance(given, dict):
            raise ValueError(f"options must be an object (reducers, levels, metrics, spaces, "
                             f"seed, curves); got {given!r}.")
        unknown = sorted(set(given) - {"reducers", "levels", "metrics", "spaces", "seed",
                                       "curves"})
        if unknown:
            raise ValueError(f"Unknown run option(s) {', '.join(map(repr, unknown))}; "
                             "give reducers, levels, metrics, spaces, seed or curves.")
        levels, seed = given.get("levels", cls.levels), given.get("seed", cls.seed)
        check_integer(levels, "levels", 1)
        check_integer(seed, "seed", 0)
        metrics = given.get("metrics", cls.metrics)
        curves = given.get("curves")
        return cls(
            reducers=_names(given.get("reducers", cls.reducers), "reducers",
                            tuple(reducer_names())),
            levels=levels,
            metrics="all" if metrics == "all" else _names(metrics, "metrics", METRICS),
            spaces=_names(given.get("spaces", cls.spaces), "spaces", SPACES),
            seed=seed, curves=None if curves is None else _curve_options(curves))


#: The steps of opening a run, in order: a fresh fit, or a reopening from the saved fit.
OPEN_PHASES = {"fit": ("reading", "fitting", "saving"), "saved": ("reading", "loading")}


class OpenProgress:
    """How far the opening of a run has come, for the page's progress bar: the phase
    (``reading`` the data, ``fitting`` DRAMA's configurations and ranking, ``saving`` the
    fit; or ``loading`` the saved fit), the steps done out of the phases of that path,
    and the seconds so far. Within ``fitting``, the search reports each step of its fit
    (:meth:`fit_step`: a tree fitted, scored, ...), so the fraction moves during it too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._path, self._phase, self._state = "fit", "reading", "opening"
        self._error: str | None = None
        self._ended: float | None = None
        self._fit_steps = (0, 0)  # (done, total) of the search's fit

    def enter(self, phase: str, path: str | None = None) -> None:
        with self._lock:
            self._path = path or self._path
            self._phase = phase

    def fit_step(self, done: int, total: int) -> None:
        """The search's progress callback: ``done`` of its ``total`` steps."""
        with self._lock:
            self._fit_steps = (done, total)

    def end(self, error: BaseException | None = None) -> None:
        with self._lock:
            self._state = "open" if error is None else "failed"
            self._error = None if error is None else str(error)
            self._ended = time.monotonic()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            phases = OPEN_PHASES[self._path]
            done = len(phases) if self._state == "open" else phases.index(self._phase)
            step, steps = self._fit_steps
            within = step / steps if self._phase == "fitting" and steps else 0.0
            until = self._ended if self._ended is not None else time.monotonic()
            return {"state": self._state, "phase": self._phase, "phases": list(phases),
                    "steps_done": done, "fraction": (done + within) / len(phases),
                    "fit_steps": {"done": step, "total": steps},
                    "seconds": round(until - self._started, 3), "error": self._error,
                    "fit": None if self._state != "open" else self._path}


class Run:
    """A session on one data file; every method runs on the run's worker thread. It is
    opened there too, in the background: :meth:`wait_open` waits for it, ``progress``
    says how far it has come, and a call made meanwhile waits behind the opening."""

    def __init__(self, workspace: Workspace, data: Path, refit_every: int,
                 options: RunOptions) -> None:
        self.name = workspace.relative(data)
        self.root = workspace.root
        self.options = options
        self.store_path = workspace.store_path(data)
        self.refit_every = refit_every
        self._since_refit = 0
        self.map_space: MapSpace | None = None  # set when the run opens
        self.progress = OpenProgress()
        # A light-curve run's observations, which the object pane draws, and an image
        # run's context (a STEM.context.npy beside the data, see .context; one that does
        # not fit is named in each detail instead): both set when the run opens.
        self.observations: Observations | None = None
        self.context: np.ndarray | None = None
        self.context_problem: str | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drama-run")
        self._opening = self._worker.submit(self._open, data)

    def wait_open(self) -> None:
        """Wait until the run is open; an opening that failed raises its error."""
        self._opening.result()

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.wait_open()  # a failed opening answers with its error, not a missing session
        return self._worker.submit(fn, *args, **kwargs).result()

    def _open(self, data: Path) -> None:
        try:
            self._read_and_fit(data)
        except BaseException as exc:
            self.progress.end(exc)
            raise
        self.progress.end()

    def _read_and_fit(self, data: Path) -> None:
        """Read the data, then reopen the saved fit when it was made on these very
        objects with these options, else fit (and save the fit for the next time)."""
        from drama.active import ActiveSession

        X, ids, self.kind, self.carried = read_input(data, self.options.curves)
        self.store_path.parent.mkdir(exist_ok=True)
        key = fit_key(data_fingerprint(np.asarray(X, dtype=np.float64),
                                       [str(i) for i in (ids or range(len(X)))]),
                      self.options)
        saved = load_fit(self.store_path, key)
        self.progress.enter("fitting" if saved is None else "loading",
                            "fit" if saved is None else "saved")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the adoption is reported instead
            self.session = ActiveSession(
                X, ids=ids, store=self.store_path, reducers=self.options.reducers,
                levels=tuple(range(1, self.options.levels + 1)),
                metrics=self.options.metrics, spaces=self.options.spaces,
                random_state=self.options.seed, fitted_search=saved,
                fit_progress=self.progress.fit_step)
        objects = len(self.session.ids)
        # DRAMA's map, made once with the fit and reloaded with it
        space = None if saved is None else load_map(self.store_path, key, objects)
        self.map_space = space or latent_map(self.session.search_, self.session.X)
        if saved is None:
            self.progress.enter("saving")
            try:
                save_fit(self.store_path, key, self.session.search_, self.map_space,
                         path=self.name, objects=objects, kind=self.kind)
            except (OSError, ValueError, TypeError):  # the run is open: it fits next time
                logging.getLogger(__name__).exception("Saving the fit of %r failed", self.name)
        self.adoption = (None if self.session.adoption is None
                         else describe_adoption(self.session.adoption))
        self.annotations = Annotations(self.store_path.with_suffix(".workbench.db"))
        self.index = {oid: i for i, oid in enumerate(self.session.ids)}
        self.median = np.median(self.session.X, axis=0)  # what curves and images are shown by
        self._views_data(data)

    def _views_data(self, data: Path) -> None:
        """What the object pane draws beside the scores: a light-curve run's observations
        on their time axis, an image run's context images."""
        curves = self.options.curves
        if curves is not None:
            from drama.datasets.readers import read_table_file

            self.observations = Observations.from_table(
                read_table_file(data, curves.id), id=curves.id, time=curves.time,
                mag=curves.mag, err=curves.err, band=curves.band,
                representation="grid" if curves.representation == "grid" else "features")
        if self.kind == "image" and data.is_file():
            try:
                self.context = load_context(data, self.session.X.shape, self.root)
            except ValueError as exc:
                self.context_problem = str(exc)

    # ------------------------------------------------------------------ reading
    def summary(self) -> dict[str, Any]:
        return self._call(lambda: {
            "run": self.name, "kind": self.kind, "objects": len(self.session.ids),
            "labelled": len(self.session.store.current()), "refit_every": self.refit_every,
            "store": self.store_path.name, "adoption": self.adoption,
            "options": asdict(self.options),
            "selection": str(self.session.selection_),
            "fit": self.progress.as_dict()["fit"],
        })

    def candidates(self, lasso: np.ndarray | None = None, **options: Any) -> dict[str, Any]:
        """A page of the list; ``lasso`` (a polygon on the map) keeps the objects inside."""
        return self._call(lambda: views.candidates(
            self.session, self.annotations, self.index, carried=self.carried,
            keep=None if lasso is None else inside(self._map().xy, lasso), **options))

    def detail(self, oid: str, configuration: str | None = None) -> dict[str, Any]:
        """One object (shown with ``configuration``'s prototype, else the leading one's)."""
        return self._call(lambda: views.detail(
            self.session, self.annotations, self.index, oid, self.kind, self.median,
            self.carried, context=self.context, context_problem=self.context_problem,
            observations=self.observations, configuration=configuration))

    def results(self) -> dict[str, Any]:
        return self._call(lambda: views.results(self.session))

    def map(self, **options: Any) -> dict[str, Any]:
        """The map (or the part of it a window shows): see :func:`.map.map_view`."""
        def _view() -> dict[str, Any]:
            labelled = {oid: v[0] for oid, v in self.session.store.current().items()}
            return map_view(self.session, self._map(), labelled, **options)
        return self._call(_view)

    def lasso(self, polygon: np.ndarray) -> dict[str, Any]:
        """The objects inside a polygon drawn on the map: the count and the best of them."""
        return self._call(lambda: selection(self.session, self._map().xy, polygon))

    def _map(self) -> MapSpace:
        assert self.map_space is not None  # set by the opening, which every call waits for
        return self.map_space

    def export(self, what: str, fmt: str) -> bytes:
        return self._call(lambda: views.export_table(self.session, self.annotations, what, fmt))

    # ------------------------------------------------------------------ writing
    def answer(self, oid: str, answer: str | None, cls: str | None,
               rating: int | None) -> dict[str, Any]:
        """Record one answer (committed before this returns); every N answers a refit is
        queued on the run's thread (``"refit": true``), so the answer is confirmed at once
        and the next request is served after the refit."""
        return self._call(self._answer, oid, answer, cls, rating)

    def _answer(self, oid: str, answer: str | None, cls: str | None,
                rating: int | None) -> dict[str, Any]:
        if rating is not None:
            mapped = label_for_rating(rating)
            if answer not in (None, mapped):
                raise ValueError(f"The rating {rating} means {mapped}, not {answer}; give one "
                                 "of the two.")
            answer = mapped
        if answer not in ANSWERS:
            raise ValueError(f"Unknown answer {answer!r}; give one of {', '.join(ANSWERS)} "
                             "or a rating 0-5.")
        if oid not in self.index:
            raise KeyError(f"There is no object with id {oid!r} in this run.")
        cls = cls.strip() if cls and cls.strip() else None
        if answer == "skip":
            if cls is not None:
                raise ValueError("A skip carries no class tag.")
            if oid in self.session.store.current():  # a skip takes no label back
                raise ValueError(f"{oid!r} is already labelled; undo or relabel it instead "
                                 "of skipping it.")
            self.annotations.skip(oid)
            return {"id": oid, "answer": "skip", "refit": False, **self._counts()}
        self.session.label(oid, answer, cls=cls)
        if rating is not None:
            self.annotations.rate(self.session.store.current()[oid][2], oid, rating)
        self.annotations.unskip(oid)
        return {"id": oid, "answer": answer, "cls": cls, "rating": rating,
                "refit": self._count_towards_refit(), **self._counts()}

    def undo(self) -> dict[str, Any]:
        """Take back the most recent label (skips are not labels)."""
        def _undo() -> dict[str, Any]:
            undone = self.session.undo()
            refit = undone is not None and self._count_towards_refit()
            return {"undone": None if undone is None else
                    {"id": undone[0], "label": undone[1], "cls": undone[2]},
                    "refit": refit, **self._counts()}
        return self._call(_undo)

    def refit(self) -> dict[str, Any]:
        def _refit() -> dict[str, Any]:
            self.session.refit()
            self._since_refit = 0
            return {"refitted": True, **self._counts()}
        return self._call(_refit)

    def _count_towards_refit(self) -> bool:
        """On the run's thread: count an answer; at the N-th, queue a refit behind it."""
        self._since_refit += 1
        if self._since_refit < self.refit_every:
            return False
        self._since_refit = 0
        self._worker.submit(self._queued_refit)
        return True

    def _queued_refit(self) -> None:
        try:
            self.session.refit()
        except Exception:  # no request waits on it: say so where the server logs
            logging.getLogger(__name__).exception("Refit of the run on %r failed", self.name)

    def _counts(self) -> dict[str, int]:
        return {"labelled": len(self.session.store.current())}

    def close(self) -> None:
        """Release the store; every label is already committed."""
        def _close() -> None:
            self.annotations.close()
            self.session.close()
        try:
            if self._opening.exception() is None:  # waits for an opening under way
                self._worker.submit(_close).result()
        finally:
            self._worker.shutdown()


class RunRegistry:
    """The open runs of a workspace by name; a run is opened once and kept open."""

    def __init__(self, workspace: Workspace, refit_every: int = 1) -> None:
        if refit_every < 1:
            raise ValueError(f"refit_every must be at least 1; got {refit_every}.")
        self.workspace = workspace
        self.refit_every = refit_every
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def open(self, relative: str, options: RunOptions | None = None, *,
             wait: bool = True) -> Run:
        """The run on the workspace file ``relative``, opened on first use with ``options``
        (default: the label-free defaults) from its saved fit or by fitting; an open run is
        returned as it is, and asking for other options than it has is refused (close it
        first). ``wait=False`` returns at once while the run opens in the background (see
        :meth:`status`); with ``wait`` a run that fails to open is forgotten and its error
        raised."""
        data = self.workspace.resolve(relative)
        name = self.workspace.relative(data)
        with self._lock:  # two tabs opening one run at once must not make two sessions
            run = self._runs.get(name)
            failed = run is not None and run.progress.as_dict()["state"] == "failed"
            if run is None or failed:
                if run is not None:  # it failed to open: start again
                    run.close()
                run = self._runs[name] = Run(self.workspace, data, self.refit_every,
                                             options or RunOptions())
            elif options is not None and options != run.options:
                raise ValueError(f"The run on {name!r} is open with {asdict(run.options)}; "
                                 "close it first to reopen it with other options.")
        if wait:
            try:
                run.wait_open()
            except BaseException:
                with self._lock:
                    if self._runs.get(name) is run:
                        del self._runs[name]
                run.close()
                raise
        return run

    def status(self, relative: str) -> dict[str, Any]:
        """How far the opening of a run has come (:class:`OpenProgress`), or a LookupError
        when it is neither open nor opening."""
        name = self.workspace.relative(self.workspace.resolve(relative))
        with self._lock:
            run = self._runs.get(name)
        if run is None:
            raise LookupError(f"The run on {name!r} is not open; open it first.")
        progress = run.progress.as_dict()
        if progress["error"] is not None:
            progress["error"] = self.workspace.shown(progress["error"])
        return {"run": name, **progress}

    def close_run(self, relative: str) -> bool:
        """Close one run and release its store (for ``drama active``, or other options);
        False when it was not open."""
        name = self.workspace.relative(self.workspace.resolve(relative))
        with self._lock:
            run = self._runs.pop(name, None)
        if run is not None:
            run.close()
        return run is not None

    def get(self, relative: str) -> Run:
        """An open run, or a LookupError naming what to do."""
        name = self.workspace.relative(self.workspace.resolve(relative))
        with self._lock:
            run = self._runs.get(name)
        if run is None:
            raise LookupError(f"The run on {name!r} is not open; open it first.")
        error = run.progress.as_dict()["error"]
        if error is not None:
            raise LookupError(f"The run on {name!r} could not be opened: {error}")
        return run

    def names(self) -> list[str]:
        """The runs open or opening (not those that failed to open)."""
        with self._lock:
            runs = dict(self._runs)
        return sorted(n for n, r in runs.items() if r.progress.as_dict()["state"] != "failed")

    def close(self) -> None:
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.close()
