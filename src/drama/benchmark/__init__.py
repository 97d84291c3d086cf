"""The benchmark runner: DRAMA against its peers under the protocols of docs/algorithm.md#protocols.

:func:`run_benchmark` runs and appends to a resumable CSV; :mod:`drama.benchmark.tables`
turns it into Markdown tables and figures; ``drama benchmark`` is the command line.
"""

from drama.benchmark.peers import PEERS, finite_scores
from drama.benchmark.runner import (
    DETECTORS,
    PROTOCOLS,
    Task,
    default_detectors,
    run_benchmark,
    semi_split,
)
from drama.benchmark.suites import (
    crts_rare_classes,
    crts_task,
    default_odds_dir,
    odds_tasks,
    synthetic_tasks,
)
from drama.benchmark.tables import summary, table6, write_report

__all__ = [
    "DETECTORS",
    "PEERS",
    "PROTOCOLS",
    "Task",
    "crts_rare_classes",
    "crts_task",
    "default_detectors",
    "default_odds_dir",
    "finite_scores",
    "odds_tasks",
    "run_benchmark",
    "semi_split",
    "summary",
    "synthetic_tasks",
    "table6",
    "write_report",
]
