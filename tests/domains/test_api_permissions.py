"""The Domains API permission table: every endpoint of /domains/ for every kind of
principal.

One row per endpoint: (method, path template, body, expected status per principal). The
expected statuses come from the rules, not from running the code:

- someone outside the organisation gets 404 on everything, and so does a member without
  a grant on the domain (the list answers them, empty);
- adding and deleting a domain are administrator acts (CHANGE_ORGANISATION);
- a manage grant (the teammate, through a team) opens every other act on the domain;
- a view grant opens every read and no write (403);
- a read-only token gets 403 on every write and 2xx on reads; nobody authenticated, 401.

Each case builds its own world, so destructive calls do not interfere with each other.
"""

import dns.resolver
import pytest
from django.urls import URLPattern
from rest_framework.test import APIClient

from domains import services
from mail import dns_records
from panel.access import access_for
from panel.models import Role
from tests import factories as f
from tests.conftest import token_client

PRINCIPALS = ("legal", "admin", "user", "teammate", "viewer", "outsider", "readonly", "anon")

DOMAINS = "/api/v1/organisations/{org}/domains/"
DOMAIN = DOMAINS + "{domain}/"
RRSET = {"name": "api", "type": "A", "ttl": 300, "records": ["192.0.2.9"]}
ZONE_FILE = (
    "$ORIGIN acme.test.\n"
    "@ 3600 IN NS ns1.panel.localhost.\n"
    "@ 3600 IN NS ns2.panel.localhost.\n"
    "www 300 IN A 192.0.2.5\n"
)


def org_read(s):
    """Anyone with access to the organisation: the list shows what they may see."""
    return (s, s, s, s, s, 404, s, 401)


def admin_write(s):
    return (s, s, 403, 403, 403, 404, 403, 401)


def domain_read(s=200):
    return (s, s, 404, s, s, 404, s, 401)


def manage(s):
    return (s, s, 404, s, 403, 404, 403, 401)


def billing(s):
    """What changes what the organisation pays: administrators only, whatever the grant
    (the teammate's manage grant included); who does not see the domain gets 404."""
    return (s, s, 404, 403, 403, 404, 403, 401)


TABLE = [
    ("get", DOMAINS, None, org_read(200)),
    ("post", DOMAINS, {"name": "new.test", "kind": "normal"}, admin_write(201)),
    ("get", DOMAIN, None, domain_read()),
    ("patch", DOMAIN, {"renewal": "manual"}, billing(200)),
    (
        "delete",
        DOMAINS + "{spare}/",
        {"confirm_name": "spare.test"},
        (204, 204, 404, 403, 403, 404, 403, 401),
    ),
    ("get", DOMAIN + "records/", None, domain_read()),
    ("post", DOMAIN + "records/", RRSET, manage(201)),
    (
        "patch",
        DOMAIN + "records/",
        [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.7"]}],
        manage(200),
    ),
    ("post", DOMAIN + "synonyms/", {"name": "spare.test"}, manage(201)),
    ("delete", DOMAIN + "synonyms/{synonym}/", None, manage(204)),
    ("get", DOMAIN + "zone-file/", None, domain_read()),
    ("put", DOMAIN + "zone-file/", {"text": ZONE_FILE}, manage(200)),
    ("post", DOMAIN + "mail-records/", {"service": "{mail}"}, manage(200)),
    ("get", DOMAIN + "checks/", None, domain_read()),
    ("post", DOMAIN + "checks/fix/", None, manage(200)),
    ("post", DOMAIN + "mail-records/dkim/rotate/", None, manage(201)),
]

CASES = [
    pytest.param(
        method, path, body, principal, expected[i], id=f"{method.upper()} {path} [{principal}]"
    )
    for method, path, body, expected in TABLE
    for i, principal in enumerate(PRINCIPALS)
]


def test_table_covers_every_domains_api_url():
    """A new endpoint must get its row here."""
    from domains.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns if isinstance(p, URLPattern)}
    covered = set()
    for _method, path, _body, _expected in TABLE:
        template = path.removeprefix(DOMAINS)
        for placeholder, converter in [
            ("{domain}", "<domain_name:name>"),
            ("{spare}", "<domain_name:name>"),
            ("{synonym}", "<domain_name:synonym>"),
        ]:
            template = template.replace(placeholder, converter)
        covered.add(template)
    assert routes - covered == set()


class SilentResolver:
    """A resolver that knows no record, so that the mail checks ask no real server."""

    def resolve(self, name, rtype):
        raise dns.resolver.NXDOMAIN()


@pytest.fixture
def world(org_world, settings, tmp_path, monkeypatch):
    """acme.test (the domain of the org's Service Mail) with a www record and a synonym
    acme.eu, and spare.test; the team holds a manage grant on the three, a viewer a view
    grant on the three."""
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    monkeypatch.setattr(dns_records, "default_resolver", SilentResolver)
    w = dict(org_world)
    org = w["org"]
    manager = access_for(w["legal"], org)
    acme = services.domain_add(access=manager, name="acme.test")
    services.rrsets_apply(
        access=manager,
        domain=acme,
        changes=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}],
    )
    synonym = services.domain_add(access=manager, name="acme.eu")
    services.synonym_make(access=manager, main=acme, synonym=synonym)
    spare = services.domain_add(access=manager, name="spare.test")
    w["viewer"] = f.MembershipFactory(organisation=org, role=Role.USER).user
    for domain in (acme, synonym, spare):
        f.GrantFactory(team=w["team"], product_type="domain", product_id=domain.pk, level="manage")
        f.GrantFactory(
            team=None,
            user=w["viewer"],
            organisation=org,
            product_type="domain",
            product_id=domain.pk,
            level="view",
        )
    return w


def _ids(world):
    return {
        "org": world["org"].pk,
        "domain": "acme.test",
        "spare": "spare.test",
        "synonym": "acme.eu",
        "mail": world["mail"].pk,
    }


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _client(world, principal):
    if principal == "anon":
        return APIClient()
    if principal == "readonly":
        return token_client(world["legal"], scopes=["read"])
    return f_client(world[principal])


def f_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.mark.parametrize(("method", "path", "body", "principal", "expected"), CASES)
def test_permission_table(world, method, path, body, principal, expected):
    client = _client(world, principal)
    ids = _ids(world)
    kwargs = {"format": "json"} if body is None else {"format": "json", "data": _fill(body, ids)}
    response = getattr(client, method)(path.format(**ids), **kwargs)
    label = f"{method.upper()} {path} as {principal}"
    assert response.status_code == expected, (
        f"{label}: {response.status_code} {getattr(response, 'data', '')}"
    )
    if expected >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}


def test_a_member_without_grant_lists_no_domain(world):
    response = f_client(world["user"]).get(DOMAINS.format(**_ids(world)))
    assert response.json()["count"] == 0


def test_another_organisation_s_domain_is_not_found_even_for_its_administrator(world):
    """The outsider runs the other organisation: acme.test is still 404 under it."""
    client = f_client(world["outsider"])
    url = DOMAIN.format(**{**_ids(world), "org": world["other_org"].pk})
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
