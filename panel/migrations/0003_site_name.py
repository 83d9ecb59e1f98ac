"""The site allauth names in its mails and pages: "Panel", at the panel's own address."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations


def name_the_site(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    domain = urlsplit(settings.PANEL_BASE_URL).netloc or "panel.localhost"
    Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"name": "Panel", "domain": domain[:100]}
    )


def unname_the_site(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    Site.objects.filter(pk=settings.SITE_ID, name="Panel").update(
        name="example.com", domain="example.com"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0002_domain_claims"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(name_the_site, unname_the_site)]
