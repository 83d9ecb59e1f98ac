"""API shapes of the newsletter product and its audience settings. Input serializers check
shape only; the rules live in newsletter.services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField

from ..models import FieldType
from ..services.audience import CHOICE_MAX, DESCRIPTION_MAX, MAX_CHOICES, POSITION_MAX

# -- newsletters -------------------------------------------------------------------------------


class NewsletterIn(serializers.Serializer):
    name = StrictCharField(max_length=120)


class NewsletterDeleteIn(serializers.Serializer):
    confirm_name = StrictCharField(
        required=False, allow_blank=True, help_text=_("The name of the newsletter, typed again.")
    )


class NewsletterOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    list_count = serializers.IntegerField(help_text=_("How many lists it has."))
    contact_count = serializers.IntegerField(
        help_text=_("How many contacts it has, whatever their standing on its lists.")
    )
    created_at = serializers.DateTimeField()


# -- fields ------------------------------------------------------------------------------------


# The field's type is one choice set: its shapes share one component name so that the
# schema names it once (drf-spectacular names enums after the components using them).
@extend_schema_serializer(component_name="NewsletterField")
class NewsletterFieldIn(serializers.Serializer):
    key = StrictCharField(
        max_length=40,
        help_text=_(
            "How the value is kept on each contact, and the variable that writes it in a "
            "campaign ({{ first_name }}): lower-case letters, digits and underscores, "
            "starting with a letter; unique in the newsletter. It cannot change once "
            "contacts have a value for the field."
        ),
    )
    label = StrictCharField(max_length=120)
    type = serializers.ChoiceField(
        choices=FieldType.choices,
        help_text=_("It cannot change once contacts have a value for the field."),
    )
    choices = serializers.ListField(
        child=StrictCharField(max_length=CHOICE_MAX, allow_blank=True),
        required=False,
        max_length=MAX_CHOICES,
        help_text=_(
            "The values of a choice field (required for it, refused for the other types), "
            "each once ignoring case. A choice that contacts hold cannot be taken away."
        ),
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=POSITION_MAX,
        required=False,
        help_text=_("Fields show by position, then label; 0 when not given."),
    )


@extend_schema_serializer(component_name="NewsletterField")
class NewsletterFieldOut(serializers.Serializer):
    id = serializers.IntegerField()
    newsletter = serializers.IntegerField(source="newsletter_id")
    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=FieldType.choices)
    choices = serializers.ListField(child=serializers.CharField())
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()


# -- lists and groups --------------------------------------------------------------------------


class NewsletterListIn(serializers.Serializer):
    name = StrictCharField(max_length=120, help_text=_("Unique in the newsletter."))
    description = StrictCharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)
    form_fields = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX),
        required=False,
        max_length=MAX_CHOICES,
        help_text=_(
            "The ids of the newsletter's fields that the list's subscription form asks "
            "besides the email address; it asks them in the fields' order."
        ),
    )


class NewsletterListOut(serializers.Serializer):
    id = serializers.IntegerField()
    newsletter = serializers.IntegerField(source="newsletter_id")
    name = serializers.CharField()
    description = serializers.CharField()
    form_fields = serializers.SerializerMethodField(method_name="form_field_ids")
    subscribed_count = serializers.IntegerField(
        help_text=_(
            "How many contacts are subscribed to it; unconfirmed, unsubscribed, bounced "
            "and complained contacts are not counted."
        )
    )
    group_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def form_field_ids(self, contact_list) -> list[int]:
        return [field.pk for field in contact_list.form_fields.all()]  # in the fields' order


class NewsletterGroupIn(serializers.Serializer):
    name = StrictCharField(max_length=120, help_text=_("Unique in the list."))


class NewsletterGroupOut(serializers.Serializer):
    id = serializers.IntegerField()
    list = serializers.IntegerField(source="list_id")
    name = serializers.CharField()
    contact_count = serializers.IntegerField(help_text=_("How many contacts are in it."))
    subscribed_count = serializers.IntegerField(
        help_text=_("How many of them are subscribed to its list.")
    )
    created_at = serializers.DateTimeField()
