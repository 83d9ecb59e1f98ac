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
        },
    }
