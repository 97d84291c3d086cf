"""End to end: ``drama serve`` in a subprocess, driven in Debian's headless Chromium by
Selenium with the system chromedriver (never a downloaded one). Label five candidates with
the keyboard, undo one, re-rank, reload the page and find the labels, export them, open
an object from the map, select objects with a lasso on it, zoom into it, look at the
results, why a candidate is proposed and the prototypes of the blend, an image with its
prototype and context, and a curve; a light curve as observed; and on the data page, the
column roles, the progress bar, the earlier runs, an upload and a pictures upload. With
DRAMA_SCREENSHOTS=1 it saves the pages to docs/figures/workbench-*.png.

Where the browser is missing the test skips, except under CI (the CI variable set), where
that is a failure: ``.ci/run`` installs chromium and chromium-driver.
"""

from __future__ import annotations

import csv
import io
import os
import shutil

import pytest
from workbench_helpers import HOSTILE_ID, ROOT, make_workspace, start_server

BROWSER, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WAIT_S = 30


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run the browser test (.ci/run installs it)")
        pytest.skip(f"{why}; apt-get install chromium chromium-driver (CI installs them)")


@pytest.fixture()
def browser():
    _need(BROWSER is not None and DRIVER is not None, "no chromium / chromedriver on PATH")
    try:
        from selenium import webdriver
    except ImportError:
        _need(False, "selenium is not installed (the [dev] extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--window-size=1400,900"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_label_undo_refit_reload_and_export_in_a_real_browser(browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots = os.environ.get("DRAMA_SCREENSHOTS") == "1"
    workspace = make_workspace(tmp_path / "ws", n=40)
    proc, address = start_server(workspace)
    # the list is redrawn after every action: an element read mid-redraw is read again
    wait = WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException])
    text = lambda element_id: browser.find_element(By.ID, element_id).text  # noqa: E731

    def settled(driver) -> bool:
        body = driver.find_element(By.TAG_NAME, "body")
        return body.get_attribute("data-ready") == "1" and not body.get_attribute("data-busy")

    def shot(name: str) -> None:
        if shots:
            browser.save_screenshot(str(ROOT / "docs" / "figures" / f"workbench-{name}.png"))

    try:
        browser.get(address)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#file option")) == 4)
        title = browser.title
        Select(browser.find_element(By.ID, "file")).select_by_value("table.csv")
        roles = "#columns tbody tr td:nth-child(2)"  # the data page: each column's role
        wait.until(lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, roles)] == [
            "id", "feature", "feature", "feature"])
        assert "<b>colour</b>" in text("columns")  # a column name shown as text
        shot("data")
        browser.find_element(By.ID, "start-run").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#candidates tbody tr")) == 40)
        wait.until(lambda d: text("object-id") != "" and settled(d))
        assert browser.find_element(By.ID, "open-progress").get_attribute("value") == "1"
        assert not browser.find_element(By.ID, "data-pane").is_displayed()

        keys = ["i", "b", "4", "1", "i"]
        labelled: list[str] = []
        for n, key in enumerate(keys, start=1):
            shown = text("object-id")
            labelled.append(shown)
            ActionChains(browser).send_keys(key).perform()
            wait.until(lambda d, n=n: text("labelled") == str(n) and settled(d)
                       and text("object-id") not in labelled)  # moved on by itself
        assert len(set(labelled)) == 5

        ActionChains(browser).send_keys("u").perform()
        wait.until(lambda d: text("labelled") == "4" and settled(d))
        assert "Undid the label of " + labelled[-1] in text("status")
        ActionChains(browser).send_keys("r").perform()
        wait.until(lambda d: "Re-ranked" in text("status") and settled(d))

        browser.refresh()  # the address keeps the run; the labels come from the store
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#candidates tbody tr")) == 40)
        wait.until(lambda d: text("labelled") == "4" and settled(d))
        browser.find_element(By.ID, "unlabelled-first").click()  # the labels in rank order
        first_row = "#candidates tbody tr:first-child td:nth-child(4)"
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, first_row).text == "interesting"
                   and settled(d))
        shot("candidates")
        states = {}
        for row in browser.find_elements(By.CSS_SELECTOR, "#candidates tbody tr"):
            cells = row.find_elements(By.TAG_NAME, "td")
            states[cells[1].text] = (cells[3].text, cells[5].text)
        assert [states[i] for i in labelled] == [
            ("interesting", ""), ("boring", ""), ("interesting", "4"), ("boring", "1"),
            ("", "")]
        # why the selected candidate is proposed, and every configuration's prototype
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#why li")) >= 3)
        assert text("why").startswith("Rank ")
        blend = "#blend-prototypes tbody tr"
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, blend)) > 1)
        chosen = browser.find_elements(By.CSS_SELECTOR, blend)[1]
        other = chosen.get_attribute("data-configuration")
        chosen.click()
        wait.until(lambda d: settled(d) and f"the prototype of {other}" in text("prototype-note")
                   and "selected" in d.find_elements(By.CSS_SELECTOR, blend)[1]
                   .get_attribute("class"))
        # the hostile id is shown as text: no element made of it, no script run
        assert HOSTILE_ID in states
        hostile = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#candidates tbody tr")
                       if r.get_attribute("data-id") == HOSTILE_ID)
        hostile.click()  # its pane, why and blend included, holds it as text too
        wait.until(lambda d: text("object-id") == HOSTILE_ID and settled(d))
        assert browser.find_elements(By.CSS_SELECTOR, "#object-pane img") == []
        assert browser.find_elements(By.CSS_SELECTOR, "#candidates img") == []
        assert browser.title == title

        href = browser.find_element(By.ID, "export-labels-csv").get_attribute("href")
        exported = browser.execute_async_script(
            "fetch(arguments[0]).then(r => r.text()).then(arguments[1])", href)
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert [(r["id"], r["answer"], r["rating"]) for r in rows] == [
            (labelled[0], "interesting", ""), (labelled[1], "boring", ""),
            (labelled[2], "interesting", "4"), (labelled[3], "boring", "1")]

        browser.find_element(By.ID, "map-toggle").click()  # open an object from the map
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map-plot .point")) == 40
                   and settled(d))
        point = browser.find_elements(By.CSS_SELECTOR, "#map-plot .point")[7]
        ActionChains(browser).move_to_element(point).perform()
        wait.until(lambda d: text("map-hover") != "")
        hovered = text("map-hover")
        ActionChains(browser).click().perform()
        wait.until(lambda d: text("object-id") == hovered and settled(d))
        # a lasso round the right half of the map lists those objects and filters the list
        expected = browser.execute_script("""
            const t = document.getElementById('map-plot'), xs = t.data[0].x, ys = t.data[0].y;
            const mid = [...xs].sort((a, b) => a - b)[20] - 1e-6;
            const x1 = Math.max(...xs) + 1, y0 = Math.min(...ys) - 1, y1 = Math.max(...ys) + 1;
            t.emit('plotly_selected', {points: [],
              lassoPoints: {x: [mid, x1, x1, mid], y: [y0, y0, y1, y1]}});
            return xs.filter((x) => x > mid).length;""")
        wait.until(lambda d: text("lasso-count").startswith(f"{expected} objects") and settled(d))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#lasso-list li")) == expected
        browser.find_element(By.ID, "lasso-filter").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#candidates tbody tr"))
                   == expected and settled(d))
        browser.execute_script("document.getElementById('map-pane').scrollIntoView()")
        shot("map")
        Select(browser.find_element(By.ID, "map-colour")).select_by_value("class")
        wait.until(settled)
        browser.find_element(By.ID, "lasso-clear").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#candidates tbody tr"))
                   == 40 and settled(d))
        assert text("map-space").startswith("DRAMA's map: ")
        # a zoom with the mouse: the server sends the window's objects, and only those
        every = browser.execute_script("const t = document.getElementById('map-plot');"
                                       "return [t.data[0].x, t.data[0].y];")
        browser.execute_script(
            "document.getElementById('map-plot').scrollIntoView({block: 'center'})")
        area = browser.find_element(By.CSS_SELECTOR, "#map-plot .nsewdrag")
        dx, dy = browser.execute_script("""
            const r = document.querySelector('#map-plot .nsewdrag').getBoundingClientRect();
            const p = document.querySelectorAll('#map-plot .point')[7].getBoundingClientRect();
            return [Math.round(p.x + p.width / 2 - r.x - r.width / 2),
                    Math.round(p.y + p.height / 2 - r.y - r.height / 2)];""")
        ActionChains(browser).move_to_element_with_offset(area, dx - 25, dy - 25) \
            .click_and_hold().move_by_offset(50, 50).release().perform()  # round one point
        wait.until(lambda d: settled(d) and d.execute_script("return state.mapWindow") and
                   d.find_element(By.ID, "map-plot").get_attribute("data-shown") != "40")
        x0, x1, y0, y1 = browser.execute_script("return state.mapWindow")
        inside = sum(x0 <= x <= x1 and y0 <= y <= y1 for x, y in zip(*every, strict=True))
        assert 1 <= inside < 40
        assert browser.find_element(By.ID, "map-plot").get_attribute("data-shown") == str(inside)
        assert browser.execute_script(
            "return document.getElementById('map-plot').data[0].x.length") == inside
        assert "in the zoomed window" in text("map-space")
        point = browser.find_elements(By.CSS_SELECTOR, "#map-plot .point")[0]
        ActionChains(browser).move_to_element(point).perform()  # a click still opens one
        wait.until(lambda d: text("map-hover") != "")
        hovered = text("map-hover")
        ActionChains(browser).click().perform()
        wait.until(lambda d: text("object-id") == hovered and settled(d))
        browser.execute_script("Plotly.relayout('map-plot', {'xaxis.autorange': true, "
                               "'yaxis.autorange': true})")  # as a double click does
        wait.until(lambda d: settled(d) and d.find_element(By.ID, "map-plot")
                   .get_attribute("data-shown") == "40")
        browser.find_element(By.ID, "map-toggle").click()

        browser.find_element(By.ID, "results-toggle").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#discovery-plot .main-svg")
                   and d.find_elements(By.CSS_SELECTOR, "#histogram-plot .main-svg")
                   and settled(d))
        assert browser.find_elements(By.CSS_SELECTOR, "#configurations tbody tr")
        browser.execute_script("document.getElementById('results-pane').scrollIntoView()")
        shot("results")
        browser.find_element(By.ID, "results-toggle").click()

        assert "Compared with the prototype of " in text("prototype-note")
        assert browser.find_elements(By.CSS_SELECTOR, "#prototype-deviations tbody tr")

        import numpy as np  # the images' context: each cutout in the middle of a larger view

        cutouts = np.load(workspace / "images.npy")
        context = np.random.default_rng(0).normal(size=(len(cutouts), 30, 30))
        context[:, 10:20, 10:20] = cutouts
        np.save(workspace / "images.context.npy", context)
        Select(browser.find_element(By.ID, "file")).select_by_value("images.npy")
        browser.find_element(By.ID, "open").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot .main-svg") and settled(d)
                   and text("run-name") == "images.npy")
        Select(browser.find_element(By.ID, "stretch")).select_by_value("asinh")
        # the cutout, its prototype and its context, the cutout's box drawn in the context
        assert len(browser.find_elements(By.CSS_SELECTOR, "#plot .heatmaplayer .hm")) == 3
        assert browser.find_elements(By.CSS_SELECTOR, "#plot .shapelayer path")
        shot("image")

        Select(browser.find_element(By.ID, "file")).select_by_value("curves.npy")
        browser.find_element(By.ID, "open").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot .scatterlayer .trace")
                   and settled(d) and text("run-name") == "curves.npy")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#plot .scatterlayer .trace")) == 2
        shot("curve")

        browser.find_element(By.ID, "data-toggle").click()  # earlier runs, an upload
        earlier = "#earlier-runs tbody tr td:first-child"
        wait.until(lambda d: sorted(c.text for c in d.find_elements(By.CSS_SELECTOR, earlier))
                   == ["curves.npy", "images.npy", "table.csv"])
        browser.find_element(By.ID, "upload-file").send_keys(str(workspace / "table.csv"))
        browser.find_element(By.ID, "upload").click()
        wait.until(lambda d: "Uploaded as uploads/table.csv" in text("status"))
        assert Select(browser.find_element(By.ID, "file")).first_selected_option.get_attribute(
            "value") == "uploads/table.csv"
        import matplotlib.image as mpimg  # pictures upload as a new image folder

        for k in range(6):
            mpimg.imsave(tmp_path / f"pic{k}.png", np.random.default_rng(k).uniform(
                size=(8, 8)), cmap="gray")
        browser.find_element(By.ID, "upload-images-files").send_keys(
            "\n".join(str(tmp_path / f"pic{k}.png") for k in range(6)))
        browser.find_element(By.ID, "upload-images-folder").send_keys("cutouts")
        browser.find_element(By.ID, "upload-images").click()
        wait.until(lambda d: "Uploaded 6 pictures as the image folder uploads/cutouts"
                   in text("status"))
        assert Select(browser.find_element(By.ID, "file")).first_selected_option.get_attribute(
            "value") == "uploads/cutouts"
        wait.until(lambda d: "image data, shape 6 × 8 × 8" in text("columns-note"))
    finally:
        proc.terminate()
        proc.wait()



