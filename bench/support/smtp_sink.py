"""An SMTP sink in a process of its own, for the sending benchmarks: it keeps nothing
but counts what it receives (messages, distinct Message-IDs, the most copies of one),
so that it takes no CPU from the sender being measured beyond answering.

    python bench/support/smtp_sink.py      prints "port <n>", then on SIGTERM a JSON line
"""

import asyncio
import json
import re
import signal
import socket
import sys

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class Counter:
    def __init__(self):
        self.messages = 0
        self.ids: dict[bytes, int] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        self.messages += 1
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        if found:
            self.ids[found.group(1)] = self.ids.get(found.group(1), 0) + 1
        return "250 OK"


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    print(f"port {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()
    copies = max(counter.ids.values(), default=0)
    print(json.dumps({"messages": counter.messages, "distinct": len(counter.ids),
                      "most_copies": copies}), flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
