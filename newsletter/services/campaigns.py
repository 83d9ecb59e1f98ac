"""Campaigns, from the first draft to "scheduled" (the send itself is the sending
engine's). Every write needs MANAGE_PRODUCT on the newsletter.

The rules, written here once:
- A draft may hold only its title; each setting given is checked when it is saved, and
  everything together (`campaign_problems`) when it is scheduled, every problem at once.
- A campaign starts from a built-in theme (its starter blocks) or from a saved template
  (its theme and blocks, copied: editing the campaign leaves the template as it is).
- Its sender is one of the newsletter's sender addresses, verified; its lists, included
  and excluded groups are the newsletter's own, and an included group belongs to one of
  the chosen lists (otherwise it would add nobody). Who receives it is
  `selectors.recipients`, the one rule, which the count, the preview and the send share.
- Only a draft changes; a scheduled campaign goes back to draft to be changed
  (`campaign_unschedule`) until its sending starts.
- A test send goes through the same mail path as the campaign, marked as a test in its
  subject and headers, to at most TEST_RECIPIENTS_MAX addresses, and counts nowhere.
"""

import datetime
import re
import smtplib

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems
from panel.services.common import clean_name

from .. import links, rendering, selectors
from ..models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    Sender,
    Template,
)
from ..rendering.variables import TemplateError
from .contacts import clean_email

TITLE_MAX = 200
PREVIEW_TEXT_MAX = 250
UTM_KEYS = ("source", "medium", "campaign")
UTM_MAX = 100
UTM_PATTERN = re.compile(r"^[\w.\-+~ ]*$")
TEST_RECIPIENTS_MAX = 10
#: A time this far in the past still means "now" (the clock of the person's browser).
SCHEDULE_LEEWAY = datetime.timedelta(minutes=5)
SETTINGS = (
    "title", "preview_text", "sender", "reply_to", "language", "track_opens",
    "track_clicks", "utm", "theme", "template", "content", "lists", "include_groups",
    "exclude_groups",
)  # fmt: skip
RELATIONS = ("lists", "include_groups", "exclude_groups")


def default_utm(title: str) -> dict:
    """What every link of a new campaign carries unless changed: this newsletter, by
    email, and the campaign's title as a slug (without its variables)."""
    words = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", title or "")
    return {"source": "newsletter", "medium": "email", "campaign": slugify(words)[:UTM_MAX]}


# -- checks of each setting -------------------------------------------------------------------


def _clean_text(value, field: str, max_length: int, problems: Problems) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(field, _("Enter text."))
        return ""
    value = " ".join(value.split())
    if len(value) > max_length:
        problems.add(
            field,
            _("Use at most %(max)d characters (this has %(n)d).")
            % {"max": max_length, "n": len(value)},
        )
    return value


def _clean_bool(value, field: str, problems: Problems) -> bool:
    if not isinstance(value, bool):
        problems.add(field, _("Choose yes or no (true or false)."))
        return True
    return value


def _clean_utm(value, problems: Problems) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("utm", _("Give the UTM parameters as source, medium and campaign."))
        return {}
    for key in sorted(set(value) - set(UTM_KEYS)):
        problems.add(f"utm.{key}", _("Only source, medium and campaign can be set."))
    cleaned = {}
    for key in (key for key in UTM_KEYS if key in value):
        text = value[key]
        if not isinstance(text, str):
            problems.add(f"utm.{key}", _("Enter text."))
            continue
        text = text.strip()
        if len(text) > UTM_MAX or not UTM_PATTERN.match(text):
            problems.add(
                f"utm.{key}",
                _("Use at most %(max)d letters, digits, spaces and . - _ + ~.") % {"max": UTM_MAX},
            )
            continue
        cleaned[key] = text
    return cleaned


def _clean_language(value, problems: Problems) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if value not in codes:
        problems.add("language", _("Choose one of: %(codes)s.") % {"codes": ", ".join(codes)})
        return settings.LANGUAGE_CODE[:2]
    return value


