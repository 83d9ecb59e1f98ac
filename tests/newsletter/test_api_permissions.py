"""The Newsletter API permission table: every endpoint of /newsletter/ for every kind of
principal.

One row per endpoint: (method, path template, body, expected status per principal). The
expected statuses come from the rules of the issue, not from running the code:

- someone outside the organisation gets 404 on everything, and so does a member without
  a grant on the newsletter (the newsletter list answers them, empty);
- creating and deleting a newsletter are administrator acts: they change what the
  organisation pays, whatever the grant (the manager's included);
- a manage grant opens every other act on the newsletter, its fields, lists and groups;
- a view grant opens every read and no write (403);
- a read-only token gets 403 on every write and 2xx on reads; nobody authenticated, 401;
- `elsewhere` is the other organisation's legal representative naming our objects under
  their own organisation's URL: 404 for each of them (their own newsletter list and
  newsletter creation answer them as usual).

A new endpoint gets a row in TABLE, and its new placeholder an entry in PLACEHOLDERS.
Each case builds its own world, so destructive calls do not interfere with each other.
"""

import pytest
from django.urls import URLPattern
from django.utils import timezone
from rest_framework.test import APIClient

from newsletter import services
from newsletter.models import Sender
from newsletter.services.campaigns import campaign_create, campaign_schedule
from newsletter.services.contacts import contact_create
from newsletter.services.senders import RESEND_INTERVAL, sender_create
from newsletter.services.sending import campaign_pause, campaign_send
from newsletter.services.templates import template_create
from tests import factories as f
from tests.conftest import token_client

PRINCIPALS = (
    "legal",
    "admin",
    "user",
    "manager",
    "viewer",
    "outsider",
    "readonly",
    "anon",
    "elsewhere",
)

#: placeholder of TABLE -> (its keyword in newsletter/api/urls.py, the world's object)
PLACEHOLDERS = {
    "newsletter": ("newsletter_id", "newsletter"),
    "spare": ("newsletter_id", "spare"),
    "field": ("contact_field_id", "seat"),
    "list": ("list_id", "news"),
    "group": ("group_id", "vip"),
    "contact": ("contact_id", "ada"),
    "sender": ("sender_id", "sender"),
    "campaign": ("campaign_id", "campaign"),
    "scheduled": ("campaign_id", "scheduled"),
    "sending": ("campaign_id", "sending"),
    "paused": ("campaign_id", "paused"),
    "template": ("template_id", "template"),
}

BASE = "/api/v1/organisations/{org}/newsletter/"
NEWSLETTER = BASE + "newsletters/{newsletter}/"
FIELD = BASE + "fields/{field}/"
LIST = BASE + "lists/{list}/"
GROUP = BASE + "groups/{group}/"
CONTACT = BASE + "contacts/{contact}/"
SENDER = BASE + "senders/{sender}/"
CAMPAIGN = BASE + "campaigns/{campaign}/"
NESTED = NEWSLETTER + "campaigns/"
TEMPLATE = BASE + "templates/{template}/"


def org_read(s):
    """Anyone with access to an organisation: the list shows what they may see."""
    return (s, s, s, s, s, 404, s, 401, s)


def admin_write(s):
    """Creating a newsletter, in the organisation of the URL."""
    return (s, s, 403, 403, 403, 404, 403, 401, s)


def read(s=200):
    return (s, s, 404, s, s, 404, s, 401, 404)


def manage(s):
    return (s, s, 404, s, 403, 404, 403, 401, 404)


def manage_read(s):
    """A read that hands over every address at once (a CSV file): the right to manage,
    which a read-only token of a manager has."""
    return (s, s, 404, s, 403, 404, s, 401, 404)


def billing(s):
    """What changes what the organisation pays: administrators only, whatever the grant;
    who does not see the newsletter gets 404."""
    return (s, s, 404, 403, 403, 404, 403, 401, 404)


