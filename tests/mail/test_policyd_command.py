"""`manage.py mail_policyd` as a process: one per Redis, and never without its log mover."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.core.management.base import CommandError

from mail.management.commands import mail_policyd as command
from tests.rig import database_url_for_tests, free_port, redis_database_url

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def own_redis_url() -> str:
    """The rig's policy service holds the lock in database 0 (and stops if it sees
    another owner there)."""
    return redis_database_url(7)


def test_a_second_service_on_the_same_redis_is_refused(monkeypatch):
    client = redis.Redis.from_url(own_redis_url())
    client.set(command.LOCK_KEY, "other-host:123", ex=30)
    monkeypatch.setattr(command, "LOCK_WAIT_SECONDS", 0)
    try:
        with pytest.raises(CommandError, match=r"another policy service \(other-host:123\)"):
            command.Command()._lock(client, "this-host:456")
    finally:
        client.delete(command.LOCK_KEY)


@pytest.mark.django_db
def test_the_service_stops_with_an_error_when_its_log_mover_dies(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings.test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": own_redis_url(),
    }
    log = tmp_path / "policyd.log"
    with log.open("wb") as output:
        service = subprocess.Popen(
            [sys.executable, MANAGE, "mail_policyd", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "listening" not in log.read_text():
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        movers = [
            int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat")
            if stat.read_text().rpartition(")")[2].split()[1] == str(service.pid)
        ]
        assert len(movers) == 1
        os.kill(movers[0], signal.SIGKILL)
        assert service.wait(timeout=20) == 1
        assert "the log mover stopped" in log.read_text()
    finally:
        if service.poll() is None:
            os.killpg(service.pid, signal.SIGKILL)
            service.wait()
