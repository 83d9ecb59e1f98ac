"""Input no API endpoint may choke on: nesting, text the database cannot store, bodies
too large, unknown paths. Each answers the error envelope and writes nothing."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from panel.api.parsers import SafeJSONParser
from panel.models import Team
from tests import factories as f

from .test_api import API, assert_error, org_url


def _api_views(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            view = getattr(pattern.callback, "view_class", None) or getattr(
                pattern.callback, "cls", None
            )
            if view is not None and issubclass(view, APIView):
                yield route, view


def test_every_api_view_parses_json_with_the_safe_parser():
    views = list(_api_views())
    assert len(views) > 40
    unsafe = [
        route
        for route, view in views
        for parser in view().get_parsers()
        if isinstance(parser, JSONParser) and not isinstance(parser, SafeJSONParser)
    ]
    assert unsafe == []


def _raw_post(client, url, body: bytes, method="post"):
    return getattr(client, method)(url, body, content_type="application/json")


@pytest.fixture
def admin(org_world, client_for):
    return client_for(org_world["admin"])


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        ("post", "teams/"),
        ("post", "mail/services/"),
        ("post", "domains/"),
        ("patch", ""),
    ],
)
def test_deeply_nested_json_is_a_parse_error(admin, org_world, method, rest):
    response = _raw_post(admin, org_url(org_world, rest), b"[" * 2000 + b"]" * 2000, method)
    assert_error(response, 400, code="parse_error")


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "team\\u0000x"}',  # NUL, which PostgreSQL refuses
        b'{"name": "team\\ud800x"}',  # a lone surrogate, which no encoding can write
    ],
)
def test_text_the_database_cannot_store_is_refused_naming_the_field(admin, org_world, body):
    before = Team.objects.count()
    response = _raw_post(admin, org_url(org_world, "teams/"), body)
    assert_error(response, 400, field="name")
    assert Team.objects.count() == before


@pytest.mark.parametrize(
    ("rest", "field"),
    [("invitations/", "role"), ("mail/services/", "plan"), ("teams/", "name")],
)
def test_a_lone_surrogate_in_any_field_gets_an_encodable_400(admin, org_world, rest, field):
    body = b'{"' + field.encode() + b'": "x\\udfffy"}'
    response = _raw_post(admin, org_url(org_world, rest), body)
    assert_error(response, 400, field=field)
    response.content.decode("utf-8")  # the answer is writable text


def test_a_body_over_the_limit_answers_413_with_the_envelope(admin, org_world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = b'{"name": "' + b"x" * 20_000 + b'"}'
    response = _raw_post(admin, org_url(org_world, "teams/"), big)
    assert_error(response, 413, code="request_too_large")
    form = admin.post(org_url(org_world, "teams/"), {"name": "x" * 20_000})
    assert_error(form, 413, code="request_too_large")


def test_unknown_api_paths_answer_the_json_envelope(admin):
    response = admin.get(f"{API}/no-such-thing/")
    assert_error(response, 404, code="not_found")
    assert response["Content-Type"].startswith("application/json")


def test_the_manager_keeps_its_html_404(db, client_for):
    response = client_for(f.UserFactory()).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_route_allows_only_the_methods_its_schema_documents():
    """A route inherits no method it should not have (a DELETE on resend/ once revoked
    the invitation)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        path: {method.upper() for method in operations}
        for path, operations in schema["paths"].items()
    }
    # `addresses/delete/` is also the address whose local part is "delete", served by the
    # address route's methods, which its own schema entry documents.
    same_as_address = "/api/v1/organisations/{org_id}/mail/services/{service_id}/addresses/delete/"
    extra = []
    for route, view in _api_views():
        path = "/" + route
        for name in re.findall(r"<(?:\w+:)?(\w+)>", path):
            path = re.sub(rf"<(?:\w+:)?{name}>", "{" + name + "}", path)
        allowed = {m for m in view().allowed_methods if m not in {"OPTIONS", "HEAD"}}
        if path in documented and path != same_as_address:
            extra += [f"{method} {path}" for method in allowed - documented[path]]
    assert extra == []


def test_delete_on_resend_does_not_revoke_the_invitation(org_world, client_for):
    from panel.models import Invitation

    client = client_for(org_world["admin"])
    created = client.post(
        org_url(org_world, "invitations/"),
        {"email": "guest@example.test", "role": "user"},
        format="json",
    )
    assert created.status_code == 201, created.content
    invitation = created.json()["id"]
    response = client.delete(org_url(org_world, f"invitations/{invitation}/resend/"))
    assert_error(response, 405)
    assert Invitation.objects.get(pk=invitation).status == "pending"
