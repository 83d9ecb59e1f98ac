"""Helpers shared by the Manager UI views: labels, lookups, confirmations."""

import datetime

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import selectors, services
from ..forms import GrantForm
from ..mixins import run_service
from ..models import GrantLevel, Role
from ..products import KINDS, activity_value_label

PAGE_SIZE = 50
NEW_TOKEN_KEY = "panel_new_token"

JOB_KIND_LABELS = {
    "activity_export": gettext_lazy("Activity export (CSV)"),
    "mail_storage_removal": gettext_lazy("Removal of deleted mailboxes"),
    "mail_csv_import": gettext_lazy("Addresses created from a CSV file"),
    "mail_restore": gettext_lazy("Mailbox restore from a backup"),
    "mail_backup": gettext_lazy("Mailbox backup taken on demand"),
    "mail_import": gettext_lazy("Import of another mailbox"),
    "ticketing_export": gettext_lazy("Ticket office export"),
    "ticketing_guests_import": gettext_lazy("Guests added from a CSV file"),
    "ticketing_guest_invitations": gettext_lazy("Invitations to guests"),
    "ticketing_guest_reminders": gettext_lazy("Reminders to guests"),
    "newsletter_contacts_import": gettext_lazy("Contacts imported from a CSV file"),
    "newsletter_contacts_export": gettext_lazy("Export of a list's contacts (CSV)"),
    "newsletter_send": gettext_lazy("Sending of a newsletter campaign"),
}

