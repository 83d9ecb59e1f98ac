"""Saved templates: a theme and its blocks that new campaigns start from. A campaign's
design saved as a template is a copy: editing either leaves the other as it is. Every
write needs MANAGE_PRODUCT on the newsletter; a name is unique in the newsletter,
ignoring case (409 `already_exists`)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, Problems
from panel.services.common import clean_name

from .. import rendering
from ..models import Campaign, Newsletter, Template

NAME_MAX = 120
SETTINGS = ("name", "theme", "content")


def _clean(data: dict, problems: Problems) -> dict:
    cleaned = {}
    for field in sorted(set(data) - set(SETTINGS)):
        problems.add(field, _("This setting does not exist."))
    if "name" in data:
        cleaned["name"] = problems.check(clean_name, data["name"], max_length=NAME_MAX)
    if "theme" in data:
        if data["theme"] not in rendering.THEMES:
            problems.add(
                "theme",
                _("Choose one of the themes: %(keys)s.") % {"keys": ", ".join(rendering.THEMES)},
            )
        cleaned["theme"] = data["theme"]
    if "content" in data:
        cleaned["content"] = problems.check(rendering.clean_content, data["content"] or {})
    return cleaned


def _taken(newsletter: Newsletter, name: str, instead_of=None) -> None:
    others = Template.objects.filter(newsletter=newsletter, name__iexact=name)
    if instead_of is not None:
        others = others.exclude(pk=instead_of.pk)
    if others.exists():
        message = _("A template is already called %(name)s.") % {"name": name}
        raise Conflict(message, code="already_exists", fields={"name": [message]})


@transaction.atomic
def template_create(*, access: Access, newsletter: Newsletter, **data) -> Template:
    """A template `{name, theme, content?}` (the theme's starter blocks by default)."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    for field in ("name", "theme"):
        if field not in data:
            problems.add(field, _("This field is required."))
    cleaned = _clean(data, problems)
    problems.raise_if_any()
    _taken(newsletter, cleaned["name"])
    if not cleaned.get("content"):
        cleaned["content"] = rendering.theme_for(cleaned["theme"]).starter
    template = Template.objects.create(
        organisation=newsletter.organisation, newsletter=newsletter, **cleaned
    )
    record_by(access, "newsletter.template.created", newsletter, {"name": template.name})
    return template


def template_from_campaign(*, access: Access, campaign: Campaign, name) -> Template:
    """The campaign's theme and blocks, saved as a new template."""
    return template_create(
        access=access,
        newsletter=campaign.newsletter,
        name=name,
        theme=campaign.theme or next(iter(rendering.THEMES)),
        content=campaign.content or {},
    )


@transaction.atomic
def template_update(*, access: Access, template: Template, **changes) -> Template:
    access.require(Capability.MANAGE_PRODUCT, template.newsletter)
    problems = Problems()
    cleaned = _clean(changes, problems)
    problems.raise_if_any()
    if "name" in cleaned:
        _taken(template.newsletter, cleaned["name"], instead_of=template)
    for field, value in cleaned.items():
        setattr(template, field, value)
    template.updated_at = timezone.now()
    template.save()
    record_by(access, "newsletter.template.changed", template.newsletter, {"name": template.name})
    return template


@transaction.atomic
def template_delete(*, access: Access, template: Template) -> None:
    """Deletes the template; campaigns made from it keep their own copy."""
    access.require(Capability.MANAGE_PRODUCT, template.newsletter)
    record_by(access, "newsletter.template.deleted", template.newsletter, {"name": template.name})
    template.delete()
