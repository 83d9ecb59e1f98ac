"""Small factories that combine: a user, an organisation with its legal representative,
members with a role, teams, products and grants."""

import factory
from django.utils import timezone

from cloud.models import CloudProject
from domains.models import Domain
from mail.models import MailService
from newsletter.models import Newsletter
from panel.models import (
    DomainClaim,
    Grant,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    User,
)
from ticketing.models import TicketOffice

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        """Mark the email verified, as allauth requires before sign-in."""
        user.save()
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organisation {n}")

    @factory.post_generation
    def legal_representative(org, create, extracted, **kwargs):
        if create:
            Membership.objects.create(
                organisation=org, user=extracted or UserFactory(), role=Role.LEGAL_REPRESENTATIVE
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.USER


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    description = "Webmasters"


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMember

    team = factory.SubFactory(TeamFactory)
    organisation = factory.SelfAttribute("team.organisation")
    user = factory.SubFactory(UserFactory)


def claim_verified(organisation, name: str) -> DomainClaim:
    """The verified claim that a product of `organisation` on `name` has once its owner
    proved control (panel.services.domain_claims): for factories, which skip the
    services, and for tests about something else than the proof."""
    claim, _created = DomainClaim.objects.get_or_create(
        name=name,
        defaults={
            "organisation": organisation,
            "token": "factory-token",
            "verified_at": timezone.now(),
        },
    )
    if claim.verified_at is None:  # ordered through a service, waiting for its proof
        claim.verified_at = timezone.now()
        claim.save(update_fields=["verified_at"])
    return claim


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    organisation = factory.SubFactory(OrganisationFactory)


class MailServiceFactory(ProductFactory):
    class Meta:
        model = MailService
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"mail{n}.example.test")
    domain = factory.SelfAttribute("name")

    @factory.post_generation
    def claimed(service, create, extracted, **kwargs):
        if create:
            claim_verified(service.organisation, service.domain)


class DomainFactory(ProductFactory):
    class Meta:
        model = Domain
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"domain{n}.example.test")

    @factory.post_generation
    def claimed(domain, create, extracted, **kwargs):
        if create:
            claim_verified(domain.organisation, domain.name)


class TicketOfficeFactory(ProductFactory):
    class Meta:
        model = TicketOffice

    name = factory.Sequence(lambda n: f"Ticket office {n}")
    slug = factory.Sequence(lambda n: f"office-{n}")


class NewsletterFactory(ProductFactory):
    class Meta:
        model = Newsletter

    name = factory.Sequence(lambda n: f"Newsletter {n}")


class CloudProjectFactory(ProductFactory):
    class Meta:
        model = CloudProject

    name = factory.Sequence(lambda n: f"Cloud project {n}")


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    team = factory.SubFactory(TeamFactory)
    organisation = factory.SelfAttribute("team.organisation")
    product_type = "mail_service"
    product_id = 0
    level = "view"


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "mail.Address"

    service = factory.SubFactory(MailServiceFactory)
    organisation = factory.SelfAttribute("service.organisation")
    local_part = factory.Sequence(lambda n: f"user{n}")
    password_hash = "{PLAIN}not-a-real-password"
