"""Sender addresses of a newsletter, and the public page that verifies one.

In the Manager (`urlpatterns`): the senders of a newsletter with whether each is
verified and what its domain's DNS would do to its campaigns, adding one, a sender's
page (its warnings asked now, renaming, sending the link again) and deleting it after a
confirmation page. VIEW_PRODUCT sees the pages; every change needs MANAGE_PRODUCT (403,
404 for a newsletter the person does not see); the services check it again.

In public (`public_urlpatterns`, under /n/): the page the verification link opens. It
only shows a button (mail scanners open the links of the messages they check); the
address is verified when the button is pressed.
"""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from panel.access import Capability
from panel.errors import NotFound
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run

from .. import queries
from ..forms import ServiceForm
from ..models import Campaign, CampaignStatus
from ..services import senders as service
from .common import found_or_404, require_manage, run_or_403, submit_form


class SenderForm(ServiceForm):
    email = forms.EmailField(
        label=gettext_lazy("Address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": gettext_lazy("e.g. news@example.com")}),
        help_text=gettext_lazy(
            "An address of one of your Service Mails is ready at once; any other one "
            "receives a link to confirm that it is yours."
        ),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=service.NAME_MAX,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. Jorat theatre")}),
        help_text=gettext_lazy("Shown beside the address in the recipients' mailboxes."),
    )


class SenderNameForm(ServiceForm):
    name = SenderForm.base_fields["name"]


def senders_url(newsletter) -> str:
    return reverse("newsletter:sender-list", args=[newsletter.organisation_id, newsletter.pk])


def sender_url(sender) -> str:
    return reverse("newsletter:sender-detail", args=[sender.organisation_id, sender.pk])


def _managed_sender(access, sender_id):
    sender = found_or_404(queries.sender_for, access, sender_id)
    require_manage(access, sender.newsletter)
    return sender


# -- the Manager --------------------------------------------------------------------------------


@organisation_view()
def sender_list(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    senders = list(queries.senders_of(newsletter))
    warnings = service.warnings_of(senders, access=access)
    for sender in senders:
        sender.warnings = warnings[sender.pk]
    return render(
        request,
        "newsletter/sender_list.html",
        {
            "newsletter": newsletter,
            "senders": senders,
            "can_manage": access.can(Capability.MANAGE_PRODUCT, newsletter),
        },
    )


@organisation_view()
def sender_create(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    require_manage(access, newsletter)
    form = SenderForm(request.POST or None)
    if request.method == "POST":
        sender = submit_form(
            request, form, service.sender_create, access=access, newsletter=newsletter,
            success=None,
        )  # fmt: skip
        if sender:
            if sender.verified:
                messages.success(
                    request,
                    _("%(email)s is an address of your Service Mail: it is ready to send.")
                    % {"email": sender.email},
                )
            else:
                messages.success(
                    request,
                    _(
                        "A link was sent to %(email)s: the address sends campaigns once "
                        "someone reading that mailbox follows it."
                    )
                    % {"email": sender.email},
                )
            return redirect(sender_url(sender))
    return render(request, "newsletter/sender_form.html", {"newsletter": newsletter, "form": form})


def _detail_page(request, access, sender, form=None):
    newsletter = sender.newsletter
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    return render(
        request,
        "newsletter/sender_detail.html",
        {
            "newsletter": newsletter,
            "sender": sender,
            "warnings": service.sender_warnings(sender, access=access),
            "can_manage": can_manage,
            "form": form or (SenderNameForm(initial={"name": sender.name}) if can_manage else None),
            "resend_wait": service.resend_wait(sender),
            "link_days": service.LINK_MAX_AGE.days,
        },
    )


@organisation_view()
def sender_detail(request, access, sender_id):
    """The sender's page (GET); its POST saves the name."""
    sender = found_or_404(queries.sender_for, access, sender_id)
    if request.method != "POST":
        return _detail_page(request, access, sender)
    require_manage(access, sender.newsletter)
    form = SenderNameForm(request.POST)
    saved = submit_form(
        request, form, service.sender_update, access=access, sender=sender,
        success=_("Sender saved."),
    )  # fmt: skip
    if saved:
        return redirect(sender_url(sender))
    sender.refresh_from_db()
    return _detail_page(request, access, sender, form)


@organisation_view()
@post_only
def sender_resend(request, access, sender_id):
    sender = _managed_sender(access, sender_id)
    run_or_403(
        request,
        service.sender_verification_send,
        access=access,
        sender=sender,
        success=_("The link was sent again to %(email)s.") % {"email": sender.email},
    )
    return redirect(sender_url(sender))


@organisation_view()
def sender_delete(request, access, sender_id):
    sender = _managed_sender(access, sender_id)
    titles = service.scheduled_campaigns(sender)
    drafts = Campaign.objects.filter(sender=sender, status=CampaignStatus.DRAFT).count()
    if titles:
        detail = ngettext(
            "The campaign %(titles)s is scheduled from this address: take it back to "
            "draft or give it another sender first.",
            "The campaigns %(titles)s are scheduled from this address: take them back "
            "to draft or give them another sender first.",
            len(titles),
        ) % {"titles": ", ".join(f"“{title}”" for title in titles)}
    elif drafts:
        detail = ngettext(
            "%(n)d draft campaign uses it: it will have no sender until you choose one.",
            "%(n)d draft campaigns use it: they will have no sender until you choose one.",
            drafts,
        ) % {"n": drafts}
    else:
        detail = _("No campaign uses it.")
    return confirm_then_run(
        request,
        title=_("Delete a sender"),
        question=_("Delete the sender %(email)s?") % {"email": sender.email},
        detail=detail,
        button=_("Delete the sender"),
        keep_label=_("Keep the sender"),
        cancel_url=sender_url(sender),
        run=lambda: run_or_403(
            request,
            service.sender_delete,
            access=access,
            sender=sender,
            success=_("The sender %(email)s was deleted.") % {"email": sender.email},
        ),
        done_url=senders_url(sender.newsletter),
    )


urlpatterns = [
    path("newsletters/<int:newsletter_id>/senders/", sender_list, name="sender-list"),
    path("newsletters/<int:newsletter_id>/senders/new/", sender_create, name="sender-create"),
    path("senders/<int:sender_id>/", sender_detail, name="sender-detail"),
    path("senders/<int:sender_id>/resend/", sender_resend, name="sender-resend"),
    path("senders/<int:sender_id>/delete/", sender_delete, name="sender-delete"),
]


# -- the public page ----------------------------------------------------------------------------


def _public_page(request, context, status=200):
    return render(request, "newsletter/sender_verify.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def sender_verify(request, token):
    """GET shows the address and the button; POST verifies it. A tampered link is a
    404; an old one says so (410)."""
    try:
        if request.method == "POST":
            sender = service.sender_verify(token=token)
            return _public_page(request, {"sender": sender, "state": "done"})
        sender = service.sender_from_token(token)
    except NotFound:
        raise Http404() from None
    except service.SenderLinkExpired as expired:
        context = {"state": "expired", "detail": expired.detail, "days": service.LINK_MAX_AGE.days}
        return _public_page(request, context, status=410)
    state = "already" if sender.verified else "ask"
    return _public_page(request, {"sender": sender, "state": state})


public_urlpatterns = [
    path("senders/verify/<str:token>/", sender_verify, name="sender-verify"),
]
