"""Benchmark: the outgoing-limit policy service answers Postfix at 5,000 requests/s on one core.

It starts the rig's PostgreSQL and Redis, creates 1,000 sending addresses (50 of them with
a limit of 5, so deferrals happen) and lets 20 logins match no address. Then it runs the
real `manage.py mail_policyd` pinned to one core and drives it from the other core as
Postfix does: 100 connections, each with one request outstanding, one RCPT request per
recipient of a message (1 to 20, 3 on average) then END-OF-MESSAGE with the number of
recipients accepted (none when every recipient was deferred: Postfix then refuses DATA).
Redis and PostgreSQL share the load generator's core. It prints:

1. the first sight of every sender (a database query and a Redis read each), apart;
2. the steady requests per second, and the p50/p99 latency of a request;
3. the same load against a trivial server that answers DUNNO to everything with the same
   connection handling (`PolicyConnection`) on the same core: the floor of the protocol in
   Python (the baseline, measured in the same run), and the ratio of the two.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/mail_policyd.py

It also prints the service's CPU time per request and the rate that gives on a whole core
(one second over it). On a busy machine other processes take part of the service's core:
the measured rate drops, the CPU time per request much less. BENCH_CONNECTIONS (100) and
BENCH_SECONDS (10 per measured run) change the load; BENCH_PROFILE=file runs the service
under cProfile.
"""

import asyncio
import contextlib
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")


def dunno_server(port: int) -> None:
    """The baseline: `PolicyConnection` with a service that answers DUNNO to everything."""
    from mail import policyd

    class Dunno:
        def answer_now(self, attrs):
            return policyd.DUNNO

    async def main():
        loop = asyncio.get_running_loop()
        service = Dunno()
        await loop.create_server(lambda: policyd.PolicyConnection(service), "127.0.0.1", port)
        await asyncio.Event().wait()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(main())


if __name__ == "__main__" and sys.argv[1:2] == ["--dunno-server"]:
    dunno_server(int(sys.argv[2]))
    sys.exit(0)

from tests.rig import Rig, free_port  # noqa: E402

rig = Rig()
rig.require("postgresql")
rig.require("redis")
scratch = Path(tempfile.mkdtemp(prefix="panel-bench-"))
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from mail.models import Address, MailService  # noqa: E402
from panel.models import Organisation  # noqa: E402

ADDRESSES, OVER_LIMIT, UNKNOWN, SERVICES = 1_000, 50, 20, 10
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 100))
SECONDS = float(os.environ.get("BENCH_SECONDS", 10))
#: load before each measured run, once the connections are open
RAMP_SECONDS = 1.0
GOAL = 5_000
#: recipients per message and how often (3 on average)
RECIPIENTS = {1: 50, 2: 20, 3: 10, 5: 10, 10: 7, 20: 3}
#: random messages scripted per connection after its warm-up ones, sent in turn
MESSAGES_PER_CONNECTION = 50
#: what Postfix 3.8 sends from the submission service, in its order
REQUEST = (
    "request=smtpd_access_policy\nprotocol_state={state}\nprotocol_name=ESMTP\n"
    "helo_name=[192.168.1.20]\nqueue_id={queue_id}\nsender={username}\nrecipient={recipient}\n"
    "recipient_count={count}\nclient_address=203.0.113.{host}\nclient_name=unknown\n"
    "reverse_client_name=host-{host}.isp.example\ninstance={instance}\nsasl_method=PLAIN\n"
    "sasl_username={username}\nsasl_sender=\nsize={size}\nccert_subject=\nccert_issuer=\n"
    "ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=TLSv1.3\n"
    "encryption_cipher=TLS_AES_256_GCM_SHA384\nencryption_keysize=256\netrn_domain=\n"
    "stress=\nclient_port={port}\npolicy_context=submission\nserver_address=198.51.100.25\n"
    "server_port=587\ncompatibility_level=3.6\nmail_version=3.8.1\n"
)
CORES = sorted(os.sched_getaffinity(0))
#: the service gets the first core; the load generator, Redis and PostgreSQL the last
SERVICE_CORE, CLIENT_CORE = CORES[0], CORES[-1]
TICK = os.sysconf("SC_CLK_TCK")


