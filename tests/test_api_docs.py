"""The API reference (docs/api, what `make docs` builds) renders from the docstrings with no
Sphinx warning, so a docstring that breaks its formatting or a dead cross-reference fails here."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="sphinx is not installed (the dev extra has it)")

from sphinx.cmd.build import build_main  # noqa: E402

import drama.metrics  # noqa: E402

# Sphinx's own napoleon calls an interface Sphinx itself deprecates (Sphinx 9); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The mapping interface for autodoc options")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"


def build(out: Path) -> int:
    """The `make docs` build (warnings are errors) into ``out``; Sphinx's exit status."""
    return build_main(["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)])


def test_reference_builds_without_warnings_and_documents_the_estimators(tmp_path):
    assert build(tmp_path) == 0
    page = (tmp_path / "estimators.html").read_text(encoding="utf-8")
    for anchor in ('id="drama.Drama"', 'id="drama.DramaSearch"', 'id="drama.Drama.fit"',
                   'id="drama.DramaSearch.select"', 'id="drama.load_detector"'):
        assert anchor in page, anchor
    for module in ("active", "datasets", "metrics", "distances", "reducers", "benchmark"):
        assert f'id="module-drama.{module}"' in (tmp_path / f"{module}.html").read_text(
            encoding="utf-8"), module


def test_a_dead_cross_reference_fails_the_build(tmp_path, monkeypatch):
    # The reference is only as strict as its settings: a role to a missing function must be an
    # error, not a silent unlinked name.
    doc = inspect.cleandoc(drama.metrics.auc_score.__doc__)
    doc += "\n\nSee :func:`drama.metrics.no_such_function`."
    monkeypatch.setattr(drama.metrics.auc_score, "__doc__", doc)
    assert build(tmp_path) != 0
