"""`make mail-demo`: the shipped mail configuration on this machine, to try outgoing limits
with a real mail program or script.

Starts, with the test rig (tests/rig/) and the files of deploy/: PostgreSQL, Redis,
PowerDNS (the demo's zones), Dovecot (logins), Postfix with its submission service, the
policy service (`manage.py mail_policyd`), the DKIM signer (`manage.py mail_dkim_milter`),
the receiver of newsletter bounces (`manage.py newsletter_inbound`, to which Postfix
hands BOUNCE_DOMAIN) and an SMTP sink that keeps every relayed message instead of
sending it out. It seeds the demo organisation (as `make run` does), lowers the limit of
contact@demo.example to DEMO_LIMIT recipients per 24 hours, and serves the panel with a
Celery worker so the sending meter, the mail log and the limit notice can be watched.
The panel's own mail (a newsletter's test send, a sender's verification link, the limit
notice) goes through that Postfix too: to a demo address it lands in its Dovecot mailbox,
read over IMAP; to any other address, in the sink. Campaigns go out through that Postfix
too, and what comes back to their return path (a bounce, a complaint) or their
unsubscribe mailto reaches the receiver. Needs root (Dovecot and Postfix switch
users) and the Debian packages `.ci/run` installs.
Ctrl-C stops everything and removes the temporary directory.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from tests.rig import Rig, free_port  # noqa: E402

DEMO_LIMIT = 10
DEMO_LOGIN = "contact@demo.example"
#: the campaigns' return path and unsubscribe mailto (NEWSLETTER_BOUNCE_DOMAIN)
BOUNCE_DOMAIN = "bounces.demo.example"


def main() -> None:
    # SIGTERM stops as Ctrl-C does, so the servers are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rig = Rig()
    children: list[subprocess.Popen] = []
    try:
        rig.start()  # PostgreSQL and Redis; DATABASE_URL and REDIS_URL are now exported
        os.environ["PANEL_MAIL_STORE_ROOT"] = str(rig.dir / "var" / "mailstore")
        # The demo's zones are served by a real PowerDNS, which is also the resolver the
        # panel asks before a DKIM key signs.
        powerdns = rig.require("powerdns")
        os.environ["PANEL_DNS_PUBLISHER"] = "powerdns"
        os.environ["PANEL_MAIL_DNS_RESOLVER"] = "127.0.0.1"
        os.environ["PANEL_MAIL_DNS_RESOLVER_PORT"] = str(powerdns.dns_port)
        # the panel, its worker and the receiver sign and read the same addresses
        os.environ["PANEL_NEWSLETTER_BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
        import django

        django.setup()
        from django.core.management import call_command

        from mail.models import Address
        from panel.management.commands.runpanel import port_is_free

        call_command("migrate", verbosity=0)
        call_command("seed_demo")
        Address.objects.filter(local_part="contact", service__domain="demo.example").update(
            outgoing_limit_override=DEMO_LIMIT
        )
        dkim_key = _demo_dkim_key()
        # with Dovecot, the sink, the policy service, the signer and the newsletter receiver
        postfix = rig.require("postfix")
        sink = rig.require("smtp_sink")

        dovecot = rig.require("dovecot")

        web_port = 8000 if port_is_free(8000) else free_port()
        env = {
            **os.environ,
            "PANEL_BASE_URL": f"http://127.0.0.1:{web_port}",
            # the panel's own mail goes through the demo's Postfix, as in production
            "PANEL_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "PANEL_EMAIL_HOST": "127.0.0.1",
            "PANEL_EMAIL_PORT": str(postfix.port),
            "PANEL_NEWSLETTER_SMTP_URL": f"smtp://127.0.0.1:{postfix.port}",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        children.append(subprocess.Popen([*manage, "runserver", f"127.0.0.1:{web_port}",
                                          "--noreload"], env=env, cwd=ROOT))  # fmt: skip
        children.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "panel", "worker", "--loglevel=WARNING",
             "--concurrency=1"], env=env, cwd=ROOT,
        ))  # fmt: skip

        print(
            f"""
