"""Signature templates of a service, assigned to its addresses."""

from django.db import transaction
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput
from panel.services.common import clean_name

from ..models import MailService, Signature

SIGNATURE_BODY_MAX = 5000


def _clean(service: MailService, name: str, body: str, *, instead_of=None) -> tuple[str, str]:
    name = clean_name(name, max_length=100)
    body = (body or "").strip()
    if not body:
        raise InvalidInput(fields={"body": [_("This field is required.")]})
    if len(body) > SIGNATURE_BODY_MAX:
        raise InvalidInput(
            fields={"body": [_("At most %(n)d characters.") % {"n": SIGNATURE_BODY_MAX}]}
        )
    clash = service.signatures.filter(name__iexact=name)
    if instead_of is not None:
        clash = clash.exclude(pk=instead_of.pk)
    if clash.exists():
        raise Conflict(
            _("A signature named %(name)s already exists.") % {"name": name},
            code="already_exists",
            fields={"name": [_("This name is already used.")]},
        )
    return name, body


@transaction.atomic
def signature_create(*, access: Access, service: MailService, name: str, body: str) -> Signature:
    """Add a signature template to a service. Needs MANAGE_PRODUCT."""
    access.require(Capability.MANAGE_PRODUCT, service)
    name, body = _clean(service, name, body)
    signature = Signature.objects.create(
        organisation=access.organisation, service=service, name=name, body=body
    )
    record_by(access, "mail.signature.created", service, {"name": name})
    return signature


@transaction.atomic
def signature_update(*, access: Access, signature: Signature, name: str, body: str) -> Signature:
    """Rename or rewrite a signature template; its addresses use the new text."""
    access.require(Capability.MANAGE_PRODUCT, signature.service)
    signature.name, signature.body = _clean(signature.service, name, body, instead_of=signature)
    signature.save(update_fields=["name", "body"])
    record_by(access, "mail.signature.updated", signature.service, {"name": signature.name})
    return signature


@transaction.atomic
def signature_delete(*, access: Access, signature: Signature) -> None:
    """Delete a signature template; its addresses keep no signature."""
    access.require(Capability.MANAGE_PRODUCT, signature.service)
    signature.delete()
    record_by(access, "mail.signature.deleted", signature.service, {"name": signature.name})
