"""The Sieve script that makes Dovecot answer for an address while its responder is on.

Dovecot's Sieve plugin reads each mailbox's active script from the panel's database
through the `mail_sieve_scripts` view (deploy/dovecot/dovecot-dict-sieve.conf.ext), so a
change in the panel applies to the next delivery. The script is built here, in Python,
where quoting is easy to get right, and stored with the responder.
"""

import hashlib
from datetime import UTC

#: Days before the same sender gets the same reply again (RFC 5230's :days).
REPLY_EVERY_DAYS = 1
_MOMENT = "%Y-%m-%dT%H:%M:%S"


def quoted(text: str) -> str:
    """A Sieve quoted string (RFC 5228 2.4.2): backslash and double quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def multiline(text: str) -> str:
    """A Sieve multi-line string: `text:`, the lines dot-stuffed, then a lone dot."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    stuffed = ["." + line if line.startswith(".") else line for line in lines]
    return "text:\n" + "\n".join(stuffed) + "\n.\n"


def responder_script(*, subject: str, body: str, starts_at=None, ends_at=None) -> str:
    """The out-of-office reply as Sieve. The optional period is compared in UTC."""
    tests = []
    if starts_at is not None:
        moment = starts_at.astimezone(UTC).strftime(_MOMENT)
        tests.append(f'currentdate :zone "+0000" :value "ge" "iso8601" {quoted(moment)}')
    if ends_at is not None:
        moment = ends_at.astimezone(UTC).strftime(_MOMENT)
        tests.append(f'currentdate :zone "+0000" :value "lt" "iso8601" {quoted(moment)}')
    vacation = (
        f"vacation :days {REPLY_EVERY_DAYS} :subject {quoted(subject)}\n  {multiline(body)};\n"
    )
    header = 'require ["vacation", "date", "relational"];\n'
    if not tests:
        return header + vacation
    return header + f"if allof({', '.join(tests)}) {{\n  {vacation}}}\n"


def script_id(script: str) -> str:
    """Dovecot caches compiled scripts by id: a new text must get a new id."""
    return hashlib.sha256(script.encode()).hexdigest()[:32]
