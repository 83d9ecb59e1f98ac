"""The outgoing limit through the API: an address's sending meter with its recipients by
hour and by day, and its mail log with search, filters and pages."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from mail.models import MailLogStatus
from mail.services.sending import sending_meter
from tests import factories as f

from .factories import MailLogEntryFactory as Log

DEFERRED = MailLogStatus.DEFERRED


@pytest.fixture
def world(org_world):
    mail = org_world["mail"]
    mail.plan = "premium"  # 1,440 recipients per 24 hours
    mail.save(update_fields=["plan"])
    org_world["alice"] = f.AddressFactory(service=mail, local_part="alice")
    return org_world


def address_url(world, what, local_part="alice"):
    org, mail = world["org"].pk, world["mail"].pk
    return f"/api/v1/organisations/{org}/mail/services/{mail}/addresses/{local_part}/{what}/"


@pytest.fixture
def get(world, client_for):
    client = client_for(world["legal"])

    def call(what, **params):
        return client.get(address_url(world, what), params)

    return call


def hour_of(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def local_at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


# -- the sending meter ---------------------------------------------------------------------


def test_the_meter_shows_the_limit_and_the_recipients_by_hour_and_by_day(world, get):
    alice = world["alice"]
    two_hours_ago = timezone.now() - timedelta(hours=2)
    for count in (3, 2):
        Log(address=alice, occurred_at=two_hours_ago, recipient_count=count)
    deferred = Log(address=alice, ago=timedelta(hours=5), recipient_count=4, status=DEFERRED)
    old = Log(address=alice, ago=timedelta(days=3), recipient_count=7)

    before = timezone.now()
    response = get("sending")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"limit", "used_24h", "remaining", "hourly", "daily"}
    assert (body["limit"], body["used_24h"], body["remaining"]) == (1440, 5, 1435)

    hours = [datetime.fromisoformat(row["hour"]) for row in body["hourly"]]
    assert len(hours) == 24
    assert hours[-1] in {hour_of(before), hour_of(timezone.now())}
    assert all(later - earlier == timedelta(hours=1) for earlier, later in pairwise(hours))
    by_hour = {datetime.fromisoformat(row["hour"]): row for row in body["hourly"]}
    assert by_hour[hour_of(two_hours_ago)]["count"] == 5
    assert by_hour[hour_of(deferred.occurred_at)] == {
        "hour": by_hour[hour_of(deferred.occurred_at)]["hour"],
        "count": 0,
        "deferred": 4,
    }
    assert sum(row["count"] for row in body["hourly"]) == 5

    days = [date.fromisoformat(row["date"]) for row in body["daily"]]
    assert days == [timezone.localdate() - timedelta(days=back) for back in range(6, -1, -1)]
    by_day = {date.fromisoformat(row["date"]): row for row in body["daily"]}
    assert by_day[timezone.localdate(old.occurred_at)]["count"] == 7
    assert sum(row["count"] for row in body["daily"]) == 12
    assert sum(row["deferred"] for row in body["daily"]) == 4


def test_only_accepted_recipients_of_the_last_24_hours_count(world, get):
    alice = world["alice"]
    Log(address=alice, ago=timedelta(hours=1), recipient_count=3)
    Log(address=alice, ago=timedelta(hours=23, minutes=50), recipient_count=4)
    Log(address=alice, ago=timedelta(hours=24, minutes=10), recipient_count=10)
    Log(address=alice, ago=timedelta(hours=1), recipient_count=6, status=DEFERRED)
    Log(address=f.AddressFactory(service=world["mail"]), recipient_count=50)  # someone else

    body = get("sending").json()
    assert (body["used_24h"], body["remaining"]) == (7, 1433)


def test_an_override_sets_the_limit_and_what_remains(world, get):
    alice = world["alice"]
    alice.outgoing_limit_override = 10
    alice.save(update_fields=["outgoing_limit_override"])
    Log(address=alice, ago=timedelta(minutes=5), recipient_count=8)
    body = get("sending").json()
    assert (body["limit"], body["used_24h"], body["remaining"], body["percent"]) == (10, 8, 2, 80)

    Log(address=alice, recipient_count=4)  # over: the override was lowered after sending
    body = get("sending").json()
    assert (body["used_24h"], body["remaining"], body["percent"]) == (12, 0, 100)


def test_an_address_that_sent_nothing_has_empty_charts(world, get):
    body = get("sending").json()
    assert (body["used_24h"], body["remaining"]) == (0, 1440)
    assert {row["count"] for row in body["hourly"] + body["daily"]} == {0}


# -- the mail log --------------------------------------------------------------------------


def test_the_log_lists_the_messages_newest_first(world, get):
    alice = world["alice"]
    older = Log(
        address=alice,
        ago=timedelta(hours=3),
        recipient_count=2,
        recipients="ann@elsewhere.example, bob@elsewhere.example",
        queue_id="4QABC",
    )
    newer = Log(address=alice, ago=timedelta(hours=1), status=DEFERRED)
    Log(address=f.AddressFactory(service=world["mail"]))  # another address's

    body = get("mail-log").json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(newer.id), str(older.id)]
    row = body["results"][1]
    assert set(row) == {
        "id",
        "occurred_at",
        "sender",
        "recipients",
        "recipient_count",
        "status",
        "queue_id",
    }
    assert row["recipients"] == ["ann@elsewhere.example", "bob@elsewhere.example"]
    assert (row["recipient_count"], row["status"], row["queue_id"]) == (2, "accepted", "4QABC")
    assert row["sender"] == "alice@acme.test"
    assert datetime.fromisoformat(row["occurred_at"]) == older.occurred_at
    assert body["results"][0]["status"] == "deferred"


def test_a_message_to_many_keeps_the_exact_count(world, get):
    Log(address=world["alice"], recipient_count=250)
    row = get("mail-log").json()["results"][0]
    assert row["recipient_count"] == 250
    assert len(row["recipients"]) == 100


def test_the_log_searches_sender_recipients_and_queue_id(world, get):
    alice = world["alice"]
    by_sender = Log(address=alice, sender="Newsletter@acme.test")
    by_recipient = Log(address=alice, recipients="x@elsewhere.example, Carol@Partner.example")
    by_queue = Log(address=alice, queue_id="9FQUEUE42")
    Log(address=alice)

    def found(search):
        return {row["id"] for row in get("mail-log", search=search).json()["results"]}

    assert found("newsletter@") == {str(by_sender.id)}
    assert found("carol@partner") == {str(by_recipient.id)}
    assert found("queue42") == {str(by_queue.id)}
    assert found("nobody") == set()
    assert len(found("")) == 4


def test_the_log_filters_by_status_and_by_days_of_the_panel_s_time_zone(world, get):
    alice = world["alice"]
    yesterday = timezone.localdate() - timedelta(days=1)
    before = yesterday - timedelta(days=1)
    late = Log(address=alice, occurred_at=local_at(before, 23, 59))
    early = Log(address=alice, occurred_at=local_at(yesterday, 0, 1))
    deferred = Log(address=alice, occurred_at=local_at(yesterday, 12), status=DEFERRED)

    def found(**params):
        return [row["id"] for row in get("mail-log", **params).json()["results"]]

    assert found(status="deferred") == [str(deferred.id)]
    assert found(status="accepted") == [str(early.id), str(late.id)]
    assert found(since=yesterday, until=yesterday) == [str(deferred.id), str(early.id)]
    assert found(until=before) == [str(late.id)]
    assert found(since=yesterday, status="accepted") == [str(early.id)]
    assert found(status="") == [str(deferred.id), str(early.id), str(late.id)]


def test_the_log_comes_in_pages(world, get):
    alice = world["alice"]
    for minutes in range(60):
        Log(address=alice, ago=timedelta(minutes=minutes))
    body = get("mail-log").json()
    assert (body["count"], len(body["results"]), body["previous"]) == (60, 50, None)
    assert "page=2" in body["next"]
    body = get("mail-log", page=2).json()
    assert len(body["results"]) == 10 and body["next"] is None
    body = get("mail-log", page_size=7, search="alice").json()
    assert (body["count"], len(body["results"])) == (60, 7)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bounced"}, "status"),
        ({"since": "2024-13-01"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "until"),
    ],
)
def test_a_bad_filter_answers_400_naming_the_field(world, get, params, field):
    response = get("mail-log", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]


def test_an_unknown_address_is_not_found(world, client_for):
    client = client_for(world["legal"])
    for what in ("sending", "mail-log"):
        response = client.get(address_url(world, what, local_part="nobody"))
        assert response.status_code == 404


def test_a_person_linked_to_the_address_sees_its_meter_and_log(world, client_for):
    from mail.models import AddressUser

    alice = world["alice"]
    AddressUser.objects.create(organisation=world["org"], address=alice, user=world["user"])
    Log(address=alice, recipient_count=2)
    client = client_for(world["user"])
    assert client.get(address_url(world, "sending")).json()["used_24h"] == 2
    assert client.get(address_url(world, "mail-log")).json()["count"] == 1
    bob = f.AddressFactory(service=world["mail"], local_part="bob")
    Log(address=bob)
    assert client.get(address_url(world, "mail-log", local_part="bob")).status_code == 404


@pytest.mark.parametrize("day", [date(2024, 3, 31), date(2024, 10, 27)], ids=["spring", "autumn"])
def test_the_hours_are_24_real_hours_on_the_nights_the_clocks_change(world, day):
    alice = world["alice"]
    with timezone.override("Europe/Zurich"):
        now = local_at(day, 10, 30)
        for minutes in (30, 90, 150, 210):  # one message in each hour around the change
            Log(address=alice, occurred_at=local_at(day, 0) + timedelta(minutes=minutes))
        meter = sending_meter(address=alice, now=now)
    # In UTC: Python compares and subtracts datetimes of one zone by their wall-clock time.
    hours = [hour.astimezone(UTC) for hour, _accepted, _deferred in meter.hourly]
    assert all(later - earlier == timedelta(hours=1) for earlier, later in pairwise(hours))
    assert hours[-1] == now.replace(minute=0).astimezone(UTC)
    assert sum(accepted for _hour, accepted, _deferred in meter.hourly) == 4
    assert meter.used_24h == 4
