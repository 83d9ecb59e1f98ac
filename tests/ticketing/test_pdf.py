"""PDF tickets, read back as a buyer and a door would: the text with pypdf, the QR code by
rendering the page with pdftoppm and decoding it with zxing-cpp."""

import datetime
import io
import subprocess
import zoneinfo

import pypdf
import pytest
import zxingcpp
from PIL import Image

from ticketing import pdf, secrets, services
from ticketing.models import OrderStatus

from .conftest import full_answers

pytestmark = pytest.mark.django_db

FRENCH_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre"]  # fmt: skip


def pdf_text(content: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(content)).pages
    return "\n".join(page.extract_text() for page in pages)


def decode_qr_codes(content: bytes, workdir) -> list[str]:
    """The QR codes on the first page, as a phone would read them off the screen."""
    source = workdir / "ticket.pdf"
    source.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(source),
         str(workdir / "ticket")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with Image.open(workdir / "ticket.png") as image:
        found = zxingcpp.read_barcodes(image)
    return [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]


def buy(world, items, *, name="Grace Hopper", attendee="Zoé d’Été", language="en", paid=True,
        payment="later"):  # fmt: skip
    """An order through the services, as the shop places it; then paid by the organiser
    unless `paid` is false."""
    basket, _key = services.basket_create(office=world["office"], items=items)
    entries = [
        {"answers": full_answers(world, attendee) if t.tariff.form_id else {}}
        for t in services.basket_tickets(basket)
    ]
    services.basket_answers_set(basket=basket, entries=entries)
    order = services.checkout(
        basket=basket, name=name, email="grace@example.test", payment=payment, language=language
    )
    if paid:
        order = services.order_mark_paid(order=order, access=world["access"])
    return order


@pytest.fixture
def order(shop_world):
    return buy(
        shop_world,
        [{"tariff": shop_world["full"].pk, "quantity": 1},
         {"tariff": shop_world["free"].pk, "quantity": 1}],
    )  # fmt: skip


def test_the_show_on_ticket_answer_replaces_the_buyers_name(shop_world, order):
    attendee_ticket, invitation = pdf.ticket_pdfs(order)
    text = pdf_text(attendee_ticket[1])
    assert "Zoé d’Été" in text
    assert "Grace Hopper" not in text
    # the other ticket's tariff asks nothing: it carries the buyer's name
    assert "Grace Hopper" in pdf_text(invitation[1])


def test_a_ticket_shows_the_event_the_seat_and_the_order(shop_world, order):
    ticket = order.tickets.get(tariff=shop_world["full"])
    text = pdf_text(pdf.ticket_pdf(ticket))
    for expected in ("Théâtre du Jorat", "Le Misanthrope", "Mézières", "Stalls", "Full price",
                     "45.00 CHF", order.code, "billetterie@jorat.example.test"):  # fmt: skip
        assert expected in text, expected
    assert secrets.ticket_secret(ticket.nonce) in text
    # the date and hour where the event takes place, not in UTC
    starts = shop_world["date"].starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Zurich"))
    assert starts.strftime("%H:%M") in text
    assert f"{starts.day} {starts.strftime('%B')} {starts.year}" in text


def test_a_french_order_gets_its_date_in_french(shop_world):
    order = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}], language="fr")
    text = pdf_text(pdf.ticket_pdfs(order)[0][1])
    starts = shop_world["date"].starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Zurich"))
    assert f"{starts.day} {FRENCH_MONTHS[starts.month - 1]} {starts.year}" in text
    assert "0,00 CHF" in text


def test_doors_and_extra_show_on_ticket_answers_are_printed(shop_world):
    world = shop_world
    date = world["date"]
    services.date_update(
        access=world["access"], date=date, doors_at=date.starts_at - datetime.timedelta(minutes=45)
    )
    services.field_create(
        access=world["access"], form=world["form"], label="Seat row", type="select",
        options=["A", "B"], show_on_ticket=True, position=2,
    )  # fmt: skip
    ticket_order = buy(world, [{"tariff": world["full"].pk, "quantity": 1}], paid=False)
    ticket = ticket_order.tickets.get()
    services.ticket_answers_change(
        order=ticket_order, ticket=ticket, answers={str(world["form"].fields.last().pk): "B"}
    )
    ticket.refresh_from_db()
    text = pdf_text(pdf.ticket_pdf(ticket))
    doors = (date.starts_at - datetime.timedelta(minutes=45)).astimezone(
        zoneinfo.ZoneInfo("Europe/Zurich")
    )
    assert f"Doors open {doors:%H:%M}" in text
    assert "Attendee name: Zoé d’Été" in text
    assert "Seat row: B" in text


def test_letters_the_standard_fonts_lack_lose_their_accent_not_the_letter(shop_world):
    order = buy(
        shop_world, [{"tariff": shop_world["full"].pk, "quantity": 1}], attendee="Łukasz Őrs"
    )
    text = pdf_text(pdf.ticket_pdfs(order)[0][1])
    assert "Lukasz Ors" in text


def test_the_qr_code_holds_exactly_the_ticket_secret(shop_world, order, tmp_path):
    for ticket in order.tickets.all():
        decoded = decode_qr_codes(pdf.ticket_pdf(ticket), tmp_path)
        assert decoded == [secrets.ticket_secret(ticket.nonce)]
        assert secrets.secret_hash(decoded[0]) == ticket.secret_hash


def test_only_a_paid_orders_valid_tickets_are_drawn_and_always_the_same(shop_world):
    pending = buy(shop_world, [{"tariff": shop_world["full"].pk, "quantity": 2}], paid=False)
    assert pending.status == OrderStatus.PENDING
    assert pdf.ticket_pdfs(pending) == []
    paid = services.order_mark_paid(order=pending, access=shop_world["access"])
    first = pdf.ticket_pdfs(paid)
    assert len({name for name, _content in first}) == 2
    assert all(name.startswith(f"ticket-{paid.code}-") for name, _content in first)
    assert pdf.ticket_pdfs(paid) == first
    services.order_cancel(access=shop_world["access"], order=paid)
    paid.refresh_from_db()
    assert pdf.ticket_pdfs(paid) == []
