"""Panel project package and tenancy core (organisations, teams, tokens, jobs, activity)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
