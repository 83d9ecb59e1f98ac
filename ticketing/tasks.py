"""Celery tasks of the ticket office: thin wrappers that take ids."""

from celery import shared_task

from .models import Order


@shared_task(
    name="ticketing.order_mail_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def order_mail_send(order_id: int, kind: str) -> None:
    """The buyer's email about an order (`tickets`, `pending`, `cancelled`,
    `date_cancelled`). Sending the tickets twice is harmless; the task may be retried."""
    from .emails import order_mail

    order = Order.objects.filter(pk=order_id).select_related("office").first()
    if order is not None:
        order_mail(order, kind)


@shared_task(name="ticketing.orders_expire")
def orders_expire() -> int:
    from .services.sales import orders_expire as expire

    return expire()
