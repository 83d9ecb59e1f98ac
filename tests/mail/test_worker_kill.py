"""A Celery worker killed (SIGKILL, pool children included) in the middle of a CSV
creation Job and of a nightly backup, then started again: the redelivered tasks finish
the work without duplicates, and no half snapshot is ever visible.

The workers are real `celery worker` processes (prefork, as in production) on the rig's
Redis and the test database, with a short visibility timeout so the task taken by the
killed worker is handed out again within seconds.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mail import backups
from mail.models import Address, CreationBudget, CsvImport, Snapshot
from mail.services import address_create
from mail.services.bulk import csv_import_start
from mail.tasks import back_up_service_task
from panel.access import access_for
from panel.models import Job
from tests import factories as f
from tests.rig import database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

VISIBILITY_SECONDS = 3
WAIT_SECONDS = 90
PASSWORD = "Sturdy-Pass-2048"


class Worker:
    """`celery -A panel worker` in its own process group, killed like a crashed host."""

    def __init__(self, env: dict, log: Path):
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "panel", "worker", "--pool=prefork",
             "--concurrency=1", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel=INFO"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def worker_env(settings, tmp_path):
    settings.MAIL_STORE_ROOT = tmp_path / "mail"
    settings.MAIL_BACKUP_ROOT = tmp_path / "backups"
    settings.MAIL_STORE_ROOT.mkdir()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="panel.settings.test",
        DATABASE_URL=database_url_for_tests(),
        PANEL_MAIL_STORE_ROOT=str(settings.MAIL_STORE_ROOT),
        PANEL_MAIL_BACKUP_ROOT=str(settings.MAIL_BACKUP_ROOT),
        PANEL_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS),
    )
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path):
    started = []

    def start() -> Worker:
        worker = Worker(worker_env, tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_until(condition, what: str, log: Path):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} after {WAIT_SECONDS}s; worker log:\n{log.read_text()[-12000:]}"
            )
        time.sleep(0.05)


def test_a_csv_job_killed_mid_way_finishes_once_after_a_restart(org_world, start_worker, tmp_path):
    admin = access_for(org_world["admin"], org_world["org"])
    service = f.MailServiceFactory(
        organisation=org_world["org"], plan="premium", address_quota=5000, domain="kill.test"
    )
    CreationBudget.objects.create(organisation=org_world["org"], unlimited=True)
    rows = "".join(f"user{i},Pass-word-{i:05d}\n" for i in range(3000))
    worker = start_worker()
    csv_import = csv_import_start(access=admin, service=service, data=rows.encode())
    job_id = csv_import.job_id
    log = tmp_path / "worker.log"
    wait_until(lambda: Job.objects.get(pk=job_id).done >= 300, "no progress", log)
    worker.kill()  # mid-way through hashing: nothing is in the database yet
    assert Address.objects.filter(service=service).count() == 0

    start_worker()
    wait_until(lambda: Job.objects.get(pk=job_id).is_finished, "job not finished", log)
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.errors
    assert Address.objects.filter(service=service).count() == 3000
    assert CsvImport.objects.get(pk=csv_import.pk).payload == ""


def test_a_backup_killed_mid_way_never_shows_a_half_snapshot(
    org_world, start_worker, tmp_path, settings
):
    admin = access_for(org_world["admin"], org_world["org"])
    service = f.MailServiceFactory(
        organisation=org_world["org"], plan="premium", address_quota=40, domain="killbackup.test"
    )
    body = b"x" * 20_000
    for n in range(40):
        address, _ = address_create(
            access=admin,
            service=service,
            local_part=f"box{n}",
            mode="unassigned",
            password=PASSWORD,
        )
        maildir = backups.maildir_of(service.domain, address.local_part)
        for m in range(150):
            backups.write_message(
                maildir, "INBOX", b"Subject: %d-%d\r\n\r\n" % (n, m) + body, "S", 1700000000
            )
    log = tmp_path / "worker.log"
    worker = start_worker()
    back_up_service_task.delay(service.pk)
    wait_until(
        lambda: Snapshot.objects.filter(address__service=service).exists(), "no snapshot", log
    )
    worker.kill()
    between = Snapshot.objects.filter(address__service=service).count()
    assert 0 < between < 40, "the kill came too late to test anything"
    _assert_complete(service)

    start_worker()
    wait_until(
        lambda: Snapshot.objects.filter(address__service=service).count() == 40,
        "not all backed up",
        log,
    )
    _assert_complete(service)


def _assert_complete(service) -> None:
    """Every visible snapshot's manifest and every message it lists can be read."""
    store = backups.BlobStore()
    for snapshot in Snapshot.objects.filter(address__service=service):
        manifest = backups.read_manifest(store, snapshot.manifest)
        assert len(manifest["messages"]) == snapshot.messages == 150
        assert all(store.has(message.sha) for message in manifest["messages"])
