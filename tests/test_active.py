"""Active-learning session: store safety, re-ranking from labels, class proposals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from drama.active import (
    ActiveSession,
    StoreError,
    StoreLockedError,
    StoreMismatchError,
    default_budget,
    simulate_discovery,
)
from drama.active.session import RANKING_VERSION
from drama.benchmark.active_rows import active_protocol_row
from drama.ranks import rank_normalise
from drama.search import DramaSearch

FAST = {"reducers": ("none",), "levels": (1, 2)}


def two_kinds(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """300 normal objects and two anomaly groups: 'A' (feature 0 high), 'B' (feature 1 low)."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(300, 5))
    a = rng.normal(size=(12, 5)) * 0.3 + np.array([6.0, 0, 0, 0, 0])
    b = rng.normal(size=(12, 5)) * 0.3 + np.array([0, -6.0, 0, 0, 0])
    X = np.vstack([normal, a, b])
    kind = np.array([""] * 300 + ["A"] * 12 + ["B"] * 12)
    ids = [f"obj{i}" for i in range(len(X))]
    return X, kind, ids


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, list[str]]:
    return two_kinds()


def test_boring_labels_sink_their_kind_and_interesting_ones_rise(data, tmp_path):
    X, kind, ids = data
    with ActiveSession(X, ids=ids, store=tmp_path / "s.db", random_state=0, **FAST) as s:
        top = s.ranking()["id"].head(24)
        kinds_before = kind[[ids.index(i) for i in top]]
        assert (kinds_before != "").sum() >= 18  # DRAMA alone finds both groups
        for i in np.flatnonzero(kind == "B")[:2]:
            s.label(ids[i], "boring", cls="artefact")
        for i in np.flatnonzero(kind == "A")[:2]:
            s.label(ids[i], "interesting", cls="merger")
        s.refit()
        rank = s.ranking()
        unlabelled = rank[rank["label"] == ""]
        head = kind[[ids.index(i) for i in unlabelled["id"].head(10)]]
        assert (head == "A").sum() == 10  # the interesting kind leads
        b_pos = [int(np.flatnonzero(rank["id"] == ids[i])[0]) for i in np.flatnonzero(kind == "B")]
        assert min(b_pos) > 20  # the boring kind has fallen out of the top
        cls = s.predict_class([ids[i] for i in np.flatnonzero(kind == "A")[2:5]])
        assert list(cls["predicted_class"]) == ["merger"] * 3
        assert (cls["confidence"] > 0.5).all()
        far = s.predict_class([ids[0]])
        assert far["confidence"].iloc[0] < 0.5
        assert list(s.discovery_curve()) == [0, 0, 1, 2]


def test_next_gives_reasons_and_balanced_explores(data):
    X, _, ids = data
    with ActiveSession(X, ids=ids, strategy="balanced", random_state=0, **FAST) as s:
        first = s.next(3)
        assert len({c.id for c in first}) == 3
        assert all("top score" in c.reason for c in first)
        for c in first:
            s.label(c, "boring")
        s.refit()
        batch = s.next(4)
        assert any(c.reason.startswith("explore") for c in batch)
        assert not {c.id for c in batch} & {c.id for c in first}


def test_simulated_scientist_beats_static_ranking():
    from drama.datasets import load_breast_cancer_task
    from drama.metrics import discovery_curve

    X, y = load_breast_cancer_task(random_state=0)
    with ActiveSession(X, random_state=0, **FAST) as s:
        static = discovery_curve(y, s.scores_, 40)[-1]
        curve = simulate_discovery(s, y, 40, batch=5)
    assert len(curve) == 40
    assert curve[-1] >= static
    row = active_protocol_row(X, y, 0, budget=20, batch=10, **FAST)
    assert row["budget"] == 20 and 0 <= row["found"] <= 20 and 0.5 < row["auc"] <= 1.0


def test_reopened_store_continues_and_refuses_other_data(data, tmp_path):
    X, _, ids = data
    path = tmp_path / "survey.drama.db"
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        s.label("obj3", "interesting", cls="x")
        s.label("obj4", "boring")
        s.label("obj3", "boring")  # relabelling overrides
        scores = s.scores_.copy()
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        assert s.labels().to_dict("list") == {
            "id": ["obj4", "obj3"], "label": ["boring", "boring"], "cls": [None, None]}
        assert not np.array_equal(scores, s.scores_)  # the reopened session used the labels
    with pytest.raises(StoreMismatchError, match="belongs to other data"):  # no shared id
        ActiveSession(X, ids=[f"other{i}" for i in range(len(ids))], store=path, **FAST)
    with pytest.raises(StoreMismatchError, match=r"other options: reducers was \["):
        ActiveSession(X, ids=ids, store=path, reducers=("pca",), levels=(1, 2))
    with pytest.raises(StoreMismatchError, match="alpha was 16.0, now 0.1"):  # it ranks otherwise
        ActiveSession(X, ids=ids, store=path, alpha=0.1, **FAST)
    with pytest.raises(StoreMismatchError, match="learned_options was"):
        ActiveSession(X, ids=ids, store=path, learned_options={"half_weight_at": 10.0}, **FAST)
    with pytest.raises(StoreMismatchError, match='label_free was "blend", now "trees"'):
        ActiveSession(X, ids=ids, store=path, label_free="trees", **FAST)
    with pytest.raises(ValueError, match="label_free start 'tree'"):
        ActiveSession(X, label_free="tree", **FAST)
    # the defaults written out, or written as ints, are the same settings: the store opens
    with ActiveSession(X, ids=ids, store=path, learned_options={"half_weight_at": 3}, **FAST):
        pass


