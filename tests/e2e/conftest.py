"""Browser tests: headless Chromium driven by Playwright, a live server, and a real Celery
worker, all in this process so that they share the test database."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-and-unusual-passphrase-42"
TIMEOUT_MS = 15_000


@pytest.fixture
def browser(monkeypatch):
    from django.db import connections

    # Playwright's sync API runs an event loop in this thread; Django's database calls
    # made here while it runs (fixtures, connection cleanup) must still be allowed. Set
    # for these tests only: `check --deploy` rightly refuses it anywhere else.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # Playwright switches greenlets, so database connections opened while it runs
        # belong to its context; close them here or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker consuming from the rig's Redis, in a thread of this process,
    so that it reads the same test database as the live server."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from panel.celery import app

    def close_connections(**kwargs):
        # The worker thread must not keep the test database open after the test.
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ):
            yield
    finally:
        task_postrun.disconnect(close_connections)


def shot(page, name):
    """Save a full-page screenshot for a human to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