def test_a_light_curve_is_drawn_as_observed(browser, tmp_path):
    """A long-format light-curve table opened as a run (its columns named in the options)
    draws each object's points with error bars per band and the prototype; band names are
    data, shown literally in the legend (never as plotly's pseudo-HTML: no link, no bold)."""
    import json
    import threading
    import urllib.request

    import numpy as np
    import pandas as pd
    import uvicorn
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from drama.workbench.app import create_app

    rng = np.random.default_rng(3)
    rows = []
    g, r = '<a href="https://example.com/">g</a>', "<b>r</b> & 'i'"
    for k in range(24):
        for band in (g, r):
            t = np.sort(np.r_[rng.uniform(0, 50, 12), rng.uniform(150, 200, 12)])
            mag = 18 + 0.3 * np.sin(t / 7) + rng.normal(0, 0.05, 24) + 0.5 * (band == r)
            rows += [(str(k), ti, mi, 0.05, band) for ti, mi in zip(t, mag, strict=True)]
    table = pd.DataFrame(rows, columns=["oid", "mjd", "mag", "magerr", "filter"])
    roles = {"id": "oid", "time": "mjd", "mag": "mag", "err": "magerr", "band": "filter"}
    workspace = tmp_path / "ws"
    workspace.mkdir()
    table.to_csv(workspace / "lc.csv", index=False)
    app = create_app(workspace)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        WebDriverWait(browser, WAIT_S).until(lambda _: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        address = f"http://127.0.0.1:{port}/"
        options = {"reducers": ["none", "pca"], "levels": 2,
                   "curves": {**roles, "representation": "grid"}}
        request = urllib.request.Request(
            address + "api/runs", method="POST",
            data=json.dumps({"path": "lc.csv", "options": options}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=WAIT_S).read()
        browser.get(address + "?run=lc.csv")
        WebDriverWait(browser, WAIT_S).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#plot .errorbar")
            and d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        legend = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#plot .legendtext")}
        assert legend == {f"band {g}", f"band {r}", f"prototype, band {g}",
                          f"prototype, band {r}"}
        assert not browser.find_elements(By.CSS_SELECTOR, "#plot .legend a")
        assert not browser.find_elements(By.CSS_SELECTOR, "#plot .legend tspan[style*=bold]")
        assert "time" in browser.find_element(By.CSS_SELECTOR, "#plot .xtitle").text
        assert "On the time axis: the prototype's grid" in browser.find_element(
            By.ID, "prototype-note").text
        if os.environ.get("DRAMA_SCREENSHOTS") == "1":
            browser.save_screenshot(str(ROOT / "docs" / "figures" / "workbench-lightcurve.png"))
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
