"""The DNS server (lazy): PowerDNS Authoritative with its HTTP API."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from pathlib import Path

from .core import (
    DEPLOY_DIR,
    DeployConfig,
    Rig,
    RigError,
    Server,
    ensure_os_user,
    find_binary,
    free_port,
    register,
)


@register
class PowerDnsServer(Server):
    """PowerDNS Authoritative 4.7 from deploy/pdns/pdns.conf, with its own SQLite database.

    It serves DNS (UDP and TCP) and its HTTP API on free loopback ports. It needs nothing
    of the panel's database, so a test may start it at any time (`rig.require("powerdns")`).
    Runs as the `pdns` account when the rig runs as root (created if missing).
    """

    name = "powerdns"
    lazy = True
    os_user = "pdns"
    schema = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
    server_id = "localhost"

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.dns_port = 0
        self.api_port = 0
        self.api_url = ""
        self.api_key = ""

    def start(self) -> None:
        import secrets
        import sqlite3

        binary = find_binary(
            "pdns_server", extra_globs=("/usr/sbin/pdns_server",), package="pdns-server"
        )
        module_dir = self._module_dir(binary)
        for path in (module_dir / "libgsqlite3backend.so", self.schema):
            if not path.exists():
                raise RigError(
                    f"test rig: {path} is missing; install it with `apt-get install -y "
                    "pdns-backend-sqlite3` (or run .ci/run, which installs what is missing)."
                )
        account = ensure_os_user(self.os_user)

        # PowerDNS writes the database and its journal, so it owns their directory too.
        data, run = self.dir / "data", self.dir / "run"
        for path in (self.dir, data, run):
            path.mkdir()
        database = data / "pdns.sqlite3"
        with contextlib.closing(sqlite3.connect(database)) as conn:
            conn.executescript(self.schema.read_text())
        if account:
            for path in (data, run, database):
                os.chown(path, account.pw_uid, account.pw_gid)

        self.dns_port, self.api_port = free_port(), free_port()
        self.api_key = secrets.token_urlsafe(24)
        shipped = DeployConfig.fill(
            DEPLOY_DIR / "pdns" / "pdns.conf",
            self.dir / "pdns.conf",
            {
                "SQLITE_DATABASE": database,
                "LOCAL_ADDRESS": "127.0.0.1",
                "DNS_PORT": self.dns_port,
                "API_KEY": self.api_key,
                "API_ADDRESS": "127.0.0.1",
                "API_PORT": self.api_port,
                "API_ALLOW_FROM": "127.0.0.0/8",
            },
        )
        # Test-only settings after the shipped ones (in pdns.conf the last value wins):
        # every change shows in the next answer, a foreground process that logs to stdout,
        # the control socket in the rig directory.
        test_only = [
            "cache-ttl=0",
            "query-cache-ttl=0",
            "negquery-cache-ttl=0",
            "daemon=no",
            "guardian=no",
            "disable-syslog=yes",
            "write-pid=no",
            f"socket-dir={run}",
        ]
        if account:
            test_only += [f"setuid={self.os_user}", f"setgid={self.os_user}"]
        with shipped.open("a") as conf:
            conf.write("\n# -- test rig (tests/rig/) --\n" + "".join(f"{s}\n" for s in test_only))
        self.version = self._version(binary)
        self.spawn([binary, f"--config-dir={self.dir}"])
        self.api_url = f"http://127.0.0.1:{self.api_port}/api/v1"
        self.url = f"dns://127.0.0.1:{self.dns_port}"
        self.wait_until_ready(self._ready)

    @staticmethod
    def _module_dir(binary: Path) -> Path:
        """Where this pdns_server loads its backends from (its compiled-in default)."""
        result = subprocess.run([binary, "--config=default"], capture_output=True, text=True)
        found = re.search(r"^# module-dir=(.+)$", result.stdout, flags=re.M)
        return Path(found.group(1).strip()) if found else Path("/usr/lib/x86_64-linux-gnu/pdns")

    @staticmethod
    def _version(binary: Path) -> str:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True)
        found = re.search(r"Authoritative Server (\S+)", result.stdout + result.stderr)
        return found.group(1) if found else ""

    def _ready(self) -> None:
        """The API answers with our key, and the DNS side answers a query."""
        import json
        import urllib.request

        import dns.message
        import dns.query

        request = urllib.request.Request(
            f"{self.api_url}/servers/{self.server_id}", headers={"X-API-Key": self.api_key}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            json.load(response)
        # The API comes up before the DNS workers: any answer (REFUSED for a zone it does
        # not have) shows they are there.
        query = dns.message.make_query("rig.test.", "SOA")
        dns.query.udp(query, "127.0.0.1", port=self.dns_port, timeout=1)

    def env(self) -> dict[str, str]:
        return {
            "PANEL_POWERDNS_API_URL": self.api_url,
            "PANEL_POWERDNS_API_KEY": self.api_key,
            "PANEL_POWERDNS_SERVER_ID": self.server_id,
        }