ACTIVITY_LABELS = {
    "panel.organisation.created": gettext_lazy("Created the organisation"),
    "panel.organisation.renamed": gettext_lazy("Renamed the organisation"),
    "panel.organisation.legal_representative_transferred": gettext_lazy(
        "Transferred the legal representative role"
    ),
    "panel.member.role_changed": gettext_lazy("Changed a member's role"),
    "panel.member.removed": gettext_lazy("Removed a member"),
    "panel.invitation.created": gettext_lazy("Invited someone"),
    "panel.invitation.resent": gettext_lazy("Resent an invitation"),
    "panel.invitation.revoked": gettext_lazy("Revoked an invitation"),
    "panel.invitation.accepted": gettext_lazy("Accepted an invitation"),
    "panel.invitation.declined": gettext_lazy("Declined an invitation"),
    "panel.team.created": gettext_lazy("Created a team"),
    "panel.team.updated": gettext_lazy("Changed a team"),
    "panel.team.deleted": gettext_lazy("Deleted a team"),
    "panel.team.member_added": gettext_lazy("Added someone to a team"),
    "panel.team.member_removed": gettext_lazy("Removed someone from a team"),
    "panel.grant.created": gettext_lazy("Granted access to a product"),
    "panel.grant.deleted": gettext_lazy("Removed access to a product"),
    "panel.activity.export_started": gettext_lazy("Exported the activity log"),
    "ticketing.office.created": gettext_lazy("Created a ticket office"),
    "ticketing.office.changed": gettext_lazy("Changed the settings of a ticket office"),
    "ticketing.office.deleted": gettext_lazy("Deleted a ticket office"),
    "ticketing.event.created": gettext_lazy("Created an event"),
    "ticketing.event.changed": gettext_lazy("Changed an event"),
    "ticketing.event.deleted": gettext_lazy("Deleted an event"),
    "ticketing.date.created": gettext_lazy("Added a date to an event"),
    "ticketing.date.deleted": gettext_lazy("Deleted a date of an event"),
    "ticketing.date.cancelled": gettext_lazy("Cancelled a date of an event"),
    "ticketing.form.changed": gettext_lazy("Renamed a ticketing form"),
    "ticketing.checkin_list.created": gettext_lazy("Created a check-in list"),
    "ticketing.checkin_list.changed": gettext_lazy("Changed a check-in list"),
    "ticketing.checkin_list.deleted": gettext_lazy("Deleted a check-in list"),
    "ticketing.export.started": gettext_lazy("Exported an event's orders, tickets or check-ins"),
    "ticketing.guest.created": gettext_lazy("Added a guest to an event"),
    "ticketing.guest.updated": gettext_lazy("Changed a guest of an event"),
    "ticketing.guest.deleted": gettext_lazy("Removed a guest from an event"),
    "ticketing.guests.imported": gettext_lazy("Added guests from a CSV file"),
    "ticketing.order.paid": gettext_lazy("Marked an order paid"),
    "ticketing.order.cancelled": gettext_lazy("Cancelled an order"),
    "ticketing.order.resent": gettext_lazy("Sent an order's tickets again"),
    "ticketing.order.payment_refused": gettext_lazy(
        "Refused a card payment that came too late (refund it in Stripe)"
    ),
    "ticketing.form.created": gettext_lazy("Created a ticketing form"),
    "ticketing.form.deleted": gettext_lazy("Deleted a ticketing form"),
    "ticketing.field.created": gettext_lazy("Added a question to a ticketing form"),
    "ticketing.guest_message.saved": gettext_lazy("Changed the text of a guest email"),
    "ticketing.guest_message.reset": gettext_lazy("Went back to the default text of a guest email"),
    "ticketing.guest_reminder.planned": gettext_lazy("Planned a reminder to guests"),
    "ticketing.guests.invited": gettext_lazy("Sent invitations to guests"),
    "ticketing.scanner_device.created": gettext_lazy("Made a door device link"),
    "ticketing.scanner_device.revoked": gettext_lazy("Revoked a door device"),
    "ticketing.zone.seats_changed": gettext_lazy("Changed the seating plan of a zone"),
    "newsletter.newsletter.created": gettext_lazy("Created a newsletter"),
    "newsletter.newsletter.changed": gettext_lazy("Renamed a newsletter"),
    "newsletter.newsletter.deleted": gettext_lazy("Deleted a newsletter"),
    "newsletter.field.created": gettext_lazy("Added a contact field"),
    "newsletter.field.changed": gettext_lazy("Changed a contact field"),
    "newsletter.field.deleted": gettext_lazy("Deleted a contact field"),
    "newsletter.list.created": gettext_lazy("Created a contact list"),
    "newsletter.list.changed": gettext_lazy("Changed a contact list"),
    "newsletter.list.deleted": gettext_lazy("Deleted a contact list"),
    "newsletter.group.created": gettext_lazy("Created a group of contacts"),
    "newsletter.group.changed": gettext_lazy("Renamed a group of contacts"),
    "newsletter.group.deleted": gettext_lazy("Deleted a group of contacts"),
    "newsletter.contact.created": gettext_lazy("Added a contact"),
    "newsletter.contact.changed": gettext_lazy("Changed a contact"),
    "newsletter.contact.deleted": gettext_lazy("Deleted a contact"),
    "newsletter.contacts.import_started": gettext_lazy(
        "Started importing contacts from a CSV file"
    ),
    "newsletter.contacts.imported": gettext_lazy("Imported contacts from a CSV file"),
    "newsletter.contacts.export_started": gettext_lazy("Exported the contacts of a list"),
    "newsletter.sender.created": gettext_lazy("Added a sender address"),
    "newsletter.sender.changed": gettext_lazy("Renamed a sender address"),
    "newsletter.sender.deleted": gettext_lazy("Deleted a sender address"),
    "newsletter.sender.link_sent": gettext_lazy(
        "Sent a sender address its verification link again"
    ),
    "newsletter.sender.verified": gettext_lazy("A sender address was verified"),
    "newsletter.campaign.created": gettext_lazy("Created a campaign"),
    "newsletter.campaign.changed": gettext_lazy("Changed a campaign"),
    "newsletter.campaign.deleted": gettext_lazy("Deleted a campaign"),
    "newsletter.campaign.tested": gettext_lazy("Sent a test of a campaign"),
    "newsletter.campaign.scheduled": gettext_lazy("Scheduled a campaign"),
    "newsletter.campaign.unscheduled": gettext_lazy("Put a scheduled campaign back to draft"),
    "newsletter.campaign.send_started": gettext_lazy("Started sending a campaign"),
    "newsletter.campaign.paused": gettext_lazy("Paused the sending of a campaign"),
    "newsletter.campaign.resumed": gettext_lazy("Resumed the sending of a campaign"),
    "newsletter.campaign.cancelled": gettext_lazy("Cancelled the sending of a campaign"),
    "newsletter.template.created": gettext_lazy("Saved a newsletter template"),
    "newsletter.template.changed": gettext_lazy("Changed a newsletter template"),
    "newsletter.template.deleted": gettext_lazy("Deleted a newsletter template"),
    "mail.service.ordered": gettext_lazy("Ordered a Service Mail"),
    "mail.service.plan_changed": gettext_lazy("Changed the plan of a Service Mail"),
    "mail.service.quota_raised": gettext_lazy("Raised the address quota of a Service Mail"),
    "mail.service.defaults_changed": gettext_lazy(
        "Changed the default permissions of a Service Mail"
    ),
    "mail.service.deleted": gettext_lazy("Deleted a Service Mail"),
    "mail.service.domains_verified": gettext_lazy("Proved control of a Service Mail domain"),
    "mail.extra_domain.added": gettext_lazy("Added an extra domain to a Service Mail"),
    "mail.extra_domain.removed": gettext_lazy("Removed an extra domain from a Service Mail"),
    "mail.address.created": gettext_lazy("Created a mail address"),
    "mail.address.deleted": gettext_lazy("Deleted a mail address"),
    "mail.address.password_changed": gettext_lazy("Changed the password of a mail address"),
    "mail.address.signature_set": gettext_lazy("Set the signature of a mail address"),
    "mail.alias.added": gettext_lazy("Added an alias"),
    "mail.alias.removed": gettext_lazy("Removed an alias"),
    "mail.redirection.set": gettext_lazy("Changed the redirection of a mail address"),
    "mail.redirect_address.created": gettext_lazy("Created a redirect-only address"),
    "mail.redirect_address.deleted": gettext_lazy("Deleted a redirect-only address"),
    "mail.responder.set": gettext_lazy("Changed the automatic reply of a mail address"),
    "mail.signature.created": gettext_lazy("Added a mail signature"),
    "mail.signature.updated": gettext_lazy("Changed a mail signature"),
    "mail.signature.deleted": gettext_lazy("Deleted a mail signature"),
    "mail.csv_import.started": gettext_lazy("Started creating addresses from a CSV file"),
    "mail.csv_import.done": gettext_lazy("Created addresses from a CSV file"),
    "mail.restore.started": gettext_lazy("Started restoring a mailbox from a backup"),
    "mail.restore.done": gettext_lazy("Restored a mailbox from a backup"),
    "mail.import.started": gettext_lazy("Started importing another mailbox"),
    "mail.import.done": gettext_lazy("Imported another mailbox"),
    "domains.domain.added": gettext_lazy("Added a domain"),
    "domains.domain.deleted": gettext_lazy("Deleted a domain"),
    "domains.domain.renewal_changed": gettext_lazy("Changed the renewal of a domain"),
    "domains.rrsets.changed": gettext_lazy("Changed DNS records"),
    "domains.zone.imported": gettext_lazy("Imported a zone file"),
    "domains.synonym.made": gettext_lazy("Made a domain a synonym of another"),
    "domains.synonym.dissociated": gettext_lazy("Dissociated a synonym domain"),
    "domains.mail_records.added": gettext_lazy("Added the mail records of a domain"),
    "domains.mail_records.fixed": gettext_lazy("Fixed the mail records of a domain"),
    "domains.dkim_key.rotated": gettext_lazy("Rotated the DKIM key of a domain"),
}