TABLE = [
    ("get", BASE + "newsletters/", None, org_read(200)),
    ("post", BASE + "newsletters/", {"name": "Opera news"}, admin_write(201)),
    ("get", NEWSLETTER, None, read()),
    ("patch", NEWSLETTER, {"name": "Jorat letters"}, manage(200)),
    ("delete", BASE + "newsletters/{spare}/", {"confirm_name": "Spare news"}, billing(204)),
    ("get", NEWSLETTER + "fields/", None, read()),
    (
        "post",
        NEWSLETTER + "fields/",
        {"key": "city", "label": "City", "type": "choice", "choices": ["Lausanne", "Genève"]},
        manage(201),
    ),
    ("get", FIELD, None, read()),
    ("patch", FIELD, {"label": "Favourite seat"}, manage(200)),
    ("delete", FIELD, None, manage(204)),
    ("get", NEWSLETTER + "lists/", None, read()),
    ("post", NEWSLETTER + "lists/", {"name": "Events", "form_fields": ["{field}"]}, manage(201)),
    ("get", LIST, None, read()),
    ("patch", LIST, {"description": "Once a month"}, manage(200)),
    ("delete", LIST, None, manage(204)),
    ("get", LIST + "groups/", None, read()),
    ("post", LIST + "groups/", {"name": "Press"}, manage(201)),
    ("get", GROUP, None, read()),
    ("patch", GROUP, {"name": "Friends"}, manage(200)),
    ("delete", GROUP, None, manage(204)),
    ("get", NEWSLETTER + "contacts/", None, read()),
    (
        "post",
        NEWSLETTER + "contacts/",
        {"email": "grace@x.test", "subscriptions": [{"list": "{list}", "groups": ["{group}"]}]},
        manage(201),
    ),
    ("get", CONTACT, None, read()),
    ("patch", CONTACT, {"fields": {"first_name": "Ada"}}, manage(200)),
    ("delete", CONTACT, None, manage(204)),
    ("get", NEWSLETTER + "senders/", None, read()),
    ("post", NEWSLETTER + "senders/", {"email": "press@outside.test", "name": "Pr"}, manage(201)),
    ("get", SENDER, None, read()),
    ("patch", SENDER, {"name": "Jorat letters"}, manage(200)),
    ("delete", SENDER, None, manage(204)),
    ("post", SENDER + "verification/", None, manage(200)),
    ("get", BASE + "themes/", None, org_read(200)),
    ("get", NEWSLETTER + "campaigns/", None, read()),
    ("post", NEWSLETTER + "campaigns/", {"title": "Winter", "lists": ["{list}"]}, manage(201)),
    ("get", CAMPAIGN, None, read()),
    ("patch", CAMPAIGN, {"title": "Spring", "exclude_groups": ["{group}"]}, manage(200)),
    ("delete", CAMPAIGN, None, manage(204)),
    ("get", CAMPAIGN + "recipients/count/", None, read()),
    ("get", CAMPAIGN + "preview/", None, read()),
    ("post", CAMPAIGN + "test/", {"emails": ["me@x.test"]}, manage(200)),
    ("post", CAMPAIGN + "schedule/", {}, manage(200)),
    ("delete", BASE + "campaigns/{scheduled}/schedule/", None, manage(200)),
    ("post", CAMPAIGN + "send/", None, manage(202)),
    ("post", BASE + "campaigns/{sending}/pause/", None, manage(200)),
    ("post", BASE + "campaigns/{paused}/resume/", None, manage(200)),
    ("post", BASE + "campaigns/{sending}/cancel/", None, manage(200)),
    ("get", NESTED + "{campaign}/", None, read()),
    ("post", NESTED + "{campaign}/send/", None, manage(202)),
    ("post", NESTED + "{sending}/pause/", None, manage(200)),
    ("post", NESTED + "{paused}/resume/", None, manage(200)),
    ("post", NESTED + "{sending}/cancel/", None, manage(200)),
    ("get", BASE + "quota/", None, org_read(200)),
    ("get", CAMPAIGN + "report/", None, read()),
    ("get", CAMPAIGN + "recipients/", None, read()),
    ("get", CAMPAIGN + "recipients.csv", None, manage_read(200)),
    ("get", NESTED + "{campaign}/report/", None, read()),
    ("get", NESTED + "{campaign}/recipients/", None, read()),
    ("get", NESTED + "{campaign}/recipients.csv", None, manage_read(200)),
    ("get", NEWSLETTER + "templates/", None, read()),
    ("post", NEWSLETTER + "templates/", {"name": "Letter", "theme": "classic"}, manage(201)),
    ("get", TEMPLATE, None, read()),
    ("patch", TEMPLATE, {"name": "Monthly letter"}, manage(200)),
    ("delete", TEMPLATE, None, manage(204)),
]

CASES = [
    pytest.param(
        method, path, body, principal, expected[i], id=f"{method.upper()} {path} [{principal}]"
    )
    for method, path, body, expected in TABLE
    for i, principal in enumerate(PRINCIPALS)
]