def create_senders() -> list[str]:
    """The logins: ADDRESSES addresses over SERVICES premium services, then UNKNOWN."""
    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench")
    per_service = ADDRESSES // SERVICES
    usernames = []
    for s in range(SERVICES):
        domain = f"send{s}.bench.test"
        service = MailService.objects.create(
            organisation=org, name=domain, domain=domain, plan="premium",
            address_quota=per_service,
        )  # fmt: skip
        Address.objects.bulk_create(
            Address(
                organisation=org,
                service=service,
                local_part=f"user{i}",
                password_hash="!",
                outgoing_limit_override=5 if i % (ADDRESSES // OVER_LIMIT) == 0 else None,
            )
            for i in range(per_service)
        )
        usernames += [f"user{i}@{domain}" for i in range(per_service)]
    return usernames + [f"nobody{i}@send0.bench.test" for i in range(UNKNOWN)]


def encode(**values) -> bytes:
    return (REQUEST.format(**values) + "\n").encode()


def script(connection: int, usernames: list[str], rng: random.Random) -> list[tuple]:
    """One connection's messages, pre-encoded: (its RCPT requests, its END-OF-MESSAGE
    request up to the recipient_count value). The first ones name each sender of this
    connection's share once (the warm-up), the others are drawn at random."""
    mine = usernames[connection::CONNECTIONS]
    messages = []
    for n in range(len(mine) + MESSAGES_PER_CONNECTION):
        username = mine[n] if n < len(mine) else rng.choice(usernames)
        count = rng.choices(list(RECIPIENTS), weights=list(RECIPIENTS.values()))[0]
        common = {"username": username, "instance": f"{connection:x}.{n:x}",
                  "host": connection % 250 + 1, "port": 40000 + connection,
                  "size": rng.randrange(2_000, 200_000)}  # fmt: skip
        rcpts = [
            encode(state="RCPT", queue_id="", recipient=f"r{r}@outside.test", count=r, **common)
            for r in range(count)
        ]
        # Postfix's recipient_count holds what it accepted: added when the answers are in.
        end = encode(state="END-OF-MESSAGE", queue_id=f"4Q{connection:04X}{n:05X}",
                     recipient="", count=count, **common)  # fmt: skip
        end = end.replace(b"recipient_count=%d\n" % count, b"")[:-1] + b"recipient_count="
        messages.append((rcpts, end))
    return messages


class Stats:
    """What the connections saw while `recording`."""

    def __init__(self) -> None:
        self.recording = False
        #: connections still sending their warm-up messages
        self.warming = 0
        self.reset()

    def reset(self) -> None:
        self.latencies: list[float] = []
        self.requests = self.rcpts = self.deferred = 0


class Postfix:
    """One smtpd process's connection: a request, then wait for its answer."""

    def __init__(self, port: int, messages: list[tuple], warm_up: int, stats: Stats) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        #: messages[:warm_up] are sent once, then the others in turn
        self.messages, self.warm_up, self.stats = messages, warm_up, stats
        self.message = self.step = self.accepted = 0
        self.buffer = b""
        self.sent = 0.0

    def readable(self) -> None:
        answer = self.buffer + self.sock.recv(65536)
        if not answer.endswith(b"\n\n"):
            if not answer:
                raise SystemExit("the service closed a connection")
            self.buffer = answer
            return
        self.buffer = b""
        stats = self.stats
        if stats.recording:
            stats.latencies.append(time.perf_counter() - self.sent)
            stats.requests += 1
        rcpts = self.messages[self.message][0]
        if self.step <= len(rcpts):  # the answer to a RCPT
            accepted = answer.startswith(b"action=DUNNO")
            self.accepted += accepted
            if stats.recording:
                stats.rcpts += 1
                stats.deferred += not accepted
            if self.step == len(rcpts) and not self.accepted:
                self._next_message()  # no recipient left: Postfix refuses DATA
        else:
            self._next_message()
        self.send()

    def _next_message(self) -> None:
        self.message += 1
        if self.message == self.warm_up:
            self.stats.warming -= 1
        if self.message == len(self.messages):
            self.message = self.warm_up
        self.step = self.accepted = 0

    def send(self) -> None:
        rcpts, end = self.messages[self.message]
        if self.step < len(rcpts):
            request = rcpts[self.step]
        else:
            request = end + b"%d\n\n" % self.accepted
        self.step += 1
        self.sent = time.perf_counter()
        # The socket's buffer is empty (one request at a time): it takes the whole request.
        self.sock.send(request)


class Server:
    """A server process pinned to the service's core."""

    def __init__(self, argv: list[str], env: dict) -> None:
        self.port = free_port()
        self.log = scratch / f"server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*argv, str(self.port)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=lambda: os.sched_setaffinity(0, {SERVICE_CORE}),
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{argv} did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time of the service (the process and its log mover child), and of its main
        thread (the event loop)."""
        pid = self.proc.pid
        total = sum(cpu_seconds(f"/proc/{child}/stat") for child in [pid, *children_of(pid)])
        return total, cpu_seconds(f"/proc/{pid}/task/{pid}/stat")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def children_by_parent() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    return children


def children_of(pid: int) -> list[int]:
    return children_by_parent().get(pid, [])


def cpu_seconds(stat: str) -> float:
    """User and system time from a /proc/<pid>/stat file."""
    values = Path(stat).read_text().rpartition(")")[2].split()
    return (int(values[11]) + int(values[12])) / TICK


def core_busy() -> float:
    """Seconds the service's core has been busy, with any process, since boot."""
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{SERVICE_CORE}":
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, values[:8])
            return (user + nice + system + irq + softirq + steal) / TICK
    return 0.0


