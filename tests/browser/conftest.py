"""Browser-test harness: open a self-contained HTML report in Debian's headless Chromium.

Fixtures
--------
``open_report(path) -> (page, console_errors)``
    Opens ``path`` (a ``Path`` or ``str`` to a local HTML file) in a new page and waits for it to load.
    ``console_errors`` is a live list of strings: every ``console.error`` message, every uncaught page
    error (``pageerror``) and every request that leaves the file (``http:``/``https:``/``ws:``...), because
    our reports must be self-contained. Assert ``console_errors == []`` after interacting with the page.
``screenshot(page, name) -> Path``
    Writes a full-page PNG to ``reports/screenshots/<name>.png`` (git-ignored via ``/reports/``) and
    returns its path.

The browser is ``/usr/bin/chromium`` (apt package ``chromium``, installed by ``make test``) driven through
playwright's sync API; playwright's own downloaded browsers are never used. When the executable is missing
the tests FAIL (not skip) with a message that says how to install it.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.simhost.paths import ensure_collection_link

ensure_collection_link()

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "reports" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
# Schemes a self-contained report may load from (its own file, inline data, in-page blobs).
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
MISSING_BROWSER = (
    "{path} not found: the browser tests need Debian's Chromium. `make test` installs it "
    "(apt package `chromium`: sudo apt-get install -y chromium)."
)


def _launch_options() -> dict:
    """Options for ``launch_persistent_context``; fails the test when Chromium is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(MISSING_BROWSER.format(path=CHROMIUM), pytrace=False)
    return {
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": list(CHROMIUM_ARGS),
        "viewport": dict(VIEWPORT),
    }


@pytest.fixture(scope="session")
def browser_context():
    """One headless Chromium for the session, with a fresh user-data dir removed afterwards."""
    options = _launch_options()
    try:
        from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel
    except ImportError as exc:  # pragma: no cover - .venv ships playwright
        pytest.fail(f"playwright is not importable ({exc}); run the browser tests with .venv/bin/python", pytrace=False)
    user_data = tempfile.mkdtemp(prefix="fieldkit-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(user_data, **options)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(user_data, ignore_errors=True)


def _watch(page, errors: list) -> None:
    """Collect console errors, uncaught exceptions and non-local requests of ``page`` into ``errors``."""
    def on_console(msg):
        if msg.type == "error":
            errors.append(f"console.error: {msg.text}")

    def on_page_error(exc):
        errors.append(f"pageerror: {exc}")

    def on_request(request):
        if not request.url.startswith(LOCAL_SCHEMES):
            errors.append(f"external request: {request.url}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", on_request)


@pytest.fixture
def open_report(browser_context):
    """Return ``open(path) -> (page, console_errors)``; pages are closed when the test ends."""
    pages = []

    def _open(path):
        target = Path(path).resolve()
        if not target.is_file():
            pytest.fail(f"report not found: {target}", pytrace=False)
        page = browser_context.new_page()
        pages.append(page)
        errors: list = []
        _watch(page, errors)
        page.goto(target.as_uri(), wait_until="load")
        return page, errors

    yield _open
    for page in pages:
        if not page.is_closed():
            page.close()


@pytest.fixture
def screenshot():
    """Return ``shot(page, name) -> Path`` writing ``reports/screenshots/<name>.png``."""
    def _shot(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"
        target = SCREENSHOT_DIR / f"{safe}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return _shot
