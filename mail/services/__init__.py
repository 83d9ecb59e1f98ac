"""Services of Service Mail: every write of the UI, the API and the tasks goes through
here. Each checks the person's rights, validates, writes in one transaction and records
an activity event."""

from .addresses import (
    STORAGE_REMOVAL_JOB,
    address_create,
    address_delete,
    address_delete_many,
    address_require_right,
    address_set_password,
    address_set_signature,
    alias_add,
    alias_remove,
    generic_address_create,
)
from .forwarding import (
    MAX_TARGETS,
    redirect_address_create,
    redirect_address_delete,
    redirection_set,
    responder_set,
)
from .rules import (
    MODES,
    PERMISSIONS,
    check_password_rules,
    clean_domain,
    clean_local_part,
    generate_password,
)
from .service import (
    extra_domain_add,
    extra_domain_remove,
    service_change_plan,
    service_delete,
    service_domains_verify,
    service_order,
    service_raise_quota,
    service_update_defaults,
)
from .signatures import signature_create, signature_delete, signature_update

__all__ = [
    "MAX_TARGETS",
    "MODES",
    "PERMISSIONS",
    "STORAGE_REMOVAL_JOB",
    "address_create",
    "address_delete",
    "address_delete_many",
    "address_require_right",
    "address_set_password",
    "address_set_signature",
    "alias_add",
    "alias_remove",
    "check_password_rules",
    "clean_domain",
    "clean_local_part",
    "extra_domain_add",
    "extra_domain_remove",
    "generate_password",
    "generic_address_create",
    "redirect_address_create",
    "redirect_address_delete",
    "redirection_set",
    "responder_set",
    "service_change_plan",
    "service_delete",
    "service_domains_verify",
    "service_order",
    "service_raise_quota",
    "service_update_defaults",
    "signature_create",
    "signature_delete",
    "signature_update",
]
