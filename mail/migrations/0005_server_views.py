"""SQL views that Dovecot and Postfix read (deploy/dovecot, deploy/postfix).

They are PostgreSQL views, kept here so the shipped server configuration always matches
the schema. Under SQLite (`make run`) there is no mail server, and nothing is created.
"""

from django.db import migrations

VIEWS = """
CREATE VIEW mail_service_domains AS
    SELECT id AS service_id, domain, TRUE AS is_primary FROM mail_mailservice
    UNION ALL
    SELECT service_id, domain, FALSE FROM mail_extradomain;

-- Every domain Postfix accepts mail for.
CREATE VIEW mail_domains AS
    SELECT domain FROM mail_service_domains;

-- Logins (Dovecot passdb and userdb): every address has a mailbox and a password.
CREATE VIEW mail_users AS
    SELECT a.local_part || '@' || s.domain AS username,
           a.password_hash AS password,
           s.domain AS domain,
           a.local_part AS local_part
      FROM mail_address a JOIN mail_mailservice s ON s.id = a.service_id;

-- Mailboxes Postfix delivers to (by LMTP to Dovecot), at the primary domain.
CREATE VIEW mail_mailboxes AS
    SELECT username AS email, domain || '/' || local_part || '/Maildir/' AS maildir
      FROM mail_users;

-- Postfix virtual_alias_maps: source -> destination, one row per destination. Postfix
-- looks up user@domain before @domain, so every real recipient is listed and the
-- catch-all (@domain) only takes what exists nowhere else. Extra domains map to the
-- primary address; the primary address then expands to its redirection.
CREATE VIEW mail_virtual_aliases AS
    -- a mailbox delivers to itself unless it is redirected without a copy
    SELECT a.local_part || '@' || s.domain AS source,
           a.local_part || '@' || s.domain AS destination
      FROM mail_address a JOIN mail_mailservice s ON s.id = a.service_id
     WHERE a.keep_copy
        OR NOT EXISTS (SELECT 1 FROM mail_forwardtarget t WHERE t.address_id = a.id)
    UNION ALL
    -- its redirection targets
    SELECT a.local_part || '@' || s.domain, t.email
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_forwardtarget t ON t.address_id = a.id
    UNION ALL
    -- the same address at each extra domain
    SELECT a.local_part || '@' || x.domain, a.local_part || '@' || s.domain
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_extradomain x ON x.service_id = s.id
    UNION ALL
    -- aliases, at every domain of the service
    SELECT al.local_part || '@' || d.domain, a.local_part || '@' || s.domain
      FROM mail_alias al
      JOIN mail_address a ON a.id = al.address_id
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_service_domains d ON d.service_id = s.id
    UNION ALL
    -- redirect-only addresses at the primary domain
    SELECT r.local_part || '@' || s.domain, t.email
      FROM mail_redirectaddress r
      JOIN mail_mailservice s ON s.id = r.service_id
      JOIN mail_forwardtarget t ON t.redirect_address_id = r.id
    UNION ALL
    -- and at each extra domain
    SELECT r.local_part || '@' || x.domain, r.local_part || '@' || s.domain
      FROM mail_redirectaddress r
      JOIN mail_mailservice s ON s.id = r.service_id
      JOIN mail_extradomain x ON x.service_id = s.id
    UNION ALL
    -- the catch-all of each domain of the service
    SELECT '@' || d.domain, a.local_part || '@' || s.domain
      FROM mail_address a
      JOIN mail_mailservice s ON s.id = a.service_id
      JOIN mail_service_domains d ON d.service_id = s.id
     WHERE a.kind = 'catch_all';

-- Postfix check_recipient_access: no-reply addresses refuse mail at RCPT.
CREATE VIEW mail_recipient_access AS
    SELECT a.local_part || '@' || d.domain AS email,
           'REJECT This address does not receive mail (no-reply)' AS action
      FROM mail_address a JOIN mail_service_domains d ON d.service_id = a.service_id
     WHERE a.kind = 'no_reply';
"""

DROP = """
DROP VIEW IF EXISTS mail_recipient_access;
DROP VIEW IF EXISTS mail_virtual_aliases;
DROP VIEW IF EXISTS mail_mailboxes;
DROP VIEW IF EXISTS mail_users;
DROP VIEW IF EXISTS mail_domains;
DROP VIEW IF EXISTS mail_service_domains;
"""


def create_views(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VIEWS)


def drop_views(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0004_domain_required"),
    ]

    operations = [migrations.RunPython(create_views, drop_views)]
