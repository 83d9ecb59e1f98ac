"""Wording and formats a new customer reads (issue 13, items 8 and 9): the activity page's
columns, kinds and details, dates in both languages, the dashboard's dates, the CSV
import's column D, and the account pages (site name, confirmation, sentence case)."""

import datetime
import re
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import trans_real

from panel import services
from panel.access import access_for
from panel.activity import record
from panel.views.common import activity_details
from tests import factories as f

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def activity_url(org):
    return reverse("panel:activity-list", args=[org.pk])


@pytest.fixture
def french_catalog(monkeypatch):
    """`french_catalog(key, text)` adds one entry to the French catalogue for this test
    (a context's key is `context\\x04msgid`), whatever panel/locale holds yet."""
    catalog = trans_real.translation("fr")._catalog._catalogs[0]

    def add(key, text):
        monkeypatch.setitem(catalog, key, text)

    return add


# --- The "On" column and the two-factor status -------------------------------------


def test_the_activity_column_and_the_two_factor_status_are_translated_apart(
    login, org_world, french_catalog
):
    french_catalog("activity column: the object acted on\x04On", "Objet")
    french_catalog("two-factor authentication status\x04On", "Activée")
    services.team_create(access=access_for(org_world["admin"], org_world["org"]), name="T")
    Authenticator.objects.create(
        user=org_world["admin"], type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    client = login(org_world["admin"])

    activity = client.get(activity_url(org_world["org"]), **FRENCH).content.decode()
    account = client.get(reverse("panel:account"), **FRENCH).content.decode()

    assert "<th>Objet</th>" in activity and "Activée" not in activity
    assert '<span class="badge badge-green">Activée</span>' in account
    assert "Objet" not in account


# --- The Kind filter ----------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, FRENCH], ids=["en", "fr"])
def test_the_kind_filter_names_kinds_instead_of_codes(login, org_world, headers):
    access = access_for(org_world["admin"], org_world["org"])
    services.team_create(access=access, name="Named")
    record(
        organisation=org_world["org"],
        actor=org_world["admin"],
        code="mail.address.created",
        data={"kind": "mailbox"},
    )
    page = login(org_world["admin"]).get(activity_url(org_world["org"]), **headers)

    options = dict(page.context["form"].fields["kind"].choices)
    assert set(options) == {"", "panel.team", "mail.address"}
    assert options["panel.team"] not in ("panel.team", "") and "." not in options["panel.team"]
    html = page.content.decode()
    assert ">panel.team</option>" not in html and ">mail.address</option>" not in html
    if not headers:
        assert options["panel.team"] == "Teams" and options["mail.address"] == "Mail addresses"


def test_a_kind_still_filters_by_its_code(login, org_world):
    access = access_for(org_world["admin"], org_world["org"])
    services.team_create(access=access, name="Filtered")
    page = login(org_world["admin"]).get(activity_url(org_world["org"]), {"kind": "panel.team"})
    assert [event.code for event in page.context["page"]] == ["panel.team.created"]


# --- Details ------------------------------------------------------------------------


def test_details_read_as_text_not_python_values():
    details = activity_details(
        {
            "rrsets": ["www.demo.example A", "demo.example MX"],
            "users": [],
            "invited": [],
            "keep_copy": True,
            "enabled": False,
            "note": "",
            "quota": 1200,
            "product_type": "mail_service",
            "custom_key": "x",
        }
    )
    assert details == [
        ("Records", "www.demo.example A, demo.example MX"),
        ("Keep a copy", "yes"),
        ("Enabled", "no"),
        ("Quota", "1200"),
        ("Product type", "Mail"),
        ("Custom key", "x"),
    ]


def test_the_details_column_shows_labels_and_commas(login, org_world):
    record(
        organisation=org_world["org"],
        actor=org_world["admin"],
        code="mail.address.created",
        data={"mode": "users", "users": ["a@example.test", "b@example.test"], "invited": []},
    )
    html = login(org_world["admin"]).get(activity_url(org_world["org"])).content.decode()
    cell = re.search(r'<td class="details-cell">(.*?)</td>', html, re.S).group(1)
    assert "People:</span> a@example.test, b@example.test" in cell
    assert "[" not in cell and "invited" not in cell.lower()


# --- A reversed date range ----------------------------------------------------------


def test_a_reversed_date_range_lists_nothing_and_says_why(login, org_world):
    services.team_create(access=access_for(org_world["admin"], org_world["org"]), name="Old")
    page = login(org_world["admin"]).get(
        activity_url(org_world["org"]), {"since": "2026-12-05", "until": "2026-11-01"}
    )
    html = page.content.decode()
    assert page.context["form"].errors["until"]
    assert list(page.context["page"]) == []
    assert 'data-testid="activity"' not in html
    assert "Correct the filters to see the activity" in html
    assert "The end date is before the start date." in html
    # Exporting would export every entry: the button waits for a valid filter too.
    assert 'data-testid="export-csv"' not in html


# --- Date formats -------------------------------------------------------------------


MOMENT = datetime.datetime(2026, 12, 1, 21, 28)


@pytest.mark.parametrize(
    "language, date, moment",
    [("en", "1 Dec 2026", "1 Dec 2026, 21:28"), ("fr", "1 déc. 2026", "1 déc. 2026, 21:28")],
)
def test_every_named_format_is_the_same_unambiguous_one(language, date, moment):
    with translation.override(language):
        assert formats.date_format(MOMENT, "DATE_FORMAT") == date
        assert formats.date_format(MOMENT, "SHORT_DATE_FORMAT") == date
        assert formats.date_format(MOMENT, "DATETIME_FORMAT") == moment
        assert formats.date_format(MOMENT, "SHORT_DATETIME_FORMAT") == moment
        assert formats.time_format(MOMENT, "TIME_FORMAT") == "21:28"
        assert formats.time_format(datetime.time(9, 5), "TIME_FORMAT") == "09:05"


def test_the_activity_page_dates_read_the_same_in_both_languages(login, org_world):
    event = record(organisation=org_world["org"], actor=org_world["admin"], code="panel.team.x")
    zurich = timezone.get_current_timezone()
    event.created_at = datetime.datetime(2026, 12, 1, 21, 28, tzinfo=zurich)
    event.save(update_fields=["created_at"])
    client = login(org_world["admin"])
    english = client.get(activity_url(org_world["org"])).content.decode()
    french = client.get(activity_url(org_world["org"]), **FRENCH).content.decode()
    assert "1 Dec 2026, 21:28" in english and "p.m." not in english
    assert "1 déc. 2026, 21:28" in french


TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
# Machine formats (ISO dates in URLs and attributes) are not what people read.
MACHINE_FORMATS = {"c", "Y-m-d", "Y-m"}
NAMED_FORMATS = {
    "DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT",
    "YEAR_MONTH_FORMAT", "MONTH_DAY_FORMAT",
}  # fmt: skip
# One translated name alone (a month, a weekday) has no order of parts to get wrong.
NAME_ALONE_FORMATS = {"F", "M", "N", "l", "D"}


def test_no_template_hard_codes_a_date_format_people_read():
    found = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            for fmt in re.findall(r"\|date:[\"']([^\"']*)[\"']", path.read_text()):
                if fmt not in MACHINE_FORMATS | NAMED_FORMATS | NAME_ALONE_FORMATS:
                    found.append(f"{path.relative_to(ROOT)}: {fmt}")
    assert not found


# --- Dashboard and CSV import -------------------------------------------------------


def test_dashboard_dates_say_what_they_are(login, org_world):
    f.DomainFactory(
        organisation=org_world["org"], name="dated.test", expires_at=datetime.date(2027, 3, 5)
    )
    html = login(org_world["legal"]).get(
        reverse("panel:organisation-dashboard", args=[org_world["org"].pk])
    )
    html = html.content.decode()
    created = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    assert f"Created {created}" in html
    assert "Expires on 5 Mar 2027" in html


def test_csv_column_d_asks_the_question_its_values_answer(login, org_world):
    service = org_world["mail"]
    html = login(org_world["legal"]).get(
        reverse("mail:address-csv-import", args=[org_world["org"].pk, service.pk])
    )
    html = html.content.decode()
    assert "Delete the mail once redirected?" in html
    assert "1 deletes it after redirecting" in html
    assert "Keep the redirected mail?" not in html


# --- Account pages ------------------------------------------------------------------


def test_the_verification_email_names_the_panel(client):
    client.post(
        reverse("account_signup"),
        {"email": "new@example.test", "password1": f.PASSWORD, "password2": f.PASSWORD},
    )
    body = mail.outbox[0].body
    assert "Hello from Panel!" in body and "Thank you for using Panel!" in body
    assert "testserver" not in body.split("\n")[0]


def test_the_confirmation_page_says_plainly_what_it_confirms(client):
    client.post(
        reverse("account_signup"),
        {"email": "new@example.test", "password1": f.PASSWORD, "password2": f.PASSWORD},
    )
    link = re.search(r"/accounts/confirm-email/[^\s]+", mail.outbox[0].body).group(0)
    html = client.get(link).content.decode()
    assert "Confirm that <strong>new@example.test</strong> is your email address." in html
    assert "for user" not in html


def sentence_case(text: str) -> bool:
    """No capital after the first letter, except at the start of a sentence or in the
    first word of a heading ("Two-Factor Authentication" is not)."""
    return not re.search(r"(?<![.?!] )(?<=[\s-])[A-Z]", text)


def headings(html: str) -> list[str]:
    found = re.findall(r"<(h1|h2|button)\b[^>]*>(.*?)</\1>", html, re.S)
    texts = [re.sub(r"<[^>]+>|\s+", " ", text).strip() for _tag, text in found]
    return [text for text in texts if text and text not in ("EN", "FR")]


ANONYMOUS_PAGES = ["account_login", "account_signup", "account_reset_password"]
SIGNED_IN_PAGES = ["account_email", "account_change_password", "mfa_index", "mfa_activate_totp"]


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_entrance_pages_use_sentence_case(client, name):
    html = client.get(reverse(name)).content.decode()
    assert headings(html)
    assert all(sentence_case(text) for text in headings(html)), headings(html)


def signed_in(client, user):
    """A client signed in, its password given again just now (allauth asks for it before
    the two-factor pages)."""
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "email": user.email, "reauthenticated": True}
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_account_pages_use_sentence_case(client, org_world, name):
    response = signed_in(client, org_world["legal"]).get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert headings(html)
    assert all(sentence_case(text) for text in headings(html)), headings(html)


