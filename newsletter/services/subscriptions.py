"""What a person does about themselves, through a list's public form and the signed links
mailed to them: signing up, confirming, changing their preferences, unsubscribing. The
public pages (views/public.py) and the public API (api/public.py) both call these; the
link tokens are newsletter/links.py's.

The rules, written here once:
- The form asks the address and the list's `form_fields`, each checked as the
  organisation's own input is (services/contacts.py); every problem is named at once:
  InvalidInput under `email` and `fields.<key>`.
- A filled-in honeypot (links.HONEYPOT) gets the answer a person gets, and nothing is
  written or sent.
- Signing up never subscribes: the contact (created if new) becomes `unconfirmed` on the
  list, a Consent (form, address, browser, page) is kept, and once the transaction
  commits the confirmation email is sent, in the language of the page. Only its signed
  link subscribes (`confirm`), which dates the consent. One who left the list may sign
  up again this way, their own consent; one already subscribed stays so and is mailed
  the link of their preferences instead.
- At most one email per address and list every MAIL_INTERVAL, however often the form is
  sent: it cannot be used to flood someone's mailbox. Within the interval a sign-up
  changes nothing.
- The form's values are written at once for a new contact only. For one who exists
  already they travel in the signed confirmation link and are written when it is
  followed: a stranger typing someone's address cannot change their details.
- On their preferences page a contact changes the fields the forms of their lists ask,
  and which of their lists they are subscribed to (the link, mailed to them, proves the
  address), or leaves everything. Unsubscribing is immediate and never refused.
Every change of standing or of details writes the contact's history (ContactEvent).
"""

import datetime
import logging
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from panel.errors import Conflict, NotFound, Problems

from .. import links
from ..models import (
    Campaign,
    Consent,
    ConsentSource,
    Contact,
    ContactEvent,
    ContactEventKind,
    ContactField,
    ContactList,
    Subscription,
    SubscriptionStatus,
)
from .contacts import (
    STATUS_EVENTS,
    apply_subscriptions,
    clean_email,
    clean_fields,
    email_key,
    merge_fields,
)

log = logging.getLogger(__name__)

#: One confirmation email per address and list within this time.
MAIL_INTERVAL = datetime.timedelta(minutes=5)
#: The standings a contact's own "unsubscribe" ends.
RECEIVING = (SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.UNCONFIRMED)
FORM = ConsentSource.FORM


def _short(text, limit: int = 300) -> str:
    return str(text or "")[:limit]


def _event(contact, kind, *, contact_list=None, detail=None, now) -> None:
    ContactEvent.objects.create(
        organisation_id=contact.organisation_id, contact=contact, list=contact_list,
        kind=kind, detail=detail or {}, at=now,
    )  # fmt: skip


def _set_status(subscription: Subscription, status, *, kind=None, detail=None, now) -> None:
    subscription.status, subscription.changed_at = status, now
    subscription.save(update_fields=["status", "changed_at"])
    _event(
        subscription.contact, kind or STATUS_EVENTS[status], contact_list=subscription.list,
        detail=detail, now=now,
    )  # fmt: skip


def form_fields_of(contact_list: ContactList) -> dict[str, ContactField]:
    return {f.key: f for f in contact_list.form_fields.order_by("position", "label", "id")}


