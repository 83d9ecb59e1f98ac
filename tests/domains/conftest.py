"""Fixtures of the domain tests: zones published as files in a private directory, and the
administrator of the org_world organisation."""

import pytest

from panel.access import access_for


@pytest.fixture
def zone_dir(settings, tmp_path):
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    return tmp_path


@pytest.fixture
def admin(org_world, zone_dir):
    return access_for(org_world["admin"], org_world["org"])
