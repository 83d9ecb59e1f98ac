"""Settings for `make run`: SQLite and files under var/, an embedded Redis, debug on."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("PANEL_DEBUG", True)
