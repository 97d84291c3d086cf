"""The workbench's data and run page through FastAPI's TestClient: uploads (size, type and
name checks), column roles, the run's options, the opening in the background with its
progress, saved fits that reopen a run without fitting, image folders and long-format
light-curve tables as inputs, and the FITS export."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the workbench needs the [workbench] extra (fastapi)")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the [dev] extra)")
pytest.importorskip("multipart", reason="uploads need python-multipart (the [workbench] extra)")

from fastapi.testclient import TestClient  # noqa: E402
from workbench_helpers import HOSTILE_ID, make_workspace  # noqa: E402

from drama.search import DramaSearch  # noqa: E402
from drama.workbench.app import create_app  # noqa: E402

LOCAL = "http://127.0.0.1"
FAST = {"reducers": ["none"], "levels": 2}


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture()
def client(workspace: Path):
    with TestClient(create_app(workspace), base_url=LOCAL) as c:
        yield c


def upload(client: TestClient, name: str, body: bytes, **headers: str):
    return client.post("/api/upload", files={"file": (name, body, "application/octet-stream")},
                       headers=headers)


def open_run(client: TestClient, path: str, **body) -> dict:
    response = client.post("/api/runs", json={"path": path, **body})
    assert response.status_code == 200, response.text
    return response.json()


def ranked(client: TestClient, run: str) -> list[tuple[str, float]]:
    items = client.get("/api/candidates", params={"run": run, "limit": 1000,
                                                  "unlabelled_first": False}).json()["items"]
    return [(r["id"], r["score"]) for r in items]


# ---------------------------------------------------------------------- uploads
def test_an_upload_lands_in_the_workspace_and_opens_as_a_run(client, workspace):
    body = (workspace / "table.csv").read_bytes()
    first = upload(client, "survey.csv", body)
    assert first.status_code == 200, first.text
    assert first.json() == {"path": "uploads/survey.csv", "size": len(body)}
    again = upload(client, "survey.csv", b"id,a\n1,2\n")  # never over the first
    assert again.json()["path"] == "uploads/survey-2.csv"
    assert (workspace / "uploads" / "survey.csv").read_bytes() == body
    listed = [f["path"] for f in client.get("/api/files").json()["files"]]
    assert {"uploads/survey.csv", "uploads/survey-2.csv"} <= set(listed)
    run = open_run(client, "uploads/survey.csv", options=FAST)
    assert run["objects"] == 60 and run["kind"] == "table"
    assert sorted(p.name for p in (workspace / "uploads").iterdir()) == [
        "survey-2.csv", "survey.csv"]  # no part-file left behind


@pytest.mark.parametrize("name", ["../evil.csv", "a/b.csv", "..\\evil.csv", ".hidden.csv",
                                  "notes.txt", "script.py", "", ".."])
def test_uploads_with_bad_names_or_types_are_refused(client, workspace, tmp_path, name):
    response = upload(client, name, b"id,a\n1,2\n")
    assert response.status_code in (400, 422), (name, response.text)
    assert not (tmp_path / "evil.csv").exists()
    uploads = workspace / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_names_with_control_characters_are_refused(workspace):
    from drama.workbench.uploads import save_upload
    from drama.workbench.workspace import Workspace, WorkspaceError

    with pytest.raises(WorkspaceError, match="control characters"):
        save_upload(Workspace(workspace), "bad\x01name.csv", io.BytesIO(b"id,a\n1,2\n"), 100)
    assert not (workspace / "uploads").exists()


def test_uploads_beyond_the_limit_are_refused(workspace):
    with TestClient(create_app(workspace, max_upload_mb=0.01), base_url=LOCAL) as client:
        declared = upload(client, "big.csv", b"x" * 200_000)  # refused by its length
        counted = upload(client, "big.csv", b"x" * 20_000)  # within the slack: by the copy
        fits = upload(client, "small.csv", b"id,a\n1,2\n3,4\n")
    assert declared.status_code == counted.status_code == 413
    assert "--max-upload" in declared.json()["detail"] and "0.01 MiB" in counted.json()["detail"]
    assert fits.status_code == 200
    assert [p.name for p in (workspace / "uploads").iterdir()] == ["small.csv"]


@pytest.mark.parametrize("path", ["/api/upload", "/api/upload/images"])
def test_a_chunked_upload_beyond_the_limit_is_refused_while_it_streams(workspace, path):
    """No declared length (chunked): the server counts the body as it arrives and answers
    413 once it passes the limit, having read little more than the limit, not all of it."""
    import asyncio

    app = create_app(workspace, max_upload_mb=1)
    boundary = "drama-test-boundary"
    field, name = ("file", "big.csv") if path == "/api/upload" else ("files", "a.png")
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
    offered, chunk = 64 << 20, b"x" * (64 << 10)
    pulled, answer = [0], {}

    async def receive() -> dict:
        if "status" in answer:  # answered: the client goes away
            return {"type": "http.disconnect"}
        body = head if pulled[0] == 0 else chunk
        pulled[0] += len(body)
        more = pulled[0] < offered
        return {"type": "http.request", "more_body": more,
                "body": body if more else body + f"\r\n--{boundary}--\r\n".encode()}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"127.0.0.1"), (b"transfer-encoding", b"chunked"),
                         (b"content-type",
                          f"multipart/form-data; boundary={boundary}".encode())]}
    asyncio.run(app(scope, receive, send))
    assert answer["status"] == 413, answer
    assert b"--max-upload" in answer["body"]
    assert pulled[0] <= (1 << 20) + (256 << 10), pulled[0]  # the limit, a little slack
    assert not (workspace / "uploads").exists() or not any((workspace / "uploads").iterdir())


def test_multipart_only_on_the_upload_endpoint_and_from_this_origin(client, workspace):
    form = client.post("/api/runs", files={"file": ("x.csv", b"id,a\n1,2\n")})
    assert form.status_code == 415
    as_json = client.post("/api/upload", json={"file": "x.csv"})
    assert as_json.status_code == 415
    foreign = upload(client, "x.csv", b"id,a\n1,2\n", Origin="http://attacker.example")
    assert foreign.status_code == 403
    assert not (workspace / "uploads").exists()


def pictures(count: int, size: int = 8) -> list[tuple[str, bytes]]:
    """``count`` small grey PNG files (one unusual), as a browser would send them."""
    import matplotlib.image as mpimg

    rng = np.random.default_rng(5)
    out = []
    for i in range(count):
        image = rng.uniform(0.0, 0.2, size=(size, size))
        image[3:5, 3:5] = 0.9 if i != 2 else 0.1
        buffer = io.BytesIO()
        mpimg.imsave(buffer, image, cmap="gray", vmin=0, vmax=1, format="png")
        out.append((f"cut{i:02d}.png", buffer.getvalue()))
    return out


def upload_images(client: TestClient, named: list[tuple[str, bytes]], folder: str | None = None):
    return client.post("/api/upload/images", data={} if folder is None else {"folder": folder},
                       files=[("files", (n, b, "image/png")) for n, b in named])


def zipped(named: list[tuple[str, bytes]]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in named:
            archive.writestr(name, body)
    return buffer.getvalue()


def test_pictures_upload_as_an_image_folder_that_opens_as_a_run(client, workspace):
    sent = pictures(12)
    first = upload_images(client, sent, folder="cutouts")
    assert first.status_code == 200, first.text
    assert first.json() == {**first.json(), "path": "uploads/cutouts", "pictures": 12}
    for name, body in sent:
        assert (workspace / "uploads" / "cutouts" / name).read_bytes() == body
    again = upload_images(client, sent[:3], folder="cutouts")  # never into the first
    assert again.json()["path"] == "uploads/cutouts-2"
    assert len(list((workspace / "uploads" / "cutouts").iterdir())) == 12
    from_zip = upload_images(client, [("survey.zip", zipped(sent))])
    assert from_zip.status_code == 200, from_zip.text
    assert from_zip.json()["path"] == "uploads/survey" and from_zip.json()["pictures"] == 12
    files = {f["path"]: f["format"] for f in client.get("/api/files").json()["files"]}
    assert files["uploads/cutouts"] == files["uploads/survey"] == "image folder"
    run = open_run(client, "uploads/survey", options=FAST)
    assert run["kind"] == "image" and run["objects"] == 12
    assert sorted(p.name for p in (workspace / "uploads").iterdir()) == [
        "cutouts", "cutouts-2", "survey"]  # no part-folder left behind


@pytest.mark.parametrize("case", ["not-a-picture", "text-suffix", "zip-slip", "zip-folder",
                                  "zip-absolute", "bad-folder", "twice", "bad-zip"])
def test_bad_picture_uploads_are_refused_and_leave_nothing(client, workspace, tmp_path, case):
    good = pictures(3)
    sent, folder = {
        "not-a-picture": ([*good, ("fake.png", b"id,a\n1,2\n")], None),
        "text-suffix": ([*good, ("notes.txt", b"hello")], None),
        "zip-slip": ([("a.zip", zipped([*good, ("../evil.png", good[0][1])]))], None),
        "zip-folder": ([("a.zip", zipped([("sub/x.png", good[0][1])]))], None),
        "zip-absolute": ([("a.zip", zipped([("/tmp/evil.png", good[0][1])]))], None),
        "bad-folder": (good, "../outside"),
        "twice": ([*good, good[0]], None),
        "bad-zip": ([("a.zip", b"PK not a zip")], None),
    }[case]
    response = upload_images(client, sent, folder)
    assert response.status_code == 400, response.text
    assert not (tmp_path / "evil.png").exists() and not (workspace / "evil.png").exists()
    assert not (tmp_path / "outside").exists() and not (workspace / "outside").exists()
    uploads = workspace / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_picture_uploads_beyond_the_limit_are_refused(workspace):
    sent = pictures(40, size=32)
    total = sum(len(b) for _, b in sent)
    limit_mb = total * 0.5 / 2**20
    with TestClient(create_app(workspace, max_upload_mb=limit_mb), base_url=LOCAL) as client:
        several = upload_images(client, sent)
        archive = upload_images(client, [("a.zip", zipped(sent))])
        fits = upload_images(client, sent[:5])
        as_json = client.post("/api/upload/images", json={"files": []})
    assert several.status_code == archive.status_code == 413, (several.text, archive.text)
    assert fits.status_code == 200 and as_json.status_code == 415
    assert [p.name for p in (workspace / "uploads").iterdir()] == ["images"]


# ---------------------------------------------------------------------- column roles
def test_column_roles_are_those_drama_score_prints(client, workspace):
    rng = np.random.default_rng(2)
    pd.DataFrame({"source_id": np.arange(40), "ra": rng.uniform(0, 360, 40),
                  "dec": rng.uniform(-90, 90, 40), "<i>name</i>": [f"n{i}" for i in range(40)],
                  "flux": rng.normal(size=40), "size": rng.normal(size=40),
                  "label": [0] * 38 + [1, 1]}).to_csv(workspace / "cat.csv", index=False)
    roles = client.get("/api/columns", params={"path": "cat.csv"}).json()
    assert [(c["name"], c["role"]) for c in roles["columns"]] == [
        ("source_id", "id"), ("ra", "carried"), ("dec", "carried"), ("<i>name</i>", "text"),
        ("flux", "feature"), ("size", "feature"), ("label", "label")]
    assert roles["table"] and roles["error"] is None
    assert any(line.startswith("features (2)") for line in roles["lines"])
    table = client.get("/api/columns", params={"path": "table.csv"}).json()
    assert [c["role"] for c in table["columns"]] == ["id", "feature", "feature", "feature"]
    assert table["columns"][2]["name"] == "<b>colour</b>"  # as named, never altered
    curves = client.get("/api/columns", params={"path": "curves.npy"}).json()
    assert curves == {**curves, "table": False, "kind": "curve", "shape": [30, 60]}
    for bad in ["../secret.csv", "notes.txt"]:
        assert client.get("/api/columns", params={"path": bad}).status_code == 400


# ---------------------------------------------------------------------- options
def test_chosen_metrics_and_spaces_shape_the_run_and_bad_ones_are_refused(client):
    chosen = {"reducers": ["none", "pca"], "levels": 2, "metrics": ["l2", "l1"],
              "spaces": ["input", "residual"]}
    run = open_run(client, "table.csv", options=chosen)
    assert run["options"]["metrics"] == ["l2", "l1"]
    assert run["options"]["spaces"] == ["input", "residual"]
    configurations = client.get("/api/results", params={"run": "table.csv"}).json()[
        "configurations"]
    trees = [c["configuration"].split("|") for c in configurations]
    trees = [t for t in trees if t[3] != "neighbours"]  # whole-set members have their own
    assert trees and all(t[1] in ("l1", "l2") for t in trees)
    for bad, words in [({"metrics": ["bogus"]}, "Unknown metrics 'bogus'"),
                       ({"spaces": ["outer"]}, "Unknown spaces 'outer'"),
                       ({"reducers": ["tsne"]}, "Unknown reducers 'tsne'"),
                       ({"metrics": "l2"}, "metrics must be a non-empty list"),
                       ({"reducers": ["none"], "spaces": ["residual"]}, "residual space"),
                       ({"curves": {"id": "id"}}, "needs --time, --mag")]:
        response = client.post("/api/runs", json={"path": "curves.npy", "options": bad})
        assert response.status_code == 400, bad
        assert words in response.json()["detail"], (bad, response.json())
    assert client.get("/api/files").json()["open"] == ["table.csv"]


# ---------------------------------------------------------------------- progress
def test_a_run_opens_in_the_background_with_its_progress(client, monkeypatch):
    release, fitting = threading.Event(), threading.Event()
    real_fit = DramaSearch.fit

    def held_fit(self, *args, **kwargs):
        fitting.set()
        assert release.wait(60)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(DramaSearch, "fit", held_fit)
    started = open_run(client, "table.csv", options=FAST, wait=False)
    assert started["run"] == "table.csv" and started["state"] == "opening"
    assert fitting.wait(60)
    status = client.get("/api/runs/status", params={"run": "table.csv"}).json()
    assert status == {**status, "state": "opening", "phase": "fitting",
                      "phases": ["reading", "fitting", "saving"], "steps_done": 1,
                      "error": None, "fit": None}
    assert status["fraction"] == pytest.approx(1 / 3)
    assert client.get("/api/files").json()["open"] == ["table.csv"]  # listed while opening
    release.set()
    deadline = time.monotonic() + 60
    while status["state"] == "opening" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.get("/api/runs/status", params={"run": "table.csv"}).json()
    assert status == {**status, "state": "open", "fraction": 1.0, "fit": "fit"}
    assert client.get("/api/candidates", params={"run": "table.csv"}).json()["total"] == 60
    missing = client.get("/api/runs/status", params={"run": "table.parquet"})
    assert missing.status_code == 409 and "open it first" in missing.json()["detail"]


def test_the_bar_moves_within_the_fit_step_by_step(client, monkeypatch):
    import drama.search as search_module

    release, scoring = threading.Event(), threading.Event()
    real_score = search_module._score_tree

    def held_score(*args, **kwargs):  # the second step of the fit: its tree fitted before
        scoring.set()
        assert release.wait(60)
        return real_score(*args, **kwargs)

    monkeypatch.setattr(search_module, "_score_tree", held_score)
    open_run(client, "table.csv", options=FAST, wait=False)
    assert scoring.wait(60)
    status = client.get("/api/runs/status", params={"run": "table.csv"}).json()
    total = status["fit_steps"]["total"]
    assert status["phase"] == "fitting" and status["fit_steps"] == {"done": 1, "total": total}
    assert total >= 4  # a tree fitted, scored, (its partner), the members, the space
    assert status["fraction"] == pytest.approx((1 + 1 / total) / 3)
    release.set()
    seen = [status["fraction"]]
    deadline = time.monotonic() + 60
    while status["state"] == "opening" and time.monotonic() < deadline:
        status = client.get("/api/runs/status", params={"run": "table.csv"}).json()
        seen.append(status["fraction"])
    assert status["state"] == "open" and seen == sorted(seen) and seen[-1] == 1.0


def test_the_progress_callback_changes_no_result():
    from drama.active import ActiveSession

    X = np.random.default_rng(4).normal(size=(120, 4))
    X[:4] += 6.0
    calls: list[tuple[int, int]] = []
    plain = DramaSearch(reducers=["none", "pca"], levels=[1, 2], random_state=0).fit(X)
    watched = DramaSearch(reducers=["none", "pca"], levels=[1, 2], random_state=0).fit(
        X, progress=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert calls == [(k, total) for k in range(1, total + 1)]
    np.testing.assert_array_equal(plain.decision_scores_, watched.decision_scores_)
    untimed = [c for c in plain.results_.columns if not c.endswith("_time")]  # seconds vary
    pd.testing.assert_frame_equal(plain.results_[untimed], watched.results_[untimed])
    pd.testing.assert_series_equal(plain.weights_, watched.weights_)
    assert not hasattr(watched, "_progress")  # nothing of it is kept (nor saved)
    sessions = [ActiveSession(X, reducers=("none",), levels=(1, 2), fit_progress=callback)
                for callback in (None, lambda *_: None)]
    np.testing.assert_array_equal(sessions[0].scores_, sessions[1].scores_)
    for session in sessions:
        session.close()


def test_the_progress_callback_follows_a_dask_fit_on_its_sample():
    da = pytest.importorskip("dask.array")
    X = da.from_array(np.random.default_rng(0).normal(size=(300, 4)), chunks=100)
    calls: list[tuple[int, int]] = []
    search = DramaSearch(reducers=["none"], levels=[1, 2], random_state=0).fit(
        X, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] and not hasattr(search, "_progress")


def test_a_background_opening_that_fails_says_why(client):
    bad = {"reducers": ["none"], "spaces": ["residual"]}
    assert open_run(client, "table.csv", options=bad, wait=False)["run"] == "table.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get("/api/runs/status", params={"run": "table.csv"}).json()
        if status["state"] != "opening":
            break
        time.sleep(0.05)
    assert status["state"] == "failed" and "residual space" in status["error"]
    refused = client.get("/api/candidates", params={"run": "table.csv"})
    assert refused.status_code == 409 and "could not be opened" in refused.json()["detail"]
    assert client.get("/api/files").json()["open"] == []
    assert open_run(client, "table.csv", options=FAST)["objects"] == 60  # a new try opens


def test_errors_name_files_relative_to_the_workspace_not_by_server_path(client, workspace):
    assert upload(client, "fake.parquet", b"not a parquet table").status_code == 200
    shown = "uploads/fake.parquet is not a readable Parquet table"
    opened = client.post("/api/runs", json={"path": "uploads/fake.parquet"})
    assert opened.status_code == 400 and opened.json()["detail"].startswith(shown)
    roles = client.get("/api/columns", params={"path": "uploads/fake.parquet"})
    assert roles.status_code == 400 and roles.json()["detail"].startswith(shown)
    open_run(client, "uploads/fake.parquet", wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get("/api/runs/status", params={"run": "uploads/fake.parquet"}).json()
        if status["state"] != "opening":
            break
        time.sleep(0.05)
    assert status["state"] == "failed" and status["error"].startswith(shown)
    refused = client.get("/api/candidates", params={"run": "uploads/fake.parquet"})
    assert refused.status_code == 409 and shown in refused.json()["detail"]
    (workspace / "bad.csv").write_text("id,a\n1,x\n2,y\n")  # no feature: a role error
    error = client.get("/api/columns", params={"path": "bad.csv"}).json()["error"]
    assert error.startswith("bad.csv: no column is left")
    for message in (opened.json()["detail"], roles.json()["detail"], status["error"],
                    refused.json()["detail"], error):
        assert str(workspace.resolve()) not in message


# ---------------------------------------------------------------------- saved fits
def test_an_earlier_run_reopens_without_fitting_until_its_data_changes(client, workspace,
                                                                       monkeypatch):
    first = open_run(client, "table.csv", options=FAST)
    assert first["fit"] == "fit"
    client.post("/api/label", json={"run": "table.csv", "id": "obj7", "answer": "interesting"})
    before = ranked(client, "table.csv")
    assert client.post("/api/close", json={"run": "table.csv"}).json()["closed"]
    saved = client.get("/api/runs").json()["runs"]
    assert [(r["path"], r["labelled"], r["objects"], r["open"]) for r in saved] == [
        ("table.csv", 1, 60, False)]
    assert saved[0]["options"]["reducers"] == ["none"]

    real_fit = DramaSearch.fit
    monkeypatch.setattr(DramaSearch, "fit", lambda *a, **k: pytest.fail("fitted again"))
    again = open_run(client, "table.csv", options=FAST)
    assert again["fit"] == "saved" and again["labelled"] == 1
    assert ranked(client, "table.csv") == before
    assert client.get("/api/runs").json()["runs"][0]["open"] is True
    client.post("/api/close", json={"run": "table.csv"})

    monkeypatch.setattr(DramaSearch, "fit", real_fit)
    frame = pd.read_csv(workspace / "table.csv")
    frame.loc[10, "flux"] += 1.0  # the data changed: fitted again
    frame.to_csv(workspace / "table.csv", index=False)
    assert open_run(client, "table.csv", options=FAST)["fit"] == "fit"


# ---------------------------------------------------------------------- other inputs
def test_a_folder_of_images_is_a_run_with_its_file_names_as_ids(client, workspace, tmp_path):
    import matplotlib.image as mpimg

    folder = workspace / "cutouts"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(14):
        image = rng.uniform(0.0, 0.2, size=(8, 8))
        image[3:5, 3:5] = 0.9 if i != 5 else 0.1
        mpimg.imsave(folder / f"cut{i:02d}.png", image, cmap="gray", vmin=0, vmax=1)
    files = {f["path"]: f for f in client.get("/api/files").json()["files"]}
    assert files["cutouts"]["format"] == "image folder"
    assert client.get("/api/columns", params={"path": "cutouts"}).json()["shape"] == [
        14, 8, 8, 3]
    run = open_run(client, "cutouts", options=FAST)
    assert run["kind"] == "image" and run["objects"] == 14
    detail = client.get("/api/object", params={"run": "cutouts", "id": "cut05.png"}).json()
    assert len(detail["image"]["object"]) == 8
    outside = tmp_path / "outside"
    outside.mkdir()
    mpimg.imsave(outside / "secret.png", rng.uniform(size=(8, 8)))
    (workspace / "linked").mkdir()
    (workspace / "linked" / "a.png").symlink_to(outside / "secret.png")
    refused = client.post("/api/runs", json={"path": "linked", "options": FAST})
    assert refused.status_code == 400 and "leads out" in refused.json()["detail"]


@pytest.mark.parametrize("representation", ["grid", "features"])
def test_a_long_format_light_curve_table_is_one_object_per_curve(client, workspace,
                                                                 representation):
    if representation == "features":
        pytest.importorskip("light_curve", reason="the features need the [lightcurves] extra")
    rng = np.random.default_rng(4)
    rows = []
    for k in range(16):
        t = np.sort(rng.uniform(0, 100, 25))
        amplitude = 2.0 if k == 3 else 0.1
        mag = 15 + amplitude * np.sin(t / 5) + rng.normal(0, 0.02, 25)
        rows += [{"star": f"s{k}", "mjd": a, "mag": b, "magerr": 0.02}
                 for a, b in zip(t, mag, strict=True)]
    pd.DataFrame(rows).to_csv(workspace / "curves.csv", index=False)
    columns = client.get("/api/columns", params={"path": "curves.csv"}).json()
    assert [c["name"] for c in columns["columns"]] == ["star", "mjd", "mag", "magerr"]
    curves = {"id": "star", "time": "mjd", "mag": "mag", "err": "magerr",
              "representation": representation}
    run = open_run(client, "curves.csv", options={**FAST, "curves": curves})
    assert run["objects"] == 16
    assert run["kind"] == ("table" if representation == "features" else "curve")
    assert run["options"]["curves"]["representation"] == representation
    top = client.get("/api/candidates", params={"run": "curves.csv", "limit": 1}).json()
    assert top["items"][0]["id"] == "s3"
    drawn = client.get("/api/object", params={"run": "curves.csv", "id": "s3"}).json()
    observed = drawn["light_curve"]["bands"]  # the object as observed, on its time axis
    assert len(observed) == 1 and len(observed[0]["time"]) == 25
    assert observed[0]["time"] == sorted(observed[0]["time"])
    wrong = client.post("/api/runs", json={"path": "table.parquet", "options": {
        "curves": {**curves, "id": "nope"}}})
    assert wrong.status_code == 400


# ---------------------------------------------------------------------- FITS export
def test_labels_and_scores_export_as_fits(client):
    from astropy.table import Table

    open_run(client, "table.csv", options=FAST)
    client.post("/api/label", json={"run": "table.csv", "id": HOSTILE_ID, "answer": "boring",
                                    "cls": "odd"})
    client.post("/api/label", json={"run": "table.csv", "id": "obj2", "rating": 5})
    response = client.get("/api/export", params={"run": "table.csv", "what": "labels",
                                                 "format": "fits"})
    assert response.headers["content-type"] == "application/fits"
    assert 'filename="table.csv-labels.fits"' in response.headers["content-disposition"]
    labels = Table.read(io.BytesIO(response.content), format="fits")
    assert [str(i) for i in labels["id"]] == [HOSTILE_ID, "obj2"]
    assert list(labels["label"]) == [0, 1] and int(labels["rating"][1]) == 5
    assert str(labels["labelled_at"][0]).endswith("Z")
    scores = Table.read(io.BytesIO(client.get("/api/export", params={
        "run": "table.csv", "what": "scores", "format": "fits"}).content), format="fits")
    assert len(scores) == 60 and list(scores["rank"]) == list(range(1, 61))
    assert str(scores["id"][0]) == "obj2"


def test_serve_takes_an_upload_limit():
    from typer.testing import CliRunner

    from drama.cli import app as drama_app

    result = CliRunner().invoke(drama_app, ["serve", "--help"])
    assert "--max-upload" in result.output
    refused = CliRunner().invoke(drama_app, ["serve", ".", "--max-upload", "0"])
    assert refused.exit_code == 2
