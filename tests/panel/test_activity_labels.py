"""Every kind of activity a service records has a label for the activity page, so that
people read "Added a contact" rather than a code."""

import re
from pathlib import Path

from panel.views.common import ACTIVITY_LABELS

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r'record(?:_by)?\(\s*[^"()]*?"([a-z_]+\.[a-z_]+\.[a-z_]+)"')


def test_every_recorded_activity_has_a_label():
    codes = {
        match.group(1)
        for app in ("panel", "mail", "domains", "ticketing", "newsletter", "cloud")
        for path in (ROOT / app).rglob("*.py")
        for match in RECORDED.finditer(path.read_text())
    }
    assert len(codes) > 50
    assert sorted(codes - set(ACTIVITY_LABELS)) == []
