"""Browser tests: Playwright (Python, sync API) driving Debian's Chromium, headless, against
pytest-django's live server. Never `playwright install`: the browser is /usr/bin/chromium.

The live server needs committed data, so these tests use the transactional database; the
flush at the end of each test works because tests/conftest.py runs it with the append-only
triggers ignored.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made from the
# test body (fixtures, assertions) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("ESEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# A step's wait for the server (htmx round trip, page load); generous for a loaded CI machine.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def shots():
    """Screenshots of each step into $ESEP_BROWSER_SHOTS (a directory), when it is set."""
    directory = os.environ.get("ESEP_BROWSER_SHOTS")

    def take(page, name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)

    return take
