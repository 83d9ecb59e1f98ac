"""Service Mail product app."""
