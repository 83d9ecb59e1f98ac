"""The activity page draws actions per day as a chart."""

from datetime import timedelta

import pytest
from django.utils import timezone

from panel import selectors
from panel.models import ActivityEvent

pytestmark = pytest.mark.django_db


def test_activity_per_day_counts_each_day_and_fills_gaps(org_world):
    org = org_world["org"]
    ActivityEvent.objects.filter(organisation=org).delete()
    now = timezone.now()
    for days_ago, n in ((0, 3), (2, 1)):
        for _ in range(n):
            ActivityEvent.objects.create(
                organisation=org, code="panel.team.created", created_at=now - timedelta(days_ago)
            )
    series = selectors.activity_per_day(events=org.activity.all(), days=7)
    assert [point["count"] for point in series] == [0, 0, 0, 0, 1, 0, 3]
    assert series[-1]["day"] == timezone.localdate()


def test_activity_page_shows_the_chart_with_the_total(client, org_world):
    client.force_login(org_world["admin"])
    org = org_world["org"]
    for _ in range(4):
        ActivityEvent.objects.create(organisation=org, code="panel.team.created")
    total = org.activity.filter(created_at__gte=timezone.now() - timedelta(days=29)).count()
    response = client.get(f"/o/{org.pk}/activity/")
    html = response.content.decode()
    assert 'data-testid="activity-chart"' in html
    assert total >= 4
    assert f"{total} actions in the last 30 days" in html
    assert html.count('class="bar-chart-bar"') == 30


def test_the_chart_keeps_its_coordinates_on_french_pages(client, org_world):
    """French writes 1,5 for 1.5; an SVG coordinate must stay 1.5 or the bar is lost."""
    import re

    client.force_login(org_world["admin"])
    org = org_world["org"]
    ActivityEvent.objects.create(organisation=org, code="panel.team.created")
    html = client.get(f"/o/{org.pk}/activity/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    start = html.index('data-testid="activity-chart"')
    svg = html[start : html.index("</svg>", start)]
    coordinates = re.findall(r'(?:x|y|width|height)="([^"]*)"', svg)
    assert coordinates and all(re.fullmatch(r"[0-9.]+", value) for value in coordinates)
    assert any("." in value for value in coordinates)