def _clean_ids(value, field: str, problems: Problems) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, int) and not isinstance(item, bool) or str(item).isdigit()
        for item in value
    ):
        problems.add(field, _("Give a list of ids."))
        return None
    return sorted({int(item) for item in value})


def _owned(model, newsletter: Newsletter, ids, field: str, path: str, problems: Problems):
    """The objects of `ids` that belong to the newsletter; an id of anything else is a
    problem, named, as if it did not exist."""
    if ids is None:
        return None
    found = list(model.objects.filter(pk__in=ids, **{path: newsletter}))
    missing = sorted(set(ids) - {obj.pk for obj in found})
    if missing:
        problems.add(
            field,
            ngettext(
                "There is no %(what)s %(ids)s in this newsletter.",
                "There are no %(what)s %(ids)s in this newsletter.",
                len(missing),
            )
            % {"what": _RELATION_NAMES[field](len(missing)), "ids": ", ".join(map(str, missing))},
        )
    return found


_RELATION_NAMES = {
    "lists": lambda n: ngettext("list", "lists", n),
    "include_groups": lambda n: ngettext("group", "groups", n),
    "exclude_groups": lambda n: ngettext("group", "groups", n),
}


def _clean_sender(newsletter: Newsletter, value, problems: Problems) -> Sender | None:
    if value in (None, ""):
        return None
    sender = None
    if isinstance(value, int) or str(value).isdigit():
        sender = Sender.objects.filter(newsletter=newsletter, pk=int(value)).first()
    if sender is None:
        problems.add("sender", _("Choose one of this newsletter's sender addresses."))
    return sender


def _clean_template(newsletter: Newsletter, value, problems: Problems) -> Template | None:
    if value in (None, ""):
        return None
    template = None
    if isinstance(value, int) or str(value).isdigit():
        template = Template.objects.filter(newsletter=newsletter, pk=int(value)).first()
    if template is None:
        problems.add("template", _("Choose one of this newsletter's templates."))
    return template


def _clean_theme(value, problems: Problems) -> str:
    if value in (None, ""):
        return ""
    if value not in rendering.THEMES:
        problems.add(
            "theme",
            _("Choose one of the themes: %(keys)s.") % {"keys": ", ".join(rendering.THEMES)},
        )
        return ""
    return value


def _clean_content(value, problems: Problems) -> dict:
    if value in (None, ""):
        return {}
    try:
        return rendering.clean_content(value)
    except InvalidInput as error:
        for field, messages in error.fields.items():
            for message in messages:
                problems.add(field, message)
        return {}


def _clean(newsletter: Newsletter, data: dict, problems: Problems) -> dict:
    """Each setting of `data` checked; the problems of all of them gathered."""
    cleaned = {}
    for field in sorted(set(data) - set(SETTINGS)):
        problems.add(field, _("This setting does not exist."))
    if "title" in data:
        cleaned["title"] = problems.check(
            clean_name, data["title"], field="title", max_length=TITLE_MAX
        )
    if "preview_text" in data:
        cleaned["preview_text"] = _clean_text(
            data["preview_text"], "preview_text", PREVIEW_TEXT_MAX, problems
        )
    if "sender" in data:
        cleaned["sender"] = _clean_sender(newsletter, data["sender"], problems)
    if "reply_to" in data:
        reply_to = data["reply_to"] or ""
        cleaned["reply_to"] = (
            problems.check(clean_email, reply_to, field="reply_to") or "" if reply_to else ""
        )
    if "language" in data:
        cleaned["language"] = _clean_language(data["language"], problems)
    for flag in ("track_opens", "track_clicks"):
        if flag in data:
            cleaned[flag] = _clean_bool(data[flag], flag, problems)
    if "utm" in data:
        cleaned["utm"] = _clean_utm(data["utm"], problems)
    if "theme" in data:
        cleaned["theme"] = _clean_theme(data["theme"], problems)
    if "template" in data:
        cleaned["template"] = _clean_template(newsletter, data["template"], problems)
    if "content" in data:
        cleaned["content"] = _clean_content(data["content"], problems)
    if "lists" in data:
        cleaned["lists"] = _owned(
            ContactList, newsletter, _clean_ids(data["lists"], "lists", problems), "lists",
            "newsletter", problems,
        )  # fmt: skip
    for field in ("include_groups", "exclude_groups"):
        if field in data:
            cleaned[field] = _owned(
                ContactGroup, newsletter, _clean_ids(data[field], field, problems), field,
                "list__newsletter", problems,
            )  # fmt: skip
    return cleaned


