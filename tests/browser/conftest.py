"""Browser tier: the web console in real headless Chromium (Debian's `chromium` and `chromium-driver`)."""

from __future__ import annotations

import shutil

import pytest

from local import topology
from local.stack import LocalSystem
from tests.support.e2e_stack import stack_options

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
EVERY_FEATURE = "labels,faces,text,moderation,properties"


def chromium_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (tests/requirements.txt)"
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not shutil.which(binary):
            return f"{binary} is missing: install Debian's {package} (.ci/run does)"
    return None


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory):
    problem = chromium_problem()
    if problem:
        pytest.skip(f"the browser tests need Chromium: {problem}")
    options = stack_options(log_path=tmp_path_factory.mktemp("console-logs") / "functions.log")
    # Every feature on, as `make local FEATURES=...` turns them on, so the console has boxes and text
    # to show, as in the README's screenshot.
    options.recognition_features = EVERY_FEATURE
    # moto's state is per process: a stage of its own keeps these resources apart from the e2e stacks'.
    with LocalSystem(options, topology.load("browser-console", params=options.stage_params())) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(console_stack):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # .ci/run runs as root, where Chromium's sandbox cannot start.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
