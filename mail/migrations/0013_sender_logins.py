"""The view Postfix's submission service reads to refuse forged senders
(smtpd_sender_login_maps with reject_sender_login_mismatch, deploy/postfix), and that the
DKIM signer reads to check the From header.

A sender address may be used by the logins (mailbox addresses) listed for it:
- an address, at its primary domain and at every extra domain of its service, by itself;
- an alias, at every domain of its service, by the address it belongs to;
- an address, at every domain, by every other address of the same organisation that the
  same person is linked to, so one person's mail program may send as each of its boxes.

Redirect-only addresses and outside addresses have no login, so nobody may send as them.
"""

from django.db import migrations

VIEW = """
CREATE VIEW mail_sender_logins AS
    SELECT a.local_part AS local_part, d.domain AS domain,
           a.local_part || '@' || s.domain AS login
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_service_domains d ON d.service_id = s.id
    UNION
    SELECT al.local_part, d.domain, a.local_part || '@' || s.domain
      FROM mail_alias al
      JOIN mail_address a ON a.id = al.address_id
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_service_domains d ON d.service_id = al.service_id
    UNION
    SELECT owned.local_part, d.domain, login.local_part || '@' || ls.domain
      FROM mail_addressuser ou
      JOIN mail_addressuser lu
        ON lu.user_id = ou.user_id AND lu.organisation_id = ou.organisation_id
      JOIN mail_address owned ON owned.id = ou.address_id
      JOIN mail_service_domains d ON d.service_id = owned.service_id
      JOIN mail_address login ON login.id = lu.address_id
      JOIN mail_mailservice ls ON ls.id = login.service_id;
"""


def create_view(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VIEW)


def drop_view(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP VIEW IF EXISTS mail_sender_logins")


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0012_sending_limits"),
    ]

    operations = [migrations.RunPython(create_view, drop_view)]
