"""The campaign wizard in the Manager, in the reference's steps: set-up (title, preview
text, sender, reply-to, language, tracking, UTM), theme or saved template, content in the
block editor, recipients with their exact count as they are chosen, preview for a
contact at desktop and phone widths with a test send, and the schedule. Each step saves
the draft; a scheduled campaign goes back to draft to be changed.

VIEW_PRODUCT sees the pages; every change needs MANAGE_PRODUCT (403 otherwise, 404 for
a newsletter the person does not see); the services check it again."""

import json
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from panel.access import Capability
from panel.errors import InvalidInput
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run

from .. import queries, rendering, selectors
from ..forms import (
    CampaignRecipientsForm,
    CampaignSetupForm,
    ScheduleForm,
    TemplateNameForm,
    TestSendForm,
)
from ..models import CampaignStatus, ContactGroup, Sender
from ..services import campaigns as services
from ..services import sending
from ..services import templates as template_services
from .common import found_or_404, require_manage, run_or_403, submit_form
from .reports import report_url

#: The wizard's steps, in order: (URL name suffix, title), translated when shown.
STEPS = (
    ("setup", gettext_lazy("Set-up")),
    ("theme", gettext_lazy("Theme")),
    ("content", gettext_lazy("Content")),
    ("recipients", gettext_lazy("Recipients")),
    ("preview", gettext_lazy("Preview and test")),
    ("schedule", gettext_lazy("Schedule")),
)
PREVIEW_CONTACTS = 50


def step_url(campaign, step: str) -> str:
    return reverse(f"newsletter:campaign-{step}", args=[campaign.organisation_id, campaign.pk])


def campaigns_url(newsletter) -> str:
    return reverse("newsletter:campaign-list", args=[newsletter.organisation_id, newsletter.pk])


def _next_step(step: str) -> str:
    names = [name for name, _title in STEPS]
    return names[min(names.index(step) + 1, len(names) - 1)]


def _campaign(access, campaign_id, *, manage=False):
    campaign = found_or_404(queries.campaign_for, access, campaign_id)
    if manage:
        require_manage(access, campaign.newsletter)
    return campaign


def _page(request, access, campaign, step: str, template: str, context: dict):
    if step != "preview" and (campaign.started_at or campaign.status == CampaignStatus.OVERDUE):
        # Once its sending has started (or waits for a confirmation), a campaign is its
        # report; its email stays viewable.
        return redirect(report_url(campaign))
    newsletter = campaign.newsletter
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    names = [name for name, _title in STEPS]
    context = {
        "newsletter": newsletter,
        "campaign": campaign,
        "steps": [
            {
                "name": name,
                "title": title,
                "url": step_url(campaign, name),
                "number": index + 1,
                "current": name == step,
                "done": names.index(name) < names.index(step),
            }
            for index, (name, title) in enumerate(STEPS)
        ],  # fmt: skip
        "step": step,
        "can_manage": can_manage,
        "editable": can_manage and campaign.status == CampaignStatus.DRAFT,
        "tab": "campaigns",
        **context,
    }
    return render(request, f"newsletter/{template}", context)


def _save_and_go_on(request, campaign, step: str):
    """After a step is saved: the next step, or the same one ("Save" instead of
    "Save and continue")."""
    if "stay" in request.POST:
        return redirect(step_url(campaign, step))
    return redirect(step_url(campaign, _next_step(step)))


# -- the list ----------------------------------------------------------------------------------


