"""A ticket office on sale, built through the services as an organiser would: an event
with a date in a month, two zones ("Stalls" 100, "Balcony" 20), three tariffs (one
capped, one free) and a form with a "show on ticket" name and a required terms box."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from panel.access import access_for
from tests import factories as f
from ticketing import services


@pytest.fixture
def shop_world(db):
    legal = f.UserFactory(email="organiser@example.test")
    org = f.OrganisationFactory(name="Théâtre", legal_representative=legal)
    access = access_for(legal, org)
    office = services.office_create(
        access=access, name="Théâtre du Jorat", slug="jorat", currency="CHF",
        contact_email="billetterie@jorat.example.test",
    )  # fmt: skip
    form = services.form_create(access=access, office=office, name="Attendee")
    attendee = services.field_create(
        access=access, form=form, label="Attendee name", type="text", required=True,
        show_on_ticket=True, position=1,
    )  # fmt: skip
    terms = services.field_create(
        access=access, form=form, label="I accept", type="checkboxes", required=True,
        options=["the terms"], url="https://jorat.example.test/terms", position=0,
    )  # fmt: skip
    event = services.event_create(
        access=access, office=office, title="Le Misanthrope", venue="Mézières"
    )
    starts = timezone.now() + datetime.timedelta(days=30)
    date = services.date_create(access=access, event=event, starts_at=starts)
    stalls = services.zone_create(access=access, date=date, name="Stalls", capacity=100)
    balcony = services.zone_create(access=access, date=date, name="Balcony", capacity=20)
    full = services.tariff_create(
        access=access, zone=stalls, name="Full price", price=Decimal("45.00"), form=form.pk
    )
    student = services.tariff_create(
        access=access, zone=stalls, name="Student", price=Decimal("20.00"), cap=10
    )
    free = services.tariff_create(
        access=access, zone=balcony, name="Invitation", price="0", max_per_order=20
    )
    services.event_update(access=access, event=event, status="on_sale")
    return {
        "legal": legal, "org": org, "access": access, "office": office, "form": form,
        "attendee": attendee, "terms": terms, "event": event, "date": date,
        "stalls": stalls, "balcony": balcony, "full": full, "student": student, "free": free,
    }  # fmt: skip


def full_answers(world, name="Ada Lovelace"):
    """Answers to the Attendee form that pass."""
    return {str(world["attendee"].pk): name, str(world["terms"].pk): ["the terms"]}


def invite(world, email, *, places, tariff=None):
    """A guest named Grace Hopper offered `places` of `tariff` (the world's "guests")."""
    return services.guest_create(
        access=world["access"], event=world["event"], name="Grace Hopper", email=email,
        tariff=(tariff or world["guests"]).pk, places=places,
    )  # fmt: skip


@pytest.fixture
def guest_world(shop_world):
    """The shop world with a hidden free "Guests" tariff on the balcony asking the
    Attendee form (two fields, "Attendee name" and "I accept"), and Grace invited to
    two places of it."""
    w = shop_world
    w["guests"] = services.tariff_create(
        access=w["access"], zone=w["balcony"], name="Guests", price="0", form=w["form"].pk,
        public=False,
    )  # fmt: skip
    w["guest"] = invite(w, "grace@example.test", places=2)
    return w