def _check_groups_in_lists(campaign: Campaign, cleaned: dict, problems: Problems) -> None:
    """An included group must belong to a chosen list; an excluded one may be of any list
    (it removes its members whatever their standing there)."""
    lists = cleaned.get("lists")
    groups = cleaned.get("include_groups")
    if lists is None and groups is None:
        return
    if lists is None:
        lists = list(campaign.lists.all()) if campaign.pk else []
    if groups is None:
        groups = list(campaign.include_groups.all()) if campaign.pk else []
    chosen = {contact_list.pk for contact_list in lists}
    strays = [group for group in groups if group.list_id not in chosen]
    if strays:
        problems.add(
            "include_groups",
            _("These groups are not in a chosen list: %(groups)s. Choose their list too.")
            % {"groups": ", ".join(group.name for group in strays)},
        )


def _apply(campaign: Campaign, cleaned: dict) -> None:
    """Writes the checked settings; a template chosen now brings its theme and blocks
    unless the same change gives them, a theme chosen on an empty campaign its starter."""
    template = cleaned.get("template")
    if template is not None and template.pk != campaign.template_id:
        cleaned.setdefault("theme", template.theme)
        cleaned.setdefault("content", template.content)
    theme = cleaned.get("theme")
    if theme and "content" not in cleaned and not (campaign.content or {}).get("blocks"):
        cleaned["content"] = rendering.theme_for(theme).starter
    for field, value in cleaned.items():
        if field not in RELATIONS:
            setattr(campaign, field, value)
    campaign.updated_at = timezone.now()
    campaign.save()
    for field in RELATIONS:
        if cleaned.get(field) is not None:
            getattr(campaign, field).set(cleaned[field])


def _require_draft(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(
            _("Only a draft can be changed: put the campaign back to draft first.")
            if campaign.status == CampaignStatus.SCHEDULED
            else _("This campaign has been sent or is being sent; it cannot be changed."),
            code="not_draft",
        )


# -- writes -----------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(*, access: Access, newsletter: Newsletter, **data) -> Campaign:
    """A draft campaign. `title` is required, every other setting optional (SETTINGS);
    by default the language is the person's, opens and clicks are tracked and the UTM
    parameters are `default_utm`. Raises InvalidInput naming every problem."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    if "title" not in data:
        problems.add("title", _("Give the campaign a title."))
    cleaned = _clean(newsletter, data, problems)
    campaign = Campaign(organisation=newsletter.organisation, newsletter=newsletter)
    _check_groups_in_lists(campaign, cleaned, problems)
    problems.raise_if_any()
    campaign.language = cleaned.pop("language", None) or person_language()
    cleaned["utm"] = {**default_utm(cleaned["title"]), **cleaned.get("utm", {})}
    _apply(campaign, cleaned)
    record_by(access, "newsletter.campaign.created", newsletter, {"title": campaign.title})
    return campaign


def person_language() -> str:
    """The language the person reads the panel in, as a campaign's default."""
    codes = {code for code, _name in settings.LANGUAGES}
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in codes else "en"


@transaction.atomic
def campaign_update(*, access: Access, campaign: Campaign, **changes) -> Campaign:
    """Changes the settings given (SETTINGS) of a draft (409 `not_draft` otherwise).
    Raises InvalidInput naming every problem; nothing is written then."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_draft(campaign)
    problems = Problems()
    cleaned = _clean(campaign.newsletter, changes, problems)
    _check_groups_in_lists(campaign, cleaned, problems)
    problems.raise_if_any()
    _apply(campaign, cleaned)
    record_by(
        access, "newsletter.campaign.changed", campaign.newsletter,
        {"title": campaign.title, "changed": sorted(cleaned)},
    )  # fmt: skip
    return campaign


@transaction.atomic
def campaign_delete(*, access: Access, campaign: Campaign) -> None:
    """Deletes a campaign whose sending has not started (409 otherwise: once anyone may
    have received it, its report stays)."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.started_at is not None or campaign.status in (
        CampaignStatus.SENDING, CampaignStatus.SENT,
    ):  # fmt: skip
        raise Conflict(
            _("A campaign that has been sent keeps its report; it cannot be deleted."),
            code="campaign_sent",
        )
    record_by(access, "newsletter.campaign.deleted", campaign.newsletter, {"title": campaign.title})
    campaign.delete()


