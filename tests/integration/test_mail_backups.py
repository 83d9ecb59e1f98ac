"""Backups and restores against the real Dovecot, every mailbox move over IMAP.

The scenario of the issue: messages in INBOX and a sub-folder, a snapshot, then deletions
(expunged, even from the trash), moves to the trash, new mail and a changed responder;
the restore brings back exactly what exists nowhere any more, in its folder with its
flags, leaves the rest alone, and running it again changes nothing.
"""

import email
import imaplib
import itertools
import re
import uuid

import pytest

from mail.models import Responder
from mail.services import address_create, responder_set, service_order
from mail.services.backups import restore_apply, snapshot_take, snapshots_purge
from panel.access import access_for
from tests.factories import OrganisationFactory, UserFactory, claim_verified

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Backup-Pass-2048"
_domains = itertools.count(1)


@pytest.fixture
def mailbox(servers, settings, tmp_path):
    settings.MAIL_STORE_ROOT = servers.dovecot.mail_root
    settings.MAIL_BACKUP_ROOT = tmp_path / "backups"
    legal = UserFactory()
    org = OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    domain = f"backup{next(_domains)}.mail.test"
    service = service_order(access=access, domain=domain, plan="premium")
    claim_verified(org, domain)  # as once its TXT record is served (test_domain_claims.py)
    address, _ = address_create(
        access=access, service=service, local_part="keeper", mode="self", password=PASSWORD
    )
    return {"access": access, "address": address, "login": f"keeper@{domain}"}


class Imap:
    """The moves a mail client makes, over a real IMAP session."""

    def __init__(self, servers, login):
        self.client = servers.imap(login, PASSWORD)

    def close(self):
        self.client.logout()

    def append(self, folder: str, subject: str, flags: str = "") -> None:
        message = (
            f"From: a@outside.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4()}@t>\r\n\r\nbody {subject}\r\n"
        )
        status, _ = self.client.append(
            folder,
            f"({flags})" if flags else None,
            imaplib.Time2Internaldate(1700000000),
            message.encode(),
        )
        assert status == "OK"

    def create(self, folder: str) -> None:
        assert self.client.create(folder)[0] == "OK"

    def _find(self, folder: str, subject: str) -> bytes:
        self.client.select(folder)
        _status, data = self.client.uid("SEARCH", None, f'SUBJECT "{subject}"')
        uids = data[0].split()
        assert len(uids) == 1, (folder, subject, uids)
        return uids[0]

    def delete(self, folder: str, subject: str) -> None:
        uid = self._find(folder, subject)
        self.client.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
        self.client.expunge()

    def move(self, folder: str, subject: str, target: str) -> None:
        uid = self._find(folder, subject)
        assert self.client.uid("MOVE", uid, target)[0] == "OK"

    def contents(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """{folder: sorted [(subject, flags)]} of every folder."""
        result = {}
        _status, listing = self.client.list()
        for line in listing:
            name = line.decode().rsplit(' "." ', 1)[-1].strip('"')
            self.client.select(name, readonly=True)
            _status, data = self.client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            rows = []
            for part in data:
                if not isinstance(part, tuple):
                    continue
                flags = tuple(
                    sorted(re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).decode().split())
                )
                subject = email.message_from_bytes(part[1])["Subject"]
                rows.append((subject, tuple(f for f in flags if f != r"\Recent")))
            result[name] = sorted(rows)
        return result


def test_a_restore_brings_back_exactly_what_was_lost(servers, mailbox):
    imap = Imap(servers, mailbox["login"])
    try:
        imap.create("Projects")
        imap.create("Trash")
        for subject, flags in (("kept", r"\Seen"), ("deleted", r"\Seen \Flagged"), ("moved", "")):
            imap.append("INBOX", subject, flags)
        imap.append("Projects", "plan", r"\Answered")
        imap.append("Projects", "old-plan", "")
        imap.append("Trash", "binned-before", r"\Seen")
        responder_set(
            access=mailbox["access"],
            address=mailbox["address"],
            enabled=True,
            subject="Away",
            body="Back soon",
        )
        before = imap.contents()

        snapshot = snapshot_take(mailbox["address"])
        assert snapshot.messages == 6

        imap.delete("INBOX", "deleted")
        imap.delete("Projects", "old-plan")
        imap.delete("Trash", "binned-before")  # deleted from the trash too
        imap.move("INBOX", "moved", "Trash")
        imap.append("INBOX", "arrived-later")
        responder_set(access=mailbox["access"], address=mailbox["address"], enabled=False)

        outcome = restore_apply(snapshot)
        assert outcome == {"restored": 3, "settings_restored": True}
        after = imap.contents()
        expected = {
            "INBOX": sorted(
                [("kept", (r"\Seen",)), ("deleted", (r"\Flagged", r"\Seen")), ("arrived-later", ())]
            ),
            "Projects": sorted([("plan", (r"\Answered",)), ("old-plan", ())]),
            # moved is not duplicated back into INBOX: it still exists, in the trash
            "Trash": sorted([("binned-before", (r"\Seen",)), ("moved", ())]),
        }
        assert after == expected
        assert before["Projects"] == after["Projects"]
        responder = Responder.objects.get(address=mailbox["address"])
        assert (responder.enabled, responder.subject) == (True, "Away")
        assert responder.script  # Dovecot answers again

        assert restore_apply(snapshot) == {"restored": 0, "settings_restored": False}
        assert imap.contents() == expected
    finally:
        imap.close()


def test_a_second_backup_reads_only_new_mail_and_stores_content_once(servers, mailbox):
    imap = Imap(servers, mailbox["login"])
    try:
        for n in range(5):
            imap.append("INBOX", f"m{n}")
    finally:
        imap.close()
    first = snapshot_take(mailbox["address"])
    blobs = set((first.manifest, *servers_blobs()))
    # the same mail backed up again stores only a new manifest, if anything
    second = snapshot_take(mailbox["address"])
    assert second.pk == first.pk  # one snapshot per day, replaced
    assert set(servers_blobs()) - blobs <= {second.manifest}
    assert snapshots_purge() == (0, 0)  # nothing expired; fresh blobs are never collected


def servers_blobs():
    from mail.backups import BlobStore

    return list(BlobStore().all_shas())


def test_a_killed_backup_leaves_no_snapshot(servers, mailbox, monkeypatch):
    imap = Imap(servers, mailbox["login"])
    try:
        imap.append("INBOX", "one")
    finally:
        imap.close()
    from mail import backups

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(backups, "write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        snapshot_take(mailbox["address"])
    assert not mailbox["address"].snapshots.exists()  # its blobs are orphans for the purge
