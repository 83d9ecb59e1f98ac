"""A newsletter as an organisation sets it up, through the services: a "Jorat news"
newsletter with a first-name field and a "Seat" choice field, a "News" list asking the
first name on its form, with a "VIP" group; the people around it."""

import pytest

from newsletter import services
from panel.access import access_for
from panel.models import Role
from tests import factories as f


@pytest.fixture
def newsletter_world(db):
    """`legal` (the legal representative) and `admin` of `org`; `viewer`, a plain member
    with a view grant on the newsletter; `manager`, a plain member with a manage grant;
    `user`, a plain member without any grant; `outsider`, legal representative of
    `other_org`, where nobody here belongs."""
    legal = f.UserFactory(email="legal@jorat.example.test")
    org = f.OrganisationFactory(name="Théâtre", legal_representative=legal)
    access = access_for(legal, org)
    newsletter = services.newsletter_create(access=access, name="Jorat news")
    first_name = services.field_create(
        access=access, newsletter=newsletter, key="first_name", label="First name", type="text"
    )
    seat = services.field_create(
        access=access, newsletter=newsletter, key="seat", label="Seat", type="choice",
        choices=["Stalls", "Balcony"], position=2,
    )  # fmt: skip
    news = services.list_create(
        access=access, newsletter=newsletter, name="News", form_fields=[first_name.pk]
    )
    vip = services.group_create(access=access, contact_list=news, name="VIP")

    def member(grant=None):
        user = f.MembershipFactory(organisation=org, role=Role.USER).user
        if grant:
            f.GrantFactory(
                team=None, user=user, organisation=org, product_type="newsletter",
                product_id=newsletter.pk, level=grant,
            )  # fmt: skip
        return user

    outsider = f.UserFactory()
    return {
        "legal": legal,
        "org": org,
        "access": access,
        "admin": f.MembershipFactory(organisation=org, role=Role.ADMIN).user,
        "viewer": member("view"),
        "manager": member("manage"),
        "user": member(),
        "outsider": outsider,
        "other_org": f.OrganisationFactory(name="Other", legal_representative=outsider),
        "newsletter": newsletter,
        "first_name": first_name,
        "seat": seat,
        "news": news,
        "vip": vip,
    }
