"""The buyer's tickets by real email: the order's confirmation leaves the panel over SMTP
for the rig's SMTP sink, and what arrives is opened as a mail program would: each PDF
attachment is rendered with pdftoppm and its QR code decoded back to the ticket's secret."""

import email
from email import policy

import pytest

from tests.ticketing import conftest as ticketing_fixtures
from tests.ticketing import test_emails
from tests.ticketing.test_pdf import buy, decode_qr_codes, pdf_text
from ticketing import secrets

pytestmark = pytest.mark.django_db

# the unit tests' fixtures: their office on sale, and tasks run at commit
shop_world = ticketing_fixtures.shop_world
run_tasks = test_emails.run_tasks


def test_the_tickets_arrive_by_smtp_and_their_qr_codes_scan(shop_world, smtp_sink, run_tasks,
                                                            tmp_path):  # fmt: skip
    with run_tasks():
        order = buy(
            shop_world,
            [{"tariff": shop_world["full"].pk, "quantity": 1},
             {"tariff": shop_world["free"].pk, "quantity": 2}],
        )  # fmt: skip

    [received] = smtp_sink.received(f"Your tickets, order {order.code}")
    assert received.rcpt_tos == ("grace@example.test",)
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert message["To"] == "grace@example.test"
    assert message["Reply-To"] == "billetterie@jorat.example.test"
    assert secrets.order_token(order) in message.get_body(preferencelist=("plain",)).get_content()
    attachments = [part for part in message.iter_attachments()]
    assert [part.get_content_type() for part in attachments] == ["application/pdf"] * 3

    decoded, names = [], []
    for number, part in enumerate(attachments):
        assert part.get_filename().startswith(f"ticket-{order.code}-")
        content = part.get_content()
        workdir = tmp_path / str(number)
        workdir.mkdir()
        [code] = decode_qr_codes(content, workdir)
        decoded.append(code)
        names.append("Zoé d’Été" in pdf_text(content))
    tickets = list(order.tickets.all())
    assert sorted(decoded) == sorted(secrets.ticket_secret(t.nonce) for t in tickets)
    assert sorted(secrets.secret_hash(code) for code in decoded) == sorted(
        t.secret_hash for t in tickets
    )
    assert names.count(True) == 1
