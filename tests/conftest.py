"""Shared fixtures: a small organisation world built from factories, and API clients."""

import pytest
from rest_framework.test import APIClient

from panel import services
from panel.models import Role

from . import factories as f


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A French request leaves French active in the thread; the next test starts in the
    default language, as a new request or a Celery task does."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def zone_dir(settings, tmp_path):
    """Zones published as files in a private directory."""
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    return tmp_path


@pytest.fixture
def org_world(db):
    """One organisation with each kind of person, a team with a mail grant, and another
    organisation that nobody here belongs to."""
    legal = f.UserFactory(email="legal@example.test")
    org = f.OrganisationFactory(name="Acme", legal_representative=legal)
    admin = f.MembershipFactory(
        organisation=org, role=Role.ADMIN, user__email="admin@example.test"
    ).user
    user = f.MembershipFactory(
        organisation=org, role=Role.USER, user__email="user@example.test"
    ).user
    mail = f.MailServiceFactory(organisation=org, name="acme.test")
    other_mail = f.MailServiceFactory(organisation=org, name="hidden.test")
    team = f.TeamFactory(organisation=org, name="Webmasters")
    teammate = f.UserFactory(email="teammate@example.test")  # from outside the organisation
    f.TeamMemberFactory(team=team, user=teammate)
    grant = f.GrantFactory(
        team=team, product_type="mail_service", product_id=mail.pk, level="manage"
    )
    outsider = f.UserFactory(email="outsider@example.test")
    other_org = f.OrganisationFactory(name="Other", legal_representative=outsider)
    return {
        "org": org,
        "legal": legal,
        "admin": admin,
        "user": user,
        "teammate": teammate,
        "outsider": outsider,
        "other_org": other_org,
        "team": team,
        "grant": grant,
        "mail": mail,
        "other_mail": other_mail,
    }


@pytest.fixture
def login(client):
    """`login(user)` signs a browser-like test client in as `user` and returns it."""

    def as_user(user):
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def api():
    return APIClient()


def token_client(user, scopes=("read", "write")) -> APIClient:
    """An API client authenticating with a fresh personal access token of `user`."""
    _token, secret = services.token_create(actor=user, name="test", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def client_for():
    """`client_for(user)` is a logged-in client; `client_for(user, scopes=[...])` a token one."""

    def make(user, scopes=None):
        if scopes is not None:
            return token_client(user, scopes)
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make
