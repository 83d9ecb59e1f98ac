"""Tests against real servers started by the rig (Dovecot, Postfix, an SMTP sink ...)."""
