"""Public URLs that mail programs ask to set themselves up, outside `/o/<org_id>/`: the
panel answers at autoconfig.<domain> and autodiscover.<domain>, which customer zones point
at it (MAIL_DNS_AUTOCONFIG_HOST). Included from panel/urls.py."""

from django.urls import path, re_path

from .views import autoconfig as v

app_name = "mail_autoconfig"

urlpatterns = [
    path("mail/config-v1.1.xml", v.thunderbird_config, name="config-thunderbird"),
    path(
        ".well-known/autoconfig/mail/config-v1.1.xml",
        v.thunderbird_config,
        name="config-thunderbird-well-known",
    ),
    # Outlook and its kin write autodiscover, Autodiscover or AutoDiscover. (A (?i) flag
    # would match any case but makes every URL of the site unreversible.)
    re_path(
        r"^[Aa]uto[Dd]iscover/[Aa]uto[Dd]iscover\.xml$",
        v.outlook_autodiscover,
        name="config-outlook",
    ),
]