def test_table_covers_every_newsletter_api_url():
    """A new endpoint must get its row here."""
    from newsletter.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns if isinstance(p, URLPattern)}
    covered = set()
    for _method, path, _body, _expected in TABLE:
        template = path.removeprefix(BASE)
        for placeholder, (keyword, _name) in PLACEHOLDERS.items():
            template = template.replace("{" + placeholder + "}", f"<int:{keyword}>")
        covered.add(template)
    assert routes - covered == set()


@pytest.fixture
def world(newsletter_world):
    """newsletter_world with a spare newsletter, the viewer's and the manager's grants on
    it as on the first, and a read-only token of the legal representative."""
    w = dict(newsletter_world)
    w["spare"] = services.newsletter_create(access=w["access"], name="Spare news")
    for principal, level in (("viewer", "view"), ("manager", "manage")):
        f.GrantFactory(
            team=None, user=w[principal], organisation=w["org"], product_type="newsletter",
            product_id=w["spare"].pk, level=level,
        )  # fmt: skip
    w["ada"] = contact_create(
        access=w["access"], newsletter=w["newsletter"], email="ada@x.test",
        subscriptions=[{"list": w["news"].pk}],
    )  # fmt: skip
    sender = Sender.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], email="news@x.test",
        email_key="news@x.test", kind="service_mail", verified_at=timezone.now(),
    )  # fmt: skip
    w["campaign"], w["scheduled"], w["sending"], w["paused"] = (
        campaign_create(
            access=w["access"],
            newsletter=w["newsletter"],
            title=title,
            sender=sender.pk,
            theme="classic",
            lists=[w["news"].pk],
        )  # fmt: skip
        for title in ("Autumn", "Winter", "Spring", "Summer")
    )
    campaign_schedule(access=w["access"], campaign=w["scheduled"])
    for started in (w["sending"], w["paused"]):
        campaign_send(access=w["access"], campaign=started)
    campaign_pause(access=w["access"], campaign=w["paused"])
    w["template"] = template_create(
        access=w["access"], newsletter=w["newsletter"], name="Plain", theme="minimal"
    )
    # An outside address waiting for its link, sent long enough ago to be sent again.
    w["sender"] = sender_create(
        access=w["access"], newsletter=w["newsletter"], email="hello@outside.test", name="Jorat"
    )
    Sender.objects.filter(pk=w["sender"].pk).update(
        verification_sent_at=timezone.now() - RESEND_INTERVAL
    )
    w["elsewhere"] = w["outsider"]
    return w


def _ids(world, principal):
    org = world["other_org"] if principal == "elsewhere" else world["org"]
    return {"org": org.pk} | {
        placeholder: world[name].pk for placeholder, (_keyword, name) in PLACEHOLDERS.items()
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
    client = APIClient()
    client.force_authenticate(user=world[principal])
    return client


@pytest.mark.parametrize(("method", "path", "body", "principal", "expected"), CASES)
def test_permission_table(world, method, path, body, principal, expected):
    client = _client(world, principal)
    ids = _ids(world, principal)
    kwargs = {"format": "json"} if body is None else {"format": "json", "data": _fill(body, ids)}
    response = getattr(client, method)(path.format(**ids), **kwargs)
    label = f"{method.upper()} {path} as {principal}"
    assert response.status_code == expected, (
        f"{label}: {response.status_code} {getattr(response, 'data', '')}"
    )
    if expected >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}
    if expected == 201:
        assert isinstance(response.json()["id"], int)


def test_a_member_without_grant_lists_no_newsletter(world):
    response = _client(world, "user").get(BASE.format(org=world["org"].pk) + "newsletters/")
    assert response.json()["count"] == 0


def test_a_view_grant_lists_the_newsletters_it_opens(world):
    response = _client(world, "viewer").get(BASE.format(org=world["org"].pk) + "newsletters/")
    assert [n["name"] for n in response.json()["results"]] == ["Jorat news", "Spare news"]


def test_a_refused_write_changes_nothing(world):
    """The viewer's 403 comes before the input is read, and leaves the list as it was."""
    url = LIST.format(**_ids(world, "viewer"))
    response = _client(world, "viewer").patch(url, {"name": "", "form_fields": [0]}, format="json")
    assert response.status_code == 403
    assert response.json()["fields"] == {}
    world["news"].refresh_from_db()
    assert world["news"].name == "News"
