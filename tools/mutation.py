"""Mutation testing of DRAMA's core modules with mutmut, each module against its own tests.

`make mutation` runs this script. A mutation score says how many deliberate one-token changes
to a module (a `<` made `<=`, a constant changed, a call dropped) make its tests fail: a change
that no test notices marks behaviour the suite does not protect (see docs/testing.md).

Each module is mutated inside a throw-away copy of the repository (mutmut writes its mutants
under that copy's `mutants/`), so the real src/ is never changed, even when a run is stopped
half-way. Each module runs only the test files that exercise it, which keeps a run to minutes;
a module in PARTS runs only the mutants of the functions named there.

    python tools/mutation.py                  # every module below
    python tools/mutation.py src/drama/ranks.py --max-children 2
    python tools/mutation.py src/drama/ranks.py --show-survivors   # the diff of each survivor
    python tools/mutation.py src/drama/tree.py --mutants 'drama.tree.x*_probe__mutmut_*'

``--mutants`` runs only the named mutants (mutmut's names, ``*`` as a wildcard): to check
that tests added after a full run kill its survivors, without running every mutant again.
The row then counts only those mutants.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module -> the test files that exercise it (and are quick enough to run once per mutant)
MODULES: dict[str, list[str]] = {
    "src/drama/distances.py": ["tests/test_engine_distances.py", "tests/test_residual_space.py"],
    "src/drama/metrics.py": ["tests/test_metrics.py"],
    "src/drama/ranks.py": ["tests/test_ranks.py", "tests/test_blend.py"],
    "src/drama/blend.py": ["tests/test_blend.py"],
    "src/drama/active/strategies.py": ["tests/test_active_strategies.py"],
    "src/drama/active/learned_prior.py": ["tests/test_active_learned_prior.py"],
    "src/drama/seeding.py": ["tests/test_seeding.py"],
    "src/drama/whole_set.py": ["tests/test_whole_set.py"],
    "src/drama/tree.py": [
        "tests/test_tree_unit.py", "tests/test_engine_tree.py", "tests/test_boundaries.py",
        "tests/test_residual_space.py", "tests/test_engine_persistence.py",
        "tests/test_deep_clustering.py",
    ],
    "src/drama/persistence.py": [
        "tests/test_persistence_unit.py", "tests/test_engine_persistence.py",
    ],
    "src/drama/estimator.py": [
        "tests/test_model_checks_unit.py", "tests/test_engine_persistence.py",
    ],
    "src/drama/search.py": ["tests/test_search_selection_unit.py", "tests/test_boundaries.py"],
    "src/drama/active/session.py": ["tests/test_active_session_ranking.py"],
}

# modules scored only in part: module -> the mutants that run (mutmut's names, * a wildcard)
PARTS: dict[str, list[str]] = {
    # the checks of a loaded model file (the rest of Drama is not scored yet)
    "src/drama/estimator.py": [
        f"drama.estimator.x*Drama*{method}__mutmut_*"
        for method in ("from_state", "_check_state", "element_budget")
    ],
    # the selection's rules (the fitting, scoring and saving of the search are not scored yet)
    "src/drama/search.py": [
        f"drama.search.x_{function}__mutmut_*"
        for function in ("label_auc", "auc_standard_error", "consensus_weights", "stable_pool")
    ] + ["drama.search.x*DramaSearch*_few_label_weights__mutmut_*"],
    # the session's ranking (opening, labelling and closing a session are not scored)
    "src/drama/active/session.py": [
        f"drama.active.session.x*ActiveSession*{method}__mutmut_*"
        for method in ("_label_vector", "_refit", "next", "ranking")
    ],
}

# Plain pytest in each mutant: no xdist workers, no doctest collection of the mutated sources.
PYTEST_ARGS = ["-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=", "-q"]


def _mutmut_config(module: str, tests: list[str]) -> str:
    """The [tool.mutmut] table that limits one run to `module` and its tests."""
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src/drama"]\n'
        f"only_mutate = {json.dumps([module])}\n"
        f"pytest_add_cli_args = {json.dumps(PYTEST_ARGS)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        "use_git_change_detection = false\n"
    )


def _copy_repository(destination: Path, module: str, tests: list[str]) -> None:
    """Copy the sources, the tests and pyproject.toml (with the mutmut table) to `destination`."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "mutants")
    shutil.copytree(REPO / "src", destination / "src", ignore=skip)
    shutil.copytree(REPO / "tests", destination / "tests", ignore=skip)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (destination / "pyproject.toml").write_text(
        pyproject + _mutmut_config(module, tests), encoding="utf-8"
    )


