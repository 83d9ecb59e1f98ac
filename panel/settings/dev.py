"""Settings for `make run`: SQLite and files under var/, an embedded Redis, debug on."""

import os

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool

DEBUG = env_bool("PANEL_DEBUG", True)

# A fresh clone has no var/ (it is ignored by git); SQLite needs its folder to exist.
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Locally, importing from a mail server on this machine or the LAN is the usual case.
MAIL_IMPORT_ALLOW_PRIVATE_HOSTS = env_bool("PANEL_MAIL_IMPORT_ALLOW_PRIVATE_HOSTS", True)

# `make run` serves everyone from 127.0.0.1: a local script playing hundreds of buyers
# would be one client address. The shop's limit stays on, higher (production: 120/min).
TICKETING_SHOP_RATE = os.environ.get("PANEL_TICKETING_SHOP_RATE", "2000/min")