# The Kind filter of the activity page: the entity part of a code (`mail.address`).
ACTIVITY_KIND_LABELS = {
    "panel.organisation": gettext_lazy("Organisation"),
    "panel.member": gettext_lazy("Members"),
    "panel.invitation": gettext_lazy("Invitations"),
    "panel.team": gettext_lazy("Teams"),
    "panel.grant": gettext_lazy("Access to products"),
    "panel.activity": gettext_lazy("Activity exports"),
    "mail.service": gettext_lazy("Service Mail"),
    "mail.extra_domain": gettext_lazy("Service Mail extra domains"),
    "mail.address": gettext_lazy("Mail addresses"),
    "mail.alias": gettext_lazy("Aliases"),
    "mail.redirection": gettext_lazy("Redirections"),
    "mail.redirect_address": gettext_lazy("Redirect-only addresses"),
    "mail.responder": gettext_lazy("Automatic replies"),
    "mail.signature": gettext_lazy("Mail signatures"),
    "mail.csv_import": gettext_lazy("Addresses from CSV files"),
    "mail.restore": gettext_lazy("Mailbox restores"),
    "mail.import": gettext_lazy("Mailbox imports"),
    "domains.domain": gettext_lazy("Domains"),
    "domains.rrsets": gettext_lazy("DNS records"),
    "domains.zone": gettext_lazy("Zone files"),
    "domains.synonym": gettext_lazy("Synonym domains"),
    "domains.mail_records": gettext_lazy("Mail records of domains"),
    "domains.dkim_key": gettext_lazy("DKIM keys"),
}

