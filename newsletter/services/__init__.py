"""Every write of the newsletter product. The panel, the API, imports and tasks call these."""

from .audience import (  # noqa: F401
    RESERVED_KEYS,
    field_create,
    field_delete,
    field_update,
    group_create,
    group_delete,
    group_update,
    list_create,
    list_delete,
    list_update,
)
from .products import newsletter_create, newsletter_delete, newsletter_update  # noqa: F401
from .senders import (  # noqa: F401
    sender_create,
    sender_delete,
    sender_update,
    sender_verification_send,
    sender_verify,
    sender_warnings,
)
