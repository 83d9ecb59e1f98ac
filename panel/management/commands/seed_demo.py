"""Seed a demo organisation for `make run` and print how to sign in. Safe to run again."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from domains import services as domain_services
from mail import dns_records as mail_dns_records
from mail import services as mail_services
from panel import services
from panel.access import access_for
from panel.activity import acting_via
from panel.models import Membership, Organisation, Role, User, Via

DEMO_ORGANISATION = "Demo Organisation"
DEMO_PASSWORD = "demo-panel-2026"
DEMO_PEOPLE = [
    ("owner@demo.panel.localhost", "Olivia", "Owner"),
    ("member@demo.panel.localhost", "Max", "Member"),
]


class Command(BaseCommand):
    help = "Create the demo organisation with two members and a team, then print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, password, **options):
        with transaction.atomic(), acting_via(Via.SYSTEM):
            self._seed(password)

    def _seed(self, password):
        people = [self._person(email, first, last, password) for email, first, last in DEMO_PEOPLE]
        owner, member = people
        organisation = Organisation.objects.filter(
            name=DEMO_ORGANISATION, memberships__user=owner
        ).first()
        if organisation is None:
            organisation = services.organisation_create(actor=owner, name=DEMO_ORGANISATION)
            Membership.objects.create(organisation=organisation, user=member, role=Role.USER)
            access = access_for(owner, organisation)
            mail = mail_services.service_order(
                access=access, domain="demo.example", plan="premium", address_quota=10
            )
            self._seed_mail(access, mail, member, password)
            demo_domain = domain_services.domain_add(access=access, name="demo.example")
            domain_services.rrsets_apply(
                access=access,
                domain=demo_domain,
                changes=[{"name": "www", "type": "A", "ttl": 3600, "records": ["192.0.2.10"]}],
            )
            # The demo's domain serves its Service Mail, as "Use with Service Mail" sets it,
            # so its mail DNS check agrees with the rest of the demo.
            mail_dns_records.mail_records_add(access=access, domain=demo_domain, service=mail)
            mail_dns_records.dkim_keys_activate(domain=demo_domain)  # signs from the start
            team = services.team_create(
                access=access,
                name="Webmasters",
                description="People who look after the demo site and its mail.",
                leader=owner,
            )
            services.team_members_add(access=access, team=team, users=[member])
            services.grant_create(
                access=access,
                team=team,
                product_type="mail_service",
                product_id=mail.pk,
                level="manage",
            )
        office = self._seed_ticketing(access_for(owner, organisation))
        self._seed_newsletter(access_for(owner, organisation))
        url = f"{settings.PANEL_BASE_URL}/o/{organisation.pk}/"
        self.stdout.write(self.style.SUCCESS("Demo organisation ready."))
        self.stdout.write(f"  Panel:    {settings.PANEL_BASE_URL}/")
        self.stdout.write(f"  Demo org: {url}")
        if office is not None:
            self.stdout.write(f"  Shop:     {settings.PANEL_BASE_URL}/shop/{office.slug}/")
        for user, role in ((owner, "legal representative"), (member, "user, in team Webmasters")):
            self.stdout.write(f"  Login:    {user.email} / {password}   ({role})")

    def _seed_ticketing(self, access):
        """A ticket office with an event on sale (two dates, two zones, three tariffs and
        an attendee form), so the public shop can be tried at once; added to a demo
        seeded before the ticket office existed too."""
        import datetime

        from django.utils import timezone

        from ticketing import services as ticketing
        from ticketing.models import TicketOffice

        existing = TicketOffice.objects.filter(organisation=access.organisation).first()
        if existing is not None:
            return existing
        slug = "demo-theatre"
        if TicketOffice.objects.filter(slug=slug).exists():
            slug = f"demo-theatre-{access.organisation.pk}"
        office = ticketing.office_create(
            access=access, name="Demo Theatre", slug=slug, currency="CHF",
            contact_email="tickets@demo.example", contact_phone="+41 21 345 67 89",
            pay_later_instructions="IBAN CH93 0076 2011 6238 5295 7, reference: your order code.",
        )  # fmt: skip
        form = ticketing.form_create(access=access, office=office, name="Attendee")
        ticketing.field_create(
            access=access, form=form, label="Attendee name", type="text", required=True,
            show_on_ticket=True, position=1, help_text="Printed on the ticket.",
        )  # fmt: skip
        ticketing.field_create(
            access=access, form=form, label="Meal", type="radio",
            options=["Standard", "Vegetarian"], position=2,
        )  # fmt: skip
        ticketing.field_create(
            access=access, form=form, label="I accept", type="checkboxes", required=True,
            options=["the terms of sale"], url="https://demo.example/terms", position=0,
        )  # fmt: skip
        event = ticketing.event_create(
            access=access, office=office, title="The Misanthrope",
            description="Molière's comedy, in a new staging.", venue="Demo Theatre, Lausanne",
        )  # fmt: skip
        first = (timezone.now() + datetime.timedelta(days=30)).replace(
            hour=19, minute=30, second=0, microsecond=0
        )
        for starts_at in (first, first + datetime.timedelta(days=1)):
            date = ticketing.date_create(
                access=access, event=event, starts_at=starts_at,
                ends_at=starts_at + datetime.timedelta(hours=2),
                doors_at=starts_at - datetime.timedelta(minutes=45),
            )  # fmt: skip
            stalls = ticketing.zone_create(access=access, date=date, name="Stalls", capacity=300)
            balcony = ticketing.zone_create(access=access, date=date, name="Balcony", capacity=120)
            ticketing.tariff_create(
                access=access, zone=stalls, name="Full price", price="45.00", form=form.pk
            )
            ticketing.tariff_create(
                access=access, zone=stalls, name="Student", price="20.00", cap=50, form=form.pk
            )
            ticketing.tariff_create(access=access, zone=balcony, name="Balcony", price="30.00")
        ticketing.event_update(access=access, event=event, status="on_sale")
        return office

    def _seed_newsletter(self, access):
        """A newsletter with a "Monthly news" list and its groups, two fields, a few
        contacts (one of whom left the list), a sender and a draft campaign; added to a
        demo seeded before it existed."""
        from newsletter import services as newsletter
        from newsletter.models import Newsletter
        from newsletter.services.contacts import contact_create

        if Newsletter.objects.filter(organisation=access.organisation).exists():
            return
        product = newsletter.newsletter_create(access=access, name="Demo news")
        first_name = newsletter.field_create(
            access=access, newsletter=product, key="first_name", label="First name", type="text"
        )
        newsletter.field_create(
            access=access, newsletter=product, key="seat", label="Favourite seat",
            type="choice", choices=["Stalls", "Balcony"],
        )  # fmt: skip
        monthly = newsletter.list_create(
            access=access, newsletter=product, name="Monthly news", form_fields=[first_name.pk]
        )
        vip = newsletter.group_create(access=access, contact_list=monthly, name="VIP")
        customers = newsletter.group_create(
            access=access, contact_list=monthly, name="Customers 2026"
        )
        people = [
            ("ada@demo.example", "Ada", "Balcony", [vip.pk, customers.pk], "subscribed"),
            ("alan@demo.example", "Alan", "Stalls", [customers.pk], "subscribed"),
            ("grace@demo.example", "Grace", "Stalls", [], "subscribed"),
            ("hal@demo.example", "Hal", "Balcony", [], "unsubscribed"),
        ]
        for email, first, seat, groups, status in people:
            contact_create(
                access=access, newsletter=product, email=email,
                fields={"first_name": first, "seat": seat},
                subscriptions=[{"list": monthly.pk, "groups": groups, "status": status}],
            )  # fmt: skip
        self._seed_campaign(access, product, monthly, vip)

    def _seed_campaign(self, access, product, monthly, vip):
        """A sender (an address of the demo's Service Mail, so verified at once) and a
        draft campaign to everyone on "Monthly news" but the VIPs, ready to preview."""
        from newsletter.services import campaigns, senders

        sender = senders.sender_create(
            access=access, newsletter=product, email="hello@demo.example", name="Demo Theatre"
        )
        campaigns.campaign_create(
            access=access, newsletter=product, title="Our autumn season, {{ first_name }}",
            preview_text="Three premieres and a ticket offer for subscribers.",
            sender=sender.pk, reply_to="contact@demo.example", theme="classic",
            lists=[monthly.pk], exclude_groups=[vip.pk],
        )  # fmt: skip
        self._seed_sent_campaign(access, product, monthly, sender)

    def _seed_sent_campaign(self, access, product, monthly, sender):
        """Last week's campaign, as the sending engine and the tracking would have left
        it (Redis, which the engine needs, starts only with the panel): every recipient
        sent, two opens and a click over the following days, so its report has something
        to show."""
        from datetime import timedelta

        from django.utils import timezone

        from newsletter.models import (
            Campaign,
            CampaignEvent,
            CampaignRecipient,
            CampaignStatus,
            Contact,
        )  # fmt: skip
        from newsletter.outgoing import campaign_links
        from newsletter.services import campaigns

        campaign = campaigns.campaign_create(
            access=access, newsletter=product, title="Summer in the park, {{ first_name }}",
            preview_text="Open-air evenings all through July.", sender=sender.pk,
            theme="bold", lists=[monthly.pk],
        )  # fmt: skip
        campaign = Campaign.objects.get(pk=campaign.pk)
        sent_at = timezone.now() - timedelta(days=6, hours=3)
        campaign.links = campaign_links(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.SENT, scheduled_at=sent_at, started_at=sent_at,
            finished_at=sent_at + timedelta(minutes=1), recipients_ready=True,
            links=campaign.links,
        )  # fmt: skip
        people = {
            contact.email: contact
            for contact in Contact.objects.filter(
                newsletter=product, subscriptions__status="subscribed"
            )
        }
        for offset, contact in enumerate(people.values()):
            CampaignRecipient.objects.create(
                campaign=campaign, contact=contact, state="sent", attempts=1,
                sent_at=sent_at + timedelta(seconds=offset),
            )  # fmt: skip
        moments = [
            ("ada@demo.example", "open", None, timedelta(hours=2)),
            ("ada@demo.example", "click", 0, timedelta(hours=2, minutes=1)),
            ("grace@demo.example", "open", None, timedelta(days=1, hours=5)),
        ]
        for email, kind, link, after in moments:
            if email not in people or (link is not None and link >= len(campaign.links)):
                continue
            at = sent_at + after
            CampaignEvent.objects.create(
                campaign=campaign, contact=people[email], kind=kind, link_index=link, at=at
            )
            field = "opened_at" if kind == "open" else "clicked_at"
            CampaignRecipient.objects.filter(campaign=campaign, contact=people[email]).update(
                **{field: at}
            )

    def _seed_mail(self, access, mail, member, password):
        """A few addresses of each sort, so the Service Mail page shows what it can do."""
        contact, _ = mail_services.address_create(
            access=access, service=mail, local_part="contact", mode="self", password=password
        )
        mail_services.alias_add(access=access, address=contact, local_part="hello")
        max_address, _ = mail_services.address_create(
            access=access, service=mail, local_part="max", mode="users", users=[member.pk]
        )
        self._seed_sending_history(max_address)
        mail_services.redirect_address_create(
            access=access, service=mail, local_part="sales", targets=["sales@partner.example"]
        )
        mail_services.generic_address_create(access=access, service=mail, kind="no_reply")

    def _seed_sending_history(self, address):
        """A week of office-hours sending for max@, as the policy service would have logged
        it, so the sending meter, its charts and the mail log have something to show."""
        import random
        import uuid
        from datetime import timedelta

        from django.utils import timezone

        from mail.services.sending import mail_log_store

        pick = random.Random(2026)
        now = timezone.now()
        events = []
        for hours_ago in range(7 * 24, 0, -1):
            moment = timezone.localtime(now - timedelta(hours=hours_ago))
            if moment.weekday() >= 5 or not 8 <= moment.hour < 18:
                continue
            for _message in range(pick.randint(0, 4)):
                count = pick.choice((1, 1, 1, 2, 3, 5, 12))
                events.append({
                    "kind": "message", "id": str(uuid.uuid4()),
                    "at": (moment + timedelta(minutes=pick.randint(0, 59))).timestamp(),
                    "organisation_id": address.organisation_id,
                    "service_id": address.service_id, "address_id": address.pk,
                    "sender": str(address), "status": "accepted", "count": count,
                    "recipients": [f"client{pick.randint(1, 80)}@example.net"
                                   for _n in range(count)],
                    "queue_id": uuid.uuid4().hex[:10].upper(), "client": "192.0.2.44",
                })  # fmt: skip
        mail_log_store(events)

    def _person(self, email, first, last, password) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
