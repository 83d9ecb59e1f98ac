"""Bulk creation from CSV: the file is read as spreadsheets write it, checked whole with
every problem named by line and column, refused whole when it does not fit, and created
by a Job that leaves all the addresses or none."""

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.csv_import import CsvInvalid, template_csv
from mail.models import (
    Address,
    CreationBudget,
    CsvImport,
    CsvImportStatus,
    ForwardTarget,
)
from mail.passwords import check_password
from mail.services import address_create, alias_add
from mail.services.bulk import CreationBudgetExceeded, budget_left, csv_import_start
from mail.tasks import create_addresses_from_csv
from panel.access import access_for
from panel.errors import Conflict, PanelError
from panel.models import Job
from tests import factories as f

GOOD = "Sturdy-Pass-2048"


@pytest.fixture
def admin(org_world):
    return access_for(org_world["admin"], org_world["org"])


@pytest.fixture
def service(org_world):
    return f.MailServiceFactory(
        organisation=org_world["org"], plan="premium", address_quota=100, domain="bulk.test"
    )


def start(admin, service, text, name="people.csv", encoding="utf-8"):
    data = text.encode(encoding) if isinstance(text, str) else text
    return csv_import_start(access=admin, service=service, data=data, file_name=name)


def problems(admin, service, text):
    with pytest.raises(CsvInvalid) as error:
        start(admin, service, text)
    return [(p.line, p.column, p.code) for p in error.value.errors]


def run(csv_import):
    create_addresses_from_csv(csv_import.job_id)
    return Job.objects.get(pk=csv_import.job_id)


# -- reading ------------------------------------------------------------------------------


def test_the_template_is_accepted_as_it_is(admin, service):
    job = run(start(admin, service, template_csv()))
    assert job.status == "succeeded" and job.result["created"] == 2
    bob = Address.objects.get(service=service, local_part="bob")
    assert bob.keep_copy is True
    assert list(bob.forward_targets.values_list("email", flat=True)) == ["bob@example.org"]
    assert check_password("Change-Me-2048", Address.objects.get(local_part="alice").password_hash)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffalice;Pass-one-2048\r\n\r\nbob;Pass-two-2048;bob@far.test;1\r\n",
        'local_part,password\n"alice","Pass-one-2048"\n\n  \n'
        'bob,"Pass, two; 2048",bob@far.test,1\n',
        "Adresse;Mot de passe\nalice;Pass-one-2048\nbob;Pass-two-2048;bob@far.test;1",
    ],
    ids=["bom-semicolon-blank-lines", "header-quoted-comma", "french-header-no-final-newline"],
)
def test_files_as_spreadsheets_write_them(admin, service, text):
    run(start(admin, service, text))
    assert sorted(Address.objects.values_list("local_part", "keep_copy")) == [
        ("alice", True),
        ("bob", False),
    ]
    assert ForwardTarget.objects.get().email == "bob@far.test"


def test_every_problem_is_named_by_line_and_column_and_nothing_is_created(admin, service):
    existing, _ = address_create(
        access=admin, service=service, local_part="taken", mode="unassigned", password=GOOD
    )
    alias_add(access=admin, address=existing, local_part="nick")
    text = "\n".join(
        [
            "local_part,password,redirect_to,delete_after_redirect",
            "ok,Pass-fine-2048",  # line 2
            "bad name,Pass-fine-2048",  # 3
            "ok,Pass-fine-2048",  # 4 duplicate
            "taken,Pass-fine-2048",  # 5
            "nick,Pass-fine-2048",  # 6 alias
            "weak,short",  # 7
            "redir,Pass-fine-2048,not-an-email",  # 8
            "flag,Pass-fine-2048,x@far.test,2",  # 9
            "lone,Pass-fine-2048,,1",  # 10
            "self,Pass-fine-2048,loop@bulk.test",  # 11
        ]
    )
    assert problems(admin, service, text) == [
        (3, "A", "invalid_local_part"),
        (4, "A", "duplicate_in_file"),
        (5, "A", "already_exists"),
        (6, "A", "already_exists"),
        (7, "B", "weak_password"),
        (8, "C", "invalid_redirect"),
        (9, "D", "invalid_delete_flag"),
        (10, "D", "delete_flag_without_redirect"),
        (11, "C", "invalid_redirect"),
    ]
    assert list(Address.objects.values_list("local_part", flat=True)) == ["taken"]
    assert not CsvImport.objects.exists() and not Job.objects.exists()


def test_a_quoted_field_over_two_lines_keeps_the_line_numbers_right(admin, service):
    text = 'a1,Pass-fine-2048\n"a2\nsplit",Pass-fine-2048\nbad!,Pass-fine-2048\n'
    assert problems(admin, service, text) == [
        (2, "A", "invalid_local_part"),
        (4, "A", "invalid_local_part"),
    ]


def test_a_file_that_is_not_utf8_names_its_line(admin, service):
    data = "alice,Pass-fine-2048\nbob,Pässe-fine-2048\n".encode("latin-1")
    assert problems(admin, service, data) == [(2, "", "not_utf8")]


