"""Browser tests: headless Chromium driven by Playwright, a live server, and a real Celery
worker, all in this process so that they share the test database."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made here by
# pytest-django (database flush) and by the tests must still be allowed.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "a-long-and-unusual-passphrase-42"
TIMEOUT_MS = 15_000


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


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
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=30):
            yield
    finally:
        task_postrun.disconnect(close_connections)


def shot(page, name):
    """Save a full-page screenshot for a human to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _debug_connections(live_server):
    yield
    import threading, time
    from django.db import connection
    time.sleep(1)
    with connection.cursor() as c:
        c.execute("select pid, state, left(query, 200), backend_start from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
        for row in c.fetchall():
            print("CONN", row)
    print("THREADS", [t.name for t in threading.enumerate()])
