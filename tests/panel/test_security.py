"""Security gates: password hashing, deployment checks, CSRF on session writes, and token
secrets kept out of logs."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.contrib.auth.hashers import identify_hasher
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from panel.models import Organisation, User
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


def test_passwords_are_hashed_with_argon2(db):
    user = User.objects.create_user("hash@example.test", password="a-long-pass-phrase-42")
    assert user.password.startswith("argon2")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert "a-long-pass-phrase-42" not in user.password
    assert user.check_password("a-long-pass-phrase-42")
    assert f.UserFactory().password.startswith("argon2")


def test_production_hasher_is_argon2():
    from panel.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_check_deploy_is_clean_under_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings.production",
        "PANEL_SECRET_KEY": secrets.token_urlsafe(64),
        "PANEL_ALLOWED_HOSTS": "panel.example.test",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "ERROR" not in output, output
    assert "no issues" in output


def test_production_refuses_a_short_secret_key():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings.production",
        "PANEL_SECRET_KEY": "short",
        "PANEL_ALLOWED_HOSTS": "panel.example.test",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PANEL_SECRET_KEY" in result.stderr


def test_session_writes_need_the_csrf_token(org_world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(org_world["legal"])
    assert client.get("/api/v1/me/").status_code == 200  # reads need no token
    before = Organisation.objects.count()
    response = client.post("/api/v1/organisations/", {"name": "Forged"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"code", "detail", "fields"}
    assert "CSRF" in response.json()["detail"]
    org = org_world["org"]
    assert (
        client.patch(
            f"/api/v1/organisations/{org.pk}/", {"name": "Forged"}, format="json"
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/organisations/{org.pk}/", {"confirm_name": "Acme"}, format="json"
        ).status_code
        == 403
    )
    assert Organisation.objects.count() == before
    org.refresh_from_db()
    assert org.name == "Acme"


def test_session_writes_with_the_csrf_token_pass(org_world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(org_world["legal"])
    token = get_random_string(32)  # a CSRF secret, as the browser's csrftoken cookie holds
    client.cookies["csrftoken"] = token
    response = client.post(
        "/api/v1/organisations/", {"name": "Genuine"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_bearer_requests_need_no_csrf_token(org_world):
    from panel import services

    _token, secret = services.token_create(
        actor=org_world["legal"], name="ci", scopes=["read", "write"]
    )
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert (
        client.post("/api/v1/organisations/", {"name": "Scripted"}, format="json").status_code
        == 201
    )


def _logged(caplog) -> str:
    return "\n".join(
        f"{record.getMessage()} {record.__dict__!r} {record.exc_text or ''}"
        for record in caplog.records
    )


def test_token_secret_never_appears_in_logs(org_world, caplog):
    caplog.set_level(logging.DEBUG)
    session = APIClient()
    session.force_authenticate(user=org_world["legal"])
    with CaptureQueriesContext(connection) as queries:  # also logs every SQL statement
        created = session.post(
            "/api/v1/me/tokens/", {"name": "ci", "scopes": ["read"]}, format="json"
        )
        secret = created.json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert client.get("/api/v1/me/").status_code == 200
        assert (
            client.post("/api/v1/organisations/", {"name": "X"}, format="json").status_code == 403
        )
        session.delete(f"/api/v1/me/tokens/{created.json()['id']}/")
        assert client.get("/api/v1/me/").status_code == 401
        wrong = APIClient()
        wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}x")
        assert wrong.get("/api/v1/me/").status_code == 401
    assert caplog.records, "the requests above should have logged something"
    logged = _logged(caplog)
    assert secret not in logged
    assert secret not in repr([q["sql"] for q in queries.captured_queries])