def _clean_values(asked: dict[str, ContactField], values, problems: Problems) -> dict:
    """{key: value or None} of `values`: only keys of `asked`, each checked."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        problems.add("fields", _("Give the fields as an object of keys and values."))
        return {}
    for key, value in values.items():
        if key not in asked:
            problems.add(f"fields.{key}", _("This form does not ask for this field."))
        elif isinstance(value, str) and "\x00" in value:
            problems.add(f"fields.{key}", _("Remove the invisible character from this text."))
    values = {k: v for k, v in values.items() if f"fields.{k}" not in problems.fields}
    return clean_fields(asked, values, problems)


# -- signing up ---------------------------------------------------------------------------------


def form_subscribe(contact_list: ContactList, data: dict, *, ip=None, user_agent="", page=""):
    """Signs `data` ({email, fields: {key: value}, <honeypot>}) up to `contact_list`, as
    the module's rules say. Raises InvalidInput naming every field at fault; a robot (the
    honeypot filled in) gets no error and changes nothing."""
    if str(data.get(links.HONEYPOT) or "").strip():
        return
    problems = Problems()
    address = problems.check(clean_email, data.get("email"))
    values = _clean_values(form_fields_of(contact_list), data.get("fields"), problems)
    problems.raise_if_any()
    language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        _sign_up(
            contact_list, address, values, ip=ip, user_agent=user_agent, page=page,
            language=language,
        )  # fmt: skip


def _existing(newsletter, address: str) -> Contact | None:
    return (
        Contact.objects.select_for_update()
        .filter(newsletter=newsletter, email_key=email_key(address))
        .first()
    )


def _create(contact_list, address: str, values: dict, now) -> Contact | None:
    """A new contact with the form's values, or None when the same address was just
    added by another request."""
    contact = Contact(
        organisation_id=contact_list.organisation_id, newsletter_id=contact_list.newsletter_id,
        email=address, email_key=email_key(address), fields=merge_fields({}, values),
        created_at=now, updated_at=now,
    )  # fmt: skip
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        return None
    _event(contact, ContactEventKind.CREATED, detail={"source": FORM}, now=now)
    return contact


def _mail_allowed(contact: Contact, contact_list: ContactList) -> bool:
    """True once per MAIL_INTERVAL for an address and a list."""
    key = f"newsletter:signup-mail:{contact.pk}:{contact_list.pk}"
    return cache.add(key, 1, timeout=int(MAIL_INTERVAL.total_seconds()))


def _sign_up(contact_list, address, values, *, ip, user_agent, page, language) -> None:
    now = timezone.now()
    newsletter = contact_list.newsletter
    contact = _existing(newsletter, address)
    pending: dict = {}
    if contact is None:
        contact = _create(contact_list, address, values, now) or _existing(newsletter, address)
    else:
        pending = {key: value for key, value in values.items() if value is not None}
    if not _mail_allowed(contact, contact_list):
        return
    subscription = contact.subscriptions.filter(list=contact_list).first()
    if subscription is not None and subscription.status == SubscriptionStatus.SUBSCRIBED:
        link, already = links.preferences_url(contact), True
    else:
        if subscription is None or subscription.status != SubscriptionStatus.UNCONFIRMED:
            apply_subscriptions(
                contact, [(contact_list, SubscriptionStatus.UNCONFIRMED, None)], source=FORM,
                now=now,
            )  # fmt: skip
        else:  # sent again
            _event(
                contact, ContactEventKind.CONFIRMATION_SENT, contact_list=contact_list,
                detail={"source": FORM}, now=now,
            )  # fmt: skip
        consent = Consent.objects.create(
            organisation_id=contact.organisation_id, contact=contact, list=contact_list,
            source=FORM, ip_address=ip or None, user_agent=_short(user_agent),
            detail=_short(page), at=now,
        )  # fmt: skip
        link = links.confirm_url(contact, contact_list, consent=consent, fields=pending)
        already = False
    to, list_id = contact.email, contact_list.pk

    def send():
        confirmation_send(to=to, list_id=list_id, link=link, already=already, language=language)

    transaction.on_commit(send, robust=True)


def _from_address(newsletter) -> str:
    """The newsletter's name, at the panel's own sending address."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    name = " ".join(newsletter.name.split())
    return str(Address(display_name=name, addr_spec=address))


def confirmation_send(*, to: str, list_id: int, link: str, already: bool, language: str) -> None:
    """The email of a sign-up: the confirmation link, or, to one already subscribed, the
    link of their preferences."""
    contact_list = ContactList.objects.select_related("newsletter").get(pk=list_id)
    newsletter = contact_list.newsletter
    with translation.override(language):
        context = {
            "newsletter": newsletter,
            "contact_list": contact_list,
            "link": link,
            "already": already,
            "days": links.CONFIRM_MAX_AGE.days,
            "email": to,
        }
        if already:
            subject = _("You are already subscribed to %(list)s") % {"list": contact_list.name}
        else:
            subject = _("Confirm your subscription to %(list)s") % {"list": contact_list.name}
        text = render_to_string("newsletter/emails/confirm_subscription.txt", context)
        html = render_to_string("newsletter/emails/confirm_subscription.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=_from_address(newsletter), to=[to]
    )
    message.attach_alternative(html, "text/html")
    message.send()


