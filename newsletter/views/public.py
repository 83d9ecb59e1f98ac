"""Public pages of the newsletter (subscription form, confirmation, preferences,
unsubscribe), reached through signed links (newsletter/links.py), for people without an
account, in the language of their browser or the one they pick.

- `forms/<token>/`: a list's hosted form (CSRF-protected), then its "check your inbox"
  page; `forms/<token>/subscribe/` takes the posts of the snippet embedded on other
  sites (see `form_embed` for why it needs no CSRF token).
- `confirm/<token>/`: the link of the confirmation email. It shows a button, and the
  button's POST confirms: mail filters that open every link of an email would otherwise
  confirm sign-ups nobody asked for.
- `preferences/<token>/`: the contact's fields and lists; `.../leave/` asks before
  unsubscribing from everything.
- `unsubscribe/<token>/`: one button, and the page saying it is done. It is also the
  URL of the campaign emails' List-Unsubscribe header: a mail provider's one-click
  POST (RFC 8058) unsubscribes at once and is answered with a short plain text.

Every rule is services/subscriptions.py's, and the campaign's count of an unsubscribe
services/tracking.py's; a bad token is the 404 of an unknown page.
The form posts are limited per client address, counted with the public API's requests
(429 with Retry-After beyond); unsubscribing never is, nor refused."""

import math

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from panel.errors import Conflict, InvalidInput, NotFound

from .. import links
from ..api.public import PublicRateThrottle, client_ip, user_agent
from ..models import FieldType, SubscriptionStatus
from ..services import subscriptions, tracking

PAGES = "newsletter/public/"
_methods = require_http_methods(["GET", "HEAD", "POST"])


def _found(reader, token):
    try:
        return reader(token)
    except NotFound:
        raise Http404() from None


def _too_many(request, newsletter):
    """The 429 page when this client address posted too often, else None."""
    throttle = PublicRateThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = max(1, math.ceil(throttle.wait() or 1))
    response = render(
        request, PAGES + "too_many.html", {"newsletter": newsletter, "wait": wait}, status=429
    )
    response["Retry-After"] = str(wait)
    return response


def _problems(errors: dict, labels: dict) -> list[str]:
    """Every message of a refusal, each named by the field it is about."""
    out = []
    for name, texts in errors.items():
        label = labels.get(name)
        out.extend(
            _("%(label)s: %(message)s") % {"label": label, "message": text} if label else text
            for text in texts
        )
    return out


def _refusal(error: InvalidInput) -> dict:
    return error.fields or {"": [str(error.detail)]}


# -- the form -----------------------------------------------------------------------------------


def _posted_values(request, fields) -> dict:
    """{key: text} of the fields the post has an input for: a snippet pasted before a
    field was added to the form lacks it, and leaves the contact's value alone."""
    return {
        field.key: request.POST.get(f"field_{field.key}")
        for field in fields
        if f"field_{field.key}" in request.POST
    }


def _form_page(request, contact_list, token, *, values=None, errors=None, status=200):
    errors = errors or {}
    inputs = links.form_inputs(contact_list, values=(values or {}).get("fields"), errors=errors)
    labels = {"email": _("Email address")}
    labels.update({f"fields.{i['field'].key}": i["field"].label for i in inputs})
    context = {
        "newsletter": contact_list.newsletter,
        "contact_list": contact_list,
        "inputs": inputs,
        "email": (values or {}).get("email", ""),
        "email_errors": errors.get("email", []),
        "problems": _problems(errors, labels),
        "consent": links.consent_sentence(contact_list.newsletter),
        "honeypot": links.HONEYPOT,
        "action": reverse("newsletter_public:form", args=[token]),
    }
    return render(request, PAGES + "form.html", context, status=status)


def _subscribe(request, contact_list, token, *, page: str):
    limited = _too_many(request, contact_list.newsletter)
    if limited:
        return limited
    values = {
        "email": request.POST.get("email", ""),
        "fields": _posted_values(request, subscriptions.form_fields_of(contact_list).values()),
        links.HONEYPOT: request.POST.get(links.HONEYPOT, ""),
    }
    try:
        subscriptions.form_subscribe(
            contact_list, values, ip=client_ip(request), user_agent=user_agent(request),
            page=page,
        )  # fmt: skip
    except InvalidInput as error:
        return _form_page(
            request, contact_list, token, values=values, errors=_refusal(error), status=400
        )
    return redirect("newsletter_public:form-thanks", token)


