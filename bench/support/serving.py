"""The panel under gunicorn for a benchmark, and the CPU time its processes spend.

A benchmark that measures the panel as it is deployed runs it the way
deploy/entrypoint.sh does (sync workers, connections kept 60 s, no DEBUG) and counts
the CPU of every process of a tree from /proc, so that it can say what one request costs
the machine, not only how long it took."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User and system time of a process and all its descendants still running (the
    gunicorn workers, PostgreSQL's backends), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            values = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(values[11]) + int(values[12])) / TICK
        todo += children.get(current, [])
    return total


class GunicornServer:
    """gunicorn with `workers` sync workers on a free loopback port, its log in
    `scratch`; started at once, stopped with stop()."""

    def __init__(self, *, port: int, workers: int, scratch: Path) -> None:
        self.port = port
        self.log = scratch / "gunicorn.log"
        env = {**os.environ, "PANEL_DB_CONN_MAX_AGE": "60", "PANEL_DEBUG": "0"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "panel.wsgi:application",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                 "--timeout", "60"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"gunicorn did not start:\n{self.log.read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
