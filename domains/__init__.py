"""Domains product app."""