def test_a_store_from_an_earlier_ranking_is_refused_by_name(data, tmp_path):
    X, _, ids = data
    path = tmp_path / "old.drama.db"
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        s.label("obj3", "interesting")
    with sqlite3.connect(path) as conn:
        config = conn.execute("SELECT value FROM drama_meta WHERE key = 'config'").fetchone()[0]
        now = f'"ranking_version": {RANKING_VERSION}'
        assert now in config
        conn.execute("UPDATE drama_meta SET value = ? WHERE key = 'config'",
                     (config.replace(now, f'"ranking_version": {RANKING_VERSION - 1}'),))
    conn.close()
    with pytest.raises(StoreMismatchError,
                       match=f"earlier DRAMA.*ranking version {RANKING_VERSION - 1}"):
        ActiveSession(X, ids=ids, store=path, **FAST)


def test_bad_labels_and_ids_change_nothing(data, tmp_path):
    X, _, ids = data
    with ActiveSession(X, ids=ids, store=tmp_path / "s.db", **FAST) as s:
        s.label("obj1", "interesting")
        with pytest.raises(StoreError, match="Unknown object id 'nope'"):
            s.label("nope", "boring")
        with pytest.raises(StoreError, match="Unknown label 'maybe'"):
            s.label("obj2", "maybe")
        assert list(s.labels()["id"]) == ["obj1"]
        assert len(s.store.history()) == 1


def test_not_a_store_and_locked_store(data, tmp_path):
    X, _, ids = data
    text = tmp_path / "notes.db"
    text.write_text("just some notes\n" * 20)
    with pytest.raises(StoreError, match="is not a DRAMA label store"):
        ActiveSession(X, ids=ids, store=text, **FAST)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="is not a DRAMA label store"):
        ActiveSession(X, ids=ids, store=other, **FAST)
    path = tmp_path / "held.db"
    with ActiveSession(X, ids=ids, store=path, **FAST):
        with pytest.raises(StoreLockedError, match=f"in use by process {os.getpid()}"):
            ActiveSession(X, ids=ids, store=path, **FAST)
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:  # released on close
        assert s.labels().empty


def test_kill_during_refit_loses_no_label(tmp_path):
    path = tmp_path / "killed.db"
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_active import two_kinds, FAST
        from drama.active import ActiveSession
        X, kind, ids = two_kinds()
        s = ActiveSession(X, ids=ids, store={str(path)!r}, **FAST)
        s.label("obj310", "interesting", cls="A")
        s.label("obj1", "boring")
        s.label("obj320", "interesting")
        print("labelled", flush=True)
        while True:
            s.refit()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "labelled"
        time.sleep(0.3)  # well inside the refit loop
        X, _, ids = two_kinds()
        # While the other process lives, its store is refused, naming the store and the PID.
        with pytest.raises(StoreLockedError, match=rf"killed.db' is in use by process {proc.pid}"):
            ActiveSession(X, ids=ids, store=path, **FAST)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The dead process's lock is recognised as stale; every label survived.
    with ActiveSession(X, ids=ids, store=path, **FAST) as s:
        labels = s.labels()
    assert list(labels["id"]) == ["obj310", "obj1", "obj320"]
    assert list(labels["cls"]) == ["A", None, None]