def test_an_empty_file_is_refused(admin, service):
    assert problems(admin, service, "local_part,password\n\n") == [(0, "", "empty")]


# -- quota and budget ----------------------------------------------------------------------


def test_a_file_over_the_quota_says_what_is_needed_and_available(admin, service):
    service.address_quota = 2
    service.save()
    with pytest.raises(Conflict) as error:
        start(admin, service, "a1,Pass-fine-2048\na2,Pass-fine-2048\na3,Pass-fine-2048\n")
    assert error.value.code == "address_quota_reached"
    assert "3 addresses but only 2 remain" in str(error.value.detail)


def _rows(n, prefix="p"):
    return "".join(f"{prefix}{i},Pass-fine-2048\n" for i in range(n))


def test_the_budget_of_50_per_rolling_day_refuses_a_file_whole(admin, service, org_world):
    run(start(admin, service, _rows(40, "a")))
    with pytest.raises(CreationBudgetExceeded) as error:
        start(admin, service, _rows(11, "b"))
    assert error.value.status == 429 and error.value.code == "creation_budget_exceeded"
    assert "10 more addresses" in str(error.value.detail)
    assert 23 * 3600 < error.value.retry_after <= 24 * 3600
    assert Address.objects.count() == 40
    run(start(admin, service, _rows(10, "c")))  # exactly what is left
    # A day later the window has rolled past the first file.
    CsvImport.objects.update(created_at=timezone.now() - timezone.timedelta(hours=24, minutes=1))
    assert budget_left(org_world["org"])[0] == 50


def test_staff_can_raise_or_lift_the_budget(admin, service, org_world):
    CreationBudget.objects.create(organisation=org_world["org"], addresses_per_day=60)
    run(start(admin, service, _rows(60)))
    CreationBudget.objects.filter(organisation=org_world["org"]).update(unlimited=True)
    assert budget_left(org_world["org"]) == (None, None)
    run(start(admin, service, _rows(30, "x")))
    assert Address.objects.count() == 90


# -- the Job ---------------------------------------------------------------------------------


def test_the_job_creates_everything_or_nothing_and_gives_the_budget_back(admin, service, org_world):
    csv_import = start(admin, service, _rows(5))
    # Someone takes one of the names before the Job runs.
    address_create(access=admin, service=service, local_part="p3", mode="unassigned", password=GOOD)
    with pytest.raises(Conflict):
        create_addresses_from_csv(csv_import.job_id)
    job = Job.objects.get(pk=csv_import.job_id)
    assert job.status == "failed"
    assert "p3@bulk.test was created since the file was checked" in job.errors[0]["detail"]
    assert list(Address.objects.values_list("local_part", flat=True)) == ["p3"]
    csv_import.refresh_from_db()
    assert csv_import.status == CsvImportStatus.FAILED and csv_import.payload == ""
    assert budget_left(org_world["org"])[0] == 50


def test_a_job_delivered_twice_creates_nothing_more(admin, service):
    CreationBudget.objects.create(organisation=service.organisation, unlimited=True)
    csv_import = start(admin, service, _rows(80))  # enough rows to hash on several processes
    run(csv_import)
    run(csv_import)
    assert Address.objects.count() == 80
    csv_import.refresh_from_db()
    assert csv_import.payload == ""  # the passwords do not outlive the Job


def test_the_passwords_are_never_stored_in_clear(admin, service):
    csv_import = start(admin, service, "alice,Secret-Pass-4096\n")
    assert "Secret-Pass-4096" not in csv_import.payload
    assert "Secret-Pass-4096" not in str(Job.objects.get(pk=csv_import.job_id).params)


# -- fuzzing ------------------------------------------------------------------------------

cells = st.one_of(
    st.sampled_from(
        [
            "alice",
            "b.o.b",
            "x y",
            "",
            "Pass-fine-2048",
            "short",
            "a@far.test",
            "0",
            "1",
            "2",
            '"',
            ";",
            ",",
        ]
    ),
    st.text(max_size=12),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cells, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", ";"]),
    junk=st.binary(max_size=20),
    add_junk=st.booleans(),
)
def test_any_file_is_either_refused_cleanly_or_created_whole(
    admin, service, rows, delimiter, junk, add_junk
):
    data = "\n".join(delimiter.join(row) for row in rows).encode()
    if add_junk:
        data += junk
    before = Address.objects.count()
    try:
        csv_import = csv_import_start(access=admin, service=service, data=data)
    except PanelError:
        assert Address.objects.count() == before
        return
    CreationBudget.objects.update_or_create(
        organisation=csv_import.organisation, defaults={"unlimited": True}
    )
    try:
        create_addresses_from_csv(csv_import.job_id)
    except PanelError:
        assert Address.objects.count() == before
    else:
        assert Address.objects.count() == before + csv_import.address_count
    Address.objects.all().delete()


def test_a_file_bigger_than_the_whole_budget_says_so(admin, service):
    with pytest.raises(CreationBudgetExceeded) as error:
        start(admin, service, _rows(51))
    assert "at most 50 addresses in 24 hours; this one has 51" in str(error.value.detail)
    assert not Address.objects.exists() and not CsvImport.objects.exists()