@organisation_view()
def campaign_list(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    return render(
        request,
        "newsletter/campaign_list.html",
        {
            "newsletter": newsletter,
            "campaigns": list(queries.campaigns_of(newsletter)),
            "templates": list(queries.templates_of(newsletter)),
            "themes": rendering.THEMES,
            "can_manage": access.can(Capability.MANAGE_PRODUCT, newsletter),
            "tab": "campaigns",
        },
    )


# -- 1. set-up ---------------------------------------------------------------------------------


def _setup_form(newsletter, data=None, initial=None, creating=False):
    return CampaignSetupForm(
        data,
        initial=initial,
        creating=creating,
        senders=list(Sender.objects.filter(newsletter=newsletter)),
        languages=[(code, _(name)) for code, name in settings.LANGUAGES],
    )


@organisation_view()
def campaign_create(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    require_manage(access, newsletter)
    form = _setup_form(
        newsletter,
        request.POST or None,
        creating=True,
        initial={
            "language": services.person_language(),
            "track_opens": True,
            "track_clicks": True,
            "utm_source": "newsletter",
            "utm_medium": "email",
        },
    )
    if request.method == "POST":
        created = submit_form(
            request,
            form,
            services.campaign_create,
            access=access,
            newsletter=newsletter,
            success=_("Draft saved. Choose its theme."),
        )
        if created:
            return redirect(step_url(created, "theme"))
    return render(
        request,
        "newsletter/campaign_setup.html",
        {
            "newsletter": newsletter,
            "form": form,
            "variables": services.known_variables(newsletter),
            "creating": True,
            "steps": [
                {"name": name, "title": title, "number": index + 1, "current": name == "setup"}
                for index, (name, title) in enumerate(STEPS)
            ],
            "editable": True,
            "can_manage": True,
            "tab": "campaigns",
        },
    )


@organisation_view()
def campaign_setup(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    utm = campaign.utm or {}
    initial = {
        "title": campaign.title,
        "preview_text": campaign.preview_text,
        "sender": campaign.sender_id,
        "reply_to": campaign.reply_to,
        "language": campaign.language,
        "track_opens": campaign.track_opens,
        "track_clicks": campaign.track_clicks,
        **{f"utm_{key}": utm.get(key, "") for key in ("source", "medium", "campaign")},
    }
    form = _setup_form(campaign.newsletter, initial=initial)
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        form = _setup_form(campaign.newsletter, request.POST, initial=initial)
        saved = submit_form(
            request, form, services.campaign_update, access=access, campaign=campaign,
            success=_("Set-up saved."),
        )  # fmt: skip
        if saved:
            return _save_and_go_on(request, saved, "setup")
    return _page(
        request, access, campaign, "setup", "campaign_setup.html",
        {"form": form, "variables": services.known_variables(campaign.newsletter)},
    )  # fmt: skip


# -- 2. theme or template ------------------------------------------------------------------------


@organisation_view()
def campaign_theme(request, access, campaign_id):
    """GET the built-in themes and saved templates; POST `theme` (the look, and its
    starter blocks when the campaign has none or `restart` is asked) or `template` (its
    theme and blocks, replacing the content)."""
    campaign = _campaign(access, campaign_id)
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        changes = {}
        if request.POST.get("template"):
            changes["template"] = request.POST["template"]
        else:
            changes["theme"] = request.POST.get("theme", "")
            if request.POST.get("restart") and changes["theme"] in rendering.THEMES:
                changes["content"] = rendering.theme_for(changes["theme"]).starter
        ok, saved = run_or_403(
            request,
            lambda: services.campaign_update(access=access, campaign=campaign, **changes),
            success=_("Theme chosen. Write the content."),
        )
        if ok:
            return redirect(step_url(saved, "content"))
    return _page(
        request, access, campaign, "theme", "campaign_theme.html",
        {
            "themes": list(rendering.THEMES.values()),
            "templates": list(queries.templates_of(campaign.newsletter)),
            "has_content": bool((campaign.content or {}).get("blocks")),
        },
    )  # fmt: skip


@organisation_view()
@xframe_options_sameorigin
def theme_sample(request, access, campaign_id, theme_key):
    """A theme's starter email with sample values, for the theme cards' thumbnails."""
    campaign = _campaign(access, campaign_id)
    if theme_key not in rendering.THEMES:
        raise Http404()
    campaign.theme = theme_key
    campaign.content = rendering.theme_for(theme_key).starter
    # The thumbnail shows the body only: a mistake in the title is for the set-up to name.
    campaign.title = campaign.preview_text = ""
    return _email_or_problems(campaign, None)


# -- 3. content ----------------------------------------------------------------------------------


def _editor(campaign_or_template, preview_url: str) -> dict:
    newsletter = campaign_or_template.newsletter
    theme = campaign_or_template.theme or next(iter(rendering.THEMES))
    return {
        "content_json": json.dumps(campaign_or_template.content or {"blocks": []}),
        "variables": services.known_variables(newsletter),
        "preview_url": preview_url,
        "theme_name": str(rendering.theme_for(theme).name),
    }


def _posted_content(request):
    try:
        return json.loads(request.POST.get("content") or "{}")
    except json.JSONDecodeError:
        return None


@organisation_view()
def campaign_content(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        content = _posted_content(request)
        if content is None:
            messages.error(request, _("The content could not be read; nothing was saved."))
        else:
            ok, saved = run_or_403(
                request,
                lambda: services.campaign_update(access=access, campaign=campaign, content=content),
                success=_("Content saved."),
            )
            if ok:
                return _save_and_go_on(request, saved, "content")
            campaign.content = content  # shown again, with its problems at their blocks
    preview_url = reverse(
        "newsletter:campaign-content-preview", args=[campaign.organisation_id, campaign.pk]
    )
    problems = services.content_problems(campaign)
    return _page(
        request, access, campaign, "content", "campaign_content.html",
        {
            "editor": {**_editor(campaign, preview_url), "problems": problems},
            "problems": problems,
            "template_form": TemplateNameForm(),
        },
    )  # fmt: skip


@organisation_view()
@post_only
@xframe_options_sameorigin
def campaign_content_preview(request, access, campaign_id):
    """The email of the content being edited (not saved), for the editor's preview."""
    campaign = _campaign(access, campaign_id)
    content = _posted_content(request)
    try:
        campaign.content = rendering.clean_content(content if content is not None else {})
    except InvalidInput as error:
        return _problems_document(error)
    campaign.title = campaign.preview_text = ""  # not in the body this preview shows
    return _email_or_problems(campaign, None)


@organisation_view()
@post_only
def campaign_save_template(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    form = TemplateNameForm(request.POST)
    created = submit_form(
        request, form, template_services.template_from_campaign, access=access,
        campaign=campaign, success=_("Saved as a template: new campaigns can start from it."),
    )  # fmt: skip
    if not created:
        for error in form.errors.get("name", []):
            messages.error(request, error)
    return redirect(step_url(campaign, "content"))


# -- 4. recipients -------------------------------------------------------------------------------


def _recipients_form(newsletter, data=None, initial=None):
    return CampaignRecipientsForm(
        data,
        initial=initial,
        lists=list(queries.lists_of(newsletter)),
        groups=list(
            ContactGroup.objects.filter(list__newsletter=newsletter)
            .select_related("list")
            .order_by("list__name", "name", "pk")
        ),
    )


@organisation_view()
def campaign_recipients(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    segment = services.segment_of(campaign)
    initial = {key: segment[key] for key in ("lists", "include_groups", "exclude_groups")}
    form = _recipients_form(campaign.newsletter, initial=initial)
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        form = _recipients_form(campaign.newsletter, request.POST, initial=initial)
        saved = submit_form(
            request, form, services.campaign_update, access=access, campaign=campaign,
            success=_("Recipients saved."),
        )  # fmt: skip
        if saved:
            return _save_and_go_on(request, saved, "recipients")
    count_url = reverse(
        "newsletter:campaign-recipient-count", args=[campaign.organisation_id, campaign.pk]
    )
    return _page(
        request, access, campaign, "recipients", "campaign_recipients.html",
        {"form": form, "count": services.recipient_count(campaign), "count_url": count_url},
    )  # fmt: skip


@organisation_view()
def campaign_recipient_count(request, access, campaign_id):
    """`{count}` of the selection in the query string (the form as it is being filled
    in), from the one rule of who receives a campaign."""
    campaign = _campaign(access, campaign_id)
    form = _recipients_form(campaign.newsletter, request.GET)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    return JsonResponse({"count": services.selection_count(campaign, **form.cleaned_data)})


# -- 5. preview and test -------------------------------------------------------------------------


def _email_document(html: str) -> HttpResponse:
    """An email shown in the panel's iframes: nothing in it may run (CSP sandbox)."""
    response = HttpResponse(html)
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"
    )
    return response


def _problems_document(error: InvalidInput) -> HttpResponse:
    problems = "".join(
        f"<li>{escape(field)}: {escape(message)}</li>"
        for field, messages_ in error.fields.items()
        for message in messages_
    )
    heading = escape(_("Fix these mistakes to see the preview:"))
    return _email_document(f"<p>{heading}</p><ul>{problems}</ul>")


def _email_or_problems(campaign, contact) -> HttpResponse:
    """The email for a preview iframe, or the mistakes that keep it from being written
    (an unknown variable), instead of a server error."""
    try:
        return _email_document(services.render_for(campaign, contact).html)
    except InvalidInput as error:
        return _problems_document(error)


def _preview_contacts(campaign):
    segment = services.segment_of(campaign)
    if segment["lists"]:
        return list(selectors.recipients(**segment).order_by("email_key")[:PREVIEW_CONTACTS])
    return list(campaign.newsletter.contacts.order_by("email_key")[:PREVIEW_CONTACTS])


def _chosen_contact(request, campaign, key="contact"):
    contact_id = request.GET.get(key) or request.POST.get(key)
    if not contact_id:
        return None
    contact = (
        campaign.newsletter.contacts.filter(pk=contact_id).first()
        if str(contact_id).isdigit()
        else None
    )
    if contact is None:
        raise Http404()
    return contact


def _contact_by_id(campaign, contact_id):
    return campaign.newsletter.contacts.filter(pk=contact_id).first() if contact_id else None


@organisation_view()
def campaign_preview(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    contacts = _preview_contacts(campaign)
    contact = _chosen_contact(request, campaign)
    form = TestSendForm(
        request.POST or None,
        contacts=contacts,
        initial={"emails": request.user.email, "contact": contact.pk if contact else None},
    )
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        if form.is_valid():
            chosen = form.cleaned_data["contact"]
            ok, sent = run_or_403(
                request,
                lambda: services.campaign_test_send(
                    access=access, campaign=campaign, emails=form.cleaned_data["emails"],
                    contact=_contact_by_id(campaign, chosen),
                ),
                form=form,
                success=None,
            )  # fmt: skip
            if ok:
                messages.success(
                    request,
                    _("Test sent to %(emails)s. It is marked as a test and counts nowhere.")
                    % {"emails": ", ".join(sent)},
                )
                return redirect(
                    step_url(campaign, "preview") + (f"?contact={chosen}" if chosen else "")
                )
    email_url = reverse(
        "newsletter:campaign-preview-email", args=[campaign.organisation_id, campaign.pk]
    )
    if contact is not None:
        email_url += f"?contact={contact.pk}"
    try:
        rendered = services.render_for(campaign, contact)
    except InvalidInput:
        rendered = None  # the page lists the problems (content_problems) instead
    return _page(
        request, access, campaign, "preview", "campaign_preview.html",
        {
            "contacts": contacts, "contact": contact, "form": form, "email_url": email_url,
            "rendered": rendered, "problems": services.content_problems(campaign),
            "preview_text": services.preview_text_for(campaign, contact),
        },
    )  # fmt: skip


@organisation_view()
@xframe_options_sameorigin
def campaign_preview_email(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    contact = _chosen_contact(request, campaign)
    return _email_or_problems(campaign, contact)


# -- 6. schedule ---------------------------------------------------------------------------------


@organisation_view()
def campaign_schedule(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    form = ScheduleForm(request.POST or None)
    if request.method == "POST":
        require_manage(access, campaign.newsletter)
        if request.POST.get("when", "now") == "now":
            # "Send now" starts the sending at once, and its report page follows it.
            started = submit_form(
                request, form, _send_now, access=access, campaign=campaign,
                success=_("Sending started. This page follows it."),
            )  # fmt: skip
            if started:
                return redirect(report_url(campaign))
        else:
            scheduled = submit_form(
                request, form, services.campaign_schedule, access=access, campaign=campaign,
                success=_("The campaign is scheduled."),
            )  # fmt: skip
            if scheduled:
                return redirect(step_url(scheduled, "schedule"))
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return _page(
        request, access, campaign, "schedule", "campaign_schedule.html",
        {
            "form": form,
            "problems": services.campaign_problems(campaign)
            if campaign.status == CampaignStatus.DRAFT else [],
            "count": services.recipient_count(campaign),
            "time_zone": settings.TIME_ZONE,
            "now_local": timezone.now().astimezone(zone),
        },
    )  # fmt: skip


def _send_now(*, access, campaign, at=None):
    return sending.campaign_send(access=access, campaign=campaign)


@organisation_view()
@post_only
def campaign_unschedule(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    run_or_403(
        request,
        lambda: services.campaign_unschedule(access=access, campaign=campaign),
        success=_("The campaign is a draft again; it will not be sent until scheduled."),
    )
    return redirect(step_url(campaign, "schedule"))


@organisation_view()
@post_only
def campaign_duplicate(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    ok, copy = run_or_403(
        request,
        lambda: services.campaign_duplicate(access=access, campaign=campaign),
        success=_("Copy made: a new draft."),
    )
    return redirect(step_url(copy, "setup") if ok else campaigns_url(campaign.newsletter))


@organisation_view()
def campaign_delete(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    return confirm_then_run(
        request,
        title=_("Delete a campaign"),
        question=_("Delete the campaign %(title)s?") % {"title": campaign.title},
        detail=_("Its content and settings are deleted; the contacts stay as they are."),
        button=_("Delete the campaign"),
        keep_label=_("Keep the campaign"),
        cancel_url=step_url(campaign, "setup"),
        run=lambda: run_or_403(
            request,
            services.campaign_delete,
            access=access,
            campaign=campaign,
            success=_("The campaign %(title)s was deleted.") % {"title": campaign.title},
        ),
        done_url=campaigns_url(campaign.newsletter),
    )


# -- templates -----------------------------------------------------------------------------------


@organisation_view()
def template_edit(request, access, template_id):
    template = found_or_404(queries.template_for, access, template_id)
    newsletter = template.newsletter
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    form = TemplateNameForm(initial={"name": template.name})
    if request.method == "POST":
        require_manage(access, newsletter)
        form = TemplateNameForm(request.POST)
        content = _posted_content(request)
        if form.is_valid() and content is not None:
            ok, _saved = run_or_403(
                request,
                lambda: template_services.template_update(
                    access=access, template=template, name=form.cleaned_data["name"],
                    content=content,
                ),
                form=form,
                success=_("Template saved."),
            )  # fmt: skip
            if ok:
                return redirect(campaigns_url(newsletter) + "#templates")
    preview_url = reverse(
        "newsletter:template-preview", args=[template.organisation_id, template.pk]
    )
    return render(
        request,
        "newsletter/template_edit.html",
        {
            "newsletter": newsletter,
            "template": template,
            "form": form,
            "editor": _editor(template, preview_url),
            "can_manage": can_manage,
            "tab": "campaigns",
        },
    )


@organisation_view()
@post_only
@xframe_options_sameorigin
def template_preview(request, access, template_id):
    template = found_or_404(queries.template_for, access, template_id)
    content = _posted_content(request)
    try:
        content = rendering.clean_content(content if content is not None else {})
    except InvalidInput:
        content = template.content
    rendered = services.render_sample(
        template.newsletter, theme=template.theme, content=content, title=template.name,
        language=get_language()[:2],
    )  # fmt: skip
    return _email_document(rendered.html)


@organisation_view()
def template_delete(request, access, template_id):
    template = found_or_404(queries.template_for, access, template_id)
    require_manage(access, template.newsletter)
    back = campaigns_url(template.newsletter) + "#templates"
    return confirm_then_run(
        request,
        title=_("Delete a template"),
        question=_("Delete the template %(name)s?") % {"name": template.name},
        detail=_("Campaigns made from it keep their own copy of its design."),
        button=_("Delete the template"),
        keep_label=_("Keep the template"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            template_services.template_delete,
            access=access,
            template=template,
            success=_("The template %(name)s was deleted.") % {"name": template.name},
        ),
        done_url=back,
    )


campaign = "campaigns/<int:campaign_id>/"
urlpatterns = [
    path("newsletters/<int:newsletter_id>/campaigns/", campaign_list, name="campaign-list"),
    path("<int:newsletter_id>/campaigns/new/", campaign_create, name="campaign-create"),
    path(campaign, campaign_setup, name="campaign-setup"),
    path(campaign + "theme/", campaign_theme, name="campaign-theme"),
    path(campaign + "theme/<slug:theme_key>/sample/", theme_sample, name="campaign-theme-sample"),
    path(campaign + "content/", campaign_content, name="campaign-content"),
    path(campaign + "content/preview/", campaign_content_preview, name="campaign-content-preview"),
    path(campaign + "content/template/", campaign_save_template, name="campaign-save-template"),
    path(campaign + "recipients/", campaign_recipients, name="campaign-recipients"),
    path(campaign + "recipients/count/", campaign_recipient_count, name="campaign-recipient-count"),
    path(campaign + "preview/", campaign_preview, name="campaign-preview"),
    path(campaign + "preview/email/", campaign_preview_email, name="campaign-preview-email"),
    path(campaign + "schedule/", campaign_schedule, name="campaign-schedule"),
    path(campaign + "unschedule/", campaign_unschedule, name="campaign-unschedule"),
    path(campaign + "duplicate/", campaign_duplicate, name="campaign-duplicate"),
    path(campaign + "delete/", campaign_delete, name="campaign-delete"),
    path("templates/<int:template_id>/", template_edit, name="template-edit"),
    path("templates/<int:template_id>/preview/", template_preview, name="template-preview"),
    path("templates/<int:template_id>/delete/", template_delete, name="template-delete"),
]
