"""Public Cloud product app."""
