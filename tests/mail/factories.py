"""Mail log entries as the policy service would store them, at a chosen time."""

import uuid

import factory
from django.utils import timezone

from mail.models import MailLogEntry, MailLogStatus


class MailLogEntryFactory(factory.django.DjangoModelFactory):
    """`MailLogEntryFactory(address=a, ago=timedelta(hours=2), recipient_count=3)`: one
    message of `a` two hours ago to three generated recipients."""

    class Meta:
        model = MailLogEntry

    class Params:
        ago = None

    id = factory.LazyFunction(uuid.uuid4)
    address = None
    organisation = factory.SelfAttribute("address.organisation")
    service = factory.SelfAttribute("address.service")
    occurred_at = factory.LazyAttribute(
        lambda o: timezone.now() - o.ago if o.ago else timezone.now()
    )
    sender = factory.LazyAttribute(lambda o: str(o.address))
    recipient_count = 1
    recipients = factory.LazyAttribute(
        lambda o: ", ".join(
            f"friend{i}@elsewhere.example" for i in range(min(o.recipient_count, 100))
        )
    )
    status = MailLogStatus.ACCEPTED
    queue_id = factory.Sequence(lambda n: f"4Q{n:06X}")
    client_address = "192.0.2.10"