# The keys of an activity entry's details, as the Details column names them.
ACTIVITY_DETAIL_LABELS = {
    "address": gettext_lazy("Address"),
    "addresses": gettext_lazy("Addresses"),
    "alias": gettext_lazy("Alias"),
    "at": gettext_lazy("At"),
    "changed": gettext_lazy("Changed"),
    "date": gettext_lazy("Date"),
    "domain": gettext_lazy("Domain"),
    "domains": gettext_lazy("Domains"),
    "email": gettext_lazy("Email"),
    "enabled": gettext_lazy("Enabled"),
    "file": gettext_lazy("File"),
    "from": gettext_lazy("From"),
    "invited": gettext_lazy("Invited"),
    "job": gettext_lazy("Job"),
    "keep_copy": gettext_lazy("Keep a copy"),
    "kind": gettext_lazy("Kind"),
    "level": gettext_lazy("Level"),
    "main": gettext_lazy("Main domain"),
    "mode": gettext_lazy("For"),
    "name": gettext_lazy("Name"),
    "plan": gettext_lazy("Plan"),
    "product": gettext_lazy("Product"),
    "product_type": gettext_lazy("Product type"),
    "quota": gettext_lazy("Quota"),
    "role": gettext_lazy("Role"),
    "rrsets": gettext_lazy("Records"),
    "selector": gettext_lazy("Selector"),
    "sender": gettext_lazy("Sender"),
    "source": gettext_lazy("Source"),
    "targets": gettext_lazy("Redirected to"),
    "title": gettext_lazy("Title"),
    "to": gettext_lazy("To"),
    "user": gettext_lazy("Person"),
    "users": gettext_lazy("People"),
}


def activity_kind_choices(kinds) -> list[tuple[str, str]]:
    """(kind, label) for the Kind filter, by label; a kind without a label shows its code."""
    choices = [(kind, str(ACTIVITY_KIND_LABELS.get(kind, kind))) for kind in kinds]
    return sorted(choices, key=lambda choice: choice[1].casefold())


def _detail_text(key: str, value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_detail_text(key, item) for item in value if item not in ("", None))
    if isinstance(value, dict):
        return ", ".join(
            f"{_detail_label(k)}: {_detail_text(k, v)}" for k, v in value.items() if _shown(v)
        )
    if isinstance(value, int | float):
        return number_format(value)
    if key == "product_type" and value in KINDS:
        return str(KINDS[value].label)
    if isinstance(value, str) and (label := _value_label(key, value)) is not None:
        return label
    if key == "date" and isinstance(value, str):
        try:
            return date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return value
    return str(value)


def _value_label(key: str, value: str) -> str | None:
    """A code in the details as a word: the core's own choices, or what a product
    registered (panel.products.activity_values_register)."""
    core = {"level": GrantLevel, "role": Role, "to": Role, "from": Role}.get(key)
    if core is not None and value in core.values:
        return str(core(value).label)
    return activity_value_label(key, value)


def _detail_label(key: str) -> str:
    return str(ACTIVITY_DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()))