# -- confirming ---------------------------------------------------------------------------------


def confirmation_state(token: str) -> tuple[Contact, ContactList, str | None]:
    """(contact, list, their status on it) of a confirmation link, before it is
    followed; the errors of `confirm` for a bad or old one."""
    contact, contact_list, _consent_id, _fields = links.confirm_target_from(token)
    status = contact.subscriptions.filter(list=contact_list).values_list("status", flat=True)
    return contact, contact_list, status.first()


@transaction.atomic
def confirm(token: str, *, ip=None) -> tuple[Contact, ContactList, bool]:
    """Follows a confirmation link: the contact becomes `subscribed` to the list, the
    sign-up's consent is dated, the values the form gave are written. Returns (contact,
    list, already): following it again changes nothing. Raises NotFound for a bad token,
    links.LinkExpired for an old one, Conflict `not_pending` when the contact left the
    list since (they sign up again to get a new link)."""
    contact, contact_list, consent_id, fields = links.confirm_target_from(token)
    subscription = (
        Subscription.objects.select_for_update()
        .select_related("contact", "list")
        .filter(contact=contact, list=contact_list)
        .first()
    )
    if subscription is None:
        raise NotFound()
    if subscription.status == SubscriptionStatus.SUBSCRIBED:
        return contact, contact_list, True
    if subscription.status != SubscriptionStatus.UNCONFIRMED:
        raise Conflict(
            _(
                "This sign-up is no longer waiting for confirmation. Subscribe again "
                "through the form to get a new link."
            ),
            code="not_pending",
        )
    now = timezone.now()
    _set_status(
        subscription, SubscriptionStatus.SUBSCRIBED, kind=ContactEventKind.CONFIRMED,
        detail={"source": FORM, "ip": ip or ""}, now=now,
    )  # fmt: skip
    consents = contact.consents.filter(list=contact_list, source=FORM, confirmed_at__isnull=True)
    consent = consents.filter(pk=consent_id).first() if consent_id else consents.first()
    if consent is None:
        Consent.objects.create(
            organisation_id=contact.organisation_id, contact=contact, list=contact_list,
            source=FORM, ip_address=ip or None, at=now, confirmed_at=now,
        )  # fmt: skip
    else:
        consent.confirmed_at = now
        consent.save(update_fields=["confirmed_at"])
    if fields:
        problems = Problems()
        values = clean_fields(form_fields_of(contact_list), fields, problems)
        # A field changed or removed since the form was sent is left out, not refused.
        kept = {k: v for k, v in values.items() if f"fields.{k}" not in problems.fields}
        _write_fields(contact, kept, now)
    return contact, contact_list, False


def _write_fields(contact: Contact, values: dict, now) -> None:
    merged = merge_fields(contact.fields, values)
    if merged == contact.fields:
        return
    changed = sorted(k for k in set(merged) | set(contact.fields)
                     if merged.get(k) != contact.fields.get(k))  # fmt: skip
    contact.fields, contact.updated_at = merged, now
    contact.save(update_fields=["fields", "updated_at"])
    _event(contact, ContactEventKind.CHANGED, detail={"fields": changed, "source": FORM}, now=now)


# -- preferences --------------------------------------------------------------------------------


def preference_fields(contact: Contact) -> list[ContactField]:
    """The fields a contact may change themselves: those the forms of their lists ask.
    The newsletter's other fields are the organisation's own notes."""
    return list(
        ContactField.objects.filter(
            newsletter_id=contact.newsletter_id,
            pk__in=ContactList.form_fields.through.objects.filter(
                contactlist__subscriptions__contact=contact
            ).values("contactfield_id"),
        ).order_by("position", "label", "id")
    )