# mutmut forks a worker per mutant from a process that has imported numpy: a BLAS or OpenMP
# thread pool started before the fork can leave the child waiting on a lock forever, which
# mutmut then counts as a timeout. One thread per library keeps the forks safe.
SINGLE_THREADED = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}


def _mutmut(workdir: Path, *args: str, capture: bool = False) -> str:
    """Run one mutmut command in `workdir`; a failing command stops the script."""
    command = [sys.executable, "-m", "mutmut", *args]
    done = subprocess.run(command, cwd=workdir, capture_output=capture, text=True, check=False,
                          env={**os.environ, **SINGLE_THREADED})
    if done.returncode != 0:
        detail = (done.stdout or "") + (done.stderr or "") if capture else ""
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workdir}: {detail[-2000:]}")
    return done.stdout if capture else ""


def _statuses(workdir: Path) -> dict[str, str]:
    """Every mutant's status (killed, survived, no tests, timeout, not checked, ...)."""
    listing = _mutmut(workdir, "results", "--all", "true", capture=True)
    statuses = {}
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            statuses[name] = status
    return statuses


def mutate_module(module: str, tests: list[str], max_children: int, show: bool,
                  mutants: list[str] | None = None) -> dict:
    """Mutate `module` in a fresh copy of the repository (only `mutants`, if named); return
    mutmut's counts over the mutants that ran."""
    with tempfile.TemporaryDirectory(prefix="drama-mutation-") as tmp:
        workdir = Path(tmp)
        _copy_repository(workdir, module, tests)
        _mutmut(workdir, "run", "--max-children", str(max_children), *(mutants or []))
        _mutmut(workdir, "export-cicd-stats", capture=True)
        counts = json.loads((workdir / "mutants" / "mutmut-cicd-stats.json").read_text())
        statuses = _statuses(workdir)
        counts["total"] -= sum(status == "not checked" for status in statuses.values())
        counts["survivors"] = [f"{name} ({status})" for name, status in statuses.items()
                               if status not in ("killed", "not checked")]
        if show:
            for entry in counts["survivors"]:
                print(_mutmut(workdir, "show", entry.split(" ")[0], capture=True))
    return counts


def score(counts: dict) -> float:
    """Share of mutants the tests detect; a mutant that makes them time out counts as detected."""
    detected = counts["killed"] + counts["timeout"]
    return detected / counts["total"] if counts["total"] else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="modules to mutate")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers")
    parser.add_argument("--show-survivors", action="store_true", help="print surviving diffs")
    parser.add_argument("--mutants", nargs="+", help="run only these mutants (names or globs)")
    options = parser.parse_args()
    unknown = [m for m in options.modules if m not in MODULES]
    if unknown:
        raise SystemExit(f"no test list for {unknown}; known modules: {list(MODULES)}")
    rows = []
    for module in options.modules:
        counts = mutate_module(
            module, MODULES[module], options.max_children, options.show_survivors,
            options.mutants or PARTS.get(module),
        )
        rows.append((module, counts))
        for survivor in counts["survivors"]:
            print(f"  survivor {survivor}")
    print(
        f"\n{'module':28} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} "
        f"{'no tests':>8} {'score':>6}"
    )
    for module, c in rows:
        print(
            f"{module:28} {c['total']:7d} {c['killed']:6d} {c['timeout']:7d} "
            f"{c['survived']:8d} {c['no_tests']:8d} {score(c):6.1%}"
        )


if __name__ == "__main__":
    main()