def _shown(value) -> bool:
    return value not in ("", None) and value != [] and value != {}


def activity_details(data: dict) -> list[tuple[str, str]]:
    """An entry's details as people read them: (label, text) pairs, lists joined with
    commas, yes/no for booleans, empty values left out."""
    return [
        (_detail_label(key), _detail_text(key, value))
        for key, value in data.items()
        if _shown(value)
    ]


def job_label(job) -> str:
    """What the Job is, and what it is about when its parameters name it (the address of
    a backup or a restore), so that three backups are told apart in the list."""
    label = str(JOB_KIND_LABELS.get(job.kind, job.kind.replace("_", " ").capitalize()))
    about = (job.params or {}).get("address") or (job.params or {}).get("domain")
    return f"{label} · {about}" if about and isinstance(about, str) else label


def describe_jobs(jobs):
    """Give each Job the human label the templates show."""
    for job in jobs:
        job.label = job_label(job)
    return jobs


def first_or_404(queryset):
    found = queryset.first()
    if found is None:
        raise Http404()
    return found


def confirm_then_run(
    request, *, title, question, button, cancel_url, run, done_url, detail="", keep_label=""
):
    """Ask before a destructive action (GET), do it on POST, then go to `done_url`.
    `keep_label` names the way back when the action itself is a cancellation ("Keep the
    order" rather than a "Cancel" beside "Cancel the order")."""
    if request.method == "POST":
        ok, _result = run()
        return redirect(done_url if ok else cancel_url)
    return render(
        request,
        "panel/confirm.html",
        {
            "title": title,
            "question": question,
            "detail": detail,
            "button": button,
            "cancel_url": cancel_url,
            "keep_label": keep_label,
        },
    )


def next_url(request, default):
    """The `next` field of a form when it points into this site, else `default`."""
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def organisation_products_by_kind(organisation, *, except_granted=()) -> list[tuple]:
    """[(kind, [products])] for the grant forms' product choices, without the products
    that `except_granted` (the grants the team or person holds) already cover."""
    granted = {(grant.product_type, grant.product_id) for grant in except_granted}
    return [
        (kind, [p for p in kind.products_of(organisation) if (kind.key, p.pk) not in granted])
        for kind in KINDS.values()
    ]


def describe_grants(grants, *, delete_url_name: str, url_args: list) -> list:
    """Give each Grant the kind, product name and removal URL the grants table shows."""
    grants = list(grants)
    names = selectors.product_names(grants)
    for grant in grants:
        grant.kind = KINDS.get(grant.product_type)
        grant.product_name = names.get((grant.product_type, grant.product_id), "—")
        grant.delete_url = reverse(delete_url_name, args=[*url_args, grant.pk])
    return grants


def submit_grant(request, access, *, recipient: dict, success: str, done_url: str, rerender):
    """The grant form of a team or member page: one service call, its errors inline.
    `recipient` is `{"team": team}` or `{"user": user}`; `rerender(form)` shows the page."""
    form = GrantForm(
        request.POST, products_by_kind=organisation_products_by_kind(access.organisation)
    )
    if form.is_valid():
        product_type, product_id = form.cleaned_data["product"]
        ok, _grant = run_service(
            request,
            services.grant_create,
            form=form,
            field_map={"product_type": "product", "product_id": "product"},
            access=access,
            product_type=product_type,
            product_id=product_id,
            level=form.cleaned_data["level"],
            success=success,
            **recipient,
        )
        if ok:
            return redirect(done_url)
    return rerender(form)


def confirm_grant_removal(request, access, grant, *, question: str, detail: str, back_url: str):
    """Ask, then withdraw a grant of a team or member page."""
    return confirm_then_run(
        request,
        title=_("Remove access"),
        question=question,
        detail=detail,
        button=_("Remove access"),
        cancel_url=back_url,
        done_url=back_url,
        run=lambda: run_service(
            request, services.grant_delete, access=access, grant=grant, success=_("Access removed.")
        ),
    )


def product_name(grant) -> str:
    return selectors.product_names([grant]).get((grant.product_type, grant.product_id), "")
