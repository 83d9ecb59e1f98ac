"""The buyer's emails, as the services queue them after commit and the Celery task sends
them (eager here), read from Django's in-memory outbox."""

import datetime
import zoneinfo
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from panel.celery import app as celery_app
from ticketing import secrets, services
from ticketing.models import Order

from .test_pdf import FRENCH_MONTHS, buy, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _local(moment):
    return moment.astimezone(zoneinfo.ZoneInfo("Europe/Zurich"))


def test_a_paid_order_mails_one_pdf_per_ticket_and_its_page(shop_world, mailoutbox, run_tasks,
                                                          client):  # fmt: skip
    with run_tasks():
        order = buy(
            shop_world,
            [{"tariff": shop_world["full"].pk, "quantity": 1},
             {"tariff": shop_world["free"].pk, "quantity": 2}],
        )  # fmt: skip
    pending, mail = mailoutbox
    assert pending.subject == f"Your order {order.code} is waiting for payment"
    assert mail.to == ["grace@example.test"]
    assert mail.subject == f"Your tickets, order {order.code}"
    assert mail.reply_to == ["billetterie@jorat.example.test"]
    assert [kind for _name, _content, kind in mail.attachments] == ["application/pdf"] * 3
    names = [pdf_text(content) for _name, content, _kind in mail.attachments]
    assert sum("Zoé d’Été" in text for text in names) == 1
    assert sum("Grace Hopper" in text for text in names) == 2
    assert "Le Misanthrope" in mail.body and "Zoé d’Été" in mail.body
    link = next(word for word in mail.body.split() if "/orders/" in word)
    assert link.endswith(f"?token={secrets.order_token(order)}")
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status_code == 200 and order.code in page.content.decode()
    order.refresh_from_db()
    assert order.tickets_sent_at is not None


def test_paying_twice_sends_the_tickets_once(shop_world, mailoutbox, run_tasks):
    order = buy(shop_world, [{"tariff": shop_world["full"].pk, "quantity": 1}], paid=False)
    mailoutbox.clear()
    with run_tasks():
        services.order_mark_paid(order=order, access=shop_world["access"])
        services.order_mark_paid(order=order, access=shop_world["access"])
    assert [mail.subject for mail in mailoutbox] == [f"Your tickets, order {order.code}"]


def test_a_pay_later_order_says_how_much_by_when_and_how(shop_world, mailoutbox, run_tasks):
    services.office_update(
        access=shop_world["access"], office=shop_world["office"],
        pay_later_instructions="IBAN CH93 0076 2011 6238 5295 7, Théâtre du Jorat",
    )  # fmt: skip
    with run_tasks():
        order = buy(shop_world, [{"tariff": shop_world["full"].pk, "quantity": 2}], paid=False)
    [mail] = mailoutbox
    assert mail.subject == f"Your order {order.code} is waiting for payment"
    assert mail.attachments == []
    assert "Amount: 90.00 CHF" in mail.body
    assert "IBAN CH93 0076 2011 6238 5295 7, Théâtre du Jorat" in mail.body
    assert f"Payment reference: {order.code}" in mail.body
    deadline = _local(order.payment_deadline)
    assert f"Pay by: {deadline:%A} {deadline.day} {deadline:%B %Y, %H:%M}" in mail.body


def test_a_french_buyer_gets_french_dates_and_amounts(shop_world, mailoutbox, run_tasks):
    with run_tasks():
        order = buy(
            shop_world, [{"tariff": shop_world["full"].pk, "quantity": 1}], paid=False,
            language="fr",
        )  # fmt: skip
    [mail] = mailoutbox
    deadline = _local(order.payment_deadline)
    assert f"{deadline.day} {FRENCH_MONTHS[deadline.month - 1]} {deadline.year}" in mail.body
    assert "45,00 CHF" in mail.body


def test_a_cancelled_order_is_told_and_nothing_is_attached(shop_world, mailoutbox, run_tasks):
    order = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    mailoutbox.clear()
    with run_tasks():
        services.order_cancel(access=shop_world["access"], order=order)
    [mail] = mailoutbox
    assert mail.subject == f"Your order {order.code} is cancelled"
    assert "no longer valid" in mail.body
    assert mail.attachments == []


def test_tickets_queued_before_a_cancel_are_not_sent(shop_world, mailoutbox, run_tasks):
    order = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    services.order_cancel(access=shop_world["access"], order=order)
    mailoutbox.clear()
    from ticketing.tasks import order_mail_send

    order_mail_send(order.pk, "tickets")
    assert mailoutbox == []


def test_a_cancelled_date_names_the_tickets_lost_and_those_kept(shop_world, mailoutbox, run_tasks):
    world = shop_world
    access = world["access"]
    later = services.date_create(
        access=access, event=world["event"],
        starts_at=world["date"].starts_at + datetime.timedelta(days=7),
    )  # fmt: skip
    zone = services.zone_create(access=access, date=later, name="Parterre", capacity=10)
    tariff = services.tariff_create(access=access, zone=zone, name="Réduit", price=Decimal("5"))
    order = buy(
        world,
        [{"tariff": world["free"].pk, "quantity": 1}, {"tariff": tariff.pk, "quantity": 1}],
    )
    mailoutbox.clear()
    with run_tasks():
        services.date_cancel(access=access, date=world["date"])
    [mail] = mailoutbox
    assert mail.subject == f"A date of your order {order.code} is cancelled"
    assert "Your other tickets are still valid." in mail.body
    [lost] = [line for line in mail.body.splitlines() if "(date cancelled)" in line]
    assert "Balcony" in lost and "Parterre" not in lost
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_the_date_in_the_mail_is_where_the_event_is(shop_world, mailoutbox, run_tasks):
    starts = timezone.now().replace(month=7, day=14, hour=18, minute=30, second=0, microsecond=0)
    starts = starts.replace(year=timezone.now().year + 1, tzinfo=datetime.UTC)
    services.date_update(access=shop_world["access"], date=shop_world["date"], starts_at=starts)
    with run_tasks():
        buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    [mail] = mailoutbox
    # 18:30 UTC in July is 20:30 in Zurich
    assert f"{starts:%A} 14 July {starts.year}, 20:30" in mail.body


def test_a_paid_order_whose_tickets_never_went_out_gets_them_from_the_beat(
    shop_world, mailoutbox, run_tasks
):
    from django.core.cache import cache

    from ticketing.tasks import unsent_tickets_send

    cache.clear()
    # Bought without run_tasks: the emails queued after commit never ran (a broker down).
    order = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 2}])
    recent = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}], name="Ada")
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - datetime.timedelta(hours=1))
    assert Order.objects.get(pk=order.pk).tickets_sent_at is None
    with run_tasks():
        assert unsent_tickets_send() == 1  # the order paid a minute ago may still be on its way
    (mail,) = mailoutbox
    assert mail.subject == f"Your tickets, order {order.code}" and len(mail.attachments) == 2
    assert Order.objects.get(pk=order.pk).tickets_sent_at is not None
    with run_tasks():
        assert unsent_tickets_send() == 0
    assert len(mailoutbox) == 1 and Order.objects.get(pk=recent.pk).tickets_sent_at is None
