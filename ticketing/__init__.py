"""Ticket office product app."""
