"""The built-in themes, shipped as data (themes/<key>.json): their colours and fonts, and the
starter blocks a new campaign on the theme begins with, so that it looks finished at once.

The JSON holds English for reference; the names, descriptions and starter texts people see
are translated through the msgid tables below (makemessages reads Python, not JSON)."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from panel.errors import InvalidInput

THEME_DIR = Path(__file__).parent / "themes"
#: Display order: the first is the default of a campaign without a theme.
ORDER = ("classic", "bold", "minimal", "midnight")

LABELS = {
    "classic": (_("Classic"), _("A white card on light grey, serif headings, calm blue buttons.")),
    "bold": (
        _("Bold"),
        _("A strong colour band across the top, large headings and round buttons."),
    ),
    "minimal": (_("Minimal"), _("Plain black on white with generous space, like a letter.")),
    "midnight": (_("Midnight"), _("A dark theme with light text and bright sky-blue accents.")),
}

#: Every text of the starters, so that a French campaign starts in French.
STARTER_TEXTS = (
    gettext_noop("Our latest news"),
    gettext_noop("Big news this month"),
    gettext_noop("A note from us"),
    gettext_noop("This month at a glance"),
    gettext_noop(
        "<p>Hello,</p><p>Here is what is new since our last letter. Replace this text with "
        "your own: a few short paragraphs read best on a phone.</p>"
    ),
    gettext_noop(
        "<p>Say in one or two sentences why this email matters to your readers, then "
        "show them where to go next.</p>"
    ),
    gettext_noop("Read more"),
    gettext_noop("Discover it"),
    gettext_noop("First story"),
    gettext_noop("Second story"),
    gettext_noop("Third story"),
    gettext_noop("<p>Two or three sentences about this story, and a link to the rest.</p>"),
    gettext_noop("<p>Thank you for reading,<br>The team</p>"),
    gettext_noop(
        "<p>You receive this email because you subscribed to our newsletter.</p>"
        "<p>Company name · Street address · Postcode and city</p>"
    ),
)
TRANSLATED_KEYS = ("text", "html", "label", "alt")

STYLE_KEYS = {
    "background",
    "card_background",
    "card_radius",
    "text_color",
    "heading_color",
    "muted_color",
    "link_color",
    "button_background",
    "button_color",
    "button_radius",
    "divider_color",
    "body_font",
    "heading_font",
    "heading_weight",
    "font_size",
    "line_height",
    "width",
    "padding",
}
#: With both, the first block (a heading) sits on a band of that colour.
OPTIONAL_STYLE_KEYS = {"header_background", "header_color"}
NUMBERS = {
    "card_radius",
    "button_radius",
    "heading_weight",
    "font_size",
    "line_height",
    "width",
    "padding",
}
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
FONT = re.compile(r"^[A-Za-z0-9 ,'\-]+$")


@dataclass(frozen=True)
class Theme:
    key: str
    english_name: str
    english_description: str
    styles: dict
    starter_source: dict

    @property
    def name(self):
        return LABELS[self.key][0]

    @property
    def description(self):
        return LABELS[self.key][1]

    @property
    def starter(self) -> dict:
        """The starter blocks in the active language (a copy: the caller may keep it)."""
        return _translated(self.starter_source)


def _translated(value):
    if isinstance(value, list):
        return [_translated(item) for item in value]
    if isinstance(value, dict):
        return {
            key: gettext(item)
            if key in TRANSLATED_KEYS and isinstance(item, str)
            else _translated(item)
            for key, item in value.items()
        }
    return value


def _load(key: str) -> Theme:
    data = json.loads((THEME_DIR / f"{key}.json").read_text(encoding="utf-8"))
    styles = data["styles"]
    missing = STYLE_KEYS - set(styles)
    unknown = set(styles) - STYLE_KEYS - OPTIONAL_STYLE_KEYS
    if data["key"] != key or missing or unknown:
        raise ValueError(f"theme {key}: key, missing {missing} or unknown {unknown} styles")
    for name, value in styles.items():
        # The values go into CSS and attributes as they are: only plain ones are shipped.
        if name.endswith(("color", "background")) and not COLOUR.match(value):
            raise ValueError(f"theme {key}: {name} is not a #rrggbb colour")
        if name in NUMBERS and not isinstance(value, int | float):
            raise ValueError(f"theme {key}: {name} is not a number")
        if name.endswith("_font") and not FONT.match(value):
            raise ValueError(f"theme {key}: {name} is not a plain font list")
    return Theme(
        key=key,
        english_name=data["name"],
        english_description=data["description"],
        styles=styles,
        starter_source=data["starter"],
    )


THEMES: dict[str, Theme] = {key: _load(key) for key in ORDER}


def theme_for(key: str) -> Theme:
    """The built-in theme `key`; InvalidInput on `theme` for any other."""
    try:
        return THEMES[key]
    except (KeyError, TypeError):
        raise InvalidInput(
            fields={
                "theme": gettext("Choose one of the themes: %(keys)s.")
                % {"keys": ", ".join(THEMES)}
            }
        ) from None


def theme_choices() -> list[tuple[str, str]]:
    """(key, translated name) for a form's choices."""
    return [(theme.key, theme.name) for theme in THEMES.values()]
