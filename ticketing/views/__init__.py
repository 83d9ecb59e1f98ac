"""Ticket office pages of the Manager, under /o/<org_id>/ticketing/."""
