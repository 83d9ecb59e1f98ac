"""A campaign's send in the Manager: its live progress while it is sent (sent, pending,
failed, skipped, the current rate and the estimated end, refreshed from
`report/progress/`), the buttons that pause, resume or cancel it, or send an overdue
one now, and its report (newsletter.services.reports) with charts, the recipients with
their state and their CSV file.

VIEW_PRODUCT sees the report and the recipients; pausing, resuming, cancelling,
sending and the CSV file (every address at once, as a list's export) need
MANAGE_PRODUCT (403 otherwise, 404 for a newsletter the person does not see). The
services check it again."""

from urllib.parse import parse_qsl, urlencode, urlsplit

from django import forms
from django.core.paginator import Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from panel.access import Capability
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run

from .. import queries, throttle
from ..models import CampaignStatus, RecipientState
from ..services import reports, sending
from .common import found_or_404, require_manage, run_or_403

#: How each recipient state is drawn (badge class).
STATE_BADGES = {
    RecipientState.PENDING: "",
    RecipientState.SENDING: "badge-blue",
    RecipientState.SENT: "badge-green",
    RecipientState.FAILED: "badge-red",
    RecipientState.SKIPPED: "badge-amber",
}
UNDER_WAY = (CampaignStatus.SENDING, CampaignStatus.PAUSED)
NOT_STARTED = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.OVERDUE)
#: recipients a page: the list comes under the figures and charts
RECIPIENTS_PAGE = 25
#: the clicks-per-link chart grows with the number of links: pixels per link, and around
LINK_BAR_HEIGHT, LINK_CHART_MARGIN = 34, 48


class RecipientFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=254,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Email address")}
        ),
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Any state")), *RecipientState.choices],
    )


def report_url(campaign) -> str:
    return reverse("newsletter:campaign-report", args=[campaign.organisation_id, campaign.pk])


def _campaign(access, campaign_id, *, manage=False):
    campaign = found_or_404(queries.campaign_for, access, campaign_id)
    if manage:
        require_manage(access, campaign.newsletter)
    return campaign


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def progress_state(campaign, *, sends: dict | None = None) -> dict:
    """What the progress card shows, for the page and its refreshes: the recipients by
    state with their shares of the bar, the rate, the estimated end, the emails sent
    over time (`sends`, when the page has them already), and whether every recipient
    row is written (`ready`: the page reloads once, to list them)."""
    progress = sending.campaign_progress(campaign)
    total = progress["total"]
    done = progress["sent"] + progress["failed"] + progress["skipped"]
    return {
        **progress,
        "status_label": str(CampaignStatus(campaign.status).label),
        "ready": campaign.recipients_ready,
        "done": done,
        "percent": int(100 * done / total) if total else 0,
        "shares": {
            state: _percent(progress[state], total) for state in ("sent", "failed", "skipped")
        },
        "sending": sends or reports.sends_over_time(campaign),
    }


