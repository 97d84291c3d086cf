"""``drama score BIG --model M --memory SIZE``: a table larger than memory, scored in batches.

The columns' roles are decided on the table's first rows (the rules of
:mod:`drama.datasets.columns`), the model's features are found by name, and
:func:`drama.streaming.score_table` writes id, score, label and the carried columns as it
goes. There is no rank column: ranks need every score at once, which is what the memory
budget forbids (sort the output by score instead).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.progress import Progress, TextColumn

from drama.cli.common import err_console, out_console
from drama.exceptions import UserError


def stream_scores(det: Any, source: Path, output: Path, memory: str, id_column: str | None,
                  label_column: str | None, features: list[str] | None,
                  exclude: list[str] | None) -> tuple[int, dict[str, Any]]:
    """Score ``source`` into ``output`` in batches within ``memory``; returns the number of
    objects and what the run record keeps about the roles."""
    from drama.cli.commands import print_roles
    from drama.datasets.columns import assign_roles, match_model_features
    from drama.streaming import first_rows, parse_memory, score_table

    budget = parse_memory(memory)
    fitted = getattr(det, "feature_names_in_", None)
    if fitted is None:
        raise UserError("--memory matches columns by name, and this model was fitted on an "
                        "array; fit it with `drama fit` on a table.")
    sample = first_rows(source)
    roles = assign_roles(sample, source.name, id_column, label_column, features, exclude)
    match_model_features(sample, roles, fitted, source.name)  # names what is missing
    print_roles(roles, source.name)
    err = err_console()
    carry = [c for c in (*roles.carried, roles.label) if c is not None]
    start = time.perf_counter()
    with Progress(*Progress.get_default_columns(),
                  TextColumn("{task.completed:,.0f} rows, {task.fields[rate]:,.0f} rows/s"),
                  console=err, transient=True) as bar:
        task = bar.add_task("Scoring in batches", total=None, rate=0.0)

        def advance(done: int) -> None:
            bar.update(task, completed=done, rate=done / max(time.perf_counter() - start, 1e-9))

        n = score_table(det, source, output, memory=budget, id_column=roles.id, carry=carry,
                        progress=advance)
    seconds = time.perf_counter() - start
    out_console().print(
        f"Scored {n:,} objects in batches within {escape(memory)} ({seconds:.1f} s, "
        f"{n / max(seconds, 1e-9):,.0f} rows/s). Wrote [bold]{escape(str(output))}[/bold]: "
        "id, score, label and the carried columns; no rank (ranks need every score at "
        "once), so sort by score.")
    return n, {"streamed": True, "memory": memory, "id_column": roles.id,
               "carried": carry}
