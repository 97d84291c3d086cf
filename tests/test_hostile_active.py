"""``drama active`` and its label store under faults a user meets: a full disk, a read-only,
damaged or hand-edited store, a lock taken over mid-session, ``--plot-dir`` naming a file.
Each must end in one clean error line and a non-zero exit, never a traceback, and must not
invite the user to abandon a damaged store's labels."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from drama.active import ActiveStore, StoreError
from drama.active.store import data_fingerprint
from drama.cli import app as drama_app

FAST = ["--reducer", "none", "--levels", "2"]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return drama_app  # `drama active` is registered on the real app


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame.insert(0, "id", [f"gal{i}" for i in range(40)])
    path = tmp_path / "catalogue.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def labelled(app, table: Path, tmp_path: Path) -> Path:
    """A store with two labels, made by the CLI."""
    store = tmp_path / "survey.drama.db"
    result = _run(app, table, store, "i\nb\nq\n")
    assert result.exit_code == 0 and "2 labels" in result.output, result.output
    return store


def _run(app, table: Path, store: Path, answers: str, *extra: str):
    return CliRunner().invoke(app, ["active", str(table), "--store", str(store), *FAST, *extra],
                              input=answers)


def _assert_clean_failure(result, *fragments: str) -> str:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"raw {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def _labels(store: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(store) as conn:
        return list(conn.execute("SELECT object_id, label FROM labels ORDER BY seq"))


@pytest.fixture
def open_read_only(monkeypatch: pytest.MonkeyPatch):
    """Make DRAMA see its store as read-only. Root writes through permission bits, so there
    SQLite is asked to open the file read-only, as it does for a file it may not write."""
    def apply(store: Path) -> None:
        if os.geteuid() != 0:
            store.chmod(0o444)
            return
        connect = sqlite3.connect

        def read_only(path, *args, **kwargs):
            return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

        monkeypatch.setattr("drama.active.store.sqlite3.connect", read_only)

    return apply


def test_a_full_disk_names_the_cause_and_loses_no_earlier_label(tmp_path: Path) -> None:
    ids = [f"o{i}" for i in range(5)]
    store = ActiveStore(tmp_path / "s.db", fingerprint=data_fingerprint(np.zeros((5, 1)), ids),
                        ids=ids, config={"k": 1})
    store.add("o1", "boring")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    with pytest.raises(StoreError, match="database or disk is full") as caught:
        for _ in range(200):
            store.add("o2", "interesting", cls="x" * 2000)
    assert "not saved" in str(caught.value) and "no transaction" not in str(caught.value)
    assert store.current()["o1"][0] == "boring"
    store.close()


def test_cli_a_full_disk_while_labelling_is_one_line(
    app, table: Path, labelled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect = sqlite3.connect

    def full_disk(path, *args, **kwargs):
        conn = connect(path, *args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr("drama.active.store.sqlite3.connect", full_disk)
    result = _run(app, table, labelled, "i " + "m" * 5000 + "\nq\n")
    _assert_clean_failure(result, "database or disk is full", "was not saved")
    assert len(_labels(labelled)) == 2


def test_cli_a_read_only_store(app, table: Path, labelled: Path, open_read_only) -> None:
    open_read_only(labelled)
    result = _run(app, table, labelled, "i\nq\n")
    _assert_clean_failure(result, "read-only")


def test_cli_a_lock_taken_over_mid_session_keeps_the_answer_in_view(
    app, table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "shared.drama.db"
    from drama.cli import active as cli_active

    ask = cli_active._ask

    def ask_then_lose_the_lock():
        answer = ask()
        with sqlite3.connect(store) as conn:  # what --steal-lock in another terminal does
            conn.execute("UPDATE drama_lock SET token = 'other', pid = 1")
        return answer

    monkeypatch.setattr(cli_active, "_ask", ask_then_lose_the_lock)
    result = _run(app, table, store, "i merger\nq\n")
    _assert_clean_failure(result, "taken over", "(interesting merger) was not saved")


def test_cli_a_store_with_corrupt_pages_is_called_damaged(
    app, table: Path, labelled: Path
) -> None:
    with open(labelled, "r+b") as handle:
        handle.seek(4096)  # page 2 onwards: the tables' pages
        handle.write(os.urandom(8192))
    result = _run(app, table, labelled, "q\n")
    message = _assert_clean_failure(result, "damaged", ".recover")
    assert "not a DRAMA label store" not in message


@pytest.mark.parametrize("keep", ["half", 50, 9])  # bytes left; 9: cut inside the header
def test_cli_a_truncated_store_is_damaged_not_foreign(
    app, table: Path, labelled: Path, keep: str | int
) -> None:
    size = labelled.stat().st_size
    with open(labelled, "r+b") as handle:
        handle.truncate(size // 2 if keep == "half" else keep)
    result = _run(app, table, labelled, "q\n")
    message = _assert_clean_failure(result, "damaged")
    assert "not a DRAMA label store" not in message and "new file name" not in message


def test_cli_a_hand_edited_label_for_an_unknown_id(app, table: Path, labelled: Path) -> None:
    with sqlite3.connect(labelled) as conn:
        conn.execute("INSERT INTO labels (object_id, label, created) VALUES ('ghost', "
                     "'interesting', 0)")
    result = _run(app, table, labelled, "q\n")
    _assert_clean_failure(result, "'ghost'", "DELETE FROM labels WHERE seq=3")


def test_cli_a_missing_table(app, table: Path, labelled: Path) -> None:
    with sqlite3.connect(labelled) as conn:
        conn.execute("DROP TABLE labels")
    result = _run(app, table, labelled, "q\n")
    _assert_clean_failure(result, "damaged", "labels")


def test_cli_plot_dir_naming_a_file(app, table: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    result = _run(app, table, tmp_path / "s.db", "i\nq\n", "--plot-dir", str(notes))
    _assert_clean_failure(result, "--plot-dir", "is a file")
    assert notes.read_text() == "mine"
