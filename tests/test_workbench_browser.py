"""End to end: ``drama serve`` in a subprocess, driven in Debian's headless Chromium by
Selenium with the system chromedriver (never a downloaded one). Label five candidates with
the keyboard, undo one, re-rank, reload the page and find the labels, export them, open
an object from the map, look at the results, an image and a curve; on the data page, the
column roles, the progress bar, the earlier runs and an upload. With
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
        # the hostile id is shown as text: no element made of it, no script run
        assert HOSTILE_ID in states
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
        browser.execute_script("document.getElementById('map-pane').scrollIntoView()")
        shot("map")
        browser.find_element(By.ID, "map-toggle").click()

        browser.find_element(By.ID, "results-toggle").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#discovery-plot .main-svg")
                   and d.find_elements(By.CSS_SELECTOR, "#histogram-plot .main-svg")
                   and settled(d))
        assert browser.find_elements(By.CSS_SELECTOR, "#configurations tbody tr")
        browser.execute_script("document.getElementById('results-pane').scrollIntoView()")
        shot("results")
        browser.find_element(By.ID, "results-toggle").click()

        Select(browser.find_element(By.ID, "file")).select_by_value("images.npy")
        browser.find_element(By.ID, "open").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot .main-svg") and settled(d)
                   and text("run-name") == "images.npy")
        Select(browser.find_element(By.ID, "stretch")).select_by_value("asinh")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#plot .heatmaplayer .hm")) == 2
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
    finally:
        proc.terminate()
        proc.wait()

