"""Every number the API takes fits the database: a value out of range is a 400 naming the
field, never a DataError. Checked on every input serializer of every app, and through the
API on the field that once let 2**31 through."""

import inspect

import pytest
from rest_framework import serializers

from domains.api import serializers as domain_serializers
from mail.api import serializers as mail_serializers
from panel.api import serializers as panel_serializers
from panel.api.base import DB_INT_MAX
from panel.models import Organisation

from .test_api import assert_error, org_url

MODULES = [panel_serializers, mail_serializers, domain_serializers]


def _input_serializers():
    for module in MODULES:
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, serializers.BaseSerializer)
                and cls.__module__ == module.__name__
                and not name.endswith("Out")
            ):
                yield f"{module.__name__}.{name}", cls


def _integer_fields(serializer, path):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        child = getattr(field, "child", None)
        for candidate, where in ((field, f"{path}.{name}"), (child, f"{path}.{name}[]")):
            if isinstance(candidate, serializers.IntegerField):
                yield where, candidate
            elif isinstance(candidate, serializers.Serializer):
                yield from _integer_fields(candidate, where)


def test_every_integer_an_input_serializer_takes_is_bounded():
    checked, unbounded = 0, []
    for name, cls in _input_serializers():
        try:
            instance = cls()
        except TypeError:
            continue
        for where, field in _integer_fields(instance, name):
            checked += 1
            if field.max_value is None or field.max_value > DB_INT_MAX:
                unbounded.append(where)
    assert checked >= 8
    assert unbounded == []


@pytest.mark.parametrize("value", [2**31, 2**63, -(2**31) - 1])
def test_an_address_quota_out_of_range_is_a_400_on_create_and_update(org_world, client_for, value):
    client = client_for(org_world["admin"])
    created = client.post(
        org_url(org_world, "mail/services/"),
        {"domain": "bounds.example.test", "plan": "starter", "address_quota": value},
        format="json",
    )
    assert_error(created, 400, field="address_quota")
    updated = client.patch(
        org_url(org_world, f"mail/services/{org_world['mail'].pk}/"),
        {"address_quota": value},
        format="json",
    )
    assert_error(updated, 400, field="address_quota")
    assert Organisation.objects.filter(pk=org_world["org"].pk).exists()
