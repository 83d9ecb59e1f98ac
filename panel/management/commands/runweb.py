"""`runserver` for `make run` (started by runpanel), with a listen queue long enough for a
crowd: Django's development server queues 10 connections, and the eleventh of a burst of
buyers opening the shop at once was reset instead of waiting its turn."""

from django.contrib.staticfiles.management.commands.runserver import Command as RunServer
from django.core.servers.basehttp import WSGIServer


class CrowdWSGIServer(WSGIServer):
    request_queue_size = 1024


class Command(RunServer):
    help = "Serves the panel for `make run`, like runserver, with a longer listen queue."
    server_cls = CrowdWSGIServer
