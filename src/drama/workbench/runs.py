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
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from drama.active.store import describe_adoption

from . import views
from .annotations import Annotations, label_for_rating
from .context import load_context
from .lightcurves import Observations
from .map import inside, map_coordinates, map_view, selection
from .workspace import Workspace

__all__ = ["ANSWERS", "Run", "RunOptions", "RunRegistry"]

ANSWERS = ("interesting", "boring", "skip")
T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    """The session options a run may set, as ``drama active`` names them (``--reducer``,
    ``--levels``, ``--seed``); the defaults are the terminal's, the label-free search."""

    reducers: tuple[str, ...] = ("none", "pca")
    levels: int = 3
    seed: int = 0

    @classmethod
    def from_request(cls, given: Any) -> RunOptions:
        """Options from a request body; unknown keys and bad values are refused by name."""
        if not isinstance(given, dict):
            raise ValueError(f"options must be an object (reducers, levels, seed); got {given!r}.")
        unknown = sorted(set(given) - {"reducers", "levels", "seed"})
        if unknown:
            raise ValueError(f"Unknown run option(s) {', '.join(map(repr, unknown))}; "
                             "give reducers, levels or seed.")
        reducers = given.get("reducers", cls.reducers)
        if (isinstance(reducers, str) or not isinstance(reducers, list | tuple) or not reducers
                or not all(isinstance(r, str) and r.strip() for r in reducers)):
            raise ValueError(f"reducers must be a non-empty list of names; got {reducers!r}.")
        levels, seed = given.get("levels", cls.levels), given.get("seed", cls.seed)
        for name, value, low in (("levels", levels, 1), ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number of at least {low}; "
                                 f"got {value!r}.")
        return cls(tuple(r.strip() for r in reducers), levels, seed)


class Run:
    """An open session on one data file; every method runs on the run's worker thread."""

    def __init__(self, workspace: Workspace, data: Path, refit_every: int,
                 options: RunOptions) -> None:
        self.name = workspace.relative(data)
        self.options = options
        self.store_path = workspace.store_path(data)
        self.refit_every = refit_every
        self._since_refit = 0
        self._map_xy: np.ndarray | None = None
        # A light-curve run's observations, which the object pane draws; its loader (in
        # _open) sets them.
        self.observations: Observations | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drama-run")
        try:
            self._call(self._open, data, workspace)
        except BaseException:
            self._worker.shutdown()
            raise
        # The images' context (a STEM.context.npy beside the data, see .context); one that
        # does not fit is named in each detail instead.
        self.context, self.context_problem = None, None
        if self.kind == "image":
            try:
                self.context = load_context(data, self.session.X.shape)
            except ValueError as exc:
                self.context_problem = str(exc)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._worker.submit(fn, *args, **kwargs).result()

    def _open(self, data: Path, workspace: Workspace) -> None:
        from drama.active import ActiveSession
        from drama.cli.active import load_objects  # the terminal's reading, so the stores agree

        X, ids, self.kind, self.carried = load_objects(data, None)
        self.store_path.parent.mkdir(exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the adoption is reported instead
            self.session = ActiveSession(
                X, ids=ids, store=self.store_path, reducers=self.options.reducers,
                levels=tuple(range(1, self.options.levels + 1)),
                random_state=self.options.seed)
        self.adoption = (None if self.session.adoption is None
                         else describe_adoption(self.session.adoption))
        self.annotations = Annotations(self.store_path.with_suffix(".workbench.db"))
        self.index = {oid: i for i, oid in enumerate(self.session.ids)}
        self.median = np.median(self.session.X, axis=0)  # what curves and images are shown by

    # ------------------------------------------------------------------ reading
    def summary(self) -> dict[str, Any]:
        return self._call(lambda: {
            "run": self.name, "kind": self.kind, "objects": len(self.session.ids),
            "labelled": len(self.session.store.current()), "refit_every": self.refit_every,
            "store": self.store_path.name, "adoption": self.adoption,
            "options": asdict(self.options),
            "selection": str(self.session.selection_),
        })

    def candidates(self, lasso: np.ndarray | None = None, **options: Any) -> dict[str, Any]:
        """A page of the list; ``lasso`` (a polygon on the map) keeps the objects inside."""
        return self._call(lambda: views.candidates(
            self.session, self.annotations, self.index,
            keep=None if lasso is None else inside(self._coordinates(), lasso), **options))

    def detail(self, oid: str) -> dict[str, Any]:
        return self._call(lambda: views.detail(
            self.session, self.annotations, self.index, oid, self.kind, self.median,
            self.carried, context=self.context, context_problem=self.context_problem,
            observations=self.observations))

    def results(self) -> dict[str, Any]:
        return self._call(lambda: views.results(self.session))

    def map(self, **options: Any) -> dict[str, Any]:
        def _map() -> dict[str, Any]:
            labelled = {oid: v[0] for oid, v in self.session.store.current().items()}
            return map_view(self.session, self._coordinates(), labelled, **options)
        return self._call(_map)

    def lasso(self, polygon: np.ndarray) -> dict[str, Any]:
        """The objects inside a polygon drawn on the map: the count and the best of them."""
        return self._call(lambda: selection(self.session, self._coordinates(), polygon))

    def _coordinates(self) -> np.ndarray:
        """On the run's thread: the map's coordinates, projected once."""
        if self._map_xy is None:
            self._map_xy = map_coordinates(self.session)
        return self._map_xy

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
            self._call(_close)
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

    def open(self, relative: str, options: RunOptions | None = None) -> Run:
        """The run on the workspace file ``relative``, opened (and fitted) on first use with
        ``options`` (default: the label-free defaults); an open run is returned as it is,
        and asking for other options than it has is refused (close it first)."""
        data = self.workspace.resolve(relative)
        name = self.workspace.relative(data)
        with self._lock:  # two tabs opening one run at once must not make two sessions
            run = self._runs.get(name)
            if run is None:
                run = self._runs[name] = Run(self.workspace, data, self.refit_every,
                                             options or RunOptions())
            elif options is not None and options != run.options:
                raise ValueError(f"The run on {name!r} is open with {asdict(run.options)}; "
                                 "close it first to reopen it with other options.")
            return run

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
        return run

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._runs)

    def close(self) -> None:
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.close()
