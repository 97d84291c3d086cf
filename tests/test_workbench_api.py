"""The workbench's JSON API through FastAPI's TestClient: runs on workspace files, the
candidate list, labels (committed before the answer), ratings, undo, exports, and the
rules that keep the server safe (workspace confinement, local hosts, JSON from the same
origin, escaping)."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the workbench needs the [workbench] extra (fastapi)")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the [dev] extra)")

from fastapi.testclient import TestClient  # noqa: E402
from workbench_helpers import HOSTILE_ID, make_workspace, start_server  # noqa: E402

from drama.active import ActiveSession  # noqa: E402
from drama.active.store import export_labels  # noqa: E402
from drama.workbench.app import create_app  # noqa: E402

LOCAL = "http://127.0.0.1"
STATIC = Path(__file__).resolve().parents[1] / "src/drama/workbench/static"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture()
def client(workspace: Path):
    with TestClient(create_app(workspace), base_url=LOCAL) as c:
        yield c


def opened(client: TestClient, path: str = "table.csv") -> dict:
    response = client.post("/api/runs", json={"path": path})
    assert response.status_code == 200, response.text
    return response.json()


def label(client: TestClient, oid: str, run: str = "table.csv", **body) -> dict:
    response = client.post("/api/label", json={"run": run, "id": oid, **body})
    assert response.status_code == 200, response.text
    return response.json()


def page(client: TestClient, run: str = "table.csv", **params) -> dict:
    response = client.get("/api/candidates", params={"run": run, **params})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------- files and runs
def test_lists_every_table_format_and_nothing_else(client, workspace, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("id,a\n1,2\n")
    (workspace / "link-out.csv").symlink_to(outside)
    (workspace / ".drama").mkdir()
    (workspace / ".drama" / "hidden.csv").write_text("id,a\n1,2\n")
    files = client.get("/api/files").json()["files"]
    assert [f["path"] for f in files] == ["curves.npy", "images.npy", "table.csv",
                                          "table.parquet"]
    assert {f["format"] for f in files} == {"npy", "csv", "parquet"}


def test_a_run_is_a_session_whose_store_is_in_the_workspace(client, workspace):
    run = opened(client)
    assert run == {**run, "run": "table.csv", "kind": "table", "objects": 60, "labelled": 0}
    assert (workspace / ".drama" / "table.csv.drama.db").is_file()
    assert opened(client)["run"] == "table.csv"  # opening again is the same run
    assert opened(client, "curves.npy")["kind"] == "curve"
    listed = client.get("/api/files").json()
    assert listed["open"] == ["curves.npy", "table.csv"]
    assert [f["has_labels"] for f in listed["files"]] == [True, False, True, False]


def test_a_run_must_be_opened_first(client):
    response = client.get("/api/candidates", params={"run": "table.csv"})
    assert response.status_code == 409
    assert "open it first" in response.json()["detail"]


# ---------------------------------------------------------------------- confinement
@pytest.mark.parametrize("path", [
    "../secret.csv", "/etc/passwd", "sub/../../secret.csv", "..\\secret.csv", "",
    ".drama/table.csv.drama.db", "notes.txt", "missing.csv",
])
def test_paths_outside_the_workspace_or_not_data_are_refused(client, path):
    response = client.post("/api/runs", json={"path": path})
    assert response.status_code == 400, response.text
    assert client.get("/api/files").json()["open"] == []


def test_url_encoded_and_linked_escapes_are_refused(client, workspace, tmp_path):
    secret = tmp_path / "secret.csv"
    make_workspace(tmp_path / "other")
    secret.write_bytes((tmp_path / "other" / "table.csv").read_bytes())
    (workspace / "inside.csv").symlink_to(secret)
    (workspace / "dir-out").symlink_to(tmp_path / "other", target_is_directory=True)
    for raw in ["/api/run?run=%2e%2e%2Fsecret.csv", "/api/run?run=%2E%2E/secret.csv",
                "/api/run?run=%2Fetc%2Fpasswd", "/api/run?run=inside.csv",
                "/api/run?run=dir-out%2Ftable.csv", "/api/run?run=%252e%252e%252Fsecret.csv"]:
        response = client.get(raw)
        assert response.status_code == 400, (raw, response.text)
    for path in ["inside.csv", "dir-out/table.csv"]:
        assert client.post("/api/runs", json={"path": path}).status_code == 400


def test_static_files_are_a_fixed_list(client):
    assert client.get("/static/app.js").status_code == 200
    for name in ["..%2Fapp.py", "index.html", "%2e%2e%2f__init__.py", "plotly.js"]:
        assert client.get(f"/static/{name}").status_code == 404, name
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000  # served here


# ---------------------------------------------------------------------- the list
def test_candidates_are_ranked_with_score_rank_and_state(client):
    opened(client)
    first = page(client, limit=10)
    assert first["total"] == 60 and first["labelled"] == 0
    ranks = [row["rank"] for row in first["items"]]
    assert ranks == list(range(1, 11))
    scores = [row["score"] for row in first["items"]]
    assert scores == sorted(scores, reverse=True)
    assert {row["id"] for row in first["items"][:5]} <= {f"obj{i}" for i in range(5)} | {
        HOSTILE_ID}  # the five shifted objects lead
    assert first["items"][0]["p_interesting"] is None  # no probability before a label
    second = page(client, limit=10, offset=10)
    assert [row["rank"] for row in second["items"]] == list(range(11, 21))


def test_labelled_and_skipped_go_after_the_unlabelled(client):
    opened(client)
    top = [row["id"] for row in page(client, limit=3)["items"]]
    label(client, top[0], answer="boring")
    label(client, top[1], answer="skip")
    rows = page(client, limit=60)["items"]
    assert [r["id"] for r in rows[-2:]] == [top[1], top[0]]
    assert rows[-1]["label"] == "boring" and rows[-2]["skipped"] is True
    assert rows[0]["id"] == top[2]
    everything = page(client, limit=60, unlabelled_first=False)["items"]
    assert everything[0]["id"] not in (top[0],)  # the boring one sinks after the refit


def test_a_skip_on_a_labelled_object_is_refused_and_leaves_nothing_behind(client):
    opened(client)
    label(client, "obj2", answer="boring")
    skipped = client.post("/api/label", json={"run": "table.csv", "id": "obj2",
                                              "answer": "skip"})
    assert skipped.status_code == 400
    assert "already labelled; undo or relabel it instead" in skipped.json()["detail"]
    undone = client.post("/api/undo", json={"run": "table.csv"}).json()
    assert undone["undone"]["id"] == "obj2"
    row = {r["id"]: r for r in page(client, limit=60)["items"]}["obj2"]
    assert row["label"] in (None, "") and row["skipped"] is False  # unlabelled, not skipped


def test_sorts_search_and_next_to_ask(client):
    opened(client)
    random_a = [r["id"] for r in page(client, sort="random", seed=1, limit=60)["items"]]
    random_b = [r["id"] for r in page(client, sort="random", seed=2, limit=60)["items"]]
    by_score = [r["id"] for r in page(client, limit=60)["items"]]
    assert sorted(random_a) == sorted(by_score) and random_a != random_b
    assert random_a == [r["id"] for r in page(client, sort="random", seed=1, limit=60)["items"]]
    found = page(client, q="OBJ1", limit=60)["items"]
    assert sorted(r["id"] for r in found) == sorted(
        [f"obj{i}" for i in [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]])
    first = page(client, sort="next", limit=1)["items"][0]["id"]
    label(client, first, answer="interesting")
    after = [r["id"] for r in page(client, sort="next", limit=5)["items"]]
    assert first not in after
    bad = client.get("/api/candidates", params={"run": "table.csv", "sort": "bogus"})
    assert bad.status_code == 400 and "score, next, random" in bad.json()["detail"]


# ---------------------------------------------------------------------- one object
def test_detail_of_a_table_object_gives_its_deviating_features(client):
    opened(client)
    detail = client.get("/api/object", params={"run": "table.csv", "id": "obj0"}).json()
    assert detail["kind"] == "table" and detail["rank"] <= 5
    features = {d["feature"] for d in detail["deviations"]}
    assert features == {"flux", "<b>colour</b>", "size"}  # as named, never altered
    assert all(abs(d["robust_z"]) > 2 for d in detail["deviations"])
    missing = client.get("/api/object", params={"run": "table.csv", "id": "nope"})
    assert missing.status_code == 404


def test_detail_of_a_curve_gives_the_object_and_the_median(client):
    opened(client, "curves.npy")
    detail = client.get("/api/object", params={"run": "curves.npy", "id": "3"}).json()
    (channel,) = detail["curve"]
    assert len(channel["object"]) == len(channel["median"]) == 60
    assert channel["object"] != channel["median"]


def test_detail_of_an_image_gives_the_object_and_the_median(client):
    assert opened(client, "images.npy")["kind"] == "image"
    detail = client.get("/api/object", params={"run": "images.npy", "id": "0"}).json()
    image, median = detail["image"]["object"], detail["image"]["median"]
    assert len(image) == len(median) == 10 and len(image[0]) == 10
    assert max(range(10), key=lambda c: image[4][c]) >= 6  # the source is off centre
    assert max(range(10), key=lambda c: median[4][c]) in (4, 5)


# ---------------------------------------------------------------------- labels
def test_each_label_is_committed_before_it_is_confirmed(client, workspace):
    opened(client)
    label(client, "obj2", answer="interesting", cls="merger")
    # read by another connection while the server still holds the store
    rows = export_labels(workspace / ".drama" / "table.csv.drama.db")
    assert [(r[0], r[1], r[2]) for r in rows] == [("obj2", "interesting", "merger")]


def test_ratings_are_kept_and_mapped(client):
    opened(client)
    for oid, rating, expected in [("obj2", 5, "interesting"), ("obj3", 3, "interesting"),
                                  ("obj4", 2, "boring"), ("obj5", 0, "boring")]:
        assert label(client, oid, rating=rating)["answer"] == expected
    rows = {r["id"]: r for r in page(client, limit=60)["items"]}
    assert [(rows[o]["label"], rows[o]["rating"]) for o in ["obj2", "obj3", "obj4", "obj5"]] == [
        ("interesting", 5), ("interesting", 3), ("boring", 2), ("boring", 0)]
    contradiction = client.post("/api/label", json={"run": "table.csv", "id": "obj6",
                                                    "answer": "boring", "rating": 4})
    assert contradiction.status_code == 400 and "means interesting" in contradiction.text
    assert client.post("/api/label", json={"run": "table.csv", "id": "obj6",
                                           "rating": 6}).status_code == 400
    relabelled = label(client, "obj2", answer="boring")  # a new answer without a rating
    assert relabelled["labelled"] == 4
    assert {r["id"]: r for r in page(client, limit=60)["items"]}["obj2"]["rating"] is None


def test_the_search_finds_objects_by_a_carried_name_literally(client, workspace):
    names = [f"NGC {i}" for i in range(30)]
    names[3], names[4], names[5] = "M.31 (Andromeda)", "M131", "[b]*"
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(30)], "name": names,
                          "flux": np.random.default_rng(4).normal(size=30),
                          "size": np.random.default_rng(5).normal(size=30)})
    frame.to_csv(workspace / "named.csv", index=False)
    opened(client, "named.csv")

    def found(q: str) -> list[str]:
        return sorted(r["id"] for r in page(client, "named.csv", q=q, limit=60)["items"])

    assert found("andromeda") == ["s3"]  # by its name, any case
    assert found("m.3") == ["s3"]  # a literal dot: M131 does not match as a regex would
    assert found("(andromeda") == ["s3"] and found("[b]*") == ["s5"]  # no regex, no error
    assert found("s1") == sorted(f"s{i}" for i in [1, *range(10, 20)])  # ids still found
    assert found("nothing like it") == []


def test_bad_answers_change_nothing(client):
    opened(client)
    for body in [{"id": "obj2", "answer": "maybe"}, {"id": "nope", "answer": "boring"},
                 {"id": "obj2", "answer": "skip", "cls": "x"}, {"id": "obj2"}]:
        response = client.post("/api/label", json={"run": "table.csv", **body})
        assert response.status_code in (400, 404), body
    assert page(client)["labelled"] == 0


def test_undo_takes_back_the_last_label_and_its_rating(client):
    opened(client)
    label(client, "obj2", answer="interesting")
    label(client, "obj3", rating=1)
    undone = client.post("/api/undo", json={"run": "table.csv"}).json()
    assert undone["undone"]["id"] == "obj3" and undone["labelled"] == 1
    rows = {r["id"]: r for r in page(client, limit=60)["items"]}
    assert rows["obj3"]["label"] is None and rows["obj3"]["rating"] is None
    client.post("/api/undo", json={"run": "table.csv"})
    assert client.post("/api/undo", json={"run": "table.csv"}).json()["undone"] is None


def test_refit_every_n_answers_and_on_demand(workspace):
    with TestClient(create_app(workspace, refit_every=3), base_url=LOCAL) as client:
        opened(client)
        flags = []
        for i in range(2, 8):
            flags.append(label(client, f"obj{i}", answer="boring")["refit"])
            scores = {r["id"]: r["score"] for r in page(client, limit=60)["items"]}
            # a boring label sinks below every unlabelled object once the refit has run,
            # and the refit queued with an answer runs before the next request
            assert (scores[f"obj{i}"] < 0) == (i in (4, 7)), (i, scores[f"obj{i}"])
        assert flags == [False, False, True, False, False, True]
        assert client.post("/api/refit", json={"run": "table.csv"}).json()["refitted"]


# ---------------------------------------------------------------------- exports
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exports_labels_and_scores(client, fmt):
    opened(client)
    label(client, "obj2", answer="interesting", cls="merger", rating=4)
    label(client, HOSTILE_ID, answer="boring")
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    labels = read(io.BytesIO(client.get("/api/export", params={
        "run": "table.csv", "what": "labels", "format": fmt}).content))
    assert labels["id"].tolist() == ["obj2", HOSTILE_ID]
    assert labels["label"].tolist() == [1, 0]
    assert labels["class"].tolist()[0] == "merger" and labels["rating"].tolist()[0] == 4
    scores = read(io.BytesIO(client.get("/api/export", params={
        "run": "table.csv", "what": "scores", "format": fmt}).content))
    assert len(scores) == 60 and scores["rank"].tolist() == list(range(1, 61))
    assert scores["id"].iloc[0] == "obj2"  # the interesting label goes to the top
    bad = client.get("/api/export", params={"run": "table.csv", "what": "x"})
    assert bad.status_code == 400


# ---------------------------------------------------------------------- durability
def test_the_terminal_and_the_browser_share_labels(client, workspace):
    from drama.cli.active import load_objects

    opened(client)
    label(client, "obj2", answer="interesting", cls="merger")
    client.app.state.registry.close()  # as when the server stops
    X, ids, _, _ = load_objects(workspace / "table.csv", None)
    with ActiveSession(X, ids=ids, store=workspace / ".drama" / "table.csv.drama.db") as s:
        assert s.labels()[["id", "label", "cls"]].values.tolist() == [
            ["obj2", "interesting", "merger"]]
        s.label("obj3", "boring")
    run = opened(client)  # reopened: resumes with the terminal's label too
    assert run["labelled"] == 2


def test_two_clients_interleaved_stay_consistent(workspace):
    app = create_app(workspace)
    with TestClient(app, base_url=LOCAL) as one, TestClient(app, base_url=LOCAL) as two:
        opened(one)
        opened(two)
        label(one, "obj2", answer="interesting")
        assert {r["id"]: r["label"] for r in page(two, limit=60)["items"]}["obj2"] == (
            "interesting")  # the second sees the first's label on its next action
        label(two, "obj2", answer="interesting")  # the same object twice
        label(two, "obj3", answer="boring")
        assert page(one)["labelled"] == 2  # counted once


def test_concurrent_requests_are_serialised(client, workspace):
    opened(client)
    errors: list[str] = []

    def give(oid: str) -> None:
        response = client.post("/api/label", json={"run": "table.csv", "id": oid,
                                                   "answer": "boring"})
        if response.status_code != 200:
            errors.append(response.text)

    threads = [threading.Thread(target=give, args=(f"obj{i % 6 + 10}",)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert page(client)["labelled"] == 6
    store = sqlite3.connect(workspace / ".drama" / "table.csv.drama.db")
    assert store.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 12
    store.close()


def test_killing_the_server_loses_nothing(workspace):
    proc, address = start_server(workspace)
    try:
        def post(path: str, body: bytes) -> bytes:
            request = urllib.request.Request(address + path, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.read()

        post("api/runs", b'{"path": "table.csv"}')
        post("api/label", b'{"run": "table.csv", "id": "obj2", "answer": "interesting"}')
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown: the store's lock is left behind
        proc.wait()
    proc, address = start_server(workspace)
    try:
        request = urllib.request.Request(address + "api/runs", data=b'{"path": "table.csv"}',
                                         method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert b'"labelled":1' in response.read()
    finally:
        proc.terminate()
        proc.wait()


# ---------------------------------------------------------------------- security
def test_only_local_host_names_are_answered(workspace):
    with TestClient(create_app(workspace), base_url="http://attacker.example") as c:
        assert c.get("/api/files").status_code == 400
    with TestClient(create_app(workspace), base_url="http://localhost:8765") as c:
        assert c.get("/api/files").status_code == 200


def test_bodies_must_be_json_from_the_same_origin(client):
    opened(client)
    form = client.post("/api/label", content="run=table.csv&id=obj2&answer=boring",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    foreign = client.post("/api/label", json={"run": "table.csv", "id": "obj2",
                                              "answer": "boring"},
                          headers={"Origin": "http://attacker.example"})
    assert foreign.status_code == 403
    assert page(client)["labelled"] == 0


def test_pages_carry_a_content_security_policy(client):
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy


def test_the_page_never_parses_data_as_html():
    script = (STATIC / "app.js").read_text()
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]:
        assert sink not in script, sink
    assert "textContent" in script


def test_serve_warns_when_bound_beyond_this_machine(workspace):
    proc, address = start_server(workspace, "--host", "0.0.0.0")
    try:
        assert address.startswith("http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Warning: bound to 0.0.0.0" in err


def test_a_run_stopped_mid_way_ranks_as_an_uninterrupted_one(tmp_path):
    answers = [("obj2", "interesting"), ("obj7", "boring"), ("obj3", "interesting"),
               ("obj11", "boring"), ("obj4", "interesting"), ("obj20", "boring")]
    whole, parts = make_workspace(tmp_path / "whole"), make_workspace(tmp_path / "parts")
    with TestClient(create_app(whole), base_url=LOCAL) as client:
        opened(client)
        for oid, answer in answers:
            label(client, oid, answer=answer)
        expected = page(client, limit=60, unlabelled_first=False)["items"]
    for half in (answers[:3], answers[3:]):  # stopped after three answers, then resumed
        with TestClient(create_app(parts), base_url=LOCAL) as client:
            opened(client)
            for oid, answer in half:
                label(client, oid, answer=answer)
            resumed = page(client, limit=60, unlabelled_first=False)["items"]
    assert [(r["id"], r["score"]) for r in resumed] == [(r["id"], r["score"]) for r in expected]


def test_a_store_held_elsewhere_is_refused_with_its_holder(client, workspace):
    from drama.cli.active import load_objects

    X, ids, _, _ = load_objects(workspace / "table.csv", None)
    (workspace / ".drama").mkdir()
    with ActiveSession(X, ids=ids, store=workspace / ".drama" / "table.csv.drama.db"):
        response = client.post("/api/runs", json={"path": "table.csv"})
    assert response.status_code == 400
    assert f"in use by process {os.getpid()}" in response.json()["detail"]
    assert opened(client)["run"] == "table.csv"  # free again: it opens


def test_results_give_the_discovery_curve_histogram_and_choice(client):
    opened(client)
    for oid, answer in [("obj2", "interesting"), ("obj7", "boring"), ("obj3", "interesting"),
                        ("obj2", "boring")]:  # a relabel is not a new find
        label(client, oid, answer=answer)
    results = client.get("/api/results", params={"run": "table.csv"}).json()
    assert results["discovery"] == [1, 1, 2]
    assert sum(results["histogram"]["counts"]) == 60
    assert len(results["histogram"]["edges"]) == len(results["histogram"]["counts"]) + 1
    assert results["selection"] and results["configurations"]
    weights = [c["weight"] for c in results["configurations"]]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)


def test_the_map_sends_points_or_cells(client):
    opened(client)
    label(client, "obj2", answer="interesting")
    points = client.get("/api/map", params={"run": "table.csv"}).json()
    assert points["mode"] == "points" and len(points["x"]) == len(points["ids"]) == 60
    at = points["ids"].index("obj2")
    assert points["label"][at] == "interesting" and points["label"].count("") == 59
    far = max(range(5, 60), key=lambda i: abs(points["x"][i]))  # shifted objects lie apart
    assert min(abs(points["x"][i]) for i in (0, 2, 3, 4)) > abs(points["x"][far]) / 2
    cells = client.get("/api/map", params={"run": "table.csv", "max_points": 10,
                                           "bins": 4}).json()
    assert cells["mode"] == "cells" and len(cells["count"]) == 4
    assert sum(map(sum, cells["count"])) == 60
    scores = {r["id"]: r["score"] for r in page(client, limit=60)["items"]}
    for row_count, row_best in zip(cells["count"], cells["best_id"], strict=True):
        for count, best in zip(row_count, row_best, strict=True):
            assert (count == 0) == (best is None)
    best_ids = {b for row in cells["best_id"] for b in row if b is not None}
    assert max(scores, key=scores.get) in best_ids  # the top object is some cell's best


def test_serve_refuses_a_workspace_that_is_not_a_folder(tmp_path):
    from typer.testing import CliRunner

    from drama.cli import app as drama_app

    result = CliRunner().invoke(drama_app, ["serve", str(tmp_path / "missing"), "--port", "0"])
    assert result.exit_code == 2
    assert "is not a folder" in result.output


@pytest.mark.parametrize("outside", ["folder", "file"])
def test_a_state_folder_that_is_a_link_or_not_a_folder_is_refused(workspace, tmp_path,
                                                                   outside):
    from typer.testing import CliRunner

    from drama.cli import app as drama_app
    from drama.workbench.workspace import WorkspaceError

    elsewhere = tmp_path / "elsewhere"
    if outside == "folder":
        elsewhere.mkdir()
        (workspace / ".drama").symlink_to(elsewhere, target_is_directory=True)
    else:
        (workspace / ".drama").write_text("not a folder")
    with pytest.raises(WorkspaceError, match=r"\.drama/ in the workspace is not a plain folder"):
        create_app(workspace)
    result = CliRunner().invoke(drama_app, ["serve", str(workspace), "--port", "0"])
    assert result.exit_code == 2 and "not a plain folder" in result.output
    assert not elsewhere.exists() or not any(elsewhere.iterdir())  # nothing written there


def test_a_state_folder_linked_out_after_the_start_is_refused_too(client, workspace,
                                                                  tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace / ".drama").symlink_to(elsewhere, target_is_directory=True)
    for response in (client.post("/api/runs", json={"path": "table.csv"}),
                     client.get("/api/files"), client.get("/api/runs")):
        assert response.status_code == 400 and "not a plain folder" in response.json()["detail"]
    assert not any(elsewhere.iterdir())


def test_run_options_are_the_terminals_and_a_run_can_be_closed(client, workspace):
    from drama.cli.active import load_objects

    fast = {"reducers": ["none"], "levels": 2, "seed": 1}
    run = client.post("/api/runs", json={"path": "table.csv", "options": fast}).json()
    assert run["options"] == {**fast, "metrics": "all", "spaces": ["input"], "curves": None}
    fast = run["options"]
    label(client, "obj2", answer="interesting")
    other = client.post("/api/runs", json={"path": "table.csv", "options": {"levels": 3}})
    assert other.status_code == 400 and "close it first" in other.json()["detail"]
    assert opened(client)["options"] == fast  # without options: the open run as it is
    assert client.post("/api/close", json={"run": "table.csv"}).json() == {"closed": True}
    assert client.post("/api/close", json={"run": "table.csv"}).json() == {"closed": False}
    # the store is free: the terminal's session with the same options takes it
    X, ids, _, _ = load_objects(workspace / "table.csv", None)
    with ActiveSession(X, ids=ids, store=workspace / ".drama" / "table.csv.drama.db",
                       reducers=("none",), levels=(1, 2), random_state=1) as s:
        assert s.labels()["id"].tolist() == ["obj2"]
    refused = client.post("/api/runs", json={"path": "table.csv", "options": {"levels": 3}})
    assert refused.status_code == 400 and "levels" in refused.json()["detail"]
    for bad in [{"reducers": "pca"}, {"reducers": []}, {"levels": 0}, {"seed": -1},
                {"seed": True}, {"colour": 1}, ["none"]]:
        response = client.post("/api/runs", json={"path": "table.csv", "options": bad})
        assert response.status_code == 400, bad


def test_sky_coordinates_come_with_a_table_that_has_them(client, workspace):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(30)], "RA": rng.uniform(0, 360, 30),
                          "Dec": rng.uniform(-90, 90, 30), "flux": rng.normal(size=30)})
    frame.loc[3, "Dec"] = 95.0  # out of range: no position claimed
    frame.to_csv(workspace / "sky.csv", index=False)
    opened(client, "sky.csv")
    sky = client.get("/api/object", params={"run": "sky.csv", "id": "s0"}).json()["sky"]
    assert sky == {"ra": pytest.approx(frame.RA[0]), "dec": pytest.approx(frame.Dec[0])}
    assert client.get("/api/object", params={"run": "sky.csv", "id": "s3"}).json()["sky"] is None
    opened(client)
    assert client.get("/api/object", params={"run": "table.csv", "id": "obj0"}).json()[
        "sky"] is None


def test_carried_columns_are_shown_beside_the_features_as_text(client, workspace):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(30)], "ra": rng.uniform(0, 360, 30),
                          "kind": ["<b>star</b>"] * 29 + [None],
                          "flux": rng.normal(size=30), "size": rng.normal(size=30)})
    frame.to_csv(workspace / "cat.csv", index=False)
    opened(client, "cat.csv")
    first = client.get("/api/object", params={"run": "cat.csv", "id": "s0"}).json()
    assert first["carried"] == [{"name": "ra", "value": str(frame.ra[0])},
                                {"name": "kind", "value": "<b>star</b>"}]  # as text
    assert [d["feature"] for d in first["deviations"]] in (["flux", "size"], ["size", "flux"])
    last = client.get("/api/object", params={"run": "cat.csv", "id": "s29"}).json()
    assert last["carried"][1] == {"name": "kind", "value": ""}
