"""Headless Chromium (Debian's, driven by Playwright) against pytest-django's live server.

Never runs ``playwright install``: the browser is the system's /usr/bin/chromium. Screenshots
go to artifacts/screenshots/ (git-ignored; CI keeps them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evalsite.conftest import PASSWORD, run_tasks_immediately, synthetic_photo

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PICO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
VIEWPORT = {"width": 1600, "height": 1000}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium (debian-packages.txt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh browser context (own cookies), closed after the test."""
    contexts = []

    def make(*, device_scale_factor: float = 1, user_agent: str | None = None, viewport: dict | None = None):
        options = {"viewport": viewport or VIEWPORT, "device_scale_factor": device_scale_factor}
        if user_agent:
            options["user_agent"] = user_agent
        context = browser.new_context(**options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop page at devicePixelRatio 1."""
    return new_page()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


def log_in(page, url: str, user: str = "alice") -> None:
    """Open ``url`` (a page behind the login, or the login page) and log in there as ``user``."""
    page.goto(url)
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def photo_library(settings, tmp_path, study_data_dir) -> Path:
    """An allowed folder ``photos`` of two small photos for the create form; generation, and the
    colour plate pool filled at launch, run in the request (immediate task backend)."""
    run_tasks_immediately(settings)
    settings.STUDY_LADDER_JOBS = 1
    settings.SCREENING_PLATE_POOL_RATERS = 1
    root = tmp_path / "library"
    (root / "photos").mkdir(parents=True)
    for index in range(2):
        synthetic_photo(160, 120, seed=index + 3).save(root / "photos" / f"scene{index}.png")
    settings.STUDY_IMAGE_ROOT = root
    return root
