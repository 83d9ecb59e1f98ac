"""Fixtures of the domain tests: the administrator of the org_world organisation, with
zones published as files (zone_dir, in tests/conftest.py)."""

import pytest

from panel.access import access_for


@pytest.fixture
def admin(org_world, zone_dir):
    return access_for(org_world["admin"], org_world["org"])
