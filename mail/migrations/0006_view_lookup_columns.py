"""Give the Postfix views separate `local_part` and `domain` columns.

Comparing a lookup key with a column glued from several tables makes PostgreSQL build
that column for every address of every tenant on each lookup (23-32 ms for 10,000
addresses); comparing the two parts lets it use the tables' indexes (about 2.6 ms).
Columns are appended, so CREATE OR REPLACE keeps the existing ones and their grants.
"""

from django.db import migrations

VIEWS = """
CREATE OR REPLACE VIEW mail_mailboxes AS
    SELECT username AS email, domain || '/' || local_part || '/Maildir/' AS maildir,
           local_part, domain
      FROM mail_users;

CREATE OR REPLACE VIEW mail_virtual_aliases AS
    SELECT a.local_part || '@' || s.domain AS source,
           a.local_part || '@' || s.domain AS destination,
           a.local_part AS local_part, s.domain AS domain
      FROM mail_address a JOIN mail_mailservice s ON s.id = a.service_id
     WHERE a.keep_copy
        OR NOT EXISTS (SELECT 1 FROM mail_forwardtarget t WHERE t.address_id = a.id)
    UNION ALL
    SELECT a.local_part || '@' || s.domain, t.email, a.local_part, s.domain
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_forwardtarget t ON t.address_id = a.id
    UNION ALL
    SELECT a.local_part || '@' || x.domain, a.local_part || '@' || s.domain,
           a.local_part, x.domain
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_extradomain x ON x.service_id = s.id
    UNION ALL
    SELECT al.local_part || '@' || d.domain, a.local_part || '@' || s.domain,
           al.local_part, d.domain
      FROM mail_alias al
      JOIN mail_service_domains d ON d.service_id = al.service_id
      JOIN mail_address a ON a.id = al.address_id
      JOIN mail_mailservice s ON s.id = a.service_id
    UNION ALL
    SELECT r.local_part || '@' || s.domain, t.email, r.local_part, s.domain
      FROM mail_redirectaddress r
      JOIN mail_mailservice s ON s.id = r.service_id
      JOIN mail_forwardtarget t ON t.redirect_address_id = r.id
    UNION ALL
    SELECT r.local_part || '@' || x.domain, r.local_part || '@' || s.domain,
           r.local_part, x.domain
      FROM mail_redirectaddress r
      JOIN mail_mailservice s ON s.id = r.service_id
      JOIN mail_extradomain x ON x.service_id = s.id
    UNION ALL
    -- the catch-all: an empty local part, looked up as '@domain'
    SELECT '@' || d.domain, a.local_part || '@' || s.domain, '', d.domain
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_service_domains d ON d.service_id = s.id
     WHERE a.kind = 'catch_all';

CREATE OR REPLACE VIEW mail_recipient_access AS
    SELECT a.local_part || '@' || d.domain AS email,
           'REJECT This address does not receive mail (no-reply)' AS action,
           a.local_part AS local_part, d.domain AS domain
      FROM mail_address a JOIN mail_service_domains d ON d.service_id = a.service_id
     WHERE a.kind = 'no_reply';
"""


def replace_views(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VIEWS)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0005_server_views"),
    ]

    # Going back leaves the extra columns, which the older queries simply ignore.
    operations = [migrations.RunPython(replace_views, migrations.RunPython.noop)]
