"""The Perses dashboards in a real browser, shared by the Compose test here and molecule/k8s_apply's.

Perses must have loaded both plugins and provisioned the environment's dashboard with a row per
catalog service; Chromium (Debian's, driven through chromedriver) then opens the dashboard and
every panel must draw its chart (ECharts paints a canvas) with a legend naming a series of its
service: a panel whose query failed or found no series draws an empty chart with no legend.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

try:  # a package here; molecule/k8s_apply puts this directory on sys.path
    from .waiting import wait_for
except ImportError:
    from waiting import wait_for

PROJECT = "goaltrajectory"
PLUGINS = {"Prometheus", "TimeSeriesChart"}


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def assert_dashboard_renders(base: str, environment: str, services: dict, profile: Path, screenshot: Path) -> float:
    """Open the services dashboard of ``environment`` at ``base``; return the seconds until every panel drew."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    plugins = wait_for(
        "Perses to load its plugins",
        lambda: {p["metadata"]["name"]: p["status"] for p in _get_json(f"{base}/api/v1/plugins")} or None,
        60,
    )
    assert set(plugins) == PLUGINS and all(s["isLoaded"] for s in plugins.values()), plugins
    name = f"services-{environment}"
    url = f"{base}/api/v1/projects/{PROJECT}/dashboards/{name}"
    deadline, answer = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        try:
            board = _get_json(url)
            break
        except urllib.error.HTTPError as exc:  # 4xx until Perses has read its provisioning folder
            answer = exc.code
            time.sleep(3)
    else:
        raise AssertionError(f"Perses did not provision {name} within 90 s: GET {url} answered {answer}")
    rows = [layout["spec"]["display"]["title"] for layout in board["spec"]["layouts"]]
    assert rows == list(services), "a row per catalog service, in catalog order"
    titles = sorted(p["spec"]["display"]["name"] for p in board["spec"]["panels"].values())

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1600,2400",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    try:
        start = time.monotonic()
        driver.get(f"{base}/projects/{PROJECT}/dashboards/{name}")

        def panels():
            # A panel's text: its title (the first line), then its legend: one line per series drawn.
            found = driver.find_elements(By.CSS_SELECTOR, "[data-testid='panel']")
            return {p.text.split("\n")[0]: (len(p.find_elements(By.TAG_NAME, "canvas")), p.text) for p in found}

        def missing(state):
            """Panels not drawn yet: absent, no chart, or no series of their service in the legend (an
            empty or failed query draws an empty chart with no legend)."""
            out = [title for title in titles if title not in state]
            for title, (canvases, text) in state.items():
                service = title.split(":")[0]
                if not canvases or not any(service in line for line in text.split("\n")[1:]):
                    out.append(title)
            return sorted(out)

        deadline, state = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            state = panels()
            if sorted(state) == titles and not missing(state):
                break
            time.sleep(2)
        seconds = time.monotonic() - start
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    assert not missing(state), (
        f"panels not drawn with their service's series in 90 s: {missing(state)} (see {screenshot})"
    )
    return seconds