def test_bad_options_fail_before_any_work(data, tmp_path):
    X, _, ids = data
    with pytest.raises(ValueError, match="Unknown strategy 'greedy'"):
        ActiveSession(X, ids=ids, strategy="greedy", **FAST)
    with pytest.raises(ValueError, match="ids must be unique"):
        ActiveSession(X, ids=["a"] * len(X), **FAST)
    with pytest.raises(ValueError, match=r"Unknown learned_options \['depth'\]"):
        ActiveSession(X, ids=ids, learned_options={"depth": 2}, **FAST)
    for bad in ({"min_each": 0}, {"C": -1.0}, {"max_weight": 5}, {"min_each": "1"}):
        with pytest.raises(ValueError, match=r"learned_options\['"):
            ActiveSession(X, ids=ids, store=tmp_path / "bad.db", learned_options=bad, **FAST)
    with pytest.raises(ValueError, match="model='kernel' has none"):
        ActiveSession(X, ids=ids, model="kernel", learned_options={"C": 2.0}, **FAST)
    for option, value in (("alpha", -1), ("alpha", 0), ("bandwidth", 0.0),
                          ("bandwidth", float("nan")),
                          ("random_state", -1)):
        with pytest.raises(ValueError, match=option):
            ActiveSession(X, ids=ids, store=tmp_path / "bad.db", **{option: value}, **FAST)
    # a typo in the grid must not leave a store that records it (the corrected command
    # would then be refused as a mismatch)
    for grid, match in (({"metrics": ["l2", "cosine"]}, "Unknown metric 'cosine'"),
                        ({"reducers": ["pcaa"]}, "Unknown reducer 'pcaa'"),
                        ({"levels": [0, 1]}, "levels must be positive")):
        with pytest.raises(ValueError, match=match):
            ActiveSession(X, ids=ids, store=tmp_path / "bad.db", **{**FAST, **grid})
    with pytest.raises(ValueError, match="needs at least 3 dimensions"):
        ActiveSession(X[:, :2], ids=ids, store=tmp_path / "bad.db", metrics=["correlation"],
                      **FAST)
    assert not list(tmp_path.iterdir())


def test_simulated_scientist_needs_one_truth_per_object(data):
    X, kind, ids = data
    session = ActiveSession(X, ids=ids, **FAST)
    for truth in (kind[:10] != "", (kind != "")[:-1]):
        with pytest.raises(ValueError, match=f"one value per object of the session \\({len(X)}"):
            simulate_discovery(session, truth, 5)
    with pytest.raises(ValueError, match="classes must hold one value per object"):
        simulate_discovery(session, kind != "", 5, classes=kind[:3])
    for batch in (0, -3):  # would otherwise report 0 finds as if it were a result
        with pytest.raises(ValueError, match="batch must be an integer >= 1"):
            simulate_discovery(session, kind != "", 5, batch=batch)
    assert len(session.labels()) == 0




def test_the_session_chooses_configurations_by_dramasearchs_own_selection(data):
    """One few-label policy: the session's anomaly prior is what DramaSearch.select makes of
    the same labels (1 interesting, 0 boring, -1 unlabelled), with the search's defaults."""
    X, kind, ids = data
    search = DramaSearch(reducers=list(FAST["reducers"]), levels=list(FAST["levels"]),
                         metrics="all", relevance_alpha=None, relevance_space="robust",
                         random_state=0).fit(X)
    with ActiveSession(X, ids=ids, random_state=0, **FAST) as s:
        assert np.array_equal(s.anomaly_, rank_normalise(search.decision_scores_))
        assert s.selection_.startswith("label-free consensus")
        y = np.full(len(X), -1)
        for i in np.flatnonzero(kind == "A")[:2]:
            s.label(ids[i], "interesting")
            y[i] = 1
        for i in np.flatnonzero(kind == "")[:3]:
            s.label(ids[i], "boring")
            y[i] = 0
        s.refit()
        search.select(y)
        assert np.array_equal(s.anomaly_, rank_normalise(search.decision_scores_))
        assert s.chosen_configurations_ == list(search.weights_.index)
        assert s.selection_ == search.selection_


def test_labelled_boring_objects_go_below_every_unlabelled_one(data):
    X, kind, ids = data
    with ActiveSession(X, ids=ids, random_state=0, **FAST) as s:
        boring = [ids[i] for i in np.flatnonzero(kind == "B")[:3]]
        interesting = [ids[i] for i in np.flatnonzero(kind == "A")[:2]]
        for oid in boring:
            s.label(oid, "boring")
        for oid in interesting:
            s.label(oid, "interesting")
        s.refit()
        order = list(s.ranking()["id"])
        assert set(order[:2]) == set(interesting)
        assert set(order[-3:]) == set(boring)


def test_boring_labels_alone_lower_their_neighbours_within_the_kernel_width(data):
    """Before any interesting find, boring answers still move the ranking: the unlabelled
    neighbours of a boring object sink, by more when the kernel is wider."""
    X, kind, ids = data
    b = np.flatnonzero(kind == "B")
    drops = {}
    for bandwidth in (0.5, 2.0):
        with ActiveSession(X, ids=ids, random_state=0, bandwidth=bandwidth, **FAST) as s:
            before = s.scores_.copy()
            for i in b[:3]:
                s.label(ids[i], "boring")
            s.refit()
            rest = b[3:]
            assert (s.scores_[rest] < before[rest]).all()
            assert np.array_equal(s.anomaly_, before)  # label-free prior, no find yet
            drops[bandwidth] = float(np.mean(before[rest] - s.scores_[rest]))
    assert drops[2.0] > drops[0.5] > 0


