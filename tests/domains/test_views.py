"""The Domains pages of the Manager UI: who sees and changes what, each form calling the
domain layer with its errors inline, and a domain page whose queries do not grow with its
records."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domains import services
from domains.models import Domain, RRset
from panel.access import access_for
from tests import factories as f


@pytest.fixture
def zone_dir(settings, tmp_path):
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    settings.MAIL_DNS_RESOLVER = "127.0.0.1"
    settings.MAIL_DNS_RESOLVER_PORT = 9  # nothing answers: every check "could not check"
    settings.MAIL_DNS_RESOLVER_TIMEOUT = 0.5
    return tmp_path


@pytest.fixture
def world(org_world, zone_dir):
    """acme.test with www A 192.0.2.1; the teammate's team may view it, nothing more."""
    manager = access_for(org_world["legal"], org_world["org"])
    acme = services.domain_add(access=manager, name="acme.test")
    services.rrsets_apply(
        access=manager,
        domain=acme,
        changes=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}],
    )
    f.GrantFactory(team=org_world["team"], product_type="domain", product_id=acme.pk, level="view")
    return {**org_world, "manager": manager, "acme": acme}


def base(world):
    return f"/o/{world['org'].pk}/domains/"


def page(world, name="acme.test", rest=""):
    return f"{base(world)}{name}/{rest}"


def rrsets(domain):
    return {(r.name, r.type): (r.ttl, r.records) for r in RRset.objects.filter(domain=domain)}


def test_the_pages_render_for_the_people_allowed(world, login):
    client = login(world["legal"])
    listing = client.get(base(world))
    assert listing.status_code == 200
    assert b"acme.test" in listing.content and b"Add a domain" in listing.content
    detail = client.get(page(world))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "192.0.2.1" in body and "Add a record" in body and "Apply all fixes" in body
    assert "A synonym has no zone of its own" in body
    assert client.get(page(world, rest="delete/")).status_code == 200
    assert b'aria-current="page">Domains' in detail.content

    viewer = login(world["teammate"])
    seen = viewer.get(page(world))
    assert seen.status_code == 200
    assert b"192.0.2.1" in seen.content
    assert b"Add a record" not in seen.content and b"Delete this domain" not in seen.content
    assert viewer.get(base(world)).status_code == 200


def test_an_empty_list_says_so(org_world, zone_dir, login):
    response = login(org_world["legal"]).get(f"/o/{org_world['org'].pk}/domains/")
    assert b"No domain yet" in response.content


def test_other_organisations_and_hidden_domains_answer_404(world, login):
    outsider = login(world["outsider"])
    assert outsider.get(base(world)).status_code == 404
    assert outsider.get(page(world)).status_code == 404
    other = services.domain_add(
        access=access_for(world["outsider"], world["other_org"]), name="other.test"
    )
    legal = login(world["legal"])
    assert legal.get(page(world, other.name)).status_code == 404
    assert legal.get(page(world, other.name, "zone/export/")).status_code == 404
    # a plain member without a grant does not see acme.test
    assert login(world["user"]).get(page(world)).status_code == 404


def test_a_viewer_writing_gets_403_and_nothing_changes(world, login):
    viewer = login(world["teammate"])
    before = rrsets(world["acme"])
    posts = {
        "records/add/": {"name": "mail", "type": "A", "ttl": 300, "content": "192.0.2.9"},
        "records/edit/": {"name": "www.acme.test", "type": "A", "ttl": 60, "content": "1.1.1.1"},
        "records/delete/": {"name": "www.acme.test", "type": "A"},
        "zone/import/": {"text": "@ 3600 IN NS ns1.example.org."},
        "mail/fixes/": {},
        "mail/dkim/rotate/": {},
        "delete/": {"confirm_name": "acme.test"},
    }
    for rest, data in posts.items():
        assert viewer.post(page(world, rest=rest), data).status_code == 403, rest
    assert viewer.post(base(world), {"name": "new.test", "kind": "normal"}).status_code == 403
    assert rrsets(world["acme"]) == before
    assert not Domain.objects.filter(name="new.test").exists()
    # the viewer may still download the zone file
    export = viewer.get(page(world, rest="zone/export/"))
    assert export.status_code == 200
    assert export["Content-Disposition"] == 'attachment; filename="acme.test.zone"'
    assert b"192.0.2.1" in export.content


def test_adding_a_domain(world, login, zone_dir):
    client = login(world["legal"])
    response = client.post(base(world), {"name": "Shop.Example.", "kind": "alias"})
    assert response.status_code == 302
    assert response["Location"] == page(world, "shop.example")
    domain = Domain.objects.get(name="shop.example")
    assert domain.kind == "alias" and (zone_dir / "shop.example.zone").exists()
    again = client.post(base(world), {"name": "shop.example", "kind": "normal"})
    assert again.status_code == 200
    assert "This domain is already used." in again.content.decode()
    bad = client.post(base(world), {"name": "not a domain", "kind": "normal"})
    assert "Enter a domain name such as example.com." in bad.content.decode()