def preference_lists(contact: Contact) -> list[Subscription]:
    """The contact's standing on each list they are on, with the list."""
    return list(contact.subscriptions.select_related("list").order_by("list__name", "list_id"))


@transaction.atomic
def preferences_update(contact: Contact, data: dict, *, ip=None, user_agent="", page="") -> None:
    """A contact's own changes: `fields` ({key: value}, an empty value removes one; only
    the fields of `preference_fields`), `lists` (the ids of their lists they want to be
    subscribed to; any other of their lists that was receiving is left), or `leave_all`
    (unsubscribed from every list). A list they are subscribed to again records a
    consent, the link being proof of the address. Raises InvalidInput naming every field
    at fault; nothing changes then."""
    if data.get("leave_all"):
        unsubscribe(contact)
        return
    problems = Problems()
    asked = {field.key: field for field in preference_fields(contact)}
    values = _clean_values(asked, data.get("fields"), problems)
    standings = {s.list_id: s for s in preference_lists(contact)}
    wanted = None
    if data.get("lists") is not None:
        raw = data["lists"]
        if not isinstance(raw, list | tuple | set) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in raw
        ):
            problems.add("lists", _("Give the ids of your lists."))
        else:
            wanted = set(raw)
            strangers = sorted(wanted - set(standings))
            if strangers:
                problems.add(
                    "lists",
                    _("Not one of your lists: %(ids)s.") % {"ids": ", ".join(map(str, strangers))},
                )
    problems.raise_if_any()
    now = timezone.now()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _write_fields(contact, values, now)
    if wanted is None:
        return
    for list_id, subscription in standings.items():
        if list_id in wanted and subscription.status != SubscriptionStatus.SUBSCRIBED:
            _set_status(subscription, SubscriptionStatus.SUBSCRIBED, detail={"source": FORM},
                        now=now)  # fmt: skip
            Consent.objects.create(
                organisation_id=contact.organisation_id, contact=contact,
                list_id=list_id, source=FORM, ip_address=ip or None,
                user_agent=_short(user_agent), detail=_short(page), at=now, confirmed_at=now,
            )  # fmt: skip
        elif list_id not in wanted and subscription.status in RECEIVING:
            _set_status(subscription, SubscriptionStatus.UNSUBSCRIBED, now=now)


# -- unsubscribing ------------------------------------------------------------------------------


def unsubscribe_scope(contact: Contact, campaign_id: int | None) -> list[Subscription]:
    """What an unsubscribe link leaves: the contact's lists the campaign went to, or all
    their lists when it names none (or one that is gone); only those still receiving."""
    subscriptions = contact.subscriptions.select_related("list").filter(status__in=RECEIVING)
    if campaign_id is not None:
        campaign = Campaign.objects.filter(pk=campaign_id, newsletter_id=contact.newsletter_id)
        if campaign.exists():
            subscriptions = subscriptions.filter(list__in=campaign.get().lists.all())
    return list(subscriptions.order_by("list__name", "list_id"))


@transaction.atomic
def unsubscribe(contact: Contact, lists=None, *, campaign_id: int | None = None) -> list:
    """Unsubscribes the contact from `lists` (all their lists when None): every one of
    them that was subscribed or unconfirmed becomes `unsubscribed`, with a history line
    naming the campaign whose link it was. Returns the lists left; twice changes
    nothing."""
    subscriptions = (
        Subscription.objects.select_for_update()
        .select_related("contact", "list")
        .filter(contact=contact, status__in=RECEIVING)
    )
    if lists is not None:
        subscriptions = subscriptions.filter(list__in=[getattr(li, "pk", li) for li in lists])
    now = timezone.now()
    left = []
    for subscription in subscriptions.order_by("list__name", "list_id"):
        detail = {"campaign": campaign_id} if campaign_id else {}
        _set_status(subscription, SubscriptionStatus.UNSUBSCRIBED, detail=detail, now=now)
        left.append(subscription.list)
    return left
