"""What the concurrency tests of the ticket office share: an event about to be rushed, and
a way to release many real clients at once, each in its own thread with its own database
connection (closed at the end), so that PostgreSQL sees them as separate sessions."""

import datetime
import threading

from django.db import connections
from django.utils import timezone

from panel.access import access_for
from tests import factories as f
from ticketing import services


def rush_event() -> dict:
    """The "rush" shop of an organisation, with an event and one date in a week."""
    legal = f.UserFactory(email="organiser@example.test")
    org = f.OrganisationFactory(name="Rush", legal_representative=legal)
    access = access_for(legal, org)
    office = services.office_create(access=access, name="Rush hour", slug="rush")
    event = services.event_create(access=access, office=office, title="Last concert")
    date = services.date_create(
        access=access, event=event, starts_at=timezone.now() + datetime.timedelta(days=7)
    )
    return {"legal": legal, "org": org, "access": access, "office": office, "event": event,
            "date": date}  # fmt: skip


def at_once(jobs, make_client) -> list:
    """Runs every job (a function of a client) in its own thread, all released together;
    `make_client(number)` gives each its client. Returns what the jobs returned."""
    start = threading.Barrier(len(jobs))
    results: list = []
    errors: list[BaseException] = []

    def run(number, job):
        client = make_client(number)
        try:
            start.wait()
            try:
                results.append(job(client))
            finally:
                connections.close_all()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert not any(thread.is_alive() for thread in threads)
    return results