@transaction.atomic
def campaign_duplicate(*, access: Access, campaign: Campaign) -> Campaign:
    """A new draft with the same settings, content and recipients ("Copy of …")."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    copy = Campaign.objects.get(pk=campaign.pk)
    copy.pk = None
    copy.title = (_("Copy of %(title)s") % {"title": campaign.title})[:TITLE_MAX]
    copy.status, copy.scheduled_at = CampaignStatus.DRAFT, None
    copy.created_at = copy.updated_at = timezone.now()
    copy.save()
    for field in RELATIONS:
        getattr(copy, field).set(getattr(campaign, field).all())
    record_by(access, "newsletter.campaign.created", campaign.newsletter, {"title": copy.title})
    return copy


# -- what it will send ------------------------------------------------------------------------


def segment_of(campaign: Campaign) -> dict:
    """The campaign's lists and groups, as `selectors.recipients` takes them."""
    return {
        "newsletter": campaign.newsletter_id,
        "lists": [item.pk for item in campaign.lists.all()],
        "include_groups": [item.pk for item in campaign.include_groups.all()],
        "exclude_groups": [item.pk for item in campaign.exclude_groups.all()],
    }


def selection_count(campaign: Campaign, **selection) -> int:
    """How many contacts the campaign's lists and groups reach, with `selection` (lists,
    include_groups, exclude_groups as ids) instead of the saved ones where given: what the
    wizard and the API count before saving. No list reaches nobody."""
    segment = {**segment_of(campaign), **selection}
    return selectors.recipient_count(**segment) if segment["lists"] else 0


def recipient_count(campaign: Campaign) -> int:
    return selection_count(campaign)


def known_variables(newsletter: Newsletter) -> list[dict]:
    """The variables a campaign may write, `[{key, label}]`: the address, then the
    newsletter's fields."""
    return [{"key": "email", "label": _("Email address")}] + [
        {"key": field.key, "label": field.label}
        for field in ContactField.objects.filter(newsletter=newsletter)
    ]


def _sample_variables(newsletter: Newsletter) -> dict:
    """What the preview writes when no contact is chosen: each field's label in
    brackets, so that a person sees where each value goes."""
    values = {"email": "ada@example.com"}
    for field in ContactField.objects.filter(newsletter=newsletter):
        values[field.key] = f"[{field.label}]"
    return values


def variables_of(contact: Contact, newsletter: Newsletter) -> dict:
    """A contact's values by key; a field the contact has no value for writes nothing
    (it is a known variable: only an unknown one is an error)."""
    values = {key["key"]: "" for key in known_variables(newsletter)}
    values.update({key: value for key, value in (contact.fields or {}).items() if key in values})
    values["email"] = contact.email
    return {key: "" if value is None else value for key, value in values.items()}


