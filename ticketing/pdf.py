"""PDF tickets: one A4 page per seat, printable at home or shown on a phone.

The ticket carries what the door and the buyer need: the event, its date and time in the
panel's time zone, the zone, tariff and price, the seat of a numbered zone ("Row A,
seat 5"), the name on the ticket (the "show on
ticket" answers or the buyer's name, services.forms.name_on_ticket), the order code, and
the QR code of the ticket's secret with the secret printed under it for a door that types
it in. The secret is derived from the ticket's nonce (ticketing/secrets.py), so a ticket
can be drawn again at any time and comes out the same.

The text is set in Bitstream Vera, which reportlab ships, embedded in the file; it covers
the Windows-1252 letters (é, è, à, ç, the typographic apostrophe). Letters outside that
set are printed without their accent rather than as black boxes (`_printable`).

The contract the shop pages and the emails rely on:
- `ticket_pdf(ticket) -> bytes`: one ticket's PDF, its QR code holding the secret;
- `ticket_filename(ticket) -> str`: a file name for it;
- `ticket_pdfs(order) -> list[(filename, bytes)]`: one PDF per valid ticket of a paid order.
"""

import io
import unicodedata
import zoneinfo
from pathlib import Path

import reportlab
import segno
from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from . import secrets
from .models import OrderStatus
from .services.forms import ordered_fields

INK = HexColor("#1f2937")
MUTED = HexColor("#6b7280")
ACCENT = HexColor("#1e3a5f")
RULE = HexColor("#d1d5db")


def _embedded_fonts() -> tuple[str, str]:
    """Bitstream Vera, the TrueType fonts that come with reportlab, embedded in each PDF:
    a viewer without Helvetica's metrics would otherwise space the letters oddly."""
    fonts = Path(reportlab.__file__).parent / "fonts"
    for name, file in (("PanelSans", "Vera.ttf"), ("PanelSans-Bold", "VeraBd.ttf")):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(fonts / file)))
    return "PanelSans", "PanelSans-Bold"


REGULAR, BOLD = _embedded_fonts()
CODE = "Courier-Bold"  # monospaced: any viewer's substitute keeps the secret's columns
#: Letters that have no accent-free decomposition in Unicode.
_PLAIN = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ħ": "h", "Ħ": "H"}


def _printable(text) -> str:
    """`text` in the letters the standard fonts have (Windows-1252): others lose their
    accent (ő -> o) or become '?', never a black box."""
    out = []
    for char in str(text or ""):
        try:
            char.encode("cp1252")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _PLAIN:
            out.append(_PLAIN[char])
            continue
        base = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        try:
            base.encode("cp1252")
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def ticket_filename(ticket) -> str:
    reference = ticket.order.code if ticket.order_id else "invitation"
    return f"ticket-{reference}-{ticket.pk}.pdf"


def _local(moment):
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _when(date) -> tuple[str, str]:
    """('Saturday 14 June 2025', '20:00 – 22:30') in the active language."""
    starts = _local(date.starts_at)
    day = formats.date_format(starts, "l j F Y")
    hours = formats.time_format(starts, "H:i")
    if date.ends_at:
        ends = _local(date.ends_at)
        if ends.date() == starts.date():
            hours = f"{hours} – {formats.time_format(ends, 'H:i')}"
    return day, hours


def _price(amount, currency: str) -> str:
    return f"{formats.number_format(amount, 2, use_l10n=True)} {currency}"


def _shown_answers(ticket) -> list[tuple[str, str]]:
    """The "show on ticket" answers with their labels, in the display order."""
    if not ticket.tariff.form_id:
        return []
    shown = []
    for field in ordered_fields(ticket.tariff.form):
        answer = ticket.answers.get(str(field.pk), ticket.answers.get(field.pk))
        if isinstance(answer, list):
            answer = ", ".join(answer)
        if field.show_on_ticket and answer:
            shown.append((field.label, str(answer)))
    return shown


