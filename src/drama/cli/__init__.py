"""The ``drama`` command line.

``commands`` holds the typer app and its score, fit, datasets and demo commands;
``active`` and ``benchmark`` add the workflow commands; ``detector`` chooses what score and
fit run and says why; ``common`` is what every command shares (consoles, one-line errors,
checked and atomic file writes).
"""

from drama.cli.commands import app, main

__all__ = ["app", "main"]