def render_for(campaign: Campaign, contact: Contact | None = None) -> rendering.Rendered:
    """The campaign's email as `contact` receives it (or with sample values), its links
    signed for that contact."""
    newsletter = campaign.newsletter
    if contact is not None:
        variables = variables_of(contact, newsletter)
        unsubscribe, preferences = (
            links.unsubscribe_url(contact, campaign),
            links.preferences_url(contact),
        )
    else:
        variables = _sample_variables(newsletter)
        unsubscribe = preferences = settings.PANEL_BASE_URL + "/n/"
    return rendering.render_email(
        content=campaign.content or {},
        theme=campaign.theme or next(iter(rendering.THEMES)),
        variables=variables,
        preview_text=campaign.preview_text,
        title=campaign.title,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        utm=campaign.utm or {},
        language=campaign.language,
    )


def preview_text_for(campaign: Campaign, contact: Contact | None = None) -> str:
    """The preview text as `contact` reads it after the subject (sample values
    otherwise), for the preview page; the text as written when its variables have a
    mistake (`content_problems` names it)."""
    newsletter = campaign.newsletter
    values = variables_of(contact, newsletter) if contact else _sample_variables(newsletter)
    values.update(unsubscribe_url="", preferences_url="")
    try:
        return " ".join(rendering.render_string(campaign.preview_text or "", values).split())
    except TemplateError:
        return campaign.preview_text


def render_sample(newsletter: Newsletter, *, theme: str, content: dict, title: str, language: str):
    """A design (a template's) with sample values, as the editor's preview shows it."""
    return rendering.render_email(
        content=content, theme=theme, variables=_sample_variables(newsletter), preview_text="",
        title=title, unsubscribe_url=settings.PANEL_BASE_URL + "/n/",
        preferences_url=settings.PANEL_BASE_URL + "/n/", utm={}, language=language,
    )  # fmt: skip


def content_problems(campaign: Campaign) -> list[dict]:
    """Unknown variables and template mistakes in the title, the preview text and the
    blocks, each `{field, message}`."""
    return rendering.problems(
        content=campaign.content or {},
        title=campaign.title,
        preview_text=campaign.preview_text,
        known_keys={key["key"] for key in known_variables(campaign.newsletter)},
    )


def campaign_problems(campaign: Campaign) -> list[dict]:
    """Everything that stops the campaign from being scheduled, each `{field, message}`,
    all at once."""
    found = []
    sender = campaign.sender
    if sender is None:
        found.append({"field": "sender", "message": _("Choose the sender address.")})
    elif not sender.verified:
        found.append(
            {
                "field": "sender",
                "message": _(
                    "%(email)s is not verified yet: follow the link sent to it, or choose "
                    "another sender."
                )
                % {"email": sender.email},
            }
        )
    if not (campaign.content or {}).get("blocks"):
        found.append({"field": "content", "message": _("Write the content of the email.")})
    found.extend(content_problems(campaign))
    if not campaign.lists.exists():
        found.append({"field": "lists", "message": _("Choose at least one list.")})
    elif recipient_count(campaign) == 0:
        found.append(
            {
                "field": "lists",
                "message": _("Nobody would receive this campaign: check the lists and groups."),
            }
        )
    return found


def _raise_problems(found: list[dict]) -> None:
    if found:
        fields = {}
        for problem in found:
            fields.setdefault(problem["field"], []).append(problem["message"])
        raise InvalidInput(_("The campaign cannot be sent yet; fix what is listed."), fields=fields)


# -- test send and schedule ---------------------------------------------------------------------


