"""Service Mail pages of the Manager. Each looks its service or address up through
mail.selectors (404 when the person cannot see it), answers 403 when a capability is
missing, and calls one service with `run_service`."""

from .addresses import (  # noqa: F401
    address_create,
    address_delete,
    address_delete_many,
    address_detail,
    alias_add,
    alias_remove,
    generic_address_create,
    password_set,
    redirect_address_create,
    redirect_address_delete,
    redirection_set,
    responder_set,
    signature_set,
)
from .jobs import (  # noqa: F401
    address_import,
    address_job,
    address_restore,
    csv_import,
    csv_template,
    service_job,
)
from .sending import address_mail_log  # noqa: F401
from .service import (  # noqa: F401
    extra_domain_add,
    extra_domain_remove,
    service_defaults,
    service_delete,
    service_detail,
    service_list,
    service_plan,
    service_quota,
    service_verify,
    signature_create,
    signature_delete,
)