def test_adding_records_and_an_invalid_content_shown_inline(world, login):
    client = login(world["legal"])
    ok = client.post(
        page(world, rest="records/add/"),
        {"name": "www", "type": "A", "ttl": 600, "content": "192.0.2.2\n"},
    )
    assert ok.status_code == 302
    assert rrsets(world["acme"])[("www.acme.test", "A")] == (600, ["192.0.2.1", "192.0.2.2"])
    before = rrsets(world["acme"])
    serial = Domain.objects.get(pk=world["acme"].pk).serial

    bad = client.post(
        page(world, rest="records/add/"),
        {"name": "mail", "type": "A", "ttl": 300, "content": "192.0.2.5\nnot-an-ip"},
    )
    assert bad.status_code == 400
    content = bad.context["record_form"].errors["content"]
    assert content[0].startswith("Line 2: This is not a valid A record")
    html = bad.content.decode()
    assert 'class="field field-textarea has-error"' in html and "Line 2:" in html
    assert rrsets(world["acme"]) == before
    assert Domain.objects.get(pk=world["acme"].pk).serial == serial

    cname = client.post(
        page(world, rest="records/add/"),
        {"name": "www", "type": "CNAME", "ttl": 300, "content": "other.example."},
    )
    assert cname.status_code == 400
    assert cname.context["record_form"].errors["name"] == [
        "An alias (CNAME) is alone at its name: remove the other records there first, or "
        "choose another name."
    ]
    assert rrsets(world["acme"]) == before


def test_editing_and_deleting_an_rrset(world, login):
    client = login(world["legal"])
    bad = client.post(
        page(world, rest="records/edit/"),
        {"name": "www.acme.test", "type": "A", "ttl": 300, "content": "nope"},
    )
    assert bad.status_code == 400
    assert "This is not a valid A record" in bad.context["edit_form"].errors["content"][0]
    assert bad.context["edit_key"] == "www.acme.test A"
    ok = client.post(
        page(world, rest="records/edit/"),
        {"name": "www.acme.test", "type": "A", "ttl": 120, "content": "192.0.2.7"},
    )
    assert ok.status_code == 302
    assert rrsets(world["acme"])[("www.acme.test", "A")] == (120, ["192.0.2.7"])
    confirm = client.get(
        page(world, rest="records/delete/"), {"name": "www.acme.test", "type": "A"}
    )
    assert confirm.status_code == 200 and b"192.0.2.7" in confirm.content
    gone = client.post(page(world, rest="records/delete/"), {"name": "www.acme.test", "type": "A"})
    assert gone.status_code == 302
    assert ("www.acme.test", "A") not in rrsets(world["acme"])


def test_making_and_dissociating_a_synonym(world, login):
    client = login(world["legal"])
    eu = services.domain_add(access=world["manager"], name="acme.eu")
    made = client.post(page(world, rest="synonyms/add/"), {"synonym": "acme.eu"})
    assert made.status_code == 302
    eu.refresh_from_db()
    assert eu.synonym_of == world["acme"]

    main = client.get(page(world)).content.decode()
    assert 'data-testid="synonyms"' in main and "acme.eu" in main
    synonym_page = client.get(page(world, "acme.eu")).content.decode()
    assert "A synonym of acme.test" in synonym_page
    assert "www.acme.eu" in synonym_page  # the records it serves
    assert "Add a record" not in synonym_page and "Edit</button>" not in synonym_page
    assert client.post(
        page(world, "acme.eu", "records/add/"),
        {"name": "x", "type": "A", "ttl": 300, "content": "192.0.2.3"},
    ).status_code in (400, 403, 409)
    assert not RRset.objects.filter(domain=eu).exists()

    assert client.get(page(world, "acme.eu", "dissociate/")).status_code == 200
    done = client.post(page(world, "acme.eu", "dissociate/"))
    assert done.status_code == 302
    eu.refresh_from_db()
    assert eu.synonym_of is None
    assert ("www.acme.eu", "A") in rrsets(eu)


def test_a_main_domain_with_synonyms_cannot_become_one(world, login):
    client = login(world["legal"])
    eu = services.domain_add(access=world["manager"], name="acme.eu")
    fr = services.domain_add(access=world["manager"], name="acme.fr")
    services.synonym_make(access=world["manager"], main=eu, synonym=fr)
    response = client.post(page(world, rest="synonyms/add/"), {"synonym": "acme.eu"})
    assert response.status_code == 400
    assert "acme.eu has synonyms of its own." in response.content.decode()