def pin_tree(pid: int, core: int) -> None:
    """Pin a process, its threads and its children (PostgreSQL's backends) to `core`."""
    children = children_by_parent()
    todo = [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                os.sched_setaffinity(int(task.name), {core})
        todo += children.get(current, [])


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def sample(server: Server) -> dict[str, float]:
    cpu, loop = server.cpu_seconds()
    return {"wall": time.perf_counter(), "cpu": cpu, "loop": loop,
            "client": time.process_time(), "core": core_busy()}  # fmt: skip


class Figures:
    """One measured run, from the samples taken at its start and end."""

    def __init__(self, stats: Stats, began: dict, ended: dict) -> None:
        seconds, cpu = ended["wall"] - began["wall"], ended["cpu"] - began["cpu"]
        requests = max(1, stats.requests)
        self.seconds, self.requests = seconds, stats.requests
        self.rate = stats.requests / seconds
        self.p50 = percentile(stats.latencies, 0.5) * 1000
        self.p99 = percentile(stats.latencies, 0.99) * 1000
        self.deferred = stats.deferred / max(1, stats.rcpts)
        self.cpu_us = cpu / requests * 1e6
        self.loop_us = (ended["loop"] - began["loop"]) / requests * 1e6
        self.whole_core = 1e6 / self.cpu_us
        self.service_share = cpu / seconds
        self.others_share = max(0.0, (ended["core"] - began["core"]) / seconds - cpu / seconds)
        self.client_share = (ended["client"] - began["client"]) / seconds

    def row(self, name: str) -> str:
        cpu = f"{self.cpu_us:.0f} ({self.loop_us:.0f})"
        return (
            f"  {name:<22}{self.rate:>7,.0f}{self.p50:>8.1f}{self.p99:>8.1f}{cpu:>19}"
            f"{self.whole_core:>23,.0f}"
        )


def drive(server: Server, usernames: list[str], *, warm_up: bool):
    """Open CONNECTIONS connections; with `warm_up`, first until each sender was named
    once; then measure SECONDS of steady load. Returns (warm-up figures, steady figures).

    A plain epoll loop rather than asyncio: the load generator costs less per request
    than the trivial server, so it never sets the pace."""
    stats = Stats()
    rng = random.Random(7)
    connections = {}
    for c in range(CONNECTIONS):
        first = len(usernames[c::CONNECTIONS]) if warm_up else 0
        postfix = Postfix(server.port, script(c, usernames, rng), first, stats)
        connections[postfix.sock.fileno()] = postfix
        if first:
            stats.warming += 1
    poll = select.epoll()
    for fd in connections:
        poll.register(fd, select.EPOLLIN)

    def run(until) -> None:
        while not until():
            for fd, _event in poll.poll(0.1):
                connections[fd].readable()

    stats.recording = True
    began = sample(server)
    for postfix in connections.values():
        postfix.send()
    run(lambda: not stats.warming)
    warmed = Figures(stats, began, sample(server)) if warm_up else None
    stats.recording = False
    ramp_end = time.perf_counter() + RAMP_SECONDS
    run(lambda: time.perf_counter() >= ramp_end)
    stats.reset()
    stats.recording = True
    began = sample(server)
    run(lambda: time.perf_counter() >= began["wall"] + SECONDS)
    steady = Figures(stats, began, sample(server))
    poll.close()
    for postfix in connections.values():
        postfix.sock.close()
    return warmed, steady


def main() -> None:
    started = time.monotonic()
    usernames = create_senders()
    if len(CORES) < 2:
        print("warning: one core only: the service shares it with the load generator")
    # Redis and PostgreSQL work for the service, but on the load generator's core.
    for name in ("redis", "postgresql"):
        pin_tree(rig.servers[name].proc.pid, CLIENT_CORE)
    os.sched_setaffinity(0, {CLIENT_CORE})
    # As docker-compose.yml deploys it: no DEBUG (Django would keep every query of the
    # service's threads) and database connections kept for 60 s.
    env = {"PANEL_DB_CONN_MAX_AGE": "60", **os.environ, "PANEL_DEBUG": "0"}
    profile = []
    if os.environ.get("BENCH_PROFILE"):
        profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]

    policyd = Server([sys.executable, *profile, "manage.py", "mail_policyd", "--port"], env)
    try:
        warmed, steady = drive(policyd, usernames, warm_up=True)
    finally:
        policyd.stop()
    dunno = Server([sys.executable, __file__, "--dunno-server"], env)
    try:
        _none, floor = drive(dunno, usernames, warm_up=False)
    finally:
        dunno.stop()

    print(
        f"{CONNECTIONS} connections with one request outstanding each (as Postfix); "
        f"{ADDRESSES:,} senders, {OVER_LIMIT} of them over their limit, and {UNKNOWN} "
        f"unknown logins; the service on core {SERVICE_CORE}, the load generator, Redis and "
        f"PostgreSQL on core {CLIENT_CORE}"
    )
    print(
        f"first sight of {len(usernames):,} senders: {warmed.requests:,} requests in "
        f"{warmed.seconds:.1f} s, {warmed.rate:,.0f} req/s, p50 {warmed.p50:.1f} ms, "
        f"p99 {warmed.p99:,.0f} ms"
    )
    print(
        f"steady load, {SECONDS:.0f} s each ({steady.deferred:.1%} of the RCPT requests "
        "deferred by policyd):"
    )
    print(f"  {'':<22}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'CPU µs/req (loop)':>19}"
          f"{'req/s on a whole core':>23}")  # fmt: skip
    print(steady.row("policyd"))
    print(floor.row("trivial DUNNO server"))
    print(
        "  CPU µs/req: the service's CPU time per request, its log mover process included "
        "(its event loop thread's in brackets)"
    )
    print(
        f"  share of the service's core: policyd {steady.service_share:.0%}, the trivial "
        f"server {floor.service_share:.0%}; other processes {steady.others_share:.0%} and "
        f"{floor.others_share:.0%}; the load generator used {steady.client_share:.0%} and "
        f"{floor.client_share:.0%} of its core"
    )
    if max(steady.others_share, floor.others_share) > 0.1:
        print(
            "warning: other processes took part of the service's core: the measured rates "
            "are low, the whole-core ones hold"
        )
    verdict = "met" if steady.rate >= GOAL else "NOT met"
    print(
        f"policyd: {steady.rate:,.0f} req/s, p50 {steady.p50:.1f} ms, p99 {steady.p99:.1f} ms; "
        f"trivial DUNNO server: {floor.rate:,.0f} req/s; ratio {steady.rate / floor.rate:.2f} "
        f"(on a whole core: {steady.whole_core:,.0f} and {floor.whole_core:,.0f} req/s, ratio "
        f"{steady.whole_core / floor.whole_core:.2f}); goal {GOAL:,} req/s: {verdict}"
    )
    print(f"bench: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
        shutil.rmtree(scratch, ignore_errors=True)
