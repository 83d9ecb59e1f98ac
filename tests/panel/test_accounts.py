"""Accounts as a person meets them: sign-up with a verified email, throttled failed
sign-ins, two-factor authentication, argon2 passwords."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from panel.models import User

from ..factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_signup_sends_a_verification_link_that_signs_the_person_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.test"]
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = "/" + link.group(0).split("/", 3)[3]
    client.post(path)
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "new@example.test"
    assert User.objects.get(email="new@example.test").password.startswith("argon2")


def test_unverified_email_cannot_sign_in(client):
    UserFactory(email="unverified@example.test", verified=False)
    client.post(
        reverse("account_login"), {"login": "unverified@example.test", "password": PASSWORD}
    )
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_repeated_failed_sign_ins_are_throttled(client):
    UserFactory(email="target@example.test")
    for _ in range(5):
        response = client.post(
            reverse("account_login"), {"login": "target@example.test", "password": "wrong-password"}
        )
        assert "Too many failed login attempts" not in response.content.decode()
    # The sixth try, even with the right password, is refused with a clear message.
    response = client.post(
        reverse("account_login"), {"login": "target@example.test", "password": PASSWORD}
    )
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_sign_in_asks_for_the_totp_code_once_two_factor_is_on(client):
    user = UserFactory(email="mfa@example.test")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    response = client.post(
        reverse("account_login"), {"login": "mfa@example.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/api/v1/me/").status_code in (401, 403)  # not signed in yet

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get("/api/v1/me/").status_code in (401, 403)

    import time

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get("/api/v1/me/").json()["email"] == "mfa@example.test"
    assert client.get("/api/v1/me/").json()["mfa_enabled"] is True
