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

# The demo's draft campaign sent through the sending engine on SQLite: its rows written,
# then `newsletter_deliver` (the process `make run` starts) sends it into files.
SEND = """
from newsletter.models import Campaign
from newsletter.services import sending
from panel.access import access_for
from panel.models import User
owner = User.objects.get(email="owner@demo.panel.localhost")
draft = Campaign.objects.get(status="draft")
job = sending.campaign_send(access=access_for(owner, draft.organisation), campaign=draft)
sending.campaign_start_run(job.pk)
print("rows", draft.recipients.count())
"""

REPORTS = """
from django.test import Client
from newsletter.models import Campaign
from panel.models import User
client = Client()
client.force_login(User.objects.get(email="owner@demo.panel.localhost"))
for campaign in Campaign.objects.all():
    org = campaign.organisation_id
    for url in (f"/o/{org}/newsletter/campaigns/{campaign.pk}/report/",
                f"/o/{org}/newsletter/campaigns/{campaign.pk}/report/progress/"):
        print(url, client.get(url, HTTP_HOST="127.0.0.1").status_code, campaign.status)
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

    assert "rows 2" in manage("shell", "-c", SEND)
    assert "sent 2, failed 0" in manage("newsletter_deliver", "--until-idle")
    assert len(list((tmp_path / "mail" / "newsletter").glob("*.eml"))) == 2
    reports = [line.split() for line in manage("shell", "-c", REPORTS).splitlines()
               if line.startswith("/o/")]  # fmt: skip
    assert [(status, state) for _url, status, state in reports] == [("200", "sent")] * 4
