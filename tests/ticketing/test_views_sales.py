"""An event's sales page (issue 15, "Charts"): tickets sold per day and so far, how full
each zone is and the revenue per tariff, in SVG and in tables with the same numbers;
counted in the database, in the same number of queries for 4 orders or 19."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ticketing import services
from ticketing.models import Order

from .test_views_orders import buy


def sales_url(world) -> str:
    return f"/o/{world['org'].pk}/ticketing/events/{world['event'].pk}/sales/"


def table(html: str, testid: str) -> list[list[str]]:
    """The body rows of the table with this data-testid, as cell texts."""
    match = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S)
    assert match, testid
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S).group(1)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def paid_days_ago(order: Order, days: int) -> None:
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - datetime.timedelta(days=days))


@pytest.fixture
def sales(shop_world):
    """3 full-price tickets paid 3 days ago, 1 free ticket the day before yesterday,
    none yesterday, 2 student tickets today; a pending order (held, not sold)."""
    access = shop_world["access"]
    full = buy(shop_world, shop_world["full"], 3, payment="later")
    services.order_mark_paid(access=access, order=full)
    paid_days_ago(full, 3)
    free = buy(shop_world, shop_world["free"], 1, payment="free", name="Ada", email="a@x.test")
    paid_days_ago(free, 2)
    student = buy(shop_world, shop_world["student"], 2, payment="later", name="Sam",
                  email="s@x.test")  # fmt: skip
    services.order_mark_paid(access=access, order=student)
    buy(shop_world, shop_world["full"], 1, payment="later", name="Pat", email="p@x.test")
    return shop_world


def test_the_sales_page_shows_the_numbers_per_day_zone_and_tariff(login, sales):
    response = login(sales["legal"]).get(sales_url(sales))
    assert response.status_code == 200
    html = response.content.decode()
    assert "6 tickets sold" in html
    assert 'data-testid="sales-chart"' in html

    per_day = table(html, "sales-per-day")
    today = timezone.localdate()

    def label(days):
        from django.utils.formats import date_format

        return date_format(today - datetime.timedelta(days=days), "SHORT_DATE_FORMAT")

    # days without sales are bars of height 0 in the chart, left out of the table
    assert per_day == [[label(3), "3", "3"], [label(2), "1", "4"], [label(0), "2", "6"]]
    bars = re.findall(
        r'<rect class="tk-sales-bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', html
    )
    assert len(bars) == 4 + 2  # four days, then the two zones' sold bars
    assert float(bars[2]) == 0

    zones = table(html, "sales-per-zone")
    assert zones == [
        ["Stalls", "5", "1", "94", "100", "5%"],
        ["Balcony", "1", "0", "19", "20", "5%"],
    ]
    tariffs = table(html, "sales-per-tariff")
    assert [row[0] for row in tariffs] == ["Full price", "Student", "Invitation"]
    assert [row[3:] for row in tariffs] == [
        ["3", "135.00 CHF"], ["2", "40.00 CHF"], ["1", "0.00 CHF"]
    ]  # fmt: skip


def test_the_orders_page_links_to_each_events_sales(login, sales):
    org, office = sales["org"].pk, sales["office"].pk
    html = login(sales["legal"]).get(f"/o/{org}/ticketing/offices/{office}/orders/")
    assert f'href="{sales_url(sales)}"' in html.content.decode()


def test_an_event_without_sales_says_so(login, shop_world):
    html = login(shop_world["legal"]).get(sales_url(shop_world)).content.decode()
    assert "No ticket sold yet" in html
    assert 'data-testid="sales-chart"' not in html


def test_the_sales_page_runs_the_same_queries_for_more_orders(login, sales):
    client = login(sales["legal"])
    client.get(sales_url(sales))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(sales_url(sales)).status_code == 200
    for day in range(15):  # the balcony holds 20
        order = buy(sales, sales["free"], 1, payment="free", name=f"G{day}",
                    email=f"g{day}@x.test")  # fmt: skip
        paid_days_ago(order, day % 10)
    with CaptureQueriesContext(connection) as many:
        response = client.get(sales_url(sales))
    assert "21 tickets sold" in response.content.decode()
    assert len(many) == len(few)
    assert len(many) <= 16  # the page around the charts included


def test_people_without_access_to_the_office_get_404(login, sales):
    from tests import factories as f

    stranger = f.UserFactory(email="stranger@x.test")
    assert login(stranger).get(sales_url(sales)).status_code == 404


def test_the_charts_are_drawn_in_french_too(login, sales):
    """A decimal comma in an SVG coordinate is not a length: the bars would vanish."""
    client = login(sales["legal"])
    client.cookies["django_language"] = "fr"
    html = client.get(sales_url(sales), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Billets vendus par jour" in html or 'lang="fr"' in html
    chart = re.search(r'<svg class="tk-sales-chart".*?</svg>', html, re.S).group(0)
    coordinates = re.findall(r'\b(?:x|y|width|height|points)="([^"]*)"', chart)
    assert coordinates and not [value for value in coordinates if "," in value and " " not in value]
    assert re.search(r'<rect class="tk-sales-bar" x="\d+(\.\d+)?"', chart)
