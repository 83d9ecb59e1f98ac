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
