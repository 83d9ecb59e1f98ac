"""Where Service Mail's mailboxes live on disk, for the tasks and the backups alike."""

from pathlib import Path

from django.conf import settings


def mailbox_directory(domain: str, local_part: str) -> Path:
    """Where Dovecot keeps a mailbox: `<root>/<domain>/<local>` (its Maildir inside).
    Refuses names that would leave the mail-store root."""
    root = Path(settings.MAIL_STORE_ROOT).resolve()
    path = (root / domain / local_part).resolve()
    if path.parent.parent != root or not domain or not local_part:
        raise ValueError(f"{domain}/{local_part} is not a mailbox directory")
    return path
