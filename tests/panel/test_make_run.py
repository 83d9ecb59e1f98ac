"""`make run` works on its embedded defaults: SQLite, no server. Its steps (migrate,
seed_demo) and the demo's main pages run here in a process of their own on SQLite, as a
new user's first command does; the rest of the suite runs on PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"

PAGES = """
from django.test import Client
from mail.models import Address
from panel.models import User
client = Client()
client.force_login(User.objects.get(email="owner@demo.panel.localhost"))
max_address = Address.objects.get(local_part="max")
org, service = max_address.organisation_id, max_address.service_id
for url in (
    f"/o/{org}/", f"/o/{org}/mail/", f"/o/{org}/mail/{service}/",
    f"/o/{org}/mail/{service}/addresses/max/", f"/o/{org}/mail/{service}/addresses/max/mail-log/",
    f"/o/{org}/domains/", f"/o/{org}/activity/",
):
    status = client.get(url, HTTP_HOST="127.0.0.1").status_code
    print(url, status)
"""


def test_migrate_seed_and_the_demo_pages_work_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "PANEL_VAR_DIR": str(tmp_path),
    }

    def manage(*args):
        result = subprocess.run([sys.executable, MANAGE, *args], env=env, capture_output=True,
                                text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput")
    assert "Demo organisation ready." in manage("seed_demo")
    output = manage("shell", "-c", PAGES).splitlines()
    pages = dict(line.split() for line in output if line.startswith("/o/"))
    assert len(pages) == 7 and set(pages.values()) == {"200"}, pages