class _Page:
    """A canvas with the few moves a ticket needs, every text made printable."""

    def __init__(self, pdf: canvas.Canvas):
        self.pdf = pdf

    def text(self, x, y, text, *, font=REGULAR, size=10, color=INK, align="left"):
        self.pdf.setFont(font, size)
        self.pdf.setFillColor(color)
        text = _printable(text)
        if align == "right":
            self.pdf.drawRightString(x, y, text)
        elif align == "centre":
            self.pdf.drawCentredString(x, y, text)
        else:
            self.pdf.drawString(x, y, text)

    def lines(self, x, y, text, *, width, font=REGULAR, size=10, color=INK, most=3, leading=None):
        """`text` wrapped to `width`, at most `most` lines; returns the y under it."""
        leading = leading or size * 1.25
        wrapped = simpleSplit(_printable(text), font, size, width)
        if len(wrapped) > most:
            wrapped = wrapped[:most]
            wrapped[-1] = wrapped[-1].rstrip(" .,") + "…"
        for line in wrapped:
            self.text(x, y, line, font=font, size=size, color=color)
            y -= leading
        return y

    def label_value(self, x, y, label, value, *, width, size=11):
        """A small grey label over its value; returns the y under the pair."""
        self.text(x, y, label.upper(), size=7, color=MUTED)
        return self.lines(x, y - size - 1, value, width=width, font=BOLD, size=size, most=2) - 4

    def qr(self, x, y, size, data: str):
        """The QR code of `data`, `size` points wide (quiet zone included), its lower left
        corner at (x, y); dark runs of a row are drawn as one rectangle."""
        code = segno.make(data, error="m")
        rows = [list(row) for row in code.matrix_iter(scale=1, border=4)]
        module = size / len(rows)
        self.pdf.setFillColor(white)
        self.pdf.rect(x, y, size, size, stroke=0, fill=1)
        self.pdf.setFillColor(HexColor("#000000"))
        for index, row in enumerate(rows):
            top = y + size - (index + 1) * module
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                self.pdf.rect(
                    x + start * module, top, (column - start) * module, module, stroke=0, fill=1
                )


def _draw(page: _Page, ticket, secret: str) -> None:
    # A guest's invitation ticket has no order: its guest stands for the buyer.
    order, guest = ticket.order, ticket.guest
    office = order.office if order else guest.event.office
    tariff = ticket.tariff
    zone = ticket.zone
    date = zone.date
    event = date.event
    pdf = page.pdf
    width, height = A4
    left, right = 15 * mm, width - 15 * mm
    top = height - 15 * mm

    # the card's band; its frame is drawn last, around whatever the card holds
    band = 14 * mm
    pdf.setFillColor(ACCENT)
    pdf.roundRect(left, top - band, right - left, band, 4 * mm, stroke=0, fill=1)
    pdf.rect(left, top - band, right - left, band / 2, stroke=0, fill=1)
    page.text(left + 6 * mm, top - 9 * mm, office.name, font=BOLD, size=13, color=white)
    page.text(right - 6 * mm, top - 9 * mm, _("Ticket"), size=11, color=white, align="right")

    # the QR code column on the right
    qr_size = 52 * mm
    qr_x = right - 6 * mm - qr_size
    qr_y = top - band - 6 * mm - qr_size
    page.qr(qr_x, qr_y, qr_size, secret)
    page.text(qr_x + qr_size / 2, qr_y - 5 * mm, secret, font=CODE, size=9, align="centre")
    page.text(
        qr_x + qr_size / 2, qr_y - 9.5 * mm, _("Ticket code"), size=7, color=MUTED, align="centre"
    )

    # the event, its date and place
    x = left + 6 * mm
    column = qr_x - 8 * mm - x
    y = top - band - 11 * mm
    y = page.lines(x, y, event.title, width=column, font=BOLD, size=20, most=2) - 2
    day, hours = _when(date)
    page.text(x, y, day, font=BOLD, size=12)
    y -= 15
    if date.doors_at:
        doors = formats.time_format(_local(date.doors_at), "H:i")
        hours = f"{hours}   ·   " + _("Doors open %(time)s") % {"time": doors}
    page.text(x, y, hours, size=11)
    y -= 15
    if event.venue:
        y = page.lines(x, y, event.venue, width=column, size=11, color=MUTED, most=2)
    y -= 6
    pdf.setStrokeColor(RULE)
    pdf.line(x, y, x + column, y)
    y -= 14

    # zone, tariff, price side by side
    third = column / 3
    page.label_value(x, y, _("Zone"), zone.name, width=third - 6)
    page.label_value(x + third, y, _("Tariff"), tariff.name, width=third - 6)
    price = _price(ticket.price, order.currency) if order else pgettext("ticket", "Invitation")
    page.label_value(x + 2 * third, y, _("Price"), price, width=third)
    y -= 36
    if ticket.seat_id:
        page.text(x, y, pgettext("ticket", "Seat").upper(), size=7, color=MUTED)
        y = page.lines(x, y - 16, ticket.seat.label, width=column, font=BOLD, size=15, most=1)
        y -= 6

    # the name on the ticket, and the other answers shown on it
    page.text(x, y, pgettext("ticket", "Name").upper(), size=7, color=MUTED)
    holder = ticket.holder_name or (order.buyer_name if order else guest.name)
    y = page.lines(x, y - 16, holder, width=column, font=BOLD, size=15, most=2)
    shown = _shown_answers(ticket)
    if len(shown) > 1:
        for label, answer in shown[:3]:
            y = page.lines(x, y, f"{label}: {answer}", width=column, size=9, color=MUTED, most=1)
    y -= 8
    if order:
        page.text(x, y, pgettext("ticket", "Order").upper(), size=7, color=MUTED)
        page.text(x, y - 14, order.code, font=CODE, size=12)
    else:
        page.text(x, y, pgettext("ticket", "Invitation").upper(), size=7, color=MUTED)
        page.text(x, y - 14, guest.name, size=12)
    bottom = min(y - 14 - 6 * mm, qr_y - 16 * mm)
    pdf.setStrokeColor(RULE)
    pdf.setLineWidth(1)
    pdf.roundRect(left, bottom, right - left, top - bottom, 4 * mm, stroke=1, fill=0)

    # the cut line and the organiser's contact under the card
    pdf.setDash(3, 3)
    pdf.setStrokeColor(MUTED)
    pdf.line(left, bottom - 8 * mm, right, bottom - 8 * mm)
    pdf.setDash()
    y = bottom - 18 * mm
    page.lines(
        left, y,
        _("Show this ticket at the entrance, printed or on your phone. Each ticket admits "
          "one person; keep its code to yourself."),
        width=right - left, size=10, most=3,
    )  # fmt: skip
    y -= 34
    page.text(left, y, _("Organiser"), font=BOLD, size=10)
    y -= 14
    contact = [office.name, office.contact_email, office.contact_phone]
    for line in filter(None, contact):
        page.text(left, y, line, size=10)
        y -= 13
    for paragraph in filter(None, (office.contact_details or "").splitlines()):
        y = page.lines(left, y, paragraph, width=right - left, size=10, most=2, leading=13)