def test_boring_answers_lead_the_session_past_a_start_that_ranks_the_anomalies_last():
    """60 scattered outliers (far out in feature 0) are boring; 12 milder ones (low in
    feature 1) are what the scientist wants. The label-free start ranks every wanted one
    below the first 48, so 48 looks down that ranking would find none. Told "boring" about
    its picks, the default session (boring labels alone teach from 5 on) learns what the
    boring ones share and finds nearly all wanted ones within those 48 looks, on each of
    three data seeds; with boring labels alone off it finds far fewer."""
    found: dict[int, list[int]] = {5: [], 0: []}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        normal = rng.normal(size=(300, 5))
        decoys = rng.normal(size=(60, 5))
        decoys[:, 0] = rng.uniform(6, 20, 60)
        wanted = rng.normal(size=(12, 5)) * 0.3 + np.array([0, -3.0, 0, 0, 0])
        X = np.vstack([normal, decoys, wanted])
        y = np.r_[np.zeros(360), np.ones(12)].astype(int)
        for min_boring_alone in (5, 0):
            options = {} if min_boring_alone == 5 else {"min_boring_alone": 0}
            with ActiveSession(X, random_state=seed, learned_options=options, **FAST) as s:
                order = np.argsort(-s.scores_, kind="stable")
                assert y[order[:48]].sum() == 0  # the start is wrong
                curve = simulate_discovery(s, y, 48, batch=4)
                found[min_boring_alone].append(int(curve[-1]))
    assert min(found[5]) >= 10
    assert sum(found[0]) <= sum(found[5]) - 15






def test_a_session_whose_lock_was_stolen_cannot_label(tmp_path):
    from drama.active.store import ActiveStore, StoreLockedError, data_fingerprint

    X = np.zeros((3, 2))
    ids = ["1", "2", "3"]
    path = tmp_path / "s.drama.db"
    fingerprint = data_fingerprint(X, ids)
    first = ActiveStore(path, fingerprint=fingerprint, ids=ids, config={})
    second = ActiveStore(path, fingerprint=fingerprint, ids=ids, config={}, steal_lock=True)
    with pytest.raises(StoreLockedError, match="taken over"):
        first.add("1", "interesting")
    second.add("2", "boring")
    assert [row[1] for row in second.history()] == ["2"]
    second.close()


def test_fingerprint_separates_ids_that_join_alike():
    from drama.active.store import data_fingerprint

    X = np.zeros((2, 1))
    assert data_fingerprint(X, ["a\x1fb", "c"]) != data_fingerprint(X, ["a", "b\x1fc"])



def test_budget_never_exceeds_the_objects():
    assert default_budget(np.r_[np.ones(12), np.zeros(8)]) == 20
    assert default_budget(np.r_[np.ones(3), np.zeros(500)]) == 6
    assert default_budget(np.r_[np.ones(300), np.zeros(5000)]) == 200


def test_progress_asks_only_the_neural_reducers_for_their_training_bars() -> None:
    pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    X = np.random.default_rng(0).normal(size=(60, 4))
    session = ActiveSession(X, reducers=("pca", "ae"), levels=(1,), progress=True)
    with session:
        trees = session.search_.estimators_
        assert trees["ae"].reducer_options == {"progress": True}
        assert trees["pca"].reducer_options is None
    quiet = ActiveSession(X, reducers=("pca", "ae"), levels=(1,))
    with quiet:
        assert quiet.search_.estimators_["ae"].reducer_options is None


def test_a_saved_search_reopens_the_session_without_fitting(data, tmp_path, monkeypatch):
    from drama import load_detector
    from drama.persistence import write_detector

    X, _, ids = data
    with ActiveSession(X, ids=ids, store=tmp_path / "a.db", **FAST) as first:
        first.label("obj300", "interesting")
        first.refit()
        write_detector(first.search_, tmp_path / "search.npz")
        expected = first.ranking()
    saved = load_detector(tmp_path / "search.npz")
    monkeypatch.setattr(DramaSearch, "fit", lambda *a, **k: pytest.fail("fitted again"))
    with ActiveSession(X, ids=ids, store=tmp_path / "a.db", fitted_search=saved,
                       **FAST) as again:
        assert again.ranking().equals(expected)
    with pytest.raises(ValueError, match=r"other options \(levels\)"):
        ActiveSession(X, ids=ids, fitted_search=saved, reducers=("none",), levels=(1,))
    with pytest.raises(ValueError, match="fitted on 324 objects"):
        ActiveSession(X[:100], fitted_search=saved, **FAST)
