"""Mailbox snapshots: what a nightly backup stores and what a restore puts back.

Storage is content-addressed under MAIL_BACKUP_ROOT: each message is one compressed blob
named by the SHA-256 of its bytes, stored once however many nights (and mailboxes) hold
it. A snapshot is a manifest blob listing, for every message, its folder, content hash,
flags and internal date, plus the address's responder and redirection; the database row
that makes it visible is written last, in one statement, so a backup killed mid-way
leaves no snapshot a restore could pick (only blobs, which the purge collects).

The manifest also remembers which Maildir file held which content. Maildir file names
never change except for their flags suffix, so the next night only new files are read:
a second backup costs a directory listing plus the new mail.

Restores write Maildir files (tmp/, then renamed into cur/), which Dovecot picks up at
its next sync; the identity of a message is its content hash, so one moved to another
folder or to the trash is not put back twice.
"""

import gzip
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

#: Maildir system flags (letters after ":2,") that a restore puts back.
SYSTEM_FLAGS = "DFPRST"
_INFO = ":2,"


@dataclass(frozen=True)
class StoredMessage:
    folder: str  # "INBOX" or the folder's Maildir++ name ("Archive.2024")
    sha: str
    flags: str  # system flag letters, sorted
    internal_date: int  # seconds, the file's mtime
    size: int

    def as_list(self) -> list:
        return [self.folder, self.sha, self.flags, self.internal_date, self.size]


# -- the blob store ------------------------------------------------------------------------


class BlobStore:
    """Compressed blobs named by the SHA-256 of their content, written atomically."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or settings.MAIL_BACKUP_ROOT) / "blobs"

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).exists()

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{sha}.{os.getpid()}.tmp")
            temporary.write_bytes(gzip.compress(data, compresslevel=1))
            os.replace(temporary, target)  # readers never see a half-written blob
        return sha

    def get(self, sha: str) -> bytes:
        return gzip.decompress(self.path(sha).read_bytes())

    def all_shas(self):
        if not self.root.exists():
            return
        for directory in self.root.iterdir():
            for blob in directory.iterdir():
                if not blob.name.startswith("."):
                    yield blob.name

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)


# -- reading and writing Maildirs -----------------------------------------------------------


def maildir_of(domain: str, local_part: str) -> Path:
    from .tasks import mailbox_directory

    return mailbox_directory(domain, local_part) / "Maildir"


def folders(maildir: Path):
    """(folder name, directory) of INBOX and every Maildir++ folder (".Name")."""
    if not maildir.is_dir():
        return
    yield "INBOX", maildir
    for child in sorted(maildir.iterdir()):
        if child.name.startswith(".") and child.name not in (".", "..") and child.is_dir():
            if (child / "cur").is_dir():
                yield child.name[1:], child


def message_files(maildir: Path):
    """(folder, base name, flags, path) of every message file, new/ and cur/."""
    for folder, directory in folders(maildir):
        for sub in ("new", "cur"):
            place = directory / sub
            if not place.is_dir():
                continue
            for entry in os.scandir(place):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                base, _sep, info = entry.name.partition(_INFO)
                flags = "".join(sorted(c for c in info if c in SYSTEM_FLAGS))
                yield folder, base, flags, Path(entry.path)


def scan(maildir: Path, store: BlobStore | None, known: dict[str, str]):
    """Every message of a mailbox as StoredMessage, with the {folder/base: sha} map for
    the next run. Files already in `known` are not read again; with a `store`, new
    content is stored."""
    messages, names = [], {}
    for folder, base, flags, path in message_files(maildir):
        key = f"{folder}/{base}"
        try:
            stat = path.stat()
            sha = known.get(key)
            if sha is None or (store is not None and not store.has(sha)):
                data = path.read_bytes()
                sha = store.put(data) if store is not None else hashlib.sha256(data).hexdigest()
        except FileNotFoundError:  # expunged or renamed while we read: not in this snapshot
            continue
        names[key] = sha
        messages.append(StoredMessage(folder, sha, flags, int(stat.st_mtime), stat.st_size))
    return messages, names


_counter = 0


def _unique_name(flags: str) -> str:
    global _counter
    _counter += 1
    now = time.time()
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    return (
        f"{int(now)}.M{int(now * 1e6) % 1_000_000}P{os.getpid()}Q{_counter}"
        f"R{os.urandom(4).hex()}.{host}{_INFO}{flags}"
    )


def _owned_like(path: Path, reference: Path) -> None:
    """Keep what we create owned by the mailbox's account (when we run as root)."""
    if os.geteuid() == 0:
        stat = reference.stat()
        os.chown(path, stat.st_uid, stat.st_gid)


def ensure_folder(maildir: Path, folder: str) -> Path:
    """The directory of a folder, created (with cur/new/tmp, and the mailbox's own
    directories if it never received mail) when missing, owned like the mail root."""
    root = Path(settings.MAIL_STORE_ROOT)
    directory = maildir if folder == "INBOX" else maildir / f".{folder}"
    wanted = [*reversed(directory.relative_to(root).parents), directory.relative_to(root)]
    created = []
    for relative in wanted[1:]:  # parents[-1] is "." (the root itself)
        path = root / relative
        if not path.exists():
            path.mkdir(mode=0o700)
            created.append(path)
    for sub in ("cur", "new", "tmp"):
        path = directory / sub
        if not path.exists():
            path.mkdir(mode=0o700)
            created.append(path)
    if folder != "INBOX" and not (directory / "maildirfolder").exists():
        (directory / "maildirfolder").touch()
        created.append(directory / "maildirfolder")
    for path in created:
        _owned_like(path, root)
    return directory


def write_message(maildir: Path, folder: str, data: bytes, flags: str, internal_date: int):
    """Deliver a message file into a folder the Maildir way: tmp/ then cur/."""
    directory = ensure_folder(maildir, folder)
    name = _unique_name("".join(sorted(set(flags) & set(SYSTEM_FLAGS))))
    temporary = directory / "tmp" / name
    temporary.write_bytes(data)
    os.utime(temporary, (internal_date, internal_date))
    _owned_like(temporary, Path(settings.MAIL_STORE_ROOT))
    os.replace(temporary, directory / "cur" / name)


# -- manifests --------------------------------------------------------------------------------


def manifest_bytes(messages, names: dict[str, str], mail_settings: dict) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "messages": [m.as_list() for m in messages],
            "names": names,
            "settings": mail_settings,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def read_manifest(store: BlobStore, sha: str) -> dict:
    manifest = json.loads(store.get(sha))
    manifest["messages"] = [StoredMessage(*row) for row in manifest["messages"]]
    return manifest
