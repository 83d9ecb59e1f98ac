"""Signals the tenancy core sends so product apps can react without the core naming them."""

from django.dispatch import Signal

#: Sent inside the transaction of `invitation_accept`, with `invitation` and `user`.
invitation_accepted = Signal()