Mail demo ready.
  Submission (SMTP, AUTH PLAIN/LOGIN, no TLS here): 127.0.0.1:{postfix.submission_port}
  Login: {DEMO_LOGIN} / demo-panel-2026  (limit lowered to {DEMO_LIMIT} recipients per 24 h)
  Panel: http://127.0.0.1:{web_port}/  (sign in as owner@demo.panel.localhost / demo-panel-2026)
  IMAP (no TLS here): 127.0.0.1:{dovecot.imap_port}, same login: the mailbox of {DEMO_LOGIN}
  The panel's own mail (newsletter test sends, verification links, limit notices) goes
  through this Postfix: to {DEMO_LOGIN}, into that mailbox; to others, into the sink.
  Relayed mail is kept by the sink on 127.0.0.1:{sink.port} and listed below.
  Postfix log: {postfix.log}
  Policy service log: {rig.servers["mail_policyd"].log}
  Newsletter bounces, complaints and unsubscribe emails (to @{BOUNCE_DOMAIN}) reach
        the receiver; its log: {rig.servers["newsletter_inbound"].log}
  DKIM: mail from @demo.example is signed with {dkim_key.selector}._domainkey.demo.example,
        served by PowerDNS at 127.0.0.1:{powerdns.dns_port} (dig @127.0.0.1 -p {powerdns.dns_port}
        {dkim_key.selector}._domainkey.demo.example TXT); signer log: {rig.servers["mail_dkim"].log}

Try: python3 -c "import smtplib; s = smtplib.SMTP('127.0.0.1', {postfix.submission_port}); \\
s.login('{DEMO_LOGIN}', 'demo-panel-2026'); \\
print(s.sendmail('{DEMO_LOGIN}', [f'r{{n}}@example.net' for n in range(12)], \\
'Subject: hello\\\\n\\\\nhi'))"
Ctrl-C to stop.
""",
            flush=True,
        )
        seen = 0
        while all(child.poll() is None for child in children):
            for message in sink.messages[seen:]:
                print(f"sink: from {message.mail_from} to {len(message.rcpt_tos)} recipient(s): "
                      f"{', '.join(message.rcpt_tos)}; DKIM: "
                      f"{_dkim_verdict(message.data, powerdns.dns_port)}", flush=True)  # fmt: skip
            seen = len(sink.messages)
            time.sleep(0.5)
        raise SystemExit("mail demo: the panel or its worker stopped")
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        for name in ("postfix", "dovecot", "mail_policyd", "mail_dkim", "newsletter_inbound"):
            if name in rig.servers:
                rig.servers[name].stop()
        rig.stop()


def _dkim_verdict(data: bytes, dns_port: int) -> str:
    """What a receiver would say of the message's signature, asking the demo's PowerDNS."""
    import dkim
    import dns.message
    import dns.query

    if b"DKIM-Signature:" not in data:
        return "unsigned"

    def lookup(name, timeout=5):
        query = dns.message.make_query(name.decode().rstrip(".") + ".", "TXT")
        answer = dns.query.udp(query, "127.0.0.1", port=dns_port, timeout=timeout).answer
        return b"".join(b"".join(item.strings) for rrset in answer for item in rrset) or None

    return "verified" if dkim.verify(data, dnsfunc=lookup) else "FAILED verification"


def _demo_dkim_key():
    """Use demo.example with its Service Mail (records and DKIM key in the zone), then
    let the key sign, now that PowerDNS serves it."""
    from domains.models import Domain
    from mail import dns_records
    from mail.models import MailService
    from panel.access import access_for

    domain = Domain.objects.get(name="demo.example")
    service = MailService.objects.get(domain="demo.example")
    legal = domain.organisation.memberships.get(role="legal_representative").user
    access = access_for(legal, domain.organisation)
    dns_records.mail_records_add(access=access, domain=domain, service=service)
    activated = dns_records.dkim_keys_activate(domain=domain)
    return activated[0] if activated else dns_records.dkim_signing_key_of(domain)


if __name__ == "__main__":
    main()
