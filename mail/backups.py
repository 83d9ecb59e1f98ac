"""Mailbox snapshots: what a nightly backup stores and what a restore puts back.

Storage is content-addressed under MAIL_BACKUP_ROOT: each message is one compressed blob
named by the SHA-256 of its bytes, stored once however many nights (and mailboxes) hold
it. A snapshot is a manifest blob: the address's responder and redirection, and the list
of its messages (folder, Maildir file name, content hash, flags, internal date, size) cut
into content-defined chunks, themselves blobs, so a night that changed a few messages
stores a few small chunks rather than the whole list again. The database row that makes a
snapshot visible is written last, in one statement: a backup killed mid-way leaves no
snapshot a restore could pick (only blobs, which the purge collects).

Maildir file names never change except for their flags suffix, so the next night only
files unknown to the previous manifest are read: a second backup costs a directory
listing plus the new mail.

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
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .storage import mailbox_directory

#: Maildir system flags (letters after ":2,") that a restore puts back.
SYSTEM_FLAGS = "DFPRST"
_INFO = ":2,"


@dataclass(frozen=True)
class StoredMessage:
    folder: str  # "INBOX" or the folder's Maildir++ name ("Archive.2024")
    name: str  # the Maildir file name without its ":2,flags" suffix
    sha: str
    flags: str  # system flag letters, sorted
    internal_date: int  # seconds, the file's mtime
    size: int

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"

    def as_list(self) -> list:
        return [self.folder, self.name, self.sha, self.flags, self.internal_date, self.size]


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
    """(folder, base name, flags, DirEntry) of every message file, new/ and cur/."""
    for folder, directory in folders(maildir):
        for sub in ("new", "cur"):
            place = os.path.join(directory, sub)
            if not os.path.isdir(place):
                continue
            for entry in os.scandir(place):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                base, _sep, info = entry.name.partition(_INFO)
                flags = "".join(sorted(c for c in info if c in SYSTEM_FLAGS))
                yield folder, base, flags, entry


def scan(maildir: Path, store: BlobStore | None, known: dict) -> list[StoredMessage]:
    """Every message of a mailbox. A file whose `folder/name` is in `known` (messages of
    a manifest, whose blobs the purge keeps) is neither read nor stat'ed: Maildir files
    never change content, only their flags suffix. New content is stored in `store`, or
    only hashed without one."""
    messages = []
    for folder, base, flags, entry in message_files(maildir):
        seen = known.get(f"{folder}/{base}")
        if seen is not None:
            messages.append(
                StoredMessage(folder, base, seen.sha, flags, seen.internal_date, seen.size)
            )
            continue
        try:
            stat = entry.stat()
            with open(entry.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:  # expunged or renamed while we read: not in this snapshot
            continue
        sha = store.put(data) if store is not None else hashlib.sha256(data).hexdigest()
        messages.append(StoredMessage(folder, base, sha, flags, int(stat.st_mtime), stat.st_size))
    return messages


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

#: About one entry in CHUNK_EVERY ends a chunk; the cut depends on the entry's own name,
#: so adding or removing a message only changes the chunk around it.
CHUNK_EVERY = 64


def _dumps(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def write_manifest(store: BlobStore, messages: list[StoredMessage], mail_settings: dict) -> str:
    """Store the chunks and the manifest of a snapshot; returns the manifest's hash."""
    ordered = sorted(messages, key=lambda m: (m.folder, m.name))
    chunks, current = [], []
    for message in ordered:
        current.append(message.as_list())
        if zlib.crc32(message.key.encode()) % CHUNK_EVERY == 0:
            chunks.append(store.put(_dumps(current)))
            current = []
    if current:
        chunks.append(store.put(_dumps(current)))
    return store.put(
        _dumps({"version": 2, "chunks": chunks, "count": len(ordered), "settings": mail_settings})
    )


def read_manifest(store: BlobStore, sha: str) -> dict:
    """{"messages": [StoredMessage], "chunks": [hash], "settings": {...}} of a snapshot."""
    manifest = json.loads(store.get(sha))
    manifest["messages"] = [
        StoredMessage(*row) for chunk in manifest["chunks"] for row in json.loads(store.get(chunk))
    ]
    return manifest


def known_messages(manifest: dict) -> dict[str, StoredMessage]:
    """{folder/name: message} of a manifest: the files the next scan need not read."""
    return {message.key: message for message in manifest["messages"]}
