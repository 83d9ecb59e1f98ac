"""The world of the schema-wide API tests (test_api_schema_fuzz.py, test_api_strict_text.py)."""

import pytest

from mail.models import Address, AddressKind, Alias, ExtraDomain, Signature
from panel import services
from panel.access import access_for
from panel.models import Invitation, Job, Role
from tests import factories as f


@pytest.fixture
def api_world(zone_dir, settings):
    """An organisation holding one of everything the API names in its paths."""
    settings.MAIL_DNS_CHECK_DEADLINE = 0.5
    settings.MAIL_DNS_RESOLVER_TIMEOUT = 0.5
    settings.DNS_RESOLVER_TIMEOUT = 0.5
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    member = f.MembershipFactory(organisation=org, role=Role.USER)
    access = access_for(legal, org)
    from domains import services as domain_services

    zone = domain_services.domain_add(access=access, name="zone.fuzz.test")
    synonym = domain_services.domain_add(access=access, name="syn.fuzz.test")
    domain_services.synonym_make(access=access, main=zone, synonym=synonym)
    service = f.MailServiceFactory(organisation=org, name="mail.fuzz.test", plan="premium")
    service.address_quota = 50
    service.save()
    address = Address.objects.create(
        organisation=org, service=service, local_part="alice", kind=AddressKind.MAILBOX
    )
    Alias.objects.create(organisation=org, service=service, address=address, local_part="al")
    ExtraDomain.objects.create(organisation=org, service=service, domain="extra.fuzz.test")
    f.claim_verified(org, "extra.fuzz.test")
    signature = Signature.objects.create(
        organisation=org, service=service, name="Sig", body="Regards"
    )
    team = f.TeamFactory(organisation=org)
    f.TeamMemberFactory(team=team, user=member.user)
    grant = f.GrantFactory(
        team=team, product_type="mail_service", product_id=service.pk, level="view"
    )
    invitation = Invitation.objects.create(
        organisation=org, email="new@fuzz.test", role="user", invited_by=legal
    )
    job = Job.objects.create(organisation=org, kind="mail.csv_import", actor=legal)
    token, secret = services.token_create(actor=legal, name="fuzz", scopes=["read", "write"])
    shop = _ticketing_world(access)
    return {
        "secret": secret,
        "path": {
            "org_id": org.pk,
            "service_id": service.pk,
            "local_part": "alice",
            "alias": "al",
            "domain": "extra.fuzz.test",
            "name": "zone.fuzz.test",
            "synonym": "syn.fuzz.test",
            "grant_id": grant.pk,
            "invitation_id": invitation.pk,
            "job_id": job.pk,
            "member_id": member.pk,
            "signature_id": signature.pk,
            "team_id": team.pk,
            "token_id": token.pk,
            "user_id": member.user.pk,
            **shop,
            **_newsletter_world(access),
        },
    }


def _newsletter_world(access) -> dict:
    """A newsletter with a field, a list and a group of it, a contact, a sender address,
    a campaign and a template, and the signed tokens of its public links, for the
    newsletter API."""
    from newsletter import links
    from newsletter import services as newsletter
    from newsletter.services.campaigns import campaign_create
    from newsletter.services.contacts import contact_create
    from newsletter.services.templates import template_create

    product = newsletter.newsletter_create(access=access, name="Fuzz news")
    field = newsletter.field_create(
        access=access, newsletter=product, key="first_name", label="First name", type="text"
    )
    contact_list = newsletter.list_create(access=access, newsletter=product, name="News")
    group = newsletter.group_create(access=access, contact_list=contact_list, name="VIP")
    contact = contact_create(
        access=access, newsletter=product, email="ada@fuzz.test",
        subscriptions=[{"list": contact_list.pk}],
    )  # fmt: skip
    sender = newsletter.sender_create(
        access=access, newsletter=product, email="news@fuzz.test", name="Fuzz news"
    )
    return {
        "newsletter_id": product.pk,
        "contact_field_id": field.pk,
        "list_id": contact_list.pk,
        "group_id": group.pk,
        "contact_id": contact.pk,
        "sender_id": sender.pk,
        "campaign_id": campaign_create(
            access=access,
            newsletter=product,
            title="Fuzz {{ first_name }}",
            theme="classic",
            sender=sender.pk,
            lists=[contact_list.pk],
        ).pk,  # fmt: skip
        "template_id": template_create(
            access=access, newsletter=product, name="Fuzz", theme="minimal"
        ).pk,
        "form_token": links.form_token(contact_list),
        "confirm_token": _last_part(links.confirm_url(contact, contact_list)),
        "preferences_token": links.preferences_token(contact),
        "unsubscribe_token": _last_part(links.unsubscribe_url(contact)),
    }


def _last_part(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def _ticketing_world(access) -> dict:
    """A ticket office on sale with one order and one open basket, for the path
    parameters of the ticketing and shop APIs."""
    import datetime

    from django.utils import timezone

    from ticketing import services as ticketing
    from ticketing.services.invitations import reminder_create

    office = ticketing.office_create(access=access, name="Fuzz", slug="fuzz", pay_later=True)
    form = ticketing.form_create(access=access, office=office, name="Attendee")
    field = ticketing.field_create(access=access, form=form, label="Name", type="text")
    event = ticketing.event_create(access=access, office=office, title="Fuzz night")
    starts_at = timezone.now() + datetime.timedelta(days=30)
    date = ticketing.date_create(access=access, event=event, starts_at=starts_at)
    zone = ticketing.zone_create(access=access, date=date, name="Stalls", capacity=50)
    tariff = ticketing.tariff_create(access=access, zone=zone, name="Full", price="10.00")
    ticketing.event_update(access=access, event=event, status="on_sale")
    items = [{"tariff": tariff.pk, "quantity": 1}]
    ordered, _key = ticketing.basket_create(office=office, items=items)
    order = ticketing.checkout(basket=ordered, name="Ada", email="ada@fuzz.test", payment="later")
    _basket, basket_key = ticketing.basket_create(office=office, items=items)
    checkin_list = ticketing.checkin_list_create(access=access, event=event, name="Main door")
    guest = ticketing.guest_create(
        access=access, event=event, name="Grace", email="grace@fuzz.test", tariff=tariff.pk
    )
    reminder = reminder_create(
        access=access, event=event, send_at=starts_at - datetime.timedelta(days=1)
    )
    return {
        "office_id": office.pk,
        "office_slug": office.slug,
        "form_id": form.pk,
        "field_id": field.pk,
        "event_id": event.pk,
        "date_id": date.pk,
        "zone_id": zone.pk,
        "tariff_id": tariff.pk,
        "order_id": order.pk,
        "code": order.code,
        "ticket_id": order.tickets.first().pk,
        "basket_key": basket_key,
        "checkin_list_id": checkin_list.pk,
        "guest_id": guest.pk,
        "kind": "invitation",
        "reminder_id": reminder.pk,
    }
