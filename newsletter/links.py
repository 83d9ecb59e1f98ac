"""Signed public links of a newsletter, as absolute URLs under /n/ (settings.PANEL_BASE_URL):
a list's subscription form (the hosted page, and the HTML snippet that puts the same form
on any site), the confirmation link of a sign-up, and a contact's preferences and
unsubscribe pages.

A token is the id of what it opens, signed with django.core.signing under a salt of its
own purpose, so that a form's token never opens a contact's preferences, nor an
unsubscribe token a confirmation. Tokens are not stored: the signature is the proof. A
confirmation token carries its time and lasts CONFIRM_MAX_AGE; the other links last as
long as what they open. Reading a token (`*_from`) raises NotFound (a 404) when it was
tampered with, was made for another purpose, or names something that no longer exists;
LinkExpired (410) when a confirmation link is too old.
"""

import datetime
import functools

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from panel.errors import NotFound, PanelError

from .models import Campaign, Contact, ContactList

CONFIRM_MAX_AGE = datetime.timedelta(days=7)
#: The name of the hidden field a person leaves empty and a robot fills in.
HONEYPOT = "website"

_SALTS = {
    "form": "newsletter.links.form",
    "confirm": "newsletter.links.confirm",
    "preferences": "newsletter.links.preferences",
    "unsubscribe": "newsletter.links.unsubscribe",
}


class LinkExpired(PanelError):
    status = 410
    code = "link_expired"
    default_detail = _("This confirmation link has expired: subscribe again to get a new one.")


def _absolute(path: str) -> str:
    return getattr(settings, "PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/") + path


_PLACEHOLDER = "TOKEN"


@functools.cache
def _around_token(name: str, prefix: str, base_url: str) -> tuple[str, str]:
    """The absolute URL of `name` cut around its token: an email per recipient needs
    two of these, and `reverse` for each was a quarter of writing the email. Signed
    tokens hold only characters `reverse` leaves as they are."""
    before, _token, after = reverse(name, args=[_PLACEHOLDER]).partition(_PLACEHOLDER)
    return _absolute(before), after


def _public_url(name: str, token: str) -> str:
    before, after = _around_token(name, get_script_prefix(), settings.PANEL_BASE_URL)
    return before + token + after


def _sign(purpose: str, value, *, timed: bool = False) -> str:
    signer = signing.TimestampSigner if timed else signing.Signer
    return signer(salt=_SALTS[purpose]).sign_object(value, compress=True)


def _unsign(purpose: str, token: str, *, max_age=None):
    try:
        if max_age is None:
            return signing.Signer(salt=_SALTS[purpose]).unsign_object(token)
        return signing.TimestampSigner(salt=_SALTS[purpose]).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound() from None


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _ids(value, count: int) -> list:
    """The payload as `count` entries, the first one an id; anything else is a 404."""
    if not isinstance(value, list) or len(value) != count or not _is_id(value[0]):
        raise NotFound()
    return value


def _contact(contact_id) -> Contact:
    contact = Contact.objects.select_related("newsletter").filter(pk=contact_id).first()
    if contact is None:
        raise NotFound()
    return contact


# -- the subscription form -------------------------------------------------------------------


def form_token(contact_list: ContactList) -> str:
    return _sign("form", [contact_list.pk])


def form_list_from(token: str) -> ContactList:
    """The list whose form `token` opens, with its newsletter."""
    [list_id] = _ids(_unsign("form", token), 1)
    found = ContactList.objects.select_related("newsletter").filter(pk=list_id).first()
    if found is None:
        raise NotFound()
    return found


def form_url(contact_list: ContactList) -> str:
    """The hosted page of the list's form."""
    return _absolute(reverse("newsletter_public:form", args=[form_token(contact_list)]))


def form_action_url(contact_list: ContactList) -> str:
    """Where the embeddable snippet posts to, from any site (no CSRF token there)."""
    return _absolute(reverse("newsletter_public:form-embed", args=[form_token(contact_list)]))


def form_inputs(contact_list: ContactList, *, values=None, errors=None) -> list[dict]:
    """The inputs of the list's form after the email address, one per field it asks:
    {field, name, value, errors}, `name` being the input's name (`field_<key>`)."""
    values, errors = values or {}, errors or {}
    return [
        {
            "field": field,
            "name": f"field_{field.key}",
            "value": values.get(field.key, ""),
            "errors": errors.get(f"fields.{field.key}", []),
        }
        for field in contact_list.form_fields.order_by("position", "label", "id")
    ]