def link_label(url: str) -> str:
    """A link as people read it: without its scheme and the UTM parameters every link
    of the campaign carries."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")])
    return f"{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


def _results(report: dict) -> dict:
    """The report as the page draws it: each rate in percent, every recipient's outcome
    as a share of one bar, and the links, the most clicked first."""
    counts, bounced = report["recipients"], report["bounces"]["total"]
    outcomes = (
        ("delivered", pgettext("campaign report", "Delivered"), counts["delivered"]),
        ("bounced", pgettext("campaign report", "Bounced"), bounced),
        ("failed", RecipientState.FAILED.label, counts["failed"]),
        ("skipped", RecipientState.SKIPPED.label, counts["skipped"]),
        ("pending", RecipientState.PENDING.label, counts["pending"]),
    )
    links = sorted(report["links"], key=lambda it: (-it["unique"], -it["total"], it["index"]))
    for link in links:
        link["label"] = link_label(link["url"])
        link["href"] = link["url"] if link["url"].startswith(("https://", "http://")) else ""
    return {
        **report,
        "percent": {
            name: None if rate is None else round(rate * 100, 1)
            for name, rate in report["rates"].items()
        },
        "delivered_percent": _percent(counts["delivered"], counts["sent"]),
        "shares": [
            {"key": key, "label": label, "value": value, "width": _percent(value, counts["total"])}
            for key, label, value in outcomes
        ],
        "links_by_clicks": links,
        "links_chart_height": LINK_BAR_HEIGHT * len(links) + LINK_CHART_MARGIN,
        "has_activity": any(p["opens"] or p["clicks"] for p in report["activity"]["points"]),
    }


def _recipients_page(request, campaign):
    form = RecipientFilterForm(request.GET if set(request.GET) - {"page"} else None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = reports.recipients_of(
        campaign, state=filters.get("state") or None, search=filters.get("q") or None
    )
    page = Paginator(rows, RECIPIENTS_PAGE).get_page(request.GET.get("page"))
    for row in page:
        row.badge = STATE_BADGES.get(row.state, "")
    return form, page


@organisation_view()
def campaign_report(request, access, campaign_id):
    campaign = _campaign(access, campaign_id)
    newsletter = campaign.newsletter
    started = campaign.started_at is not None
    context = {
        "newsletter": newsletter,
        "campaign": campaign,
        "can_manage": access.can(Capability.MANAGE_PRODUCT, newsletter),
        "started": started,
        "under_way": campaign.status in UNDER_WAY,
        "not_started": campaign.status in NOT_STARTED,
        "tab": "campaigns",
    }
    if started:
        results = _results(reports.campaign_report(campaign))
        form, page = _recipients_page(request, campaign)
        context.update(
            results=results,
            chart_data={
                "activity": results["activity"],
                "sending": results["sending"],
                "links": [
                    {key: link[key] for key in ("label", "url", "unique", "total")}
                    for link in results["links_by_clicks"]
                ],
            },
            form=form,
            page=page,
            filtered=form.is_bound,
        )
    if context["under_way"]:
        sends = context["results"]["sending"] if started else None
        context["progress"] = progress_state(campaign, sends=sends)
        context["hourly_quota"] = throttle.hourly_quota(campaign.organisation_id)
    return render(request, "newsletter/campaign_report.html", context)


@organisation_view()
def campaign_report_progress(request, access, campaign_id):
    """The progress card's figures as JSON, polled every few seconds while it is sent."""
    campaign = _campaign(access, campaign_id)
    return JsonResponse(progress_state(campaign))


@organisation_view()
def campaign_report_csv(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    response = StreamingHttpResponse(
        reports.recipients_csv(campaign), content_type="text/csv; charset=utf-8"
    )
    name = f"campaign-{campaign.pk}-recipients.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _steer(request, access, campaign_id, act, success):
    campaign = _campaign(access, campaign_id, manage=True)
    run_or_403(request, act, access=access, campaign=campaign, success=success)
    return redirect(report_url(campaign))


@organisation_view()
@post_only
def campaign_pause(request, access, campaign_id):
    return _steer(
        request, access, campaign_id, sending.campaign_pause,
        _("Sending paused."),
    )  # fmt: skip


@organisation_view()
@post_only
def campaign_resume(request, access, campaign_id):
    return _steer(
        request, access, campaign_id, sending.campaign_resume,
        _("Sending resumed."),
    )  # fmt: skip


@organisation_view()
@post_only
def campaign_send_now(request, access, campaign_id):
    """The customer's confirmation of an overdue campaign (or any not started yet)."""
    return _steer(
        request, access, campaign_id, sending.campaign_send,
        _("Sending started. This page follows it."),
    )  # fmt: skip


@organisation_view()
def campaign_cancel(request, access, campaign_id):
    campaign = _campaign(access, campaign_id, manage=True)
    back = report_url(campaign)
    return confirm_then_run(
        request,
        title=_("Cancel a sending"),
        question=_("Cancel the sending of %(title)s?") % {"title": campaign.title},
        detail=_(
            "The recipients who have not received it yet never will; those who have keep "
            "it. A cancelled sending cannot be resumed."
        ),
        button=_("Cancel the sending"),
        keep_label=_("Keep sending"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            sending.campaign_cancel,
            access=access,
            campaign=campaign,
            success=_("The sending of %(title)s was cancelled.") % {"title": campaign.title},
        ),
        done_url=back,
    )


report = "campaigns/<int:campaign_id>/report/"
urlpatterns = [
    path(report, campaign_report, name="campaign-report"),
    path(report + "progress/", campaign_report_progress, name="campaign-report-progress"),
    path(report + "recipients.csv", campaign_report_csv, name="campaign-report-csv"),
    path(report + "pause/", campaign_pause, name="campaign-pause"),
    path(report + "resume/", campaign_resume, name="campaign-resume"),
    path(report + "send/", campaign_send_now, name="campaign-send-now"),
    path(report + "cancel/", campaign_cancel, name="campaign-cancel"),
]
