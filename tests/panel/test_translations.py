"""The French catalogue is complete and compiled: every message has a translation that
is not a fuzzy guess, and the committed .mo is what the .po compiles to (so nobody ships
translations that Django never loads)."""

import shutil
import subprocess
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[2] / "panel" / "locale" / "fr" / "LC_MESSAGES"


def test_every_french_message_is_translated_and_compiled(tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt is missing: install gettext (.ci/run does)"
    compiled = tmp_path / "django.mo"
    result = subprocess.run(
        [msgfmt, "--check-format", "--statistics", "-o", compiled, CATALOGUE / "django.po"],
        capture_output=True,
        text=True,
        check=True,
    )
    statistics = result.stderr.strip()
    assert "untranslated" not in statistics and "fuzzy" not in statistics, statistics
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes(), (
        "django.mo is out of date: run `make messages`"
    )


def test_every_translated_string_is_one_makemessages_can_find():
    """makemessages looks for `_`, `gettext_lazy`, `ngettext` … by name: a string marked
    through another alias (`gettext_lazy as _lazy`) is never extracted, so it would
    silently stay in English."""
    import re

    root = CATALOGUE.parents[3]
    alias = re.compile(r"import .*\b(?:n|p|np)?gettext(?:_lazy|_noop)? as (?!_\b)(\w+)")
    hidden = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for app in ("panel", "mail", "domains", "ticketing", "newsletter", "cloud")
        for path in (root / app).rglob("*.py")
        for match in alias.finditer(path.read_text())
    ]
    assert hidden == []
