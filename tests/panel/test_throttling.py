"""A script that goes too fast gets 429 with Retry-After, in the error envelope."""

import pytest
from rest_framework.throttling import UserRateThrottle


@pytest.mark.django_db
def test_too_many_requests_answer_429_with_retry_after(org_world, client_for, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    client = client_for(org_world["legal"], scopes=["read"])
    assert [client.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/me/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