def test_importing_a_zone_file_with_an_error_shows_its_line(world, login):
    client = login(world["legal"])
    before = rrsets(world["acme"])
    text = "$ORIGIN acme.test.\n@ 3600 IN NS ns1.example.org.\nwww 300 IN A 999.1.1.1\n"
    response = client.post(page(world, rest="zone/import/"), {"text": text})
    assert response.status_code == 400
    errors = response.context["import_form"].errors["text"]
    assert errors[0].startswith("Line 3:")
    assert "Line 3:" in response.content.decode()
    assert rrsets(world["acme"]) == before

    good = "@ 3600 IN NS ns1.example.org.\nshop 300 IN A 192.0.2.8\n"
    assert client.post(page(world, rest="zone/import/"), {"text": good}).status_code == 302
    assert rrsets(world["acme"])[("shop.acme.test", "A")] == (300, ["192.0.2.8"])
    assert ("www.acme.test", "A") not in rrsets(world["acme"])


def test_using_the_domain_with_service_mail_and_the_diagnostic(world, login):
    client = login(world["legal"])
    mail = world["mail"]  # the Service Mail of acme.test
    used = client.post(page(world, rest="mail/use/"), {"service": str(mail.pk)})
    assert used.status_code == 302, used.content
    assert ("acme.test", "MX") in rrsets(world["acme"])
    other = client.post(page(world, rest="mail/use/"), {"service": str(world["other_mail"].pk)})
    assert other.status_code == 400
    assert "does not receive mail at acme.test" in other.content.decode()

    checks = client.get(page(world), {"check": "mail", "wait": "1"})
    assert checks.status_code == 200
    html = checks.content.decode()
    # Nothing answers on port 9 (this module's resolver): each record could not be
    # checked, in grey with the reason, rather than called wrong.
    assert 'data-testid="mail-checks"' in html
    assert 'data-check="mx" data-status="unknown"' in html
    assert "Could not check" in html and "did not answer in time" in html
    assert "Wrong" not in html
    fixed = client.post(page(world, rest="mail/fixes/"))
    assert fixed.status_code == 302 and fixed["Location"].endswith("?check=mail#mail")


def test_rotating_the_dkim_key_from_the_domain_page(world, login):
    from domains.models import DkimKey

    client = login(world["legal"])
    page_html = client.get(page(world)).content.decode()
    assert "Rotate the DKIM key" in page_html
    for _ in range(2):
        rotated = client.post(page(world, rest="mail/dkim/rotate/"))
        assert rotated.status_code == 302 and rotated["Location"].endswith("?check=mail#mail")
    selectors = set(DkimKey.objects.filter(domain=world["acme"]).values_list("selector", flat=True))
    assert len(selectors) == 2
    published = {r.name.split(".")[0] for r in world["acme"].rrsets.filter(type="TXT")}
    assert selectors <= published


def test_deleting_a_domain_after_typing_its_name(world, login, zone_dir):
    client = login(world["legal"])
    wrong = client.post(page(world, rest="delete/"), {"confirm_name": "acme.tes"})
    assert wrong.status_code == 200
    assert "Type acme.test exactly." in wrong.content.decode()
    assert Domain.objects.filter(name="acme.test").exists()

    eu = services.domain_add(access=world["manager"], name="acme.eu")
    services.synonym_make(access=world["manager"], main=world["acme"], synonym=eu)
    blocked = client.post(page(world, rest="delete/"), {"confirm_name": "acme.test"}, follow=True)
    assert "dissociate or delete them first" in blocked.content.decode()
    assert Domain.objects.filter(name="acme.test").exists()

    services.synonym_dissociate(access=world["manager"], synonym=eu)
    right = client.post(page(world, rest="delete/"), {"confirm_name": "acme.test"})
    assert right.status_code == 302 and right["Location"] == base(world)
    assert not Domain.objects.filter(name="acme.test").exists()
    assert not (zone_dir / "acme.test.zone").exists()


def test_an_administrator_sees_every_domain(world, login):
    assert login(world["admin"]).get(page(world)).status_code == 200


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_domain_page_runs_the_same_queries_at_5_and_200_records(world, login):
    client = login(world["legal"])
    services.domain_add(access=world["manager"], name="acme.eu")

    def fill(count):
        RRset.objects.filter(domain=world["acme"]).exclude(type="NS").delete()
        RRset.objects.bulk_create(
            RRset(
                organisation=world["org"],
                domain=world["acme"],
                name=f"h{i}.acme.test",
                type="A",
                ttl=300,
                records=[f"192.0.2.{i % 250 + 1}"],
            )
            for i in range(count)
        )

    fill(5)
    client.get(page(world))  # warm the session
    few = _queries(client, page(world))
    fill(200)
    many = _queries(client, page(world))
    assert few == many