def test_form_labels_use_sentence_case(login, org_world, client):
    login_page = client.get(reverse("account_login")).content.decode()
    assert "Remember me" in login_page and "Remember Me" not in login_page
    change = login(org_world["legal"]).get(reverse("account_change_password")).content.decode()
    assert "Current password" in change and "New password (again)" in change
    assert "New Password" not in change


@pytest.mark.parametrize("name", ANONYMOUS_PAGES + SIGNED_IN_PAGES)
def test_french_account_headings_are_sentence_case_too(client, org_world, name):
    if name in SIGNED_IN_PAGES:
        signed_in(client, org_world["legal"])
    html = client.get(reverse(name), **FRENCH).content.decode()
    assert headings(html)
    assert all(sentence_case(text) for text in headings(html)), headings(html)


# --- Recovery codes -----------------------------------------------------------------


@pytest.fixture
def recovery_codes_client(client, org_world):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    user = org_world["legal"]
    client = signed_in(client, user)
    RecoveryCodes.activate(user)
    return client


def test_generating_new_codes_is_a_secondary_action(recovery_codes_client):
    html = recovery_codes_client.get(reverse("mfa_view_recovery_codes")).content.decode()
    href = re.escape(reverse("mfa_generate_recovery_codes"))
    generate = re.search(rf'<a href="{href}"\s+class="([^"]*)"', html)
    assert generate and "btn-secondary" in generate.group(1)


def test_generating_new_codes_asks_first(recovery_codes_client):
    before = Authenticator.objects.get(type=Authenticator.Type.RECOVERY_CODES).data
    html = recovery_codes_client.get(reverse("mfa_generate_recovery_codes")).content.decode()
    assert "they stop working at once" in html
    assert "Replace my recovery codes" in html and "Cancel" in html
    assert Authenticator.objects.get(type=Authenticator.Type.RECOVERY_CODES).data == before