@never_cache
@_methods
def form_page(request, token):
    """The list's hosted form; its POST signs up."""
    contact_list = _found(links.form_list_from, token)
    if request.method == "POST":
        return _subscribe(request, contact_list, token, page=links.form_url(contact_list))
    return _form_page(request, contact_list, token)


@csrf_exempt
@never_cache
@_methods
def form_embed(request, token):
    """Where the snippet pasted on another site posts to. That page has no CSRF token of
    ours, hence csrf_exempt: CSRF keeps another site from acting with a visitor's
    session here, and this post acts for no session and no account. What guards it
    instead: the honeypot (a robot that fills it in is told it succeeded, and nothing is
    written), the rate limit per client address, and double opt-in: nobody is
    subscribed until the owner of the address follows the link mailed to them, and an
    address gets at most one such email every few minutes. A refusal shows the hosted
    form with the errors, on this site; GET goes to the hosted form."""
    contact_list = _found(links.form_list_from, token)
    if request.method != "POST":
        return redirect("newsletter_public:form", token)
    page = request.META.get("HTTP_REFERER") or links.form_action_url(contact_list)
    return _subscribe(request, contact_list, token, page=page)


@never_cache
def form_thanks(request, token):
    contact_list = _found(links.form_list_from, token)
    return render(
        request,
        PAGES + "form_thanks.html",
        {
            "newsletter": contact_list.newsletter,
            "contact_list": contact_list,
            "form_url": reverse("newsletter_public:form", args=[token]),
            "days": links.CONFIRM_MAX_AGE.days,
        },
    )


# -- confirmation -------------------------------------------------------------------------------


@never_cache
@_methods
def confirm_page(request, token):
    """GET shows the button (or the state reached); its POST confirms, then shows it."""
    try:
        contact, contact_list, status = subscriptions.confirmation_state(token)
    except NotFound:
        raise Http404() from None
    except links.LinkExpired as expired:
        found = getattr(expired, "contact_list", None)
        context = {
            "state": "expired",
            "form_url": getattr(expired, "form_url", ""),
            "newsletter": found.newsletter if found is not None else None,
            "days": links.CONFIRM_MAX_AGE.days,
        }
        return render(request, PAGES + "confirm.html", context, status=410)
    newsletter = contact_list.newsletter
    if request.method == "POST":
        limited = _too_many(request, newsletter)
        if limited:
            return limited
        try:
            subscriptions.confirm(token, ip=client_ip(request))
        except Conflict:
            pass  # the page shows the state
        return redirect("newsletter_public:confirm", token)
    state = {
        SubscriptionStatus.SUBSCRIBED: "done",
        SubscriptionStatus.UNCONFIRMED: "pending",
    }.get(status, "left")
    context = {
        "state": state,
        "newsletter": newsletter,
        "contact_list": contact_list,
        "contact": contact,
        "form_url": links.form_url(contact_list),
        "preferences_url": links.preferences_url(contact),
    }
    return render(request, PAGES + "confirm.html", context, status=409 if state == "left" else 200)


# -- preferences --------------------------------------------------------------------------------


def _preference_inputs(contact, *, values=None, errors=None):
    values, errors = values, errors or {}
    inputs = []
    for field in subscriptions.preference_fields(contact):
        value = contact.fields.get(field.key) if values is None else values.get(field.key)
        if field.type == FieldType.YES_NO:
            value = "yes" if value in (True, "yes") else ""
        inputs.append(
            {
                "field": field,
                "name": f"field_{field.key}",
                "value": "" if value is None else value,
                "errors": errors.get(f"fields.{field.key}", []),
            }
        )
    return inputs


def _preferences_page(request, contact, token, *, values=None, wanted=None, errors=None,
                      status=200):  # fmt: skip
    errors = errors or {}
    inputs = _preference_inputs(contact, values=values, errors=errors)
    standings = subscriptions.preference_lists(contact)
    for standing in standings:
        standing.checked = (
            standing.list_id in wanted
            if wanted is not None
            else standing.status == SubscriptionStatus.SUBSCRIBED
        )
    labels = {f"fields.{i['field'].key}": i["field"].label for i in inputs}
    labels["lists"] = _("Your lists")
    context = {
        "newsletter": contact.newsletter,
        "contact": contact,
        "inputs": inputs,
        "standings": standings,
        "receiving": any(s.status in subscriptions.RECEIVING for s in standings),
        "problems": _problems(errors, labels),
        "lists_errors": errors.get("lists", []),
        "leave_url": reverse("newsletter_public:preferences-leave", args=[token]),
    }
    return render(request, PAGES + "preferences.html", context, status=status)


