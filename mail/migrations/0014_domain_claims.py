"""Service Mail domains claim their names (panel.DomainClaim), and the mail server only
serves verified names.

Existing services and extra domains keep working: their names are claimed verified, as
they were delivered before proof was asked for. From now on a name the panel does not
host waits for its TXT record (panel/services/domain_claims.py).

mail_service_domains, which every other view reads, lists only the names of a verified
claim of the service's organisation: until then Postfix accepts no mail for the name and
nobody may send from it.
"""

import secrets

from django.db import migrations

VIEW = """
CREATE OR REPLACE VIEW mail_service_domains AS
    SELECT s.id AS service_id, s.domain, TRUE AS is_primary
      FROM mail_mailservice s
      JOIN panel_domainclaim c
        ON c.name = s.domain AND c.organisation_id = s.organisation_id
     WHERE c.verified_at IS NOT NULL
    UNION ALL
    SELECT e.service_id, e.domain, FALSE
      FROM mail_extradomain e
      JOIN panel_domainclaim c
        ON c.name = e.domain AND c.organisation_id = e.organisation_id
     WHERE c.verified_at IS NOT NULL;
"""

OLD_VIEW = """
CREATE OR REPLACE VIEW mail_service_domains AS
    SELECT id AS service_id, domain, TRUE AS is_primary FROM mail_mailservice
    UNION ALL
    SELECT service_id, domain, FALSE FROM mail_extradomain;
"""


def claim_existing(apps, schema_editor):
    DomainClaim = apps.get_model("panel", "DomainClaim")
    rows = [
        (service.organisation_id, service.domain, service.created_at)
        for service in apps.get_model("mail", "MailService").objects.order_by("created_at", "id")
    ] + [
        (extra.organisation_id, extra.domain, extra.created_at)
        for extra in apps.get_model("mail", "ExtraDomain").objects.order_by("created_at", "id")
    ]
    for organisation_id, name, created_at in rows:
        if DomainClaim.objects.filter(name=name).exists():
            continue
        DomainClaim.objects.create(
            organisation_id=organisation_id,
            name=name,
            token=secrets.token_urlsafe(24),
            verified_at=created_at,
        )


def create_view(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VIEW)


def restore_view(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_VIEW)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0013_sender_logins"),
        ("domains", "0006_domain_claims"),
    ]

    operations = [
        migrations.RunPython(claim_existing, migrations.RunPython.noop),
        migrations.RunPython(create_view, restore_view),
    ]
