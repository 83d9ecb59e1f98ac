"""Writing one chunk of a contacts import (services/imports.py): the contacts, their
subscriptions, groups, consents and history lines of a batch of checked entries, in a few
statements whatever the batch's size (COPY on PostgreSQL). The rules of what is written
are those of imports.py; this module only writes them fast."""

import datetime
import json
from collections import Counter
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from ..models import (
    Consent,
    ConsentSource,
    Contact,
    ContactEvent,
    ContactEventKind,
    ContactList,
    Subscription,
    SubscriptionStatus,
)
from .contacts import LEFT, STATUS_EVENTS

if TYPE_CHECKING:
    from .imports import Entry

#: The standings an import never changes (their contacts are skipped and counted).
KEPT = (*LEFT, SubscriptionStatus.BOUNCED)


def _insert(model, columns: tuple[str, ...], rows: list[tuple], *, with_ids=False, conflict=""):
    """Inserts `rows` (plain values in the order of `columns`) and returns their new ids
    in the same order when `with_ids`. This is what bulk_create does, without building a
    model instance and preparing each value of each row through it, which was most of an
    import's time. On PostgreSQL the rows go as one COPY, their ids drawn from the
    table's sequence first (with a `conflict` clause, as one array per column);
    elsewhere, as rows of placeholders."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql and not conflict:
            ids = []
            if with_ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [model._meta.db_table, len(rows)],
                )
                ids = [pk for (pk,) in cursor.fetchall()]
                rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
                names = f"{quote('id')}, {names}"
            text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
            # The driver's own cursor, for COPY; its errors (an address added meanwhile)
            # as Django's, as on every other path.
            with connection.wrap_database_errors:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    copy.write(text.encode())
            return ids
        rows = [
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, row, strict=True)
            ]
            for row in rows
        ]
        head = f"INSERT INTO {table} ({names})"
        tail = (f" {conflict}" if conflict else "") + (
            f" RETURNING {quote('id')}" if with_ids else ""
        )
        if postgresql:
            arrays = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
            by_column = [list(column) for column in zip(*rows, strict=True)]
            statements = [(f"{head} SELECT * FROM UNNEST({arrays}){tail}", by_column)]
        else:
            size = max(1, (connection.features.max_query_params or 999) // len(columns))
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            statements = [
                (
                    f"{head} VALUES {', '.join([one] * len(part))}{tail}",
                    [v for row in part for v in row],
                )
                for part in (rows[start : start + size] for start in range(0, len(rows), size))
            ]
        ids = []
        for sql, params in statements:
            cursor.execute(sql, params)
            if with_ids:
                ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_COPY_ESCAPES)


def write_batch(contact_list: ContactList, batch: "list[Entry]", filename: str) -> Counter:
    """One chunk: contacts created or merged, their subscriptions, groups, history and
    consents, in bulk (about ten queries). Only what changes is locked or written: a file
    imported twice reads the second time and writes nothing."""
    now = timezone.now()
    org_id, newsletter_id, list_id = (
        contact_list.organisation_id, contact_list.newsletter_id, contact_list.pk,
    )  # fmt: skip
    source = ConsentSource.IMPORT.value  # enums as their text, for _insert
    by_import = {"source": source}
    counts = Counter()
    existing = dict(
        Contact.objects.filter(
            newsletter_id=newsletter_id, email_key__in=[e.key for e in batch]
        ).values_list("email_key", "pk")
    )
    new = [entry for entry in batch if entry.key not in existing]
    inserted = _insert(
        Contact,
        ("organisation", "newsletter", "email", "email_key", "fields", "created_at",
         "updated_at"),
        [(org_id, newsletter_id, e.email, e.key, e.fields, now, now) for e in new],
        with_ids=True,
    )  # fmt: skip
    ids = {**existing, **{entry.key: pk for entry, pk in zip(new, inserted, strict=True)}}
    counts["created"], counts["merged"] = len(new), len(existing)
    created = ContactEventKind.CREATED.value
    events = [(org_id, ids[e.key], created, None, by_import, now) for e in new]
    for contact_id, keys in _merge_fields(
        [(existing[e.key], e.fields) for e in batch if e.key in existing and e.fields], now
    ):
        events.append((org_id, contact_id, ContactEventKind.CHANGED.value, None,
                       {"fields": keys, "source": source}, now))  # fmt: skip

    wanted = {ids[e.key]: e.status or SubscriptionStatus.SUBSCRIBED.value for e in batch}
    current = dict(
        Subscription.objects.filter(list_id=list_id, contact_id__in=existing.values()).values_list(
            "contact_id", "status"
        )
    )
    # Only the standings that change are locked, then read again under the lock: a
    # contact who unsubscribes meanwhile stays unsubscribed.
    changing = [c for c, status in current.items() if status != wanted[c] and status not in KEPT]
    if changing:
        current.update(
            Subscription.objects.select_for_update()
            .filter(list_id=list_id, contact_id__in=changing)
            .values_list("contact_id", "status")
        )
    added, moved, consents = [], {}, []
    for contact_id, status in wanted.items():
        if contact_id not in current:
            added.append((org_id, contact_id, list_id, status, now, now))
        elif current[contact_id] == status:
            continue
        elif current[contact_id] in KEPT:
            counts["skipped_left"] += 1
            continue
        else:
            moved.setdefault(status, []).append(contact_id)
        events.append((org_id, contact_id, STATUS_EVENTS[status].value, list_id, by_import, now))
        if status == SubscriptionStatus.SUBSCRIBED:
            counts["subscribed"] += 1
            consents.append((org_id, contact_id, list_id, source, "", filename, now, now))
    _insert(
        Subscription,
        ("organisation", "contact", "list", "status", "created_at", "changed_at"),
        added,
    )
    for status, contact_ids in moved.items():
        Subscription.objects.filter(list_id=list_id, contact_id__in=contact_ids).update(
            status=status, changed_at=now
        )
    membership = Contact.groups.through
    _insert(
        membership,
        ("contact", "contactgroup"),
        [(ids[entry.key], group) for entry in batch for group in sorted(entry.groups)],
        conflict="ON CONFLICT DO NOTHING",  # already in the group: nothing to add
    )
    _insert(ContactEvent, ("organisation", "contact", "kind", "list", "detail", "at"), events)
    _insert(
        Consent,
        ("organisation", "contact", "list", "source", "user_agent", "detail", "at",
         "confirmed_at"),
        consents,
    )  # fmt: skip
    return counts


def _merge_fields(changes: list[tuple[int, dict]], now) -> list[tuple[int, list[str]]]:
    """Writes each (contact id, field values) over the contact's values, the others
    kept; returns (contact id, keys changed) of the contacts that changed. On PostgreSQL
    one statement merges them in place (jsonb ||), so no row is locked to be read first
    and a change made meanwhile to another field is kept."""
    if not changes:
        return []
    current = dict(
        Contact.objects.filter(pk__in=[pk for pk, _values in changes]).values_list("pk", "fields")
    )
    differing = []
    for pk, values in changes:
        keys = sorted(key for key, value in values.items() if current[pk].get(key) != value)
        if keys:
            differing.append((pk, values, keys))
    if not differing:
        return []
    if connection.vendor == "postgresql":
        json_field = Contact._meta.get_field("fields")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(Contact._meta.db_table)} AS c "
                "SET fields = c.fields || v.given, updated_at = %s "
                "FROM UNNEST(%s::bigint[], %s::jsonb[]) AS v(id, given) WHERE c.id = v.id",
                [
                    now,
                    [pk for pk, _values, _keys in differing],
                    [
                        json_field.get_db_prep_save(values, connection)
                        for _pk, values, _k in differing
                    ],
                ],
            )
    else:
        contacts = [
            Contact(pk=pk, fields={**current[pk], **values}, updated_at=now)
            for pk, values, _keys in differing
        ]
        Contact.objects.bulk_update(contacts, ["fields", "updated_at"], batch_size=500)
    return [(pk, keys) for pk, _values, keys in differing]
