"""Fixtures for browser tests: headless Chromium (Playwright), screenshots of every test, Jupyter servers.

- `browser`: one headless Chromium per test process (Debian's `chromium`, or $COURSE_CHROMIUM). Without one,
  or without Playwright, every browser test is skipped with one line saying how to enable them.
- `page`: a fresh browser context and tab per test; its last screenshot is taken when the test ends.
- `screenshots`: the test's folder under .cache/screenshots/ (git-ignored), numbered in the order taken.
- `lab`: a `JupyterLab` tab on the server that the test's class provides as its `lab_server` fixture.
- `start_course_lab(tmp_path_factory, *options)`: the course copied to a temporary folder and started exactly
  as `./course lab [options]` starts it, minus opening a browser.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .lab import JupyterLab, Screenshots
from .servers import ROOT, JupyterServer, copy_course, jupyter_environment, start_jupyter

SCREENSHOTS = ROOT / ".cache" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, and quiet: no sandbox (CI runs as root), GPU, QUIC, first-run, sync, component or other
# background requests. Playwright adds its own fresh --user-data-dir.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-domain-reliability", "--no-pings"]
HOW_TO_ENABLE = ("browser tests need Chromium and Playwright: apt-get install chromium (or set COURSE_CHROMIUM "
                 "to a Chrome/Chromium binary), then ./course test")


def find_chromium() -> str | None:
    named = os.environ.get("COURSE_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if not executable:
        pytest.skip(HOW_TO_ENABLE)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    if report.skipped and isinstance(report.longrepr, tuple) and HOW_TO_ENABLE in report.longrepr[2]:
        # one place for every such skip, so that `-ra` folds them into one line
        report.longrepr = (os.path.relpath(__file__, item.config.rootpath), 0, report.longrepr[2])
    return report


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    folder = SCREENSHOTS / request.node.module.__name__.rsplit(".", 1)[-1] / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    return Screenshots(folder)


@pytest.fixture
def page(browser, screenshots: Screenshots, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    tab = context.new_page()
    yield tab
    screenshots.take(tab, "failed" if getattr(request.node, "browser_test_failed", True) else "end")
    context.close()


@pytest.fixture
def lab(page, lab_server: JupyterServer, screenshots: Screenshots, request) -> Iterator[JupyterLab]:
    yield JupyterLab(page, lab_server, screenshots, workspace=request.node.name)
    lab_server.shutdown_kernels()  # the next test starts from a quiet server


def start_course_lab(tmp_path_factory: pytest.TempPathFactory, *options: str) -> JupyterServer:
    """A copy of the course served by its own `./course lab` (same virtual environment as this test run)."""
    work = tmp_path_factory.mktemp("course-lab")
    course = copy_course(work / "course")
    if not installed_by_course(Path(sys.prefix), course):
        pytest.skip("these tests start ./course lab in this environment: run them with ./course test")
    env = jupyter_environment(work / "home")
    env["COURSE_VENV"] = sys.prefix  # ./course finds it installed and starts at once
    return start_jupyter([str(course / "course"), "lab", *options], cwd=course, home=work / "home", env=env)


def installed_by_course(venv: Path, course: Path) -> bool:
    """True when `./course` would start at once from `venv` (it installed this pyproject.toml there)."""
    with open(course / "pyproject.toml", "rb") as pyproject:
        checksum = subprocess.run(["cksum"], stdin=pyproject, capture_output=True, text=True).stdout.split()[0]
    return any((venv / f".installed-{extra}-{checksum}").exists() for extra in ("course", "test"))
