"""A JSON number or boolean is not text (issue 12, item 13): every string field of every
JSON request body in the OpenAPI schema, sent a number, answers 400 naming that field,
instead of taking "123" for the name or domain."""

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

#: string fields that take a number on purpose
NUMBERS_ALLOWED = {("GrantInRequest", "product_id")}  # a domain by name, any other product by id
METHODS = ("post", "put", "patch")


def _resolve(schema: dict, node: dict) -> tuple[str, dict]:
    ref = node.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    return name, schema["components"]["schemas"][name] if ref else node


def _string_fields(schema):
    """(method, path, component, field) of every plain string in a JSON request body."""
    for path, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if not operation:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if not body:
                continue
            component, resolved = _resolve(schema, body)
            for field, spec in resolved.get("properties", {}).items():
                if spec.get("readOnly") or (component, field) in NUMBERS_ALLOWED:
                    continue
                if spec.get("type") == "string" and "enum" not in spec:
                    yield method, path, component, field


def test_a_number_is_refused_wherever_text_is_expected(api_world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    fields = list(_string_fields(schema))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_world['secret']}")
    wrong = []
    for method, path, component, field in fields:
        url = path.format(**api_world["path"])
        with transaction.atomic():
            response = getattr(client, method)(url, {field: 123}, format="json")
            transaction.set_rollback(True)
        answered = response.json() if response.status_code == 400 else {}
        if field not in answered.get("fields", {}):
            wrong.append(f"{method.upper()} {path} {component}.{field}: {response.status_code}")
    assert len(fields) >= 30
    assert wrong == []
