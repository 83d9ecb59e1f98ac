"""The health check answers without signing in and says whether the database is there."""

import pytest


@pytest.mark.django_db
def test_health_check_is_ok_when_the_database_answers(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
