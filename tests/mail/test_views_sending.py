"""The outgoing limit in the Manager: the Sending card of an address (meter, charts by
hour and by day), its mail log with search and filters, and the addresses closest to
their limit on the service page."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mail.models import AddressUser, MailLogStatus
from tests import factories as f

from .factories import MailLogEntryFactory as Log

DEFERRED = MailLogStatus.DEFERRED


def url(name, *args):
    return reverse(f"mail:{name}", args=[getattr(arg, "pk", arg) for arg in args])


@pytest.fixture
def world(org_world):
    mail = org_world["mail"]
    mail.plan, mail.address_quota = "premium", 10  # 1,440 recipients per 24 hours
    mail.save(update_fields=["plan", "address_quota"])
    org_world["alice"] = f.AddressFactory(service=mail, local_part="alice")
    return org_world


def address_page(client, world, local_part="alice"):
    return client.get(url("address-detail", world["org"], world["mail"], local_part))


def log_page(client, world, local_part="alice", **params):
    return client.get(url("address-mail-log", world["org"], world["mail"], local_part), params)


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def queue_ids(text: str) -> list[str]:
    """The queue ids of the mail log table, in their order."""
    return re.findall(r'<td class="mono nowrap">([^<]+)</td>', text)


def part(text: str, testid: str) -> str:
    """The element carrying data-testid=`testid`, roughly: from it to the next testid."""
    start = text.index(f'data-testid="{testid}"')
    end = text.find("data-testid=", start + 20)
    return text[start : end if end != -1 else None]


# -- the Sending card ------------------------------------------------------------------------


def test_the_address_page_shows_the_meter_and_both_charts(login, world):
    alice = world["alice"]
    Log(address=alice, ago=timedelta(hours=2), recipient_count=3)
    Log(address=alice, ago=timedelta(hours=3), recipient_count=2)
    Log(address=alice, ago=timedelta(hours=4), recipient_count=6, status=DEFERRED)
    Log(address=alice, ago=timedelta(days=3), recipient_count=40)

    text = html(address_page(login(world["admin"]), world))
    meter = part(text, "sending-meter")
    assert "5 of 1440 recipients in the last 24 hours" in meter
    assert "1435 more recipients can be sent now" in meter
    assert 'aria-valuenow="5"' in meter and 'aria-valuemax="1440"' in meter
    assert "is-warning" not in meter and "is-danger" not in meter

    hourly, daily = part(text, "sending-hourly"), part(text, "sending-daily")
    assert hourly.count('<g class="sending-bar">') == 24
    assert daily.count('<g class="sending-bar">') == 7
    assert hourly.count('class="sending-bar-accepted"') == 2
    assert hourly.count('class="sending-bar-deferred"') == 1
    assert "6 deferred</title>" in hourly
    assert "40 recipients accepted</title>" in daily
    assert 'role="img"' in hourly and "5 recipients accepted, 6 deferred" in hourly
    assert "Each recipient counts: a message to 3 people in To, Cc or Bcc counts as 3." in text
    assert "A paying address can have a higher limit on written request." in text
    assert url("address-mail-log", world["org"], world["mail"], "alice") in text


def test_the_meter_warns_near_the_limit_and_says_when_it_is_reached(login, world):
    alice = world["alice"]
    alice.outgoing_limit_override = 10
    alice.save(update_fields=["outgoing_limit_override"])
    client = login(world["admin"])
    Log(address=alice, ago=timedelta(hours=1), recipient_count=8)
    text = html(address_page(client, world))
    assert "is-warning" in part(text, "sending-meter")
    assert "2 more recipients can be sent now" in text
    assert 'data-testid="sending-reached"' not in text

    Log(address=alice, recipient_count=2)
    text = html(address_page(client, world))
    assert "is-danger" in part(text, "sending-meter")
    assert "0 more recipients can be sent now" in text
    assert "The limit is reached" in part(text, "sending-reached")


def test_a_suspended_address_says_so(login, world):
    alice = world["alice"]
    alice.outgoing_limit_override = 0
    alice.save(update_fields=["outgoing_limit_override"])
    text = html(address_page(login(world["admin"]), world))
    assert "Sending is suspended for this address" in text
    assert "is-danger" in part(text, "sending-meter")


def test_an_address_that_sent_nothing_shows_an_empty_state(login, world):
    Log(address=world["alice"], ago=timedelta(days=8), recipient_count=9)  # too old to chart
    text = html(address_page(login(world["admin"]), world))
    assert "0 of 1440 recipients in the last 24 hours" in text
    assert "Nothing sent in the last 7 days." in part(text, "sending-empty")
    assert 'data-testid="sending-hourly"' not in text


def test_the_charts_keep_dots_in_their_coordinates_in_french(login, world):
    Log(address=world["alice"], ago=timedelta(hours=1), recipient_count=3)
    client = login(world["admin"])
    response = client.get(
        url("address-detail", world["org"], world["mail"], "alice"), HTTP_ACCEPT_LANGUAGE="fr"
    )
    text = html(response)
    assert '<html lang="fr"' in text
    card = text[text.index('id="sending"') :]
    assert not re.search(r'(x|y|width|height|left|top)(="|: )\d+,\d', card)


# -- the mail log --------------------------------------------------------------------------


def test_the_mail_log_lists_what_the_address_sent(login, world):
    alice = world["alice"]
    Log(
        address=alice,
        ago=timedelta(hours=1),
        recipient_count=5,
        recipients=", ".join(f"p{i}@elsewhere.example" for i in range(5)),
        queue_id="4QAAA1",
    )
    Log(address=alice, ago=timedelta(hours=2), status=DEFERRED, queue_id="4QAAA2")
    Log(address=f.AddressFactory(service=world["mail"]), queue_id="4QOTHER")
    text = html(log_page(login(world["admin"]), world))
    table = part(text, "mail-log")
    assert queue_ids(text) == ["4QAAA1", "4QAAA2"]  # newest first, only alice's
    cell = table[table.index('class="mail-log-address mail-log-recipients"') :]
    cell = cell[: cell.index("</td>")]
    assert ">p0@elsewhere.example, p1@elsewhere.example, p2@elsewhere.example\n" in cell
    assert "<summary>and 2 more</summary>" in cell
    assert ">p3@elsewhere.example, p4@elsewhere.example<" in cell
    assert '<span class="badge badge-red">Deferred</span>' in table
    assert '<span class="badge badge-green">Accepted</span>' in table


def test_the_mail_log_says_how_many_recipients_it_does_not_list(login, world):
    Log(address=world["alice"], recipient_count=250)
    text = html(log_page(login(world["admin"]), world))
    assert "<summary>and 247 more</summary>" in text
    assert "(and 150 recipients the log does not list)" in text


def test_the_mail_log_searches_and_filters(login, world):
    alice = world["alice"]
    yesterday = timezone.localdate() - timedelta(days=1)
    at = timezone.make_aware(datetime.combine(yesterday, time(12)))
    Log(address=alice, recipients="carol@partner.example", queue_id="4QCAROL")
    Log(address=alice, sender="bounces@acme.test", queue_id="4QBOUNCE", status=DEFERRED)
    Log(address=alice, occurred_at=at, queue_id="4QYESTERDAY")
    client = login(world["admin"])

    def shown(**params):
        text = html(log_page(client, world, **params))
        return set(queue_ids(text))

    assert shown() == {"4QCAROL", "4QBOUNCE", "4QYESTERDAY"}
    assert shown(q="Carol@") == {"4QCAROL"}
    assert shown(q="bounces") == {"4QBOUNCE"}
    assert shown(q="4qyest") == {"4QYESTERDAY"}
    assert shown(status="deferred") == {"4QBOUNCE"}
    assert shown(since=yesterday, until=yesterday) == {"4QYESTERDAY"}
    assert shown(since=timezone.localdate()) == {"4QCAROL", "4QBOUNCE"}

    text = html(log_page(client, world, q="nobody"))
    assert "No message matches these filters" in part(text, "mail-log-empty")
    text = html(log_page(client, world, since="2024-05-02", until="2024-05-01"))
    assert "The end date is before the start date." in text
    assert set(queue_ids(text)) == set()  # a wrong range lists nothing (issue 13, item 8)


def test_the_mail_log_comes_in_pages(login, world):
    alice = world["alice"]
    for minutes in range(55):
        Log(address=alice, ago=timedelta(minutes=minutes), queue_id=f"Q{minutes:03d}")
    client = login(world["admin"])
    first = html(log_page(client, world, status="accepted"))
    assert "Page 1 of 2 · 55 entries" in first
    assert queue_ids(first) == [f"Q{minutes:03d}" for minutes in range(50)]
    assert "?status=accepted&amp;page=2" in first
    second = html(log_page(client, world, status="accepted", page=2))
    assert queue_ids(second) == [f"Q{minutes:03d}" for minutes in range(50, 55)]


def test_an_address_that_sent_nothing_has_an_empty_log(login, world):
    text = html(log_page(login(world["admin"]), world))
    assert "Nothing sent in the last 30 days" in part(text, "mail-log-empty")


def test_the_mail_log_is_for_whoever_sees_the_address(login, world):
    foreign = f.AddressFactory(
        service=f.MailServiceFactory(organisation=world["other_org"]), local_part="alice"
    )
    client = login(world["admin"])
    response = client.get(url("address-mail-log", world["org"], foreign.service, "alice"))
    assert response.status_code == 404
    response = client.get(url("address-detail", world["org"], foreign.service, "alice"))
    assert response.status_code == 404
    assert log_page(client, world, local_part="nobody").status_code == 404
    assert log_page(login(world["outsider"]), world).status_code == 404
    assert log_page(login(world["user"]), world).status_code == 404

    AddressUser.objects.create(
        organisation=world["org"], address=world["alice"], user=world["user"]
    )
    Log(address=world["alice"], queue_id="4QMINE")
    assert queue_ids(html(log_page(login(world["user"]), world))) == ["4QMINE"]


# -- the addresses closest to their limit ------------------------------------------------


def test_the_service_page_lists_the_addresses_closest_to_their_limit(login, world):
    mail = world["mail"]
    for local_part, sent in (("light", 10), ("heavy", 1300), ("middle", 600)):
        Log(address=f.AddressFactory(service=mail, local_part=local_part), recipient_count=sent)
    tight = f.AddressFactory(service=mail, local_part="tight", outgoing_limit_override=50)
    Log(address=tight, recipient_count=45)
    Log(address=tight, recipient_count=30, status=DEFERRED)  # deferred ones do not count
    for i in range(3):
        Log(address=f.AddressFactory(service=mail, local_part=f"other{i}"), recipient_count=1)
    Log(address=world["alice"], ago=timedelta(hours=25), recipient_count=1400)  # too old

    text = html(login(world["admin"]).get(url("service-detail", world["org"], mail)))
    card = part(text, "near-limit")
    shown = re.findall(r'<li data-address="([a-z0-9]+)">', card)
    assert shown == ["tight", "heavy", "middle", "light", "other0"]
    assert "45 of 50" in card and "1300 of 1440" in card
    assert url("address-detail", world["org"], mail, "tight") in card
    tight_row = card[card.index('data-address="tight"') : card.index('data-address="heavy"')]
    assert "is-warning" in tight_row and 'style="width: 90%"' in tight_row


def test_the_card_says_when_nobody_sent(login, world):
    text = html(login(world["admin"]).get(url("service-detail", world["org"], world["mail"])))
    assert "No address sent mail in the last 24 hours." in part(text, "near-limit-empty")


def test_the_card_is_for_people_who_see_the_whole_service(login, world):
    AddressUser.objects.create(
        organisation=world["org"], address=world["alice"], user=world["user"]
    )
    Log(address=world["alice"], recipient_count=3)
    text = html(login(world["user"]).get(url("service-detail", world["org"], world["mail"])))
    assert 'data-testid="near-limit"' not in text


# -- bounded queries -------------------------------------------------------------------------


def count_queries(client, path):
    client.get(path)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_pages_cost_the_same_whatever_was_sent(login, world):
    mail, alice = world["mail"], world["alice"]
    client = login(world["admin"])
    pages = [
        url("address-detail", world["org"], mail, "alice"),
        url("address-mail-log", world["org"], mail, "alice"),
        url("service-detail", world["org"], mail),
    ]
    Log(address=alice, ago=timedelta(hours=1))
    few = [count_queries(client, path) for path in pages]
    for i in range(30):
        sender = f.AddressFactory(service=mail, local_part=f"sender{i}")
        Log.create_batch(3, address=sender, ago=timedelta(hours=i % 24 + 1))
    Log.create_batch(200, address=alice, ago=timedelta(hours=30))
    assert [count_queries(client, path) for path in pages] == few


def test_a_service_without_addresses_has_no_card(login, world):
    service = f.MailServiceFactory(organisation=world["org"], plan="premium", address_quota=5)
    text = html(login(world["admin"]).get(url("service-detail", world["org"], service)))
    assert 'data-testid="near-limit"' not in text
