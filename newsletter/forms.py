"""Forms of the newsletter pages. They check the shape of the input only: the services
(newsletter/services/) hold the rules, and their errors come back onto these forms,
each under the field it names (`field_map`)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import FieldType, SubscriptionStatus


class ServiceForm(forms.Form):
    """A form whose cleaned data are the keyword arguments of one service."""

    def values(self) -> dict:
        return dict(self.cleaned_data)


class NewsletterForm(ServiceForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Jorat news")}),
        help_text=_("For you and your colleagues; recipients see the sender's name instead."),
    )


class NewsletterDeleteForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the name of the newsletter to confirm"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ListForm(ServiceForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Monthly news")}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the list's subscription form."),
    )
    form_fields = forms.TypedMultipleChoiceField(
        label=_("Fields its subscription form asks"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Besides the email address, which every form asks."),
    )

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form_fields"].choices = [(field.pk, field.label) for field in fields]
        if not fields:
            del self.fields["form_fields"]


class GroupForm(ServiceForm):
    name = forms.CharField(
        label=_("Group name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. VIP")}),
    )


class FieldForm(ServiceForm):
    label = forms.CharField(
        label=_("Label"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. First name")}),
    )
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"placeholder": "first_name", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_(
            "How a campaign writes the value: <code>{{ first_name }}</code>. Lower-case "
            "letters, digits and underscores."
        ),
    )
    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A choice field only: one choice per line."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=0,
        max_value=32767,
        initial=0,
        help_text=_("Fields show by position, then by label."),
    )

    @classmethod
    def for_field(cls, field, data=None):
        initial = {
            "label": field.label,
            "key": field.key,
            "type": field.type,
            "choices": "\n".join(field.choices),
            "position": field.position,
        }
        return cls(data, initial=initial)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["choices"] = [line.strip() for line in data["choices"].splitlines() if line.strip()]
        if data["position"] is None:
            data["position"] = 0
        return data


# -- contacts ---------------------------------------------------------------------------------

NOT_ON_LIST = ""


class ContactFilterForm(forms.Form):
    """Search and filters of the contacts page; `status` is the standing on the chosen
    list, or on any list when none is chosen; `field` and `value` go together."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Email address")}),
    )
    list = forms.TypedChoiceField(label=_("List"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *SubscriptionStatus.choices],
    )
    group = forms.TypedChoiceField(label=_("Group"), required=False, coerce=int, empty_value=None)
    field = forms.ChoiceField(label=_("Field"), required=False)
    value = forms.CharField(label=_("Value"), required=False, max_length=1000)

    def __init__(self, *args, lists=(), fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list"].choices = [("", _("Any list")), *[(li.pk, li.name) for li in lists]]
        self.fields["group"].choices = [
            ("", _("Any group")),
            *[
                (li.name, [(group.pk, group.name) for group in li.groups.all()])
                for li in lists
                if li.groups.all()
            ],
        ]
        self.fields["field"].choices = [("", _("Any field")), *[(f.key, f.label) for f in fields]]
        if not fields:
            del self.fields["field"], self.fields["value"]

    def clean(self):
        data = super().clean()
        if data.get("field") and not data.get("value", "").strip():
            self.add_error("value", _("Type the value to look for."))
        elif data.get("value", "").strip() and not data.get("field"):
            self.add_error("field", _("Choose the field the value is of."))
        return data


def _value_field(field, initial):
    """The input of one custom field, by its type. Every value goes to the service as
    typed (or a yes/no as a boolean), so that its errors are the service's."""
    common = {"label": field.label, "required": False, "initial": initial}
    if field.type == FieldType.YES_NO:
        return forms.BooleanField(**common)
    if field.type == FieldType.CHOICE:
        choices = [("", "—"), *[(choice, choice) for choice in field.choices]]
        return forms.CharField(widget=forms.Select(choices=choices), **common)
    widget = {
        FieldType.NUMBER: forms.NumberInput(attrs={"step": "any"}),
        FieldType.DATE: forms.DateInput(attrs={"type": "date"}),
    }.get(field.type, forms.TextInput)
    return forms.CharField(widget=widget, max_length=1000, **common)


class ContactForm(forms.Form):
    """A contact's address, its field values by type, and per list its status and
    groups. `values()` are the keyword arguments of `contact_create` or
    `contact_update`: the fields changed only, and the lists the contact is (or is put)
    on; `field_map()` names the form field of each of the service's errors."""

    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, fields=(), lists=(), contact=None, default_list=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_fields = list(fields)
        self.lists = list(lists)
        values = contact.fields if contact else {}
        standing = {s.list_id: s.status for s in contact.subscriptions.all()} if contact else {}
        chosen = {g.pk for g in contact.groups.all()} if contact else set()
        if contact:
            self.fields["email"].initial = contact.email
        for field in self.contact_fields:
            self.fields[f"field_{field.key}"] = _value_field(field, values.get(field.key))
        for item in self.lists:
            on_list = item.pk in standing
            statuses = list(SubscriptionStatus.choices)
            if not on_list:
                statuses.insert(0, (NOT_ON_LIST, pgettext_lazy("a list", "Not on this list")))
            default = SubscriptionStatus.SUBSCRIBED if item == default_list else NOT_ON_LIST
            self.fields[f"list_{item.pk}_status"] = forms.ChoiceField(
                label=_("Status"),
                choices=statuses,
                required=False,
                initial=standing.get(item.pk, default),
            )
            groups = list(item.groups.all())
            if groups:
                self.fields[f"list_{item.pk}_groups"] = forms.TypedMultipleChoiceField(
                    label=_("Groups"),
                    choices=[(g.pk, g.name) for g in groups],
                    coerce=int,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    initial=[g.pk for g in groups if g.pk in chosen],
                )

    def value_fields(self):
        return [self[f"field_{field.key}"] for field in self.contact_fields]

    def list_rows(self):
        """(list, its status field, its groups field or None) for the template."""
        return [
            (
                item,
                self[f"list_{item.pk}_status"],
                self[f"list_{item.pk}_groups"] if f"list_{item.pk}_groups" in self.fields else None,
            )
            for item in self.lists
        ]

    def clean(self):
        data = super().clean()
        for item in self.lists:
            status = data.get(f"list_{item.pk}_status")
            if status == NOT_ON_LIST and data.get(f"list_{item.pk}_groups"):
                self.add_error(
                    f"list_{item.pk}_groups",
                    _("Choose a status on this list to put the contact in its groups."),
                )
        return data

    def _entries(self):
        return [
            item
            for item in self.lists
            if self.cleaned_data.get(f"list_{item.pk}_status") != NOT_ON_LIST
        ]

    def values(self) -> dict:
        data = self.cleaned_data
        fields = {}
        for field in self.contact_fields:
            name = f"field_{field.key}"
            if name in self.changed_data:
                fields[field.key] = data[name]
        subscriptions = []
        for item in self._entries():
            entry = {"list": item.pk, "status": data[f"list_{item.pk}_status"]}
            if f"list_{item.pk}_groups" in self.fields:
                entry["groups"] = data[f"list_{item.pk}_groups"]
            subscriptions.append(entry)
        return {"email": data["email"], "fields": fields, "subscriptions": subscriptions}

    def field_map(self) -> dict:
        mapping = {f"fields.{field.key}": f"field_{field.key}" for field in self.contact_fields}
        for index, item in enumerate(self._entries()):
            at = f"subscriptions.{index}"
            status = f"list_{item.pk}_status"
            groups = f"list_{item.pk}_groups" if f"list_{item.pk}_groups" in self.fields else status
            mapping.update({at: status, f"{at}.list": status, f"{at}.status": status,
                            f"{at}.groups": groups})  # fmt: skip
        return mapping


# -- campaigns ----------------------------------------------------------------------------------


class CampaignSetupForm(ServiceForm):
    """Step 1 of the wizard: what recipients see of the campaign before opening it, who
    it comes from, and how its links are followed."""

    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_(
            "The subject recipients see, and the campaign's name in your list. Variables "
            "such as {{ first_name }} may be used."
        ),
    )
    preview_text = forms.CharField(
        label=_("Preview text"),
        max_length=250,
        required=False,
        help_text=_(
            "Shown after the subject in most inboxes (the preheader). Variables may be used."
        ),
    )
    sender = forms.TypedChoiceField(label=_("Sender"), coerce=int, empty_value=None, required=False)
    reply_to = forms.EmailField(
        label=_("Reply-to address"),
        required=False,
        help_text=_("Where answers go; the sender address when left empty."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        help_text=_("The language of the unsubscribe page and the other messages recipients see."),
    )
    track_opens = forms.BooleanField(label=_("Count the opens"), required=False)
    track_clicks = forms.BooleanField(label=_("Count the clicks on links"), required=False)
    utm_source = forms.CharField(label=_("UTM source"), max_length=100, required=False)
    utm_medium = forms.CharField(label=_("UTM medium"), max_length=100, required=False)
    utm_campaign = forms.CharField(label=_("UTM campaign"), max_length=100, required=False)

    def __init__(self, *args, senders=(), languages=(), creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["sender"].choices = [("", _("Choose a sender address"))] + [
            (sender.pk, str(sender) if sender.verified else _("%(sender)s (not verified yet)")
             % {"sender": sender})
            for sender in senders
        ]  # fmt: skip
        self.fields["language"].choices = languages

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["utm"] = {key: data.pop(f"utm_{key}") for key in ("source", "medium", "campaign")}
        if self.creating and not data["utm"]["campaign"]:
            del data["utm"]["campaign"]  # the service's default: the title as a slug
        return data


class CampaignRecipientsForm(ServiceForm):
    """Step 5: the lists, then the groups to include (none: everyone subscribed) and to
    exclude."""

    lists = forms.TypedMultipleChoiceField(
        label=_("Lists"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    include_groups = forms.TypedMultipleChoiceField(
        label=_("Only the contacts in these groups"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: everyone subscribed to the lists."),
    )
    exclude_groups = forms.TypedMultipleChoiceField(
        label=_("Never the contacts in these groups"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Whatever their standing on the group's list."),
    )

    def __init__(self, *args, lists=(), groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].choices = [(item.pk, item.name) for item in lists]
        group_choices = [(group.pk, f"{group.list.name} · {group.name}") for group in groups]
        self.fields["include_groups"].choices = group_choices
        self.fields["exclude_groups"].choices = group_choices


class CampaignContentForm(ServiceForm):
    content = forms.JSONField(label=_("Content"), required=False)


class TemplateNameForm(ServiceForm):
    name = forms.CharField(
        label=_("Template name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Monthly letter")}),
    )


class TestSendForm(ServiceForm):
    emails = forms.CharField(
        label=_("Send a test to"),
        max_length=2000,
        help_text=_("Up to 10 addresses, separated by commas or spaces."),
        widget=forms.TextInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    contact = forms.TypedChoiceField(
        label=_("As received by"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", _("Sample values"))] + [
            (contact.pk, contact.email) for contact in contacts
        ]


class ScheduleForm(ServiceForm):
    when = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Send now")), ("later", _("At a date and time"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean(self):
        data = super().clean()
        if data.get("when") == "later" and not data.get("at"):
            self.add_error("at", _("Choose the date and time of the sending."))
        return data

    def values(self) -> dict:
        return {"at": self.cleaned_data["at"] if self.cleaned_data.get("when") == "later" else None}