def ticket_pdf(ticket) -> bytes:
    """One ticket as a one-page PDF, in the order's language (a guest's in the language
    of the page asking for it). Drawing the same ticket twice gives the same bytes."""
    order = ticket.order
    secret = secrets.ticket_secret(ticket.nonce)
    buffer = io.BytesIO()
    if order:
        language, reference, office = order.language, order.code, order.office
    else:
        language, reference = translation.get_language(), ticket.guest.name
        office = ticket.guest.event.office
    with translation.override(language or settings.LANGUAGE_CODE):
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
        pdf.setTitle(_printable(f"{ticket.zone.date.event.title} – {reference}"))
        pdf.setAuthor(_printable(office.name))
        pdf.setCreator("Panel")
        _draw(_Page(pdf), ticket, secret)
        pdf.showPage()
        pdf.save()
    return buffer.getvalue()


def ticket_pdfs(order) -> list[tuple[str, bytes]]:
    """One PDF per valid (not cancelled) ticket of a paid order; none otherwise."""
    if order.status != OrderStatus.PAID:
        return []
    tickets = (
        order.tickets.filter(cancelled=False)
        .select_related("zone__date__event", "tariff__form", "seat")
        .prefetch_related("tariff__form__fields")
        .order_by("pk")
    )
    pdfs = []
    for ticket in tickets:
        ticket.order = order
        pdfs.append((ticket_filename(ticket), ticket_pdf(ticket)))
    return pdfs


def guest_ticket_pdfs(guest) -> list[tuple[str, bytes]]:
    """One PDF per seat a guest has accepted."""
    tickets = (
        guest.tickets.filter(cancelled=False)
        .select_related("zone__date__event", "tariff__form", "seat")
        .prefetch_related("tariff__form__fields")
        .order_by("pk")
    )
    pdfs = []
    for ticket in tickets:
        ticket.guest = guest
        pdfs.append((ticket_filename(ticket), ticket_pdf(ticket)))
    return pdfs
