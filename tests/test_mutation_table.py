"""docs/testing.md's score table and tools/mutation.py describe the same runs: `make mutation`
(tools/mutation.py without arguments) must mutate every module the table scores, against the
test files the table names, and those files must exist."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mutation_tool():
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_rows() -> dict[str, list[str]]:
    """module -> test files, from the rows of the Scores table."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    table = text.split("## Scores", 1)[1].split("\n\n| module |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        module_cell, tests_cell = line.split(" | ")[:2]
        module = re.search(r"`(src/drama/[^`]+\.py)`", module_cell).group(1)
        rows[module] = re.findall(r"`(tests/[^`]+\.py)`", tests_cell)
    return rows


def test_make_mutation_runs_every_module_of_the_table_against_its_listed_tests():
    tool, rows = _mutation_tool(), _table_rows()
    assert len(rows) >= 13
    for module, tests in rows.items():
        assert module in tool.MODULES, module
        assert tests == tool.MODULES[module], module
    assert set(tool.MODULES) == set(rows)
    for module, tests in tool.MODULES.items():
        assert (ROOT / module).is_file()
        assert all((ROOT / test).is_file() for test in tests), module
