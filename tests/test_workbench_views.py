"""The workbench's object views and map through FastAPI's TestClient (and, for light
curves, the view's data function on a session made from a long-format table): the
prototype an object was compared with, light curves on their time axis, the context of an
image cutout, the map coloured by class and its lasso."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the workbench needs the [workbench] extra (fastapi)")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the [dev] extra)")

from fastapi.testclient import TestClient  # noqa: E402
from workbench_helpers import make_workspace  # noqa: E402

from drama.active import ActiveSession  # noqa: E402
from drama.search import parse_config  # noqa: E402
from drama.workbench.app import create_app  # noqa: E402
from drama.workbench.map import inside, parse_polygon  # noqa: E402
from drama.workbench.prototypes import leading_configuration, nearest_prototype  # noqa: E402

LOCAL = "http://127.0.0.1"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    folder = make_workspace(tmp_path / "ws")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    X[:40] += 8.0  # two equal clusters: the median lies between them, each has a prototype
    X[0, 2] += 5.0  # one object unusual within the upper cluster
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.insert(0, "id", [f"c{i}" for i in range(80)])
    frame.to_csv(folder / "clusters.csv", index=False)
    images = np.load(folder / "images.npy")
    context = rng.normal(size=(len(images), 30, 30))
    context[:, 10:20, 10:20] = images  # each cutout in the middle of its context
    np.save(folder / "images.context.npy", context)
    return folder


@pytest.fixture()
def client(workspace: Path):
    with TestClient(create_app(workspace), base_url=LOCAL) as c:
        yield c


def detail_of(client: TestClient, run: str, oid: str) -> dict:
    assert client.post("/api/runs", json={"path": run}).status_code == 200
    response = client.get("/api/object", params={"run": run, "id": oid})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------- the prototype
def test_a_table_object_is_compared_with_its_own_clusters_prototype(client, workspace):
    detail = detail_of(client, "clusters.csv", "c0")
    data = pd.read_csv(workspace / "clusters.csv").set_index("id")
    proto = {d["feature"]: d["prototype"] for d in detail["prototype_deviations"]}
    # the upper cluster's prototype, not the median between the clusters (about 4)
    assert all(abs(v - 8.0) < 1.5 for v in proto.values())
    iqr = data.quantile(0.75) - data.quantile(0.25)
    for d in detail["prototype_deviations"]:
        expected = (data.loc["c0", d["feature"]] - d["prototype"]) / (iqr[d["feature"]] / 1.349)
        assert d["robust_z"] == pytest.approx(expected)
    assert detail["prototype_deviations"][0]["feature"] == "c"  # the shifted feature leads
    lower = detail_of(client, "clusters.csv", "c60")["prototype_deviations"]
    assert all(abs(d["prototype"]) < 1.5 for d in lower)
    named = detail["prototype"]
    assert named["note"].startswith("the prototype of " + named["configuration"])
    assert "largest weight" in named["note"]  # the default ranking is a blend
    assert parse_config(named["configuration"])["space"] != "neighbours"


def test_every_configuration_of_a_blend_shows_its_prototype_with_its_weight(client, workspace):
    detail = detail_of(client, "clusters.csv", "c0")
    search = client.app.state.registry.get("clusters.csv").session.search_
    trees = {c: w for c, w in search.weights_.items()
             if w > 0 and parse_config(c)["space"] != "neighbours"}
    listed = detail["prototypes"]
    assert len(listed) > 1 and {p["configuration"] for p in listed} == set(trees)
    assert all(p["weight"] == pytest.approx(trees[p["configuration"]]) for p in listed)
    assert [p["shown"] for p in listed] == [True] + [False] * (len(listed) - 1)
    assert listed[0]["configuration"] == detail["prototype"]["configuration"]
    x = pd.read_csv(workspace / "clusters.csv").set_index("id").loc["c0"].to_numpy()
    for p in listed:
        own = nearest_prototype(search, x, p["configuration"])
        assert p["leaf"] == own.leaf
        assert p["largest_deviation"]["feature"] in ("a", "b", "c")
    other = listed[-1]["configuration"]
    shown = client.get("/api/object", params={"run": "clusters.csv", "id": "c0",
                                              "configuration": other}).json()
    assert shown["prototype"]["configuration"] == other and other in shown["prototype"]["note"]
    assert [p["shown"] for p in shown["prototypes"]] == [False] * (len(listed) - 1) + [True]
    values = nearest_prototype(search, x, other).values
    assert {d["feature"]: d["prototype"] for d in shown["prototype_deviations"]} == {
        name: pytest.approx(v) for name, v in zip("abc", values, strict=True)}
    bad = client.get("/api/object", params={"run": "clusters.csv", "id": "c0",
                                            "configuration": "none|nonsense|9|input"})
    assert bad.status_code == 400 and "not a tree configuration" in bad.json()["detail"]


def test_why_a_candidate_is_proposed(client):
    assert client.post("/api/runs", json={"path": "clusters.csv"}).status_code == 200
    first = client.get("/api/candidates", params={"run": "clusters.csv"}).json()["items"][0]["id"]
    session = client.app.state.registry.get("clusters.csv").session
    why = client.get("/api/object", params={"run": "clusters.csv", "id": first}).json()["why"]
    i = session.ids.index(first)
    assert why[0].startswith(f"Rank 1 of 80; DRAMA's score puts it above "
                             f"{100 * session.anomaly_[i]:.1f} %")
    search = session.search_
    column = list(search.train_scores_.columns)
    heaviest = search.weights_.sort_values(ascending=False, kind="stable")
    high = [c for c, w in heaviest.items()
            if w > 0 and search.train_ranks_[i, column.index(c)] >= 0.9]
    assert why[1].startswith(f"{len(high)} of the {(search.weights_ > 0).sum()} configurations")
    assert all(c in why[1] for c in high[:5])
    assert why[-1] == (f"The session (top strategy) would ask it as number 1: "
                       f"{session.next(1)[0].reason}.")
    assert not any("P(interesting)" in w for w in why)  # no label yet
    # once objects are labelled, the nearest labelled one is named, with its distance
    coords, width = session.space.coords, session.space.bandwidth
    gaps = np.linalg.norm(coords - coords[i], axis=1) / width
    near_one, far_one = (session.ids[j] for j in np.argsort(gaps)[[1, -1]])
    for oid, answer in ((near_one, "interesting"), (far_one, "boring")):
        client.post("/api/label", json={"run": "clusters.csv", "id": oid, "answer": answer})
    client.post("/api/refit", json={"run": "clusters.csv"})
    after = client.get("/api/object", params={"run": "clusters.csv", "id": first}).json()
    gap = gaps[session.ids.index(near_one)]
    assert (f"P(interesting) {session.p_interesting_[i]:.2f} from the labels so far: it lies "
            f"{'near' if gap <= 2 else 'far from'} the labelled objects; the nearest, "
            f"{near_one} (interesting), is {gap:.1f} kernel widths away.") in after["why"]
    labelled = client.get("/api/object", params={"run": "clusters.csv",
                                                 "id": near_one}).json()["why"]
    assert labelled[-1] == "It is labelled interesting, so the ranking puts it at the top."


def test_the_prototype_is_the_nearest_leaf_of_the_leading_configuration():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 4))
    X[:30] += 6.0
    X[30:60] -= 6.0
    with ActiveSession(X, reducers=("none",), levels=(2,), metrics=("l2",),
                       label_free="trees") as session:
        name, note = leading_configuration(session.search_)
        assert name == "none|l2|2|input" and "the one configuration" in note
        leaves = session.search_.estimators_["none"].prototypes(2)
        for i in (0, 40, 80):
            proto = nearest_prototype(session.search_, session.X[i])
            distances = np.linalg.norm(leaves - X[i], axis=1)
            assert np.allclose(proto.values, leaves[np.argmin(distances)])


def test_curves_and_images_come_with_their_prototype(client):
    curve = detail_of(client, "curves.npy", "3")["curve"][0]
    assert len(curve["prototype"]) == len(curve["object"]) == 60
    assert curve["prototype"] != curve["median"]
    image = detail_of(client, "images.npy", "0")["image"]
    assert np.shape(image["prototype"]) == np.shape(image["object"]) == (10, 10)
    peak = np.unravel_index(np.argmax(image["prototype"]), (10, 10))
    assert all(3 <= p <= 6 for p in peak)  # a centred blob, as the normal images are


# ---------------------------------------------------------------------- image context
def test_an_image_is_shown_in_its_context(client, workspace):
    assert "images.context.npy" not in {f["path"] for f in client.get("/api/files").json()[
        "files"]}
    image = detail_of(client, "images.npy", "5")["image"]
    context = np.asarray(image["context"]["image"])
    assert context.shape == (30, 30) and image["context"]["step"] == 1
    assert np.allclose(context[10:20, 10:20], image["object"])
    assert image["context"]["box"] == [9.5, 9.5, 19.5, 19.5]
    assert image["context_problem"] is None


def test_a_context_that_does_not_fit_is_named_not_shown(client, workspace):
    np.save(workspace / "images.context.npy", np.zeros((3, 30, 30)))
    image = detail_of(client, "images.npy", "5")["image"]
    assert "context" not in image and "images.context.npy" in image["context_problem"]


def test_a_context_file_linked_from_outside_the_workspace_is_refused(client, workspace,
                                                                      tmp_path):
    outside = tmp_path / "outside.npy"
    np.save(outside, np.load(workspace / "images.context.npy"))
    (workspace / "images.context.npy").unlink()
    (workspace / "images.context.npy").symlink_to(outside)
    image = detail_of(client, "images.npy", "5")["image"]
    assert "context" not in image
    assert "outside the workspace" in image["context_problem"]
    assert str(tmp_path) not in image["context_problem"]  # no server path in the note


def test_a_large_context_is_averaged_in_blocks():
    from drama.workbench.context import context_view

    context = np.arange(2 * 600 * 520, dtype=np.float64).reshape(2, 600, 520)
    view = context_view(context, 1, (100, 100))
    image = np.asarray(view["image"])
    assert view["step"] == 3 and image.shape == (200, 173)
    assert image[0, 0] == pytest.approx(context[1, :3, :3].mean())
    assert view["box"] == pytest.approx([420 / 2 / 3 - 0.5, 500 / 2 / 3 - 0.5,
                                         420 / 2 / 3 + 100 / 3 - 0.5, 500 / 2 / 3 + 100 / 3 - 0.5])


# ---------------------------------------------------------------------- light curves
def _long_table() -> pd.DataFrame:
    """Two bands, two observing seasons with a 100-day gap; s0 has a flare."""
    rng = np.random.default_rng(3)
    rows = []
    for k in range(24):
        for band in "gr":
            t = np.sort(np.r_[rng.uniform(0, 50, 12), rng.uniform(150, 200, 12)]) + 7.0 * k
            mag = 18 + 0.3 * np.sin(t / 7) + rng.normal(0, 0.05, len(t)) + 0.5 * (band == "r")
            if k == 0:
                mag[5:9] -= 3.0
            rows += [(f"s{k}", ti, mi, 0.05 + 0.01 * j, band)
                     for j, (ti, mi) in enumerate(zip(t, mag, strict=True))]
    return pd.DataFrame(rows, columns=["oid", "mjd", "mag", "magerr", "filter"])


@pytest.mark.parametrize("representation", ["grid", "features"])
def test_a_light_curve_is_shown_as_observed_with_its_prototype(representation):
    from drama.datasets.lightcurves import curves_from_table
    from drama.workbench.annotations import Annotations
    from drama.workbench.lightcurves import Observations
    from drama.workbench.views import detail

    table = _long_table()
    roles = {"id": "oid", "time": "mjd", "mag": "mag", "err": "magerr", "band": "filter"}
    curves = curves_from_table(table, **roles, representation=representation)
    X = curves.table() if curves.X.ndim == 2 else curves.X
    observations = Observations.from_table(table, **roles, representation=representation)
    with ActiveSession(X, ids=curves.ids) as session:
        annotations = Annotations(Path(session.store.path).with_suffix(".workbench.db"))
        index = {oid: i for i, oid in enumerate(session.ids)}
        out = detail(session, annotations, index, "s0",
                     "table" if X.ndim == 2 else "curve", np.median(session.X, axis=0),
                     observations=observations)["light_curve"]
        annotations.close()
    mine = table[table["oid"] == "s0"]
    assert [b["band"] for b in out["bands"]] == ["g", "r"]
    for band in out["bands"]:
        rows = mine[mine["filter"] == band["band"]].sort_values("mjd")
        assert band["time"] == rows["mjd"].tolist() and band["mag"] == rows["mag"].tolist()
        assert band["err"] == rows["magerr"].tolist()
    assert [p["band"] for p in out["prototype"]] == ["g", "r"]
    start, end = mine["mjd"].min(), mine["mjd"].max()
    for proto in out["prototype"]:
        times = np.asarray(proto["time"])
        drawn = [m is not None for m in proto["mag"]]
        assert start - 1e-9 <= times.min() and times.max() <= end + 200
        in_gap = (times > 60) & (times < 140)
        assert not any(np.asarray(drawn)[in_gap])  # no line across the seasons' gap
    if representation == "grid":
        assert "grid" in out["prototype_note"]
        g = out["prototype"][0]
        assert start <= min(g["time"]) and max(g["time"]) <= end
        assert all(abs(m - 18) < 1.0 for m in g["mag"] if m is not None)  # no flare in it
    else:
        other = out["representative"]
        assert other != "s0" and other in out["prototype_note"]
        assert min(out["prototype"][0]["time"]) == pytest.approx(start)


# ---------------------------------------------------------------------- the map
def test_the_map_colours_by_predicted_class(client):
    client.post("/api/runs", json={"path": "table.csv"})
    client.post("/api/label", json={"run": "table.csv", "id": "obj2",
                                    "answer": "interesting", "cls": "far"})
    client.post("/api/refit", json={"run": "table.csv"})
    points = client.get("/api/map", params={"run": "table.csv"}).json()
    assert points["class"][points["ids"].index("obj2")] == "far"
    cells = client.get("/api/map", params={"run": "table.csv", "max_points": 10,
                                           "bins": 4}).json()
    for classes, counts in zip(cells["class"], cells["count"], strict=True):
        # the one tag is every object's proposal; an empty cell has none
        assert classes == ["far" if n else "" for n in counts]


def test_the_map_is_the_latent_space_of_the_configuration_carrying_the_ranking(client):
    from drama.run_report import _two_dimensions

    client.post("/api/runs", json={"path": "curves.npy"})
    points = client.get("/api/map", params={"run": "curves.npy"}).json()
    search = client.app.state.registry.get("curves.npy").session.search_
    name = leading_configuration(search)[0]
    codes = search.estimators_[parse_config(name)["reducer"]].encode(np.load(
        client.app.state.registry.workspace.root / "curves.npy"))
    expected = _two_dimensions(codes)[0]
    np.testing.assert_allclose(np.c_[points["x"], points["y"]], expected, atol=1e-4)
    assert name in points["space"] and "DRAMA's map" in points["space"]
    # not the session's own feature space, which the map drew before
    session = client.app.state.registry.get("curves.npy").session
    assert not np.allclose(np.abs(expected), np.abs(_two_dimensions(session.space.coords)[0]),
                           atol=1e-3)


def test_the_map_is_saved_with_the_fit_and_not_made_again(client, monkeypatch):
    client.post("/api/runs", json={"path": "table.csv"})
    first = client.get("/api/map", params={"run": "table.csv"}).json()
    assert client.post("/api/close", json={"run": "table.csv"}).json()["closed"]

    def made_again(*_args, **_kwargs):
        raise AssertionError("the map was made again")

    monkeypatch.setattr("drama.workbench.runs.latent_map", made_again)
    reopened = client.post("/api/runs", json={"path": "table.csv"}).json()
    assert reopened["fit"] == "saved"
    assert client.get("/api/map", params={"run": "table.csv"}).json() == first


def test_a_zoomed_window_is_binned_again_and_shows_its_points(client):
    client.post("/api/runs", json={"path": "table.csv"})
    every = client.get("/api/map", params={"run": "table.csv"}).json()
    x, y = np.asarray(every["x"]), np.asarray(every["y"])
    coarse = client.get("/api/map", params={"run": "table.csv", "max_points": 10,
                                            "bins": 4}).json()
    assert coarse["mode"] == "cells" and coarse["shown"] == len(x)
    # a window with more objects than max_points: its own 4 x 4 cells, finer than before
    ordered = np.sort(x)  # the window's edges between objects (x is rounded to 1e-4)
    x0, x1 = ordered[0] - 0.01, (ordered[40] + ordered[41]) / 2
    y0, y1 = y.min() - 0.01, y.max() + 0.01
    window = {"x0": x0, "x1": x1, "y0": y0, "y1": y1}
    zoomed = client.get("/api/map", params={"run": "table.csv", "max_points": 10, "bins": 4,
                                            **window}).json()
    within = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    assert zoomed["mode"] == "cells" and zoomed["shown"] == int(within.sum())
    assert sum(map(sum, zoomed["count"])) == int(within.sum())
    assert zoomed["x"][0] == pytest.approx(x0 + (x1 - x0) / 8, abs=1e-3)
    assert zoomed["x"][1] - zoomed["x"][0] < coarse["x"][1] - coarse["x"][0]
    # few enough objects in the window: the objects themselves, and only those
    top = ordered[-5]
    few = client.get("/api/map", params={"run": "table.csv", "max_points": 10, "bins": 4,
                                         "x0": (ordered[-6] + top) / 2, "x1": x.max() + 1, "y0": y0,
                                         "y1": y1}).json()
    assert few["mode"] == "points"
    assert set(few["ids"]) == {i for i, xi in zip(every["ids"], x, strict=True) if xi >= top}
    for bad in ({"x0": 1, "x1": 0, "y0": 0, "y1": 1}, {"x0": 0, "x1": 1}):
        refused = client.get("/api/map", params={"run": "table.csv", **bad})
        assert refused.status_code == 400, refused.text


def test_a_lasso_selects_the_objects_inside_it(client):
    client.post("/api/runs", json={"path": "table.csv"})
    points = client.get("/api/map", params={"run": "table.csv"}).json()
    x, y = np.asarray(points["x"]), np.asarray(points["y"])
    x0, x1 = np.quantile(x, [0.5, 1.0])
    lo, hi = y.min() - 1, y.max() + 1
    polygon = f"{x0},{lo};{x1 + 1},{lo};{x1 + 1},{hi};{x0},{hi}"
    expected = {i for i, xi in zip(points["ids"], x, strict=True) if xi > x0}
    chosen = client.get("/api/map/lasso", params={"run": "table.csv", "polygon": polygon})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["count"] == len(expected) and set(chosen.json()["ids"]) == expected
    assert chosen.json()["score"] == sorted(chosen.json()["score"], reverse=True)
    listed = client.get("/api/candidates", params={"run": "table.csv", "lasso": polygon,
                                                   "limit": 100}).json()
    assert listed["total"] == len(expected) and {r["id"] for r in listed["items"]} == expected
    bad = client.get("/api/map/lasso", params={"run": "table.csv", "polygon": "1,2;3"})
    assert bad.status_code == 400 and "three points" in bad.json()["detail"]


def test_inside_follows_a_concave_polygon():
    ell = parse_polygon("0,0;4,0;4,1;1,1;1,4;0,4")  # an L
    xy = np.array([[0.5, 3.0], [3.0, 0.5], [3.0, 3.0], [2.0, 2.0], [-1.0, 0.5], [0.5, 0.5]])
    assert inside(xy, ell).tolist() == [True, True, False, False, False, True]
    with pytest.raises(ValueError, match="three points"):
        parse_polygon("0,0;1,x;2,2")


def test_a_light_curve_without_errors_or_bands_is_one_series_without_error_bars():
    from drama.datasets.lightcurves import curves_from_table
    from drama.workbench.lightcurves import Observations, light_curve

    table = _long_table()
    table = table[table["filter"] == "g"].drop(columns=["magerr", "filter"])
    roles = {"id": "oid", "time": "mjd", "mag": "mag"}
    curves = curves_from_table(table, **roles, representation="grid", channels=("mag",))
    observations = Observations.from_table(table, **roles, representation="grid",
                                           channels=("mag",))
    with ActiveSession(curves.X, ids=curves.ids) as session:
        proto = nearest_prototype(session.search_, session.X[3])
        out = light_curve(session, observations, 3, proto.values)
    assert [(b["band"], b["err"]) for b in out["bands"]] == [("", None)]
    assert len(out["bands"][0]["time"]) == (table["oid"] == session.ids[3]).sum()
    assert len(out["prototype"]) == 1 and len(out["prototype"][0]["mag"]) == 64


def test_a_run_that_keeps_observations_sends_the_light_curve(client, workspace):
    from drama.datasets.lightcurves import curves_from_table
    from drama.workbench.lightcurves import Observations

    table = _long_table()
    table["oid"] = table["oid"].str.removeprefix("s")  # the ids a .npy run gives: 0..n-1
    roles = {"id": "oid", "time": "mjd", "mag": "mag", "err": "magerr", "band": "filter"}
    np.save(workspace / "lc.npy", curves_from_table(table, **roles, representation="grid").X)
    assert client.post("/api/runs", json={"path": "lc.npy"}).json()["kind"] == "curve"
    run = client.app.state.registry.get("lc.npy")
    run.observations = Observations.from_table(table, **roles, representation="grid")
    detail = client.get("/api/object", params={"run": "lc.npy", "id": "0"}).json()
    assert [b["band"] for b in detail["light_curve"]["bands"]] == ["g", "r"]
    assert detail["light_curve"]["bands"][0]["time"] == sorted(
        table.loc[(table["oid"] == "0") & (table["filter"] == "g"), "mjd"])
