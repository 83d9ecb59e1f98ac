"""Ticket office products, and the forms their tariffs ask buyers to fill in.

A form belongs to an office and can be linked to any of its tariffs (knowledge base:
"Lier un formulaire par tarif"); its fields are asked once per ticket. The rules of the
fields (their order, what "required" means for each type, which answer replaces the
buyer's name on the ticket) live in ticketing/services/forms.py.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.products import Product


class TicketOffice(Product):
    class Meta(Product.Meta):
        verbose_name = _("Ticket office")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    SELECT = "select", _("Selection")
    RADIO = "radio", _("Radio buttons")
    CHECKBOXES = "checkboxes", _("Checkboxes")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    DATE = "date", _("Date")


#: Field types whose answers are chosen among `options`.
CHOICE_TYPES = (FieldType.SELECT, FieldType.RADIO, FieldType.CHECKBOXES)


class TicketForm(models.Model):
    """Questions asked for each ticket of the tariffs linked to it."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    office = models.ForeignKey(TicketOffice, on_delete=models.CASCADE, related_name="forms")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class FormField(models.Model):
    """One question. `position`: 1, 2, 3 ... come first in that order, then the fields
    without a position, and 0 at the very end (services.forms.ordered_fields)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    form = models.ForeignKey(TicketForm, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    help_text = models.CharField(_("help text"), max_length=500, blank=True)
    required = models.BooleanField(_("required"), default=False)
    options = models.JSONField(_("options"), default=list, blank=True)
    # The answer replaces the buyer's name on the ticket (the attendee's name, say).
    show_on_ticket = models.BooleanField(_("show on ticket"), default=False)
    # A link shown with the field, such as the terms being accepted.
    url = models.URLField(_("URL"), max_length=500, blank=True)
    position = models.PositiveIntegerField(_("position"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=[t.value for t in FieldType]), name="form_field_type_known"
            )
        ]

    def __str__(self):
        return self.label
