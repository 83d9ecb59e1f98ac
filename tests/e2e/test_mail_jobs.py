"""Service Mail Jobs in headless Chromium, with a real Celery worker: a CSV file with
mistakes shows every problem and creates nothing, the corrected file's Job is followed to
its end; a backup is restored from the address page; the import form suggests the port.
Screenshots go to /tmp/mail-jobs-shots/, at desktop and at a 390px phone width."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from mail import services
from mail.models import Address
from mail.services.backups import snapshot_take
from panel.access import access_for
from panel.models import Job, JobStatus
from tests import factories as f

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/mail-jobs-shots")
MAILBOX_PASSWORD = "Sturdy-Pass-2048"
WITH_MISTAKES = (
    "local_part;password;redirect_to;delete_after_redirect\n"
    "anna;Change-Me-2048;;\n"
    "bruno;short;;\n"
    "anna;Another-Pass-4096;;\n"
    "chloe;Good-Pass-4096;not-an-address;\n"
    "box;Good-Pass-4096;;1\n"
)
CORRECTED = (
    "local_part;password;redirect_to;delete_after_redirect\n"
    "anna;Change-Me-2048;;\n"
    "bruno;Longer-Pass-4096;;\n"
    "chloe;Good-Pass-4096;chloe@elsewhere.example;1\n"
)


def shot(page, name, full_page=True):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def csv_file(text, name="team.csv"):
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MAIL_STORE_ROOT = tmp_path / "mailstore"
    settings.MAIL_BACKUP_ROOT = tmp_path / "backups"
    settings.MAIL_STORE_ROOT.mkdir()
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Acme Robotics", legal_representative=legal)
    service = f.MailServiceFactory(
        organisation=org, name="shop.example", plan="premium", address_quota=20
    )
    box, _generated = services.address_create(
        access=access_for(legal, org),
        service=service,
        local_part="box",
        mode="unassigned",
        password=MAILBOX_PASSWORD,
    )
    snapshot = snapshot_take(box)  # today's backup of an empty mailbox
    return {"org": org, "service": service, "box": box, "snapshot": snapshot}


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_csv_creation_restore_and_import_in_the_browser(live_server, world, browser, celery_worker):
    base, org, service = live_server.url, world["org"], world["service"]
    service_url = f"{base}/o/{org.pk}/mail/{service.pk}/"
    box_url = f"{service_url}addresses/box/"
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()

    # The service page's menu leads to the CSV page and the template.
    page.goto(service_url)
    page.locator("details.menu", has_text="More").locator("summary").click()
    expect(page.get_by_role("link", name="Download the CSV template")).to_be_visible()
    shot(page, "01-service-menu", full_page=False)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the CSV template").click()
    assert download.value.suggested_filename == "addresses-template.csv"
    page.reload()
    page.locator("details.menu", has_text="More").locator("summary").click()
    page.get_by_role("link", name="Create addresses from a CSV file").click()
    expect(page.get_by_role("heading", name="Create addresses from a CSV file")).to_be_visible()
    expect(page.get_by_test_id("csv-budget")).to_contain_text("50")
    shot(page, "02-csv-page")

    # A file with mistakes: every problem with its line, nothing created.
    page.get_by_label("CSV file").set_input_files(csv_file(WITH_MISTAKES))
    page.get_by_role("button", name="Check the file and create the addresses").click()
    problems = page.get_by_test_id("csv-problems")
    expect(page.get_by_test_id("csv-problem-count")).to_have_text(
        "5 problems; nothing was created."
    )
    for line in (3, 4, 5, 6):
        expect(problems.locator(f"tr[data-line='{line}']").first).to_be_visible()
    expect(problems).to_contain_text("anna is already on line 2.")
    assert not Address.objects.filter(service=service, local_part="anna").exists()
    shot(page, "03-csv-problems")

    # The corrected file: its Job runs on the worker, the page follows it to the end.
    page.get_by_label("CSV file").set_input_files(csv_file(CORRECTED))
    page.get_by_role("button", name="Check the file and create the addresses").click()
    expect(page.get_by_role("heading", name="Addresses created from a CSV file")).to_be_visible()
    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("job-done")).to_contain_text("Done: 3 addresses were created.")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    page.wait_for_timeout(500)  # the bar's width transition
    shot(page, "04-csv-job-done")
    page.get_by_test_id("job-done").get_by_role("link", name="Back to shop.example").click()
    table = page.get_by_test_id("addresses")
    for name in ("anna", "bruno", "chloe"):
        expect(table.locator(f"[data-address={name}]")).to_be_visible()
    expect(page.get_by_test_id("usage")).to_contain_text("4 of 20 addresses used")

    # Restore today's backup of box: a confirmation says what it does, then the Job.
    page.goto(box_url)
    backups = page.get_by_test_id("backups")
    expect(backups.locator("[data-backup]")).to_have_count(1)
    shot(page, "05-address-backups")
    backups.get_by_role("link", name="Restore the backup of").click()
    expect(page.get_by_test_id("restore-confirm")).to_contain_text("not duplicated")
    shot(page, "06-restore-confirm")
    page.get_by_role("button", name="Restore this backup").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("job-done")).to_contain_text("Restore complete")
    shot(page, "07-restore-done")
    assert Job.objects.get(kind="mail_restore").status == JobStatus.SUCCEEDED

    # The import form: switching TLS off suggests port 143.
    page.goto(box_url)
    port = page.get_by_label("Port", exact=True)
    expect(port).to_have_value("993")
    page.get_by_label("Encrypted connection (TLS)").uncheck()
    expect(port).to_have_value("143")
    expect(page.locator("[data-port-hint]")).to_contain_text("143")
    page.get_by_label("Encrypted connection (TLS)").check()
    expect(port).to_have_value("993")
    page.locator("#import").scroll_into_view_if_needed()
    shot(page, "08-import-form", full_page=False)

    # The same pages at a phone's width.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(TIMEOUT_MS)
    mobile.goto(f"{service_url}new-addresses/csv/")
    mobile.get_by_label("CSV file").set_input_files(csv_file(WITH_MISTAKES))
    mobile.get_by_role("button", name="Check the file and create the addresses").click()
    expect(mobile.get_by_test_id("csv-problems")).to_be_visible()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways
    shot(mobile, "09-mobile-csv-problems")
    mobile.get_by_test_id("csv-problems").scroll_into_view_if_needed()
    shot(mobile, "09b-mobile-csv-problems-table", full_page=False)
    mobile.goto(
        f"{base}/o/{org.pk}/mail/{service.pk}/jobs/{Job.objects.get(kind='mail_csv_import').pk}/"
    )
    expect(mobile.get_by_test_id("job-done")).to_be_visible()
    shot(mobile, "10-mobile-job-done")
    mobile.goto(box_url)
    expect(mobile.get_by_test_id("backups")).to_be_visible()
    shot(mobile, "11-mobile-address")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
    context.close()
