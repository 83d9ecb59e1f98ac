"""Benchmark: writing one campaign email per recipient, against the MJML engine alone.

For each built-in theme, its starter content with a greeting by first name is written
for BENCH_EMAILS contacts, each with its own values and links: `render_email` fills the
variables in the Liquid sandbox (values escaped), builds the theme's MJML, turns it into
HTML with mrml, inlines the styles, adds the UTM parameters to every link and writes the
text part. The baseline is mrml alone turning the same MJML document (written once) into
HTML as many times: the least any MJML-based renderer does per email. It prints emails
per second for both, their ratio, and the median time of one email.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/newsletter_render.py

BENCH_EMAILS (2,000) changes the number of emails per theme.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

import django  # noqa: E402

django.setup()

import mrml  # noqa: E402

from newsletter import rendering  # noqa: E402
from newsletter.rendering import mjml, render  # noqa: E402

EMAILS = int(os.environ.get("BENCH_EMAILS", "2000"))
GREETING = {"type": "text", "html": "<p>Hello {{ first_name }}, your seat: {{ seat }}.</p>"}


def _contacts(n: int) -> list[dict]:
    return [
        {"email": f"c{i}@example.test", "first_name": f"Zoé <{i}>", "seat": "Balcony"}
        for i in range(n)
    ]


def main() -> None:
    print(f"{EMAILS} emails per theme, {len(rendering.THEMES)} themes")
    totals = {"render": 0.0, "mrml": 0.0}
    for key, theme in rendering.THEMES.items():
        content = rendering.clean_content({"blocks": [GREETING, *theme.starter["blocks"]]})
        contacts = _contacts(EMAILS)
        each = []
        started = time.perf_counter()
        for number, values in enumerate(contacts):
            one = time.perf_counter()
            rendered = rendering.render_email(
                content=content, theme=key, variables=values,
                preview_text="News for {{ first_name }}", title="Hello {{ first_name }}",
                unsubscribe_url=f"https://panel.test/n/u/{number}/",
                preferences_url=f"https://panel.test/n/p/{number}/",
                utm={"source": "newsletter", "medium": "email", "campaign": "bench"},
            )  # fmt: skip
            each.append(time.perf_counter() - one)
        elapsed = time.perf_counter() - started
        assert "Zoé &lt;" in rendered.html and "utm_campaign=bench" in rendered.html

        source = mjml.document(
            blocks=content["blocks"], styles=theme.styles, subject="Hello", preheader="News",
            language="en", links_html=render._links_line("https://panel.test/n/u/0/",
                                                         "https://panel.test/n/p/0/"),
        )  # fmt: skip
        started = time.perf_counter()
        for _ in range(EMAILS):
            mrml.to_html(
                source, parser_options=render.MRML_PARSER, render_options=render.MRML_RENDER
            )
        baseline = time.perf_counter() - started
        totals["render"] += elapsed
        totals["mrml"] += baseline
        print(
            f"  {key:9} render_email {EMAILS / elapsed:7.0f} emails/s "
            f"(median {statistics.median(each) * 1000:.2f} ms)   "
            f"mrml alone {EMAILS / baseline:7.0f} /s   ratio {elapsed / baseline:.2f}"
        )
    count = EMAILS * len(rendering.THEMES)
    print(
        f"all themes: render_email {count / totals['render']:.0f} emails/s, mrml alone "
        f"{count / totals['mrml']:.0f} /s, ratio {totals['render'] / totals['mrml']:.2f}"
    )


if __name__ == "__main__":
    main()
