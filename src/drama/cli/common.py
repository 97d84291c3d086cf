"""What every ``drama`` command shares: consoles, the one-line error handling, and the
files it reads and writes (format from the extension, output paths checked before any
work, atomic writes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from drama._io import atomic_path
from drama.datasets.readers import FORMATS, TABLE_FORMATS, format_suffix, table_columns
from drama.datasets.writers import OUTPUT_FORMATS, write_table_file
from drama.exceptions import UserError

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import pandas as pd

INPUT_SUFFIXES = {s: f for s, f in FORMATS.items() if f in TABLE_FORMATS}
TABLE_SUFFIXES = OUTPUT_FORMATS  # what we write
USER_ERROR = 2
RUNTIME_ERROR = 1


def out_console() -> Console:
    """Console for results (stdout); made per call so test runners can capture it."""
    return Console(soft_wrap=True)


def err_console() -> Console:
    """Console for errors and progress (stderr), so piped results stay clean."""
    return Console(stderr=True, soft_wrap=True)


def _fail(exc: BaseException, code: int) -> typer.Exit:
    err_console().print(f"[bold red]Error:[/bold red] [red]{escape(str(exc))}[/red]")
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors the user can cause into one red line and an exit code, never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except (
        ValueError,
        TypeError,
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    ) as exc:
        raise _fail(exc, USER_ERROR) from None
    except ImportError as exc:
        if "pip install" not in str(exc):  # a broken installation, not the user's doing
            raise
        # An optional dependency (torch, umap-learn) that the chosen option needs.
        raise _fail(exc, USER_ERROR) from None
    except OSError as exc:
        raise _fail(exc, RUNTIME_ERROR) from None


def table_format(path: Path, role: str) -> str:
    """The format of an input table ('csv', 'parquet', 'fits', 'votable', 'ecsv', 'hdf5')
    or of an output one ('csv', 'parquet', 'fits', 'votable') from the extension; a clear
    error, listing the extensions that are, otherwise."""
    suffixes = INPUT_SUFFIXES if role == "input" else TABLE_SUFFIXES
    suffix = format_suffix(path)
    fmt = suffixes.get(suffix)
    if fmt is None and role == "input" and suffix in FORMATS:
        raise UserError(
            f"{str(path)!r} holds an array ({path.suffix}), and this command reads tables "
            f"({', '.join(sorted(suffixes))}). Arrays are read by `drama active` and, in "
            "Python, by drama.datasets.load."
        )
    if fmt is None:
        raise UserError(
            f"Cannot tell the format of {role} {str(path)!r} from its extension "
            f"{suffix or '(none)'!r}; use one of {', '.join(sorted(suffixes))}."
        )
    return fmt


def parse_hdu(text: str | None) -> int | str | None:
    """``--hdu``: a number is an index (0 = the primary HDU), anything else a name."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        raise UserError("--hdu is empty; give an HDU number (1 = the first extension) or name.")
    return int(text) if text.isdigit() else text


def check_target(path: Path, source: Path, option: str, suffixes: str) -> None:
    """Validate where a command will write, before the (possibly long) work, and never over
    its input data."""
    if path.resolve() == source.resolve():
        raise UserError(f"{option} {str(path)!r} is the input file; choose another name.")
    if not path.parent.exists():
        raise UserError(
            f"The folder {str(path.parent)!r} for {option} does not exist; create it first."
        )
    if path.is_dir():
        raise UserError(f"{option} {str(path)!r} is a folder; give a file name ending in "
                        f"{suffixes}.")


def check_table_output(path: Path, source: Path, option: str = "--output",
                       force: bool = False) -> str:
    """The format of a table output (from its extension), after :func:`check_target`; an
    existing file is replaced only when it is a DRAMA output, or with ``force``."""
    fmt = table_format(path, "output")
    check_target(path, source, option, " or ".join(sorted(TABLE_SUFFIXES)))
    check_replaceable(path, option, "scores table", _is_scores_table, force)
    return fmt


def check_replaceable(path: Path, option: str, kind: str, is_kind: Callable[[Path], bool],
                      force: bool) -> None:
    """Refuse to write over an existing file that is not a DRAMA file of the same kind (a
    data table, a label store, ...) unless ``force``: one mistyped name must not cost
    the user their data."""
    if force or not path.exists() or is_kind(path):
        return
    raise UserError(f"{option} {str(path)!r} exists and is not a DRAMA {kind}; it is left "
                    "as it is. Choose another name, or add --force to replace it.")


def _is_scores_table(path: Path) -> bool:
    """Whether ``path`` holds a scores table as `drama score` writes it (id, score,
    label, rank, then any carried-through columns)."""
    try:
        columns = table_columns(path)
    except Exception:  # noqa: BLE001 - anything unreadable is not our table
        return False
    return columns[1:4] == ["score", "label", "rank"]


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, Parquet, FITS or VOTable (by the extension) through a
    temporary file renamed into place: never half a file."""
    fmt = table_format(path, "output")
    with atomic_path(path, f".{fmt}") as tmp:
        write_table_file(frame, tmp, fmt)