def consent_sentence(newsletter) -> str:
    """What a person agrees to by sending the form, shown under it."""
    return gettext(
        "By subscribing you agree to receive the emails of %(newsletter)s. We first send "
        "you a link to confirm your address, and every email has a link to unsubscribe."
    ) % {"newsletter": newsletter.name}


def embed_snippet(contact_list: ContactList, request=None) -> str:
    """A plain HTML form to paste on any site: it posts the address, the list's fields
    and the hidden honeypot to `form_action_url`, and needs neither JavaScript nor a
    stylesheet. Its texts are in the current language."""
    return render_to_string(
        "newsletter/public/embed_snippet.html",
        {
            "contact_list": contact_list,
            "newsletter": contact_list.newsletter,
            "action": form_action_url(contact_list),
            "inputs": form_inputs(contact_list),
            "honeypot": HONEYPOT,
            "consent": consent_sentence(contact_list.newsletter),
            "form_id": f"nl-form-{contact_list.pk}",
        },
    ).strip()


# -- confirmation ----------------------------------------------------------------------------


def confirm_url(
    contact: Contact, contact_list: ContactList, *, consent=None, fields: dict | None = None
) -> str:
    """The link of the confirmation email: following it within CONFIRM_MAX_AGE subscribes
    `contact` to `contact_list` and dates `consent` (the sign-up it answers). `fields`
    are the values the form gave for a contact who existed already; they are written
    only once the address is confirmed."""
    payload = [contact.pk, contact_list.pk, getattr(consent, "pk", None), fields or {}]
    token = _sign("confirm", payload, timed=True)
    return _absolute(reverse("newsletter_public:confirm", args=[token]))


def confirm_target_from(token: str) -> tuple[Contact, ContactList, int | None, dict]:
    """(contact, list, consent id, fields to write) of a confirmation token. An expired
    one's LinkExpired carries the `form_url` to sign up again from."""
    try:
        payload = _unsign("confirm", token, max_age=CONFIRM_MAX_AGE.total_seconds())
    except LinkExpired as expired:
        list_id = _ids(_unsign("confirm", token, max_age=10**12), 4)[1]
        found = (
            ContactList.objects.select_related("newsletter").filter(pk=list_id).first()
            if _is_id(list_id)
            else None
        )
        expired.contact_list = found
        expired.form_url = form_url(found) if found is not None else ""
        raise
    contact_id, list_id, consent_id, fields = _ids(payload, 4)
    if not _is_id(list_id) or not (consent_id is None or _is_id(consent_id)):
        raise NotFound()
    if not isinstance(fields, dict):
        raise NotFound()
    contact = _contact(contact_id)
    found = ContactList.objects.filter(pk=list_id, newsletter_id=contact.newsletter_id).first()
    if found is None:
        raise NotFound()
    found.newsletter = contact.newsletter
    return contact, found, consent_id, fields


# -- preferences and unsubscribe -------------------------------------------------------------


def preferences_token(contact: Contact) -> str:
    return _sign("preferences", [contact.pk])


def preferences_url(contact: Contact) -> str:
    """The contact's page of their fields and lists, where they may also leave all."""
    return _public_url("newsletter_public:preferences", preferences_token(contact))


def preferences_contact_from(token: str) -> Contact:
    [contact_id] = _ids(_unsign("preferences", token), 1)
    return _contact(contact_id)


def unsubscribe_url(contact: Contact, campaign: Campaign | None = None) -> str:
    """The page that unsubscribes the contact: from the lists of `campaign` when one is
    given (its id stays in the token, for the campaign's statistics), else from all."""
    token = _sign("unsubscribe", [contact.pk, campaign.pk if campaign is not None else None])
    return _public_url("newsletter_public:unsubscribe", token)


def unsubscribe_target_from(token: str) -> tuple[Contact, int | None]:
    """(contact, campaign id or None) of an unsubscribe token."""
    contact_id, campaign_id = _ids(_unsign("unsubscribe", token), 2)
    if not (campaign_id is None or _is_id(campaign_id)):
        raise NotFound()
    return _contact(contact_id), campaign_id
