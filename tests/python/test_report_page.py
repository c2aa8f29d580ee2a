"""The HTML report in a real browser (headless Chromium through Selenium and Debian's
chromedriver): `trustbench run --html` and `trustbench report --html` over the results of
two implementations draw a matrix, filter it, and show a scenario's request timeline. A
screenshot of the page is kept in target/report-screenshots/ as a test artifact.

ci/test.sh installs Debian's chromium and chromium-driver when absent.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import REPO, _binary

SHOTS = REPO / "target" / "report-screenshots"
FILTER = "cross-account"

# A scenario that fails on purpose, so the page has a failure to show.
FAILING = """\
description: "Expects success from a user without DescribeRegions: a failure the report shows."
base: ../../scenarios/worlds/connector.yaml
connector:
  credentials: {access_key: {access_key_id: AKIANODESCRIBE111111, secret_access_key: no-describe-secret}}
steps:
  - connection_test: {expect: success}
"""


def _trustbench(*args, cwd=REPO):
    return subprocess.run([str(_binary()), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def browser():
    for path in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: ci/test.sh installs Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A run of the reference connector (with one failing scenario) and a conformance run of
    the reference connector behind the protocol, as JSON, HTML, and merged."""
    tmp = tmp_path_factory.mktemp("report")
    failing = REPO / "target" / "report-scenarios"
    failing.mkdir(parents=True, exist_ok=True)
    (failing / "cross-account-failure-shown-by-the-report.yaml").write_text(FAILING)
    run_json, run_html = tmp / "run.json", tmp / "run.html"
    out = _trustbench("run", "scenarios", str(failing), "--filter", FILTER, "--json", str(run_json),
                      "--html", str(run_html))
    assert out.returncode == 1, out.stdout + out.stderr  # the failing scenario fails
    connector = REPO / "target" / "debug" / "trustbench-connector"
    conform_json = tmp / "conform.json"
    out = _trustbench("conform", "--connector", str(connector), "--label", "reference behind the protocol",
                      "--filter", FILTER, "--json", str(conform_json), "--html", str(tmp / "conform.html"))
    assert out.returncode == 0, out.stdout + out.stderr
    merged = tmp / "merged.html"
    out = _trustbench("report", "--html", str(merged), str(run_json), str(conform_json))
    assert out.returncode == 0, out.stdout + out.stderr
    return {"run": run_html, "merged": merged, "run_json": run_json}


def _open(browser, page: Path):
    browser.get(page.as_uri())
    return browser.find_element(By.ID, "matrix")


def test_the_page_is_self_contained(reports):
    text = reports["merged"].read_text()
    # No external asset: nothing is fetched from anywhere.
    for needle in ("src=\"http", "href=\"http", "@import", "url(http"):
        assert needle not in text


def test_the_matrix_has_a_column_per_implementation_and_a_cell_per_result(browser, reports):
    matrix = _open(browser, reports["merged"])
    headers = [th.text for th in matrix.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers == ["scenario", "reference connector", "reference behind the protocol"]
    rows = matrix.find_elements(By.CSS_SELECTOR, "tbody tr")
    results = json.loads(reports["run_json"].read_text())
    assert len(rows) == len(results)
    failing = matrix.find_element(By.CSS_SELECTOR, 'tr[data-scenario="cross-account-failure-shown-by-the-report"]')
    cells = failing.find_elements(By.CSS_SELECTOR, "td")
    assert cells[0].text == "fail"
    assert cells[1].text == "not run"  # only the run had it
    passing = matrix.find_element(By.CSS_SELECTOR, 'tr[data-scenario="cross-account-wrong-external-id"]')
    assert [c.text for c in passing.find_elements(By.CSS_SELECTOR, "td")] == ["pass", "pass"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "matrix.png"))


def test_filters_hide_what_does_not_match(browser, reports):
    _open(browser, reports["run"])
    visible = lambda: [r for r in browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr") if r.is_displayed()]
    total = len(visible())
    Select(browser.find_element(By.ID, "filter-outcome")).select_by_visible_text("fail")
    assert [r.get_attribute("data-scenario") for r in visible()] == ["cross-account-failure-shown-by-the-report"]
    assert browser.find_element(By.ID, "shown").text == f"1 of {total} scenarios shown"
    Select(browser.find_element(By.ID, "filter-outcome")).select_by_visible_text("all")
    box = browser.find_element(By.ID, "filter-text")
    box.send_keys("wrong-external")
    names = [r.get_attribute("data-scenario") for r in visible()]
    assert names == ["cross-account-wrong-external-id"], names
    box.clear()
    box.send_keys(" ")  # fires input; only whitespace matches everything
    Select(browser.find_element(By.ID, "filter-partition")).select_by_visible_text("aws-us-gov")
    assert all("govcloud" in r.get_attribute("data-scenario") for r in visible()), [r.get_attribute("data-scenario") for r in visible()]


def test_a_scenario_shows_its_steps_and_request_timeline(browser, reports):
    matrix = _open(browser, reports["run"])
    row = matrix.find_element(By.CSS_SELECTOR, 'tr[data-scenario="cross-account-wrong-external-id"]')
    row.find_element(By.CSS_SELECTOR, "td a").click()
    section = browser.find_element(By.ID, "detail-cross-account-wrong-external-id--0")
    steps = section.find_elements(By.CSS_SELECTOR, "table.steps tbody tr")
    assert "connection_test" in steps[0].text and "assume_role" in steps[0].text
    requests = section.find_elements(By.CSS_SELECTOR, "ol.timeline li.request")
    actions = [r.get_attribute("data-action") for r in requests]
    assert "AssumeRole" in actions, actions
    denied = [r for r in requests if r.get_attribute("data-decision") == "denied"]
    assert denied and "AccessDenied" in denied[0].text
    browser.save_screenshot(str(SHOTS / "timeline.png"))
    # A scenario whose calls were allowed: the least-privilege policy per principal, with a
    # copy button.
    row = matrix.find_element(By.CSS_SELECTOR, 'tr[data-scenario="access-key-cross-account-with-external-id-succeeds"]')
    row.find_element(By.CSS_SELECTOR, "td a").click()
    section = browser.find_element(By.ID, "detail-access-key-cross-account-with-external-id-succeeds--0")
    principals = [h.text for h in section.find_elements(By.CSS_SELECTOR, "div.principal h4")]
    assert "arn:aws:iam::111111111111:user/connector" in principals, principals
    policy = json.loads(section.find_element(By.CSS_SELECTOR, "pre.policy").text)
    actions = [a for st in policy["Statement"] for a in st["Action"]]
    assert "sts:AssumeRole" in actions, policy
    assert section.find_element(By.CSS_SELECTOR, "button.copy").is_displayed()


def test_the_page_reads_on_a_narrow_screen_and_from_the_keyboard(browser, reports):
    browser.set_window_size(400, 900)
    try:
        _open(browser, reports["run"])
        # Filters stack; the page itself does not scroll sideways (the matrix scrolls in its box).
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400, width
        # Tab reaches the filters and the matrix links.
        focused = set()
        body = browser.find_element(By.TAG_NAME, "body")
        for _ in range(8):
            body.send_keys("\t")
            focused.add(browser.switch_to.active_element.get_attribute("id") or browser.switch_to.active_element.tag_name)
        assert "filter-outcome" in focused and "filter-text" in focused, focused
        browser.save_screenshot(str(SHOTS / "narrow.png"))
    finally:
        browser.set_window_size(1280, 900)
