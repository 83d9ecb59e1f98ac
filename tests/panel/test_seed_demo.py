"""`make run` seeds a demo organisation whose Service Mail shows each sort of address."""

from io import StringIO

from django.core.management import call_command

from domains.models import RRset
from mail.models import Address, Alias, MailLogEntry, RedirectAddress
from newsletter.models import Newsletter
from newsletter.selectors import recipient_count
from newsletter.services.campaigns import campaign_problems, segment_of
from newsletter.services.reports import campaign_report
from panel.models import Organisation
from ticketing.models import Tariff, TicketOffice


def test_the_demo_is_seeded_once_with_its_mail(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # safe to run again
    assert Organisation.objects.filter(name="Demo Organisation").count() == 1
    assert sorted(Address.objects.values_list("local_part", "kind")) == [
        ("contact", "mailbox"),
        ("max", "mailbox"),
        ("no-reply", "no_reply"),
    ]
    assert list(Alias.objects.values_list("local_part", flat=True)) == ["hello"]
    assert list(RedirectAddress.objects.values_list("local_part", flat=True)) == ["sales"]
    assert "owner@demo.panel.localhost / demo-panel-2026" in out.getvalue()
    # a ticket office whose shop sells an event at once (issue 14)
    office = TicketOffice.objects.get()
    assert f"/shop/{office.slug}/" in out.getvalue()
    [event] = office.events.filter(status="on_sale")
    assert event.dates.count() == 2 and Tariff.objects.filter(zone__date__event=event).count() == 6
    # a newsletter with a list, its groups and contacts, one of whom left (issue 16)
    newsletter = Newsletter.objects.get()
    monthly = newsletter.lists.get(name="Monthly news")
    assert sorted(monthly.groups.values_list("name", flat=True)) == ["Customers 2026", "VIP"]
    assert recipient_count(newsletter=newsletter, lists=[monthly]) == 3
    vip = monthly.groups.get(name="VIP")
    assert recipient_count(newsletter=newsletter, lists=[monthly], exclude_groups=[vip]) == 2
    # a draft campaign from a verified sender of the demo's Service Mail, ready to schedule
    [draft] = newsletter.campaigns.filter(status="draft")
    assert (draft.status, draft.sender.email, draft.sender.verified) == (
        "draft",
        "hello@demo.example",
        True,
    )
    assert campaign_problems(draft) == [] and recipient_count(**segment_of(draft)) == 2
    # last week's campaign, sent to the three subscribers, with its opens and a click
    [sent_campaign] = newsletter.campaigns.filter(status="sent")
    report = campaign_report(sent_campaign)
    figures = (
        report["recipients"]["delivered"],
        report["opens"]["unique"],
        report["clicks"]["unique"],
    )
    assert figures == (3, 2, 1)
    # a week of sending for max@, so the meter and the mail log have something to show
    sent = MailLogEntry.objects.filter(address__local_part="max")
    assert sent.count() > 20 and not MailLogEntry.objects.exclude(address__local_part="max")
    # its zone serves its site and its Service Mail (issue 13: the demo agrees with itself)
    assert sorted(RRset.objects.values_list("name", "type")) == [
        ("_autodiscover._tcp.demo.example", "SRV"),
        ("_dmarc.demo.example", "TXT"),
        ("autoconfig.demo.example", "CNAME"),
        ("autodiscover.demo.example", "CNAME"),
        ("demo.example", "MX"),
        ("demo.example", "NS"),
        ("demo.example", "TXT"),
        ("panel._domainkey.demo.example", "TXT"),
        ("www.demo.example", "A"),
    ]
