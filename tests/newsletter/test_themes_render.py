"""Every built-in theme, as a new campaign gets it: valid starter blocks in translatable
words, and an email that a real HTML parser reads without an error, with its styles written
on the elements, a plain-text part and working unsubscribe and preferences links."""

import re

import html5lib
import pytest
from html5lib.html5parser import ParseError

from newsletter import rendering
from newsletter.rendering import themes
from panel.errors import InvalidInput

UNSUBSCRIBE = "https://panel.example/n/unsubscribe/tok-1/"
PREFERENCES = "https://panel.example/n/preferences/tok-1/"
KEYS = list(rendering.THEMES)


def render(key, **overrides):
    arguments = {
        "content": rendering.theme_for(key).starter,
        "theme": key,
        "variables": {"email": "ada@example.com"},
        "title": "Our June letter",
        "preview_text": "What is new this month",
        "unsubscribe_url": UNSUBSCRIBE,
        "preferences_url": PREFERENCES,
        "utm": {"source": "newsletter", "medium": "email", "campaign": "june"},
    }
    return rendering.render_email(**{**arguments, **overrides})


def hrefs(html):
    return [href.replace("&amp;", "&") for href in re.findall(r'<a\b[^>]*\shref="([^"]*)"', html)]


def test_at_least_four_themes_with_names_descriptions_and_choices():
    assert len(KEYS) >= 4
    choices = dict(rendering.theme_choices())
    for key, theme in rendering.THEMES.items():
        assert str(theme.name) == theme.english_name == str(choices[key])
        assert str(theme.description) == theme.english_description
        assert theme.styles["width"] == 600


def test_an_unknown_theme_is_refused_on_the_theme_field():
    with pytest.raises(InvalidInput) as error:
        rendering.theme_for("neon")
    assert "classic" in error.value.fields["theme"][0]


@pytest.mark.parametrize("key", KEYS)
def test_the_starter_is_valid_content_with_every_kind_of_block(key):
    starter = rendering.theme_for(key).starter
    assert rendering.clean_content(starter) == starter
    kinds = {block["type"] for block in starter["blocks"]}
    assert {"heading", "text", "button", "divider", "columns", "social", "footer"} <= kinds


@pytest.mark.parametrize("key", KEYS)
def test_every_starter_word_is_in_the_translated_table(key):
    """A text missing from STARTER_TEXTS would stay English in a French campaign."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for name, item in value.items():
                if name in themes.TRANSLATED_KEYS and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(rendering.THEMES[key].starter_source)
    assert found
    assert set(found) <= set(themes.STARTER_TEXTS)


def test_a_broken_document_is_refused_by_the_strict_parser():
    """The parser of the next test does find mistakes."""
    with pytest.raises(ParseError):
        html5lib.HTMLParser(strict=True).parse("<!DOCTYPE html><p>a</b></p>")


@pytest.mark.parametrize("key", KEYS)
def test_the_starter_email_is_valid_html_with_inlined_styles(key):
    rendered = render(key)
    html5lib.HTMLParser(strict=True).parse(rendered.html)
    assert rendered.subject == "Our June letter"
    assert re.search(r'<html lang="en"', rendered.html)
    assert "<title>Our June letter</title>" in rendered.html
    # The preheader is there, hidden.
    assert re.search(r'<div style="display:none;[^"]*">What is new this month', rendered.html)
    # Styles sit on the elements; the only stylesheet left holds media queries.
    for tag in ("h1|h2", "p", "td", "a"):
        assert re.search(rf'<(?:{tag})\b[^>]*\sstyle="[^"]+"', rendered.html), tag
    outside_outlook = re.sub(r"<!--.*?-->", "", rendered.html, flags=re.DOTALL)
    for sheet in re.findall(r"<style[^>]*>(.*?)</style>", outside_outlook, re.DOTALL):
        assert sheet.strip().startswith("@media"), sheet
    assert "fonts.googleapis" not in rendered.html
    styles = rendering.THEMES[key].styles
    assert styles["background"] in rendered.html
    assert styles["button_background"] in rendered.html


@pytest.mark.parametrize("key", KEYS)
def test_the_starter_email_has_a_text_part_and_working_leave_links(key):
    rendered = render(key)
    starter = rendering.theme_for(key).starter
    heading = starter["blocks"][0]["text"]
    assert heading in rendered.text
    assert "Thank you for reading," in rendered.text
    assert f"({UNSUBSCRIBE})" in rendered.text
    assert f"({PREFERENCES})" in rendered.text
    links = hrefs(rendered.html)
    # Exactly as signed: no UTM parameter on them.
    assert UNSUBSCRIBE in links and PREFERENCES in links
    others = [link for link in links if link not in (UNSUBSCRIBE, PREFERENCES)]
    assert others
    assert all("utm_source=newsletter&utm_medium=email&utm_campaign=june" in o for o in others)


def test_the_email_is_in_the_campaign_language():
    rendered = render("classic", language="fr")
    assert '<html lang="fr"' in rendered.html
    html5lib.HTMLParser(strict=True).parse(rendered.html)
