"""Forms of the event pages: an event, a date, a zone, a tariff. They check the shape of
the input only; the catalogue services (services/catalogue.py) hold the rules and their
errors come back onto these forms. Moments are typed in the panel's time zone."""

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_IMAGE_BYTES = 5 * 1024 * 1024


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _moment_field(label, *, required=False, help_text=""):
    return forms.DateTimeField(
        label=label, required=required, widget=DateTimeLocalInput(), help_text=help_text
    )


class ServiceForm(forms.Form):
    """A form whose cleaned data are the keyword arguments of one service."""

    def values(self) -> dict:
        return dict(self.cleaned_data)


def time_zone_note() -> str:
    zone = timezone.get_current_timezone_name()
    return _("Times are in the %(zone)s time zone.") % {"zone": zone}


class EventForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown to buyers on the event's shop page."),
    )
    venue = forms.CharField(
        label=_("Venue"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Théâtre du Jorat, Mézières")}),
    )
    image = forms.ImageField(
        label=_("Image"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_("A poster or a photo, at most 5 MB."),
    )
    remove_image = forms.BooleanField(label=_("Remove the image"), required=False)

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and getattr(image, "size", 0) > MAX_IMAGE_BYTES:
            raise forms.ValidationError(_("The image is larger than 5 MB."))
        return image

    def image_change(self) -> dict:
        """`{"image": file}` for a new image, `{"image": None}` to remove it, else `{}`."""
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            return {"image": image}
        if self.cleaned_data.get("remove_image"):
            return {"image": None}
        return {}

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("title", "description", "venue")}

    def values(self) -> dict:
        return {**self.details(), **self.image_change()}


class DateForm(ServiceForm):
    starts_at = _moment_field(_("Starts at"), required=True)
    ends_at = _moment_field(_("Ends at"))
    doors_at = _moment_field(_("Doors open at"), help_text=_("Before the start, or at it."))
    sales_open_at = _moment_field(_("Sales open at"), help_text=_("Empty: on sale at once."))
    sales_close_at = _moment_field(_("Sales close at"), help_text=_("Empty: at the start."))

    @classmethod
    def for_date(cls, date, data=None):
        fields = ("starts_at", "ends_at", "doors_at", "sales_open_at", "sales_close_at")
        initial = {
            name: timezone.localtime(getattr(date, name)) for name in fields if getattr(date, name)
        }
        return cls(data, initial=initial, prefix="date")


class ZoneForm(ServiceForm):
    name = forms.CharField(
        label=_("Zone name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Stalls")}),
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=1,
        help_text=_("Seats in this zone: never more are sold."),
    )


class SeatPlanForm(forms.Form):
    """A zone's numbered seats: the switch and the plan's text (services/seats.py)."""

    numbered = forms.BooleanField(
        label=_("Numbered seats"),
        required=False,
        help_text=_("Buyers pick their seats on the plan; the capacity is the seats on sale."),
    )
    layout = forms.CharField(
        label=_("Seating plan"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(
            attrs={
                "rows": 10,
                "spellcheck": "false",
                "class": "tk-plan-text",
                "placeholder": "A: 1-10, _, 11-20",
            }
        ),
        help_text=_(
            "One line per row: its name, a colon, then its seats from left to right. "
            "1-10 is a range (10-1 numbers from the right), _ is a place without a seat "
            "(_3 for three), [11-12] are seats drawn but not on sale, an empty line is an "
            "aisle."
        ),
    )

    def values(self) -> dict:
        layout = self.cleaned_data["layout"]
        return {
            "numbered": self.cleaned_data["numbered"],
            "layout": layout if layout.strip() else None,
        }


class TariffForm(forms.Form):
    """A tariff, with its advanced settings (folded away on the page) and the form its
    tickets ask ("Link a form to this tariff")."""

    name = forms.CharField(
        label=_("Tariff name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Full price")}),
    )
    price = forms.DecimalField(
        label=_("Price"), min_value=0, max_digits=10, decimal_places=2, help_text=_("0 for free.")
    )
    cap = forms.IntegerField(
        label=_("Cap"),
        required=False,
        min_value=1,
        help_text=_("At most this many of the zone's seats at this tariff."),
    )
    min_per_order = forms.IntegerField(label=_("Minimum per order"), min_value=1, initial=1)
    max_per_order = forms.IntegerField(label=_("Maximum per order"), min_value=1, initial=10)
    sale_starts_at = _moment_field(_("Sale starts at"))
    sale_ends_at = _moment_field(_("Sale ends at"))
    public = forms.BooleanField(
        label=_("Public: sold in the shop"),
        required=False,
        initial=True,
        help_text=_("A hidden tariff is kept out of the shop."),
    )
    link_form = forms.BooleanField(label=_("Link a form to this tariff"), required=False)
    linked_form = forms.TypedChoiceField(
        label=_("Form"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Its questions are asked for each ticket of this tariff."),
    )

    ADVANCED = (
        "cap",
        "min_per_order",
        "max_per_order",
        "sale_starts_at",
        "sale_ends_at",
        "public",
        "link_form",
        "linked_form",
    )

    def __init__(self, *args, office_forms=(), tariff=None, **kwargs):
        if tariff is not None:
            kwargs.setdefault("initial", self.initial_of(tariff))
        super().__init__(*args, **kwargs)
        self.fields["linked_form"].choices = [("", _("Choose a form…"))] + [
            (form.pk, form.name) for form in office_forms
        ]
        if not office_forms:
            self.fields["link_form"].disabled = True
            self.fields["linked_form"].disabled = True

    @staticmethod
    def initial_of(tariff) -> dict:
        initial = {
            name: getattr(tariff, name)
            for name in ("name", "price", "cap", "min_per_order", "max_per_order", "public")
        }
        for name in ("sale_starts_at", "sale_ends_at"):
            if getattr(tariff, name):
                initial[name] = timezone.localtime(getattr(tariff, name))
        initial["link_form"] = tariff.form_id is not None
        initial["linked_form"] = tariff.form_id
        return initial

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("link_form") and not cleaned.get("linked_form"):
            self.add_error("linked_form", _("Choose the form to link, or untick the option."))
        return cleaned

    def advanced_errors(self) -> bool:
        """Whether a folded field has an error, so that the page opens the fold."""
        return any(name in self.errors for name in self.ADVANCED)

    def values(self) -> dict:
        data = {
            name: self.cleaned_data[name]
            for name in (
                "name",
                "price",
                "cap",
                "min_per_order",
                "max_per_order",
                "sale_starts_at",
                "sale_ends_at",
                "public",
            )
        }
        data["form"] = self.cleaned_data["linked_form"] if self.cleaned_data["link_form"] else None
        return data
