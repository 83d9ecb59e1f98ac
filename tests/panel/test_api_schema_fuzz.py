"""Schemathesis walks every operation of the served OpenAPI schema (issue 12, item 12).

For each operation it generates valid requests (path parameters pinned to a world of
real objects, so they reach the services) and invalid ones (anything goes), a bounded
number of each, and checks what a script would rely on: no answer is a 5xx, and every
documented answer has the documented shape. Each operation runs in its own savepoint,
rolled back after it, so a DELETE does not empty the world of the next operation.

All failures are reported at once, one line per operation, with a curl command that
replays the request.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.django_db

#: generated requests per operation and mode; 94 operations x 2 modes x 6 ~ 1,100 calls
EXAMPLES = 6


@pytest.fixture
def wsgi_app():
    """The panel as WSGI, its requests inside the test's transaction: Django would close
    the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _schema(app):
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    return schema


def _run(operation, strategy, headers, failures, count: list[int]):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def examples(case):
        count[0] += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported together
            failures.setdefault(
                operation.label,
                f"{operation.label}: {type(error).__name__}: {str(error)[:600]}\n"
                f"  {case.as_curl_command()}",
            )

    examples()


def test_every_operation_answers_without_5xx_and_as_documented(api_world, wsgi_app):
    schema = _schema(wsgi_app)
    headers = {"Authorization": f"Bearer {api_world['secret']}"}
    failures: dict[str, str] = {}
    count = [0]
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        pinned = {
            name: api_world["path"][name]
            for name in (p.name for p in operation.path_parameters)
            if name in api_world["path"]
        }
        for negative, strategy in (
            (False, operation.as_strategy(path_parameters=pinned)),
            (True, operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)),
        ):
            with transaction.atomic():
                try:
                    _run(operation, strategy, headers, failures, count)
                except Unsatisfiable:
                    # Every request the schema allows is valid (free-text path parameters
                    # only, no body): there is no invalid one to send.
                    if not negative:
                        raise
                transaction.set_rollback(True)

    assert len(operations) >= 90
    assert count[0] >= len(operations) * EXAMPLES
    assert not failures, f"{len(failures)} operations failed:\n" + "\n".join(failures.values())
