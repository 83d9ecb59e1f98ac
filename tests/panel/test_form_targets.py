"""A form's target reached by GET (issue 13, item 6): after a form error the address bar
keeps the target's URL (`.../aliases/add/`, `.../redirection/`, `.../records/add/`), and
reloading it or opening it again showed a blank 405. Every such target of the UI now
sends GET to the page the form belongs to, which answers 200."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from panel.models import ApiToken

pytestmark = pytest.mark.django_db


def _targets(patterns=None, prefix=""):
    """(route, view) of every post_only view of the UI."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _targets(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and getattr(entry.callback, "post_only", False):
            yield route, entry.callback


def _fill(route: str, values: dict) -> str:
    path = route
    for name, value in values.items():
        for converter in ("int", "str", "generic_kind"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in path, path
    return "/" + path


def test_every_form_target_sends_a_get_to_its_page(api_world, client):
    owner = ApiToken.objects.get(pk=api_world["path"]["token_id"]).user
    client.force_login(owner)
    values = {
        **api_world["path"],
        "alias_id": 1,
        "extra_id": 1,
        "redirect_id": 1,
        "kind": "no-reply",
        "taken_on": "2026-01-01",
    }
    targets = list(_targets())
    assert len(targets) >= 25
    wrong = []
    for route, _view in targets:
        path = _fill(route, values)
        response = client.get(path)
        if response.status_code != 302:
            wrong.append(f"{path}: {response.status_code}")
            continue
        page = client.get(response["Location"])
        if page.status_code != 200:
            wrong.append(f"{path} -> {response['Location']}: {page.status_code}")
    assert wrong == []


def test_a_reload_after_an_alias_error_lands_on_the_address_page(api_world, client):
    owner = ApiToken.objects.get(pk=api_world["path"]["token_id"]).user
    client.force_login(owner)
    base = f"/o/{api_world['path']['org_id']}/mail/{api_world['path']['service_id']}/"
    failed = client.post(base + "addresses/alice/aliases/add/", {"local_part": "Bad Name!"})
    assert failed.status_code == 200  # the page again, with the error
    reloaded = client.get(base + "addresses/alice/aliases/add/", follow=True)
    assert reloaded.status_code == 200
    assert reloaded.redirect_chain[-1][0] == base + "addresses/alice/"
