"""Forms of the Domains pages. They check the shape of the input only; the rules (valid
names and records, CNAME rules, synonyms, who may) live in domains.services and friends,
whose errors the views put back on these forms."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import DomainKind
from .records import TYPES

KIND_HELP = {
    DomainKind.NORMAL: _("A domain with its own DNS zone, the usual choice."),
    DomainKind.ALIAS: _(
        "Its own independent zone too, meant to point at the same services as another "
        "domain; you keep its records yourself."
    ),
}


class DomainAddForm(forms.Form):
    name = forms.CharField(
        label=_("Domain"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": _("example.com"), "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=DomainKind.choices,
        initial=DomainKind.NORMAL,
        widget=forms.RadioSelect,
    )

    def kind_choices(self):
        return [(value, label, KIND_HELP[value]) for value, label in DomainKind.choices]


def content_lines(text: str) -> list[str]:
    """The records typed in a content box: one per line, blank lines left out."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class RecordForm(forms.Form):
    """A new record (or several of one name and type, one per line)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=253,
        required=False,
        initial="@",
        help_text=_("Relative to the domain: “www”, or “@” for the domain itself."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    type = forms.ChoiceField(label=_("Type"), choices=[(t, t) for t in TYPES], initial="A")
    ttl = forms.IntegerField(
        label=_("TTL"),
        initial=settings.DNS_DEFAULT_TTL,
        help_text=_("Seconds resolvers may keep the answer."),
    )
    content = forms.CharField(
        label=_("Content"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("One record per line, such as 192.0.2.10, or 10 mx.example.com. for MX."),
    )

    def records(self) -> list[str]:
        return content_lines(self.cleaned_data["content"])


class RRsetEditForm(forms.Form):
    """The TTL and the records of one existing name and type."""

    name = forms.CharField(widget=forms.HiddenInput)
    type = forms.CharField(widget=forms.HiddenInput)
    ttl = forms.IntegerField(label=_("TTL"))
    content = forms.CharField(
        label=_("Records, one per line"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def records(self) -> list[str]:
        return content_lines(self.cleaned_data["content"])


class ZoneImportForm(forms.Form):
    text = forms.CharField(
        label=_("Zone file"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text=_("Paste a BIND zone file, or choose one below."),
    )
    file = forms.FileField(label=_("Or upload a file"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", _("The file must be text in UTF-8."))
        elif not (data.get("text") or "").strip():
            self.add_error("text", _("Paste a zone file or choose one."))
        return data


class SynonymForm(forms.Form):
    synonym = forms.ChoiceField(label=_("Domain to make a synonym"))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["synonym"].choices = [("", "—")] + [(d.name, d.name) for d in candidates]


class MailUseForm(forms.Form):
    service = forms.ChoiceField(label=_("Service Mail"))

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "—")] + [(str(s.pk), s.domain) for s in services]


class DeleteDomainForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Domain name"),
        max_length=253,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
