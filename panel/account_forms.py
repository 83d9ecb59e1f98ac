"""allauth's account forms with the sentence-case labels of the rest of the panel
("Remember me", "New password"), set through ACCOUNT_FORMS."""

from allauth.account import forms as allauth_forms
from django.utils.translation import gettext_lazy as _

NEW_PASSWORD_LABELS = {
    "password1": _("New password"),
    "password2": _("New password (again)"),
}


def _relabel(form, labels: dict) -> None:
    """Set the label of each field, and its placeholder where allauth repeats the label."""
    for name, label in labels.items():
        field = form.fields[name]
        field.label = label
        if "placeholder" in field.widget.attrs:
            field.widget.attrs["placeholder"] = label


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            _relabel(self, {"remember": _("Remember me")})


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"oldpassword": _("Current password"), **NEW_PASSWORD_LABELS})


class ResetPasswordKeyForm(allauth_forms.ResetPasswordKeyForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, NEW_PASSWORD_LABELS)
