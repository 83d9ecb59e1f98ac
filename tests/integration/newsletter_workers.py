"""Real sending workers for the integration tests: `manage.py newsletter_deliver`
processes on the test database and the rig's Redis, which a test starts, kills with
SIGKILL and starts again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.rig.core import database_url_for_tests

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


class WorkerProcess:
    def __init__(self, log_dir: Path, name: str, **settings: str):
        self.log_dir, self.name = log_dir, name
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "panel.settings.test",
            "DATABASE_URL": database_url_for_tests(),
            **{f"PANEL_NEWSLETTER_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        """Starts the worker and returns once it is ready to claim (Django loaded)."""
        self.starts += 1
        handle = self.log.open("a")
        handle.write(f"--- start {self.starts}\n")
        handle.flush()
        self.proc = subprocess.Popen(
            [sys.executable, MANAGE, "newsletter_deliver"],
            env=self.env, stdout=subprocess.PIPE, stderr=handle, start_new_session=True,
        )  # fmt: skip
        line = self.proc.stdout.readline().decode()
        if "ready" not in line:
            raise AssertionError(f"worker {self.name} did not start: {line}\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL, whatever it is doing."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> str:
        """SIGTERM and its last words (its figures)."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            out = b""
        return out.decode()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for(condition, *, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)
