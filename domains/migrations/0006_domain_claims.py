"""Every existing domain claims its name for its organisation, verified: the panel hosts
its zone (panel.DomainClaim). Where two organisations held overlapping names before the
rule existed, the older domain keeps its claim and the other is left unclaimed."""

import secrets

from django.db import migrations


def claim_existing(apps, schema_editor):
    Domain = apps.get_model("domains", "Domain")
    DomainClaim = apps.get_model("panel", "DomainClaim")
    for domain in Domain.objects.order_by("created_at", "id"):
        if DomainClaim.objects.filter(name=domain.name).exists():
            continue
        DomainClaim.objects.create(
            organisation_id=domain.organisation_id,
            name=domain.name,
            token=secrets.token_urlsafe(24),
            verified_at=domain.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0005_dkim_key_signing"),
        ("panel", "0002_domain_claims"),
    ]

    operations = [migrations.RunPython(claim_existing, migrations.RunPython.noop)]