@never_cache
@_methods
def preferences_page(request, token):
    """The contact's fields and lists; its POST saves them."""
    contact = _found(links.preferences_contact_from, token)
    if request.method != "POST":
        return _preferences_page(request, contact, token)
    limited = _too_many(request, contact.newsletter)
    if limited:
        return limited
    values = _posted_values(request, subscriptions.preference_fields(contact))
    wanted = [int(i) for i in request.POST.getlist("lists") if i.isdigit() and len(i) < 19]
    data = {"fields": values}
    if "lists_shown" in request.POST:
        data["lists"] = wanted
    try:
        subscriptions.preferences_update(
            contact, data, ip=client_ip(request), user_agent=user_agent(request),
            page=links.preferences_url(contact),
        )  # fmt: skip
    except InvalidInput as error:
        return _preferences_page(
            request, contact, token, values=values, wanted=set(wanted),
            errors=_refusal(error), status=400,
        )  # fmt: skip
    messages.success(request, _("Your preferences are saved."))
    return redirect("newsletter_public:preferences", token)


@never_cache
@_methods
def preferences_leave(request, token):
    """Asks before unsubscribing from every list (GET); does it (POST)."""
    contact = _found(links.preferences_contact_from, token)
    if request.method == "POST":
        limited = _too_many(request, contact.newsletter)
        if limited:
            return limited
        subscriptions.preferences_update(contact, {"leave_all": True})
        messages.success(
            request,
            _("You left every list of %(newsletter)s: you will receive none of its emails.")
            % {"newsletter": contact.newsletter.name},
        )
        return redirect("newsletter_public:preferences", token)
    return render(
        request,
        PAGES + "preferences_leave.html",
        {
            "newsletter": contact.newsletter,
            "contact": contact,
            "lists": [s.list for s in subscriptions.unsubscribe_scope(contact, None)],
            "back_url": reverse("newsletter_public:preferences", args=[token]),
        },
    )


# -- unsubscribe --------------------------------------------------------------------------------


@csrf_exempt
@never_cache
@_methods
def unsubscribe_page(request, token):
    """GET asks, with one button, so that the link scanners opening every link of an
    email unsubscribe nobody; POST unsubscribes and says so. A post whose body is
    `List-Unsubscribe=One-Click` is a mail provider's one-click unsubscribe (RFC 8058):
    it gets a short plain text, never a page to go on from. The signed token in the
    address is what allows it, so a forged post from another site could only do what
    the link's owner asked for, and the one-click posts come without any cookie of
    ours: hence csrf_exempt. Never rate limited: a campaign's recipients at one
    provider all unsubscribe from its few addresses."""
    contact, campaign_id = _found(links.unsubscribe_target_from, token)
    scope = subscriptions.unsubscribe_scope(contact, campaign_id)
    context = {
        "newsletter": contact.newsletter,
        "contact": contact,
        "preferences_url": links.preferences_url(contact),
    }
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        left = tracking.campaign_unsubscribe(
            contact, campaign_id, lists=[s.list_id for s in scope],
            via=tracking.VIA_ONE_CLICK if one_click else tracking.VIA_PAGE,
        )  # fmt: skip
        if one_click:
            done = _("You are unsubscribed")
            return HttpResponse(f"{done}\n", content_type="text/plain; charset=utf-8")
        still = subscriptions.unsubscribe_scope(contact, None)
        return render(
            request,
            PAGES + "unsubscribe.html",
            {**context, "state": "done", "lists": left, "others": [s.list for s in still]},
        )
    return render(
        request,
        PAGES + "unsubscribe.html",
        {**context, "state": "ask" if scope else "none", "lists": [s.list for s in scope]},
    )


urlpatterns = [
    path("forms/<str:token>/", form_page, name="form"),
    path("forms/<str:token>/subscribe/", form_embed, name="form-embed"),
    path("forms/<str:token>/thanks/", form_thanks, name="form-thanks"),
    path("confirm/<str:token>/", confirm_page, name="confirm"),
    path("preferences/<str:token>/", preferences_page, name="preferences"),
    path("preferences/<str:token>/leave/", preferences_leave, name="preferences-leave"),
    path("unsubscribe/<str:token>/", unsubscribe_page, name="unsubscribe"),
]