def _clean_test_emails(emails) -> list[str]:
    if isinstance(emails, str):
        emails = [part for part in re.split(r"[\s,;]+", emails) if part]
    if not isinstance(emails, list) or not emails:
        raise InvalidInput(fields={"emails": [_("Give at least one address to send the test to.")]})
    if len(emails) > TEST_RECIPIENTS_MAX:
        raise InvalidInput(
            fields={
                "emails": [
                    _("Send a test to at most %(max)d addresses at once.")
                    % {"max": TEST_RECIPIENTS_MAX}
                ]
            }
        )
    problems = Problems()
    cleaned = {}
    for index, email in enumerate(emails):
        address = problems.check(clean_email, email, field=f"emails.{index}")
        if address:
            cleaned.setdefault(address.lower(), address)
    problems.raise_if_any()
    return list(cleaned.values())


def message_for(campaign: Campaign, rendered: rendering.Rendered, to: str, *, test: bool):
    """The email of the campaign to one address, from its sender, with its reply-to;
    a test says so in its subject and a header."""
    sender = campaign.sender
    from_email = f"{sender.name} <{sender.email}>" if sender.name else sender.email
    subject = rendered.subject
    headers = {}
    if test:
        subject = _("[Test] %(subject)s") % {"subject": subject}
        headers["X-Panel-Test"] = "yes"
    message = mail.EmailMultiAlternatives(
        subject=subject,
        body=rendered.text,
        from_email=from_email,
        to=[to],
        reply_to=[campaign.reply_to] if campaign.reply_to else None,
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def campaign_test_send(
    *, access: Access, campaign: Campaign, emails, contact: Contact | None = None
) -> list[str]:
    """Sends the campaign now, as `contact` would receive it (sample values otherwise),
    to each of `emails`, marked as a test; answers the addresses written to. Needs a
    verified sender and content without unknown variables (InvalidInput naming them);
    a mail server that cannot be reached is a 409 `mail_server_unavailable`."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    addresses = _clean_test_emails(emails)
    found = [p for p in campaign_problems(campaign) if p["field"] not in ("lists",)]
    _raise_problems(found)
    rendered = render_for(campaign, contact)
    with translation.override(campaign.language):
        messages = [message_for(campaign, rendered, address, test=True) for address in addresses]
    try:
        mail.get_connection().send_messages(messages)
    except (OSError, smtplib.SMTPException) as error:
        raise Conflict(
            _("The mail server could not be reached or refused the test: %(reason)s")
            % {"reason": error.__class__.__name__},
            code="mail_server_unavailable",
        ) from error
    record_by(
        access, "newsletter.campaign.tested", campaign.newsletter,
        {"title": campaign.title, "to": len(addresses)},
    )  # fmt: skip
    return addresses


@transaction.atomic
def campaign_schedule(*, access: Access, campaign: Campaign, at=None) -> Campaign:
    """Schedules a draft to be sent at `at` (an aware datetime, now if None); the
    sending engine starts it then. Everything is checked first (`campaign_problems`):
    InvalidInput naming every problem; a time in the past is one of them."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_draft(campaign)
    now = timezone.now()
    found = campaign_problems(campaign)
    if at is not None:
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if at < now - SCHEDULE_LEEWAY:
            found.append({"field": "at", "message": _("Choose a time in the future.")})
    _raise_problems(found)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = max(at, now) if at is not None else now
    campaign.updated_at = now
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    record_by(
        access, "newsletter.campaign.scheduled", campaign.newsletter,
        {"title": campaign.title, "at": campaign.scheduled_at.isoformat()},
    )  # fmt: skip
    return campaign


@transaction.atomic
def campaign_unschedule(*, access: Access, campaign: Campaign) -> Campaign:
    """Puts a scheduled campaign back to draft, before its sending starts (409
    otherwise)."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.SCHEDULED:
        raise Conflict(_("Only a scheduled campaign can go back to draft."), code="not_scheduled")
    campaign.status, campaign.scheduled_at = CampaignStatus.DRAFT, None
    campaign.updated_at = timezone.now()
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    record_by(
        access, "newsletter.campaign.unscheduled", campaign.newsletter, {"title": campaign.title}
    )
    return campaign
