"""Labels follow object ids across catalogue versions; undo; export; no probability claimed
before any label (issue: real catalogues, "drama active continuity")."""

from __future__ import annotations

import sqlite3
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama.active import ActiveSession, StoreLockedError, StoreMismatchError
from drama.active.store import export_labels
from drama.cli import app

FAST = {"reducers": ("none",), "levels": (1, 2)}


def catalogue(n: int = 120, seed: int = 0, prefix: str = "src") -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n - 4, 3)), rng.normal(6.0, 0.5, size=(4, 3))])
    return X, [f"{prefix}{i}" for i in range(n)]


def open_quietly(X, ids, path, **kw) -> ActiveSession:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ActiveSession(X, ids=ids, store=path, **FAST, **kw)


def test_a_new_catalogue_version_keeps_the_labels_of_the_ids_still_present(tmp_path):
    X, ids = catalogue()
    path = tmp_path / "survey.drama.db"
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        assert s.adoption is None
        s.label("src116", "interesting", cls="flare")
        s.label("src3", "boring")
        s.label("src5", "boring")
    # Next night: new values, src5 gone, three new objects.
    keep = [i for i in range(len(ids)) if ids[i] != "src5"]
    X2 = np.vstack([X[keep] + 0.01, np.random.default_rng(1).normal(size=(3, 3))])
    ids2 = [ids[i] for i in keep] + ["new0", "new1", "new2"]
    with pytest.warns(UserWarning, match=r"labels of 2 object\(s\) apply, 3 object\(s\) are "
                                         r"new, and 1 labelled object\(s\) are gone"):
        s2 = ActiveSession(X2, ids=ids2, store=path, **FAST)
    with s2:
        assert s2.adoption == {"matched": 2, "new": 3, "vanished": 1}
        assert s2.labels().to_dict("list") == {"id": ["src116", "src3"],
                                               "label": ["interesting", "boring"],
                                               "cls": ["flare", None]}
        assert s2.y_[ids2.index("src116")] == 1 and s2.y_[ids2.index("src3")] == 0
        s2.label("new1", "interesting")
    # The vanished label was set aside, not lost: the export and the old catalogue have it.
    assert {r[0] for r in export_labels(path)} == {"src116", "src3", "src5", "new1"}
    with open_quietly(X, ids, path) as s3:
        assert s3.adoption == {"matched": 3, "new": 1, "vanished": 1}
        assert set(s3.labels()["id"]) == {"src116", "src3", "src5"}


def test_a_store_that_did_not_record_its_ids_still_follows_a_new_version(tmp_path):
    X, ids = catalogue()
    path = tmp_path / "old.drama.db"
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        s.label("src7", "boring")
    with sqlite3.connect(path) as conn:  # as stores made before the ids were recorded
        conn.execute("DELETE FROM drama_meta WHERE key = 'ids'")
    conn.close()
    with open_quietly(X + 1.0, ids, path) as s2:
        assert s2.adoption == {"matched": 1, "new": None, "vanished": 0}
        assert list(s2.labels()["id"]) == ["src7"]


def test_data_sharing_no_id_is_still_refused(tmp_path):
    X, ids = catalogue()
    path = tmp_path / "s.drama.db"
    with ActiveSession(X, ids=ids, store=path, **FAST):
        pass
    with pytest.raises(StoreMismatchError, match="belongs to other data"):
        ActiveSession(X, ids=[f"x{i}" for i in range(len(ids))], store=path, **FAST)


def test_undo_takes_back_the_latest_label_and_the_earlier_one_applies_again(tmp_path):
    X, ids = catalogue()
    with ActiveSession(X, ids=ids, store=tmp_path / "u.db", **FAST) as s:
        assert s.undo() is None
        s.label("src1", "interesting", cls="a")
        s.label("src2", "boring")
        s.label("src1", "boring")
        assert s.undo() == ("src1", "boring", None)
        assert s.labels().set_index("id")["label"].to_dict() == {"src1": "interesting",
                                                                 "src2": "boring"}
        assert s.undo() == ("src2", "boring", None)
        assert s.undo() == ("src1", "interesting", "a")
        assert s.refit().labels().empty and (s.y_ == -1).all()


def test_undo_is_refused_once_another_session_took_the_store(tmp_path):
    X, ids = catalogue()
    path = tmp_path / "l.db"
    s = ActiveSession(X, ids=ids, store=path, **FAST)
    s.label("src1", "boring")
    with ActiveSession(X, ids=ids, store=path, steal_lock=True, **FAST):
        with pytest.raises(StoreLockedError, match="taken over"):
            s.undo()
    s.close()
    with ActiveSession(X, ids=ids, store=path, **FAST) as again:
        assert list(again.labels()["id"]) == ["src1"]  # the refused undo removed nothing


def test_no_probability_is_claimed_before_any_label(tmp_path):
    X, ids = catalogue()
    with ActiveSession(X, ids=ids, store=tmp_path / "p.db", **FAST) as s:
        first = s.next(3)
        assert all(np.isnan(c.p_interesting) for c in first)
        assert all("P(interesting)" not in c.reason and c.predicted_class is None
                   for c in first)
        assert s.ranking()["p_interesting"].isna().all()
        s.label(first[0], "interesting", cls="blob")
        after = s.refit().next(2)
        assert all(0.0 <= c.p_interesting <= 1.0 and "P(interesting)" in c.reason
                   for c in after)


@pytest.fixture()
def table(tmp_path):
    X, ids = catalogue()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.insert(0, "objid", ids)
    path = tmp_path / "night1.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _run(*args, answers: str = "q\n"):
    return CliRunner().invoke(app, [str(a) for a in args], input=answers)


def test_cli_undo_export_seed_and_output(table, tmp_path):
    path, _ = table
    store = tmp_path / "s.drama.db"
    base = ["active", path, "--store", store, "--id-column", "objid", "--reducer", "none",
            "--levels", "2"]
    first = _run(*base, "--seed", "3", "-o", tmp_path / "rank.csv", answers="i flare\nb\nu\nq\n")
    assert first.exit_code == 0, first.output
    assert "Undid the label of id" in first.output and "(boring)" in first.output
    assert "1 labels" in first.output
    assert "P(interesting)" not in first.output.split("candidate 2")[0]  # before any label
    assert (tmp_path / "rank.csv").is_file()
    # --random-state is the same option as --seed: the store opens with the same config
    again = _run(*base, "--random-state", "3", answers="q\n")
    assert again.exit_code == 0, again.output
    export = tmp_path / "labels.csv"
    done = _run(*base, "--export", export)
    assert done.exit_code == 0, done.output
    assert "Wrote 1 labels" in done.output
    labels = pd.read_csv(export)
    assert list(labels.columns) == ["objid", "label", "answer", "class", "labelled_at"]
    assert labels[["label", "answer", "class"]].values.tolist() == [[1, "interesting", "flare"]]
    # the export is what `drama score --labels` reads
    scored = _run("score", path, "-o", tmp_path / "s.csv", "--id-column", "objid", "--labels",
                  export)
    assert scored.exit_code == 0, scored.output


def test_cli_reports_a_new_catalogue_version(table, tmp_path):
    path, frame = table
    store = tmp_path / "s.drama.db"
    base = ["--store", store, "--id-column", "objid", "--reducer", "none", "--levels", "2"]
    assert _run("active", path, *base, answers="b\nq\n").exit_code == 0
    night2 = tmp_path / "night2.csv"
    frame.assign(a=frame["a"] + 0.5).iloc[2:].to_csv(night2, index=False)
    result = _run("active", night2, *base)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "made on another version of the data" in text
    assert "0 object(s) are new" in text
