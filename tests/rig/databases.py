"""PostgreSQL and Redis: started for every test session."""

from __future__ import annotations

import os
import signal
import subprocess

from .core import (
    RigError,
    Server,
    ensure_os_user,
    find_binary,
    free_port,
    register,
    system_tool,
)


@register
class PostgresServer(Server):
    """PostgreSQL: initdb as the `postgres` user, trust auth on 127.0.0.1, no fsync."""

    name = "postgresql"
    external_env = "PANEL_TEST_DATABASE_URL"
    stop_signal = signal.SIGQUIT  # immediate shutdown: the data is thrown away anyway
    os_user = "postgres"

    def start(self) -> None:
        initdb = find_binary(
            "initdb", extra_globs=("/usr/lib/postgresql/*/bin/initdb",), package="postgresql"
        )
        bindir = initdb.resolve().parent
        postgres = bindir / "postgres"
        if not os.access(postgres, os.X_OK):
            raise RigError(f"test rig: {postgres} is missing next to {initdb}.")

        account = ensure_os_user(self.os_user)
        self.dir.mkdir()
        if account:
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        data = self.dir / "data"
        as_user = [system_tool("runuser"), "-u", self.os_user, "--"] if account else []
        result = subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync",
             "--no-instructions"],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RigError(f"test rig: initdb failed:\n{result.stdout}\n{result.stderr}")

        port = free_port()
        self.spawn(
            [postgres, "-D", data, "-p", port, "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=300", "-c", "logging_collector=off"],
            user=self.os_user if account else None,
        )  # fmt: skip
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        self.wait_until_ready(self._connect)

    def use_existing(self, url: str) -> None:
        super().use_existing(url)
        self.wait_until_ready(self._connect)

    def _connect(self) -> None:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=2) as conn:
            self.version = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}


@register
class RedisServer(Server):
    """Redis: `redis-server` from PATH, no persistence."""

    name = "redis"
    external_env = "PANEL_TEST_REDIS_URL"

    def start(self) -> None:
        binary = find_binary("redis-server", package="redis-server")
        self.dir.mkdir()
        port = free_port()
        self.spawn(
            [binary, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", self.dir, "--logfile", ""],
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{port}/0"
        self.wait_until_ready(self._ping)

    def use_existing(self, url: str) -> None:
        super().use_existing(url)
        self.wait_until_ready(self._ping)

    def _ping(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=2)
        try:
            self.version = client.info("server")["redis_version"]
        finally:
            client.close()

    def env(self) -> dict[str, str]:
        # The settings derive the broker and cache from REDIS_URL; set them too, so a value
        # left in the developer's shell cannot point the tests at another server.
        return {"REDIS_URL": self.url, "CELERY_BROKER_URL": self.url, "PANEL_CACHE_URL": self.url}
